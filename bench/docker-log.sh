#!/bin/sh
# bench/run.sh puts this first on PATH as `docker`: it appends one line per docker CLI call
# (the subcommand) to $BENCH_DOCKER_LOG and runs the real client, $BENCH_REAL_DOCKER.
printf '%s\n' "${1:-}" >> "$BENCH_DOCKER_LOG"
exec "$BENCH_REAL_DOCKER" "$@"
