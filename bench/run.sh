#!/bin/sh
# The benchmark suite in one command: sh bench/run.sh [--quick] [--runs N] [--only abcde] [...]
# It builds rockerc (release), makes sure the base images exist (tests/setup.sh otherwise),
# removes dangling images (thousands of them slow the legacy builder down), waits up to
# $BENCH_WAIT_LOAD seconds (default 900; 0 = do not wait) for the 1-minute load average to fall
# below $BENCH_MAX_LOAD (default 1.5), then runs bench/harness.py, which writes BENCHMARKS.md.
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
cd "$root"
real_docker=${BENCH_REAL_DOCKER:-/usr/bin/docker}
[ -x "$real_docker" ] || { echo "bench: $real_docker is missing (Debian's docker.io client, which has DOCKER_BUILDKIT=1)" >&2; exit 1; }
"$real_docker" info > /dev/null 2>&1 || { echo "bench: the Docker daemon is not reachable" >&2; exit 1; }
for image in rockerc-test/busybox rockerc-test/builder; do
  if ! "$real_docker" image inspect "$image" > /dev/null 2>&1; then
    echo "bench: $image is missing; running tests/setup.sh" >&2
    sh tests/setup.sh busybox builder
    break
  fi
done
cargo build --release --quiet
"$real_docker" image prune -f > /dev/null

wait_max=${BENCH_WAIT_LOAD:-900}
max_load=${BENCH_MAX_LOAD:-1.5}
waited=0
while :; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l < m) }'; then break; fi
  if [ "$waited" -ge "$wait_max" ]; then
    echo "bench: load $load is still above $max_load after ${waited}s; measuring anyway" >&2
    break
  fi
  [ "$waited" -gt 0 ] || echo "bench: waiting for the load ($load) to fall below $max_load (up to ${wait_max}s)" >&2
  sleep 15
  waited=$((waited + 15))
done
BENCH_REAL_DOCKER=$real_docker exec python3 bench/harness.py "$@"
