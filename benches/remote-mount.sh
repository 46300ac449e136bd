#!/bin/sh
# The remote cost of a MOUNTed build: a 200 MB folder of the build context MOUNTed into a RUN, built
# three times against an engine that cannot see the client's files (the stand-in remote engine of
# tests/remote-engine.sh, or ROCKERC_REMOTE_HOST): cold, again unchanged, and after one file
# changed. Prints the time of each build and the kB the script says it sent and brought back.
#
#   sh tests/remote-engine.sh start            # as root, once
#   sh benches/remote-mount.sh [ROCKERC]       # ROCKERC: the binary (default target/release/rockerc)
#   ROCKERC_BENCH_LOCAL_HOST=unix:///var/run/docker.sock sh benches/remote-mount.sh   # and a local engine
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
rockerc=${1:-$here/target/release/rockerc}
DOCKER_HOST=${ROCKERC_REMOTE_HOST:-unix:///run/rockerc-remote/docker.sock}
export DOCKER_HOST
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/data"
# 200 files of 1 MB, incompressible.
i=0
while [ $i -lt 200 ]; do
  head -c 1048576 /dev/urandom > "$dir/data/f$i"
  i=$((i + 1))
done
cat > "$dir/Rockerfile" <<'EOF'
FROM rockerc-test/busybox
MOUNT ./data:/data
RUN ls /data | wc -l > /data/count && date > /data/last-run
EOF
id="bench-remote-$$"
"$rockerc" --id "$id" "$dir/Rockerfile" > "$dir/build.sh"
export XDG_CACHE_HOME="$dir/cache"
run() {
  t0=$(date +%s.%N)
  out=$(sh "$dir/build.sh" --no-cache)
  t1=$(date +%s.%N)
  sent=$(printf '%s\n' "$out" | sed -n 's/^ *sent \([0-9]*\) kB.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
  got=$(printf '%s\n' "$out" | sed -n 's/^ *brought back \([0-9]*\) kB.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
  printf '%-28s %6.1f s  sent %7d kB  brought back %7d kB\n' "$1" "$(echo "$t1 - $t0" | bc)" "$sent" "$got"
}
run "first build (cold)"
run "second build (unchanged)"
head -c 1048576 /dev/urandom > "$dir/data/f7"
run "third build (1 MB changed)"
test "$(cat "$dir/data/count")" = 202 || { echo "the RUN's write did not come back" >&2; exit 1; }
# This build id's mirror volume only (other builds may be using the engine).
h=$(printf '%s' "$id" | sha256sum | cut -c 1-32)
docker volume ls -q | grep "^rockerc-mirror-$h-" | while read -r v; do docker volume rm "$v" >/dev/null 2>&1 || :; done
# For comparison: the same builds on an engine that sees the folder (a bind), when given.
if [ -n "${ROCKERC_BENCH_LOCAL_HOST:-}" ]; then
  DOCKER_HOST=$ROCKERC_BENCH_LOCAL_HOST
  run "local engine, first"
  run "local engine, again"
fi
