#!/bin/sh
# Peak memory of one full compile of the shared generator's Rockerfile (default 1000 stages),
# in its own process: `/usr/bin/time -v` on the release binary, script to /dev/null. For scale it
# also measures a one-line Rockerfile (the process's fixed cost: binary, libc, allocator).
# Prints key=value lines for bench/run.sh (sizes in bytes, times in seconds).
#
# Usage: sh bench/compile_memory.sh [ROCKERC_BINARY]   (default target/release/rockerc)
# Environment: ROCKERC_BENCH_GEN (default ../shared/bench/gen_rockerfile.py), ROCKERC_BENCH_STAGES.
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
rockerc=${1:-$root/target/release/rockerc}
gen=${ROCKERC_BENCH_GEN:-$root/../shared/bench/gen_rockerfile.py}
stages=${ROCKERC_BENCH_STAGES:-1000}
[ -x "$rockerc" ] || { echo "compile_memory: $rockerc is missing (cargo build --release)" >&2; exit 1; }
[ -f "$gen" ] || { echo "compile_memory: skipped: generator $gen not found (set ROCKERC_BENCH_GEN)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "compile_memory: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/big" "$tmp/small"
python3 "$gen" --stages "$stages" > "$tmp/big/Rockerfile"
printf 'FROM scratch\n' > "$tmp/small/Rockerfile"

# measure NAME DIR: peak RSS (kB), wall seconds and the script's size for one compile.
measure() {
  /usr/bin/time -f '%M %e' -o "$tmp/$1.time" "$rockerc" "$2/Rockerfile" > "$tmp/$1.sh"
  read -r kb secs < "$tmp/$1.time"
  printf '%s_peak_rss=%s\n%s_wall=%s\n%s_output=%s\n' "$1" "$((kb * 1024))" "$1" "$secs" "$1" "$(wc -c < "$tmp/$1.sh")"
}
printf 'stages=%s\ninput=%s\n' "$stages" "$(wc -c < "$tmp/big/Rockerfile")"
measure small "$tmp/small"
measure big "$tmp/big"
