#!/bin/sh
# Compile time of a fan-in of EXPORT -> IMPORT stages (bench/gen_fanin.py) at several sizes, for
# the sh backend and the BuildKit backend: the best of 3 runs of the release binary, the output
# on stdout to /dev/null (-o DIR adds one file per step: the file system's time, not rockerc's).
# CPU time (user + system) is the figure to compare; wall time, shown beside it, rises with the
# machine's load.
#
# Usage: sh bench/fanin.sh [ROCKERC_BINARY] [STAGES...]   (default target/release/rockerc; 5000 10000 20000)
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
rockerc=${1:-$root/target/release/rockerc}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- 5000 10000 20000
[ -x "$rockerc" ] || { echo "fanin: $rockerc is missing (cargo build --release)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "fanin: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '| stages | input | backend | CPU (user+sys) | wall | peak RSS |\n|---|---|---|---|---|---|\n'
for n in "$@"; do
  python3 "$root/bench/gen_fanin.py" "$n" > "$tmp/Rockerfile"
  size=$(wc -c < "$tmp/Rockerfile")
  for backend in sh buildkit; do
    best=
    for _ in 1 2 3; do
      /usr/bin/time -f '%U %S %e %M' -o "$tmp/time" "$rockerc" --emit "$backend" "$tmp/Rockerfile" > /dev/null
      read -r user sys wall kb < "$tmp/time"
      cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
      if [ -z "$best" ] || awk -v a="$cpu" -v b="$best" 'BEGIN { exit !(a < b) }'; then
        best=$cpu best_wall=$wall best_kb=$kb
      fi
    done
    printf '| %s | %s kB | %s | %s s | %s s | %s MB |\n' "$n" "$((size / 1000))" "$backend" "$best" "$best_wall" "$((best_kb / 1000))"
  done
done
