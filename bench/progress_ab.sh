#!/bin/sh
# A/B of the no-op and cold builds of workload (a) with two rockerc binaries (issue 21: progress
# must cost nothing when nothing runs long). Usage: sh bench/progress_ab.sh BEFORE AFTER [RUNS]
# Runs alternate (A, B, A, B...) so load on the machine hits both; prints the medians in ms.
set -eu
before=$1 after=$2 runs=${3:-9}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for v in before after; do
  mkdir "$work/$v"
  cp -r "$root/bench/workloads/a-builder-runtime/." "$work/$v/"
  sed -i "s#^TAG .*#TAG rockerc-bench/progress-$v:latest#" "$work/$v/Rockerfile"
  eval "bin=\$$v"
  (cd "$work/$v" && "$bin" Rockerfile > build.sh)
done
ms() { t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
for v in before after; do XDG_CACHE_HOME=$work/cache-$v sh "$work/$v/build.sh" > /dev/null; done
i=0
while [ "$i" -lt "$runs" ]; do
  for v in before after; do
    ms env XDG_CACHE_HOME="$work/cache-$v" sh "$work/$v/build.sh" >> "$work/noop-$v"
    ms env XDG_CACHE_HOME="$work/cache-$v" sh "$work/$v/build.sh" --no-cache >> "$work/cold-$v"
  done
  i=$((i + 1))
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for k in noop cold; do
  printf '%s: before %s ms, after %s ms (median of %s)\n' "$k" "$(median "$work/$k-before")" "$(median "$work/$k-after")" "$runs"
done
