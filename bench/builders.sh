#!/bin/sh
# Cold builds of workloads (a), (b), (e) (e without its 200 MB of data): rockerc's script under
# BuildKit (fused: one build, where the Rockerfile allows it), under BuildKit step by step
# (--no-fuse) and under the legacy builder, and the hand-written multi-stage Dockerfile under
# BuildKit, alternating, N runs each; prints each run and the medians.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rockerc=$root/target/release/rockerc
n=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME=$tmp/cache PATH=/usr/bin:$PATH
t() { s=$(date +%s%N); "$@" > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }; echo $(( ($(date +%s%N) - s) / 1000000 )); }
for w in a-builder-runtime b-three-stage e-large-context; do
  cp -r "$root/bench/workloads/$w" "$tmp/$w"
  cd "$tmp/$w"
  "$rockerc" Rockerfile > build.sh
  : > "$tmp/$w.bk" ; : > "$tmp/$w.nf"; : > "$tmp/$w.lg"; : > "$tmp/$w.hand"
  for i in $(seq "$n"); do
    t sh build.sh --no-cache --builder buildkit >> "$tmp/$w.bk"
    t sh build.sh --no-cache --builder buildkit --no-fuse >> "$tmp/$w.nf"
    t sh build.sh --no-cache --builder legacy >> "$tmp/$w.lg"
    t env DOCKER_BUILDKIT=1 docker build --no-cache --progress=plain -t rockerc-bench/$w:buildkit . >> "$tmp/$w.hand"
  done
  med() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
  printf '%s: rockerc BuildKit %s ms [%s], rockerc BuildKit --no-fuse %s ms [%s], rockerc legacy %s ms [%s], hand-written BuildKit %s ms [%s]\n' "$w" \
    "$(med "$tmp/$w.bk")" "$(tr '\n' ' ' < "$tmp/$w.bk")" "$(med "$tmp/$w.nf")" "$(tr '\n' ' ' < "$tmp/$w.nf")" \
    "$(med "$tmp/$w.lg")" "$(tr '\n' ' ' < "$tmp/$w.lg")" \
    "$(med "$tmp/$w.hand")" "$(tr '\n' ' ' < "$tmp/$w.hand")"
done
