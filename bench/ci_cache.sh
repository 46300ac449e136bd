#!/bin/sh
# MOUNT caches in CI (docs/ci-cache.md), on workload (d): sh bench/ci_cache.sh [RUNS]
# Each run starts from a "fresh engine" for the build id: its volume, every image (d) built
# (label rockerc.bench=d-dep-cache: the stages, the MOUNTed-RUN cache entries) and the no-op
# stamp removed; the FROM images stay, as a CI runner pulls them. Per run, timed with the
# script's own clock (wall, `date +%s.%N`):
#   cold     sh build.sh                                   (nothing to restore: the baseline)
#   save     the same build with --cache-to DIR: the time the script reports for the save
#   again    --cache-to DIR once more, nothing changed: the save's time (incremental)
#   restore  fresh engine, sh build.sh --cache-from DIR    (volume only: no ROCKERC_CACHE_KEY)
# and the same with ROCKERC_CACHE_KEY set (the MOUNTed RUNs' cache images saved and loaded too).
# Prints a Markdown table of medians for BENCHMARKS.md. Uses the engine DOCKER_HOST names.
set -eu
runs=${1:-3}
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
cd "$root"
cargo build --release --quiet
work=$(mktemp -d "${TMPDIR:-/tmp}/rockerc-ci-cache.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R bench/workloads/d-dep-cache "$work/d"
./target/release/rockerc "$work/d/Rockerfile" > "$work/d/build.sh"
export XDG_CACHE_HOME="$work/xdg-cache" XDG_CONFIG_HOME="$work/xdg-config"
id=bench-ci-cache

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

fresh() {
  sh "$work/d/build.sh" --id "$id" --cache-prune > /dev/null
  for i in 1 2 3; do
    imgs=$(docker images -a -q --filter label=rockerc.bench=d-dep-cache | sort -u)
    [ -n "$imgs" ] || break
    # shellcheck disable=SC2086 # image ids
    docker rmi -f $imgs > /dev/null 2>&1 || :
  done
  rm -rf "$XDG_CACHE_HOME/rockerc"
}

# build LABEL ARGS...: one timed build; its wall time goes to $work/LABEL, the save time the
# script reports (with --cache-to) to $work/LABEL-save, and DIR's size to $work/LABEL-size.
build() {
  label=$1
  shift
  t0=$(now)
  sh "$work/d/build.sh" --id "$id" "$@" > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
  since "$t0" >> "$work/$label"
  echo >> "$work/$label"
  sed -n 's/^cache: saved to .* \([0-9.]*\)s)$/\1/p' "$work/log" >> "$work/$label-save"
  if [ -d "$work/dir" ]; then du -sk "$work/dir" | cut -f 1 >> "$work/$label-size"; fi
  grep -q 'cached, ' "$work/log" && echo "$label: a MOUNTed RUN came from the cache" >> "$work/notes" || :
}

for run in $(seq "$runs"); do
  for mode in volumes images; do
    if [ "$mode" = images ]; then export ROCKERC_CACHE_KEY=bench-ci-cache-key; else unset ROCKERC_CACHE_KEY; fi
    rm -rf "$work/dir"
    fresh
    build "$mode-cold"
    fresh
    build "$mode-save" --cache-to "$work/dir"
    build "$mode-again" --cache-to "$work/dir"
    fresh
    build "$mode-restore" --cache-from "$work/dir"
    echo "run $run $mode done" >&2
  done
done
fresh

median() { sort -n "$work/$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }
cat <<EOF
| (d) on a fresh engine, median of $runs | volumes only | volumes + MOUNTed-RUN cache images (ROCKERC_CACHE_KEY) |
|---|---|---|
| build, no --cache-from | $(median volumes-cold) s | $(median images-cold) s |
| build with --cache-from DIR | $(median volumes-restore) s | $(median images-restore) s |
| time --cache-to adds (first save) | $(median volumes-save-save) s | $(median images-save-save) s |
| time --cache-to adds (nothing changed) | $(median volumes-again-save) s | $(median images-again-save) s |
| DIR size | $(median volumes-save-size) kB | $(median images-save-size) kB |
EOF
sort -u "$work/notes" 2>/dev/null | sed 's/^/- /' || :
