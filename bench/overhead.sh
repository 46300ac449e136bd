#!/bin/sh
# The generated script's own time around a cold fused build (issue 16): sh bench/overhead.sh [RUNS]
# Compiles workload (a) (bench/workloads/a-builder-runtime) with target/release/rockerc into a
# scratch directory, then runs, RUNS times (default 10) and interleaved, `sh out/build.sh
# --no-cache` and the bare `docker build --no-cache` of the fused Dockerfile it runs (same target,
# same --progress=plain). The script's `docker` is a shim that times its `docker build` (and execs
# every other call): each run's time around its build is its wall time less its build's, which a
# load that comes and goes between runs does not skew as it skews a difference of medians. Prints
# the median, min and max of each. With BASE=/path/to/rockerc (another build of rockerc, say
# main's), that one's script is run too, interleaved, for an A/B on the same load. Where strace is
# installed, one more run of each script is traced and its processes are counted: before the
# build, and after it (the monitor's background `sleep`s apart), docker calls among them.
# Needs the BuildKit client (Debian's docker.io, /usr/bin/docker, or BENCH_REAL_DOCKER) and the
# base images (sh tests/setup.sh busybox builder). Say the load (uptime) with the numbers.
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
runs=${1:-10}
real_docker=${BENCH_REAL_DOCKER:-/usr/bin/docker}
[ -x "$real_docker" ] || { echo "overhead: $real_docker is missing (the docker.io client, with BuildKit)" >&2; exit 1; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/rockerc-overhead.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# The BuildKit client first on PATH, as `docker`: for the scripts, through the shim that times
# their build (its wall time, nanoseconds, a line in $OVERHEAD_BUILDS).
mkdir "$scratch/bin" "$scratch/shim"
ln -s "$real_docker" "$scratch/bin/docker"
cat > "$scratch/shim/docker" <<EOF_SHIM
#!/bin/sh
[ "\$1" = build ] || exec '$real_docker' "\$@"
s=\$(date +%s%N)
st=0
'$real_docker' "\$@" || st=\$?
e=\$(date +%s%N)
echo \$((e - s)) >> "\$OVERHEAD_BUILDS"
exit "\$st"
EOF_SHIM
chmod +x "$scratch/shim/docker"
PATH="$scratch/bin:$PATH"
export PATH
# A cache directory of its own: no stamp from elsewhere (--no-cache builds anyway).
XDG_CACHE_HOME="$scratch/cache"
export XDG_CACHE_HOME
(cd "$root" && cargo build --release --quiet)
kinds=new
if [ -n "${BASE:-}" ]; then kinds="new base"; fi
for kind in $kinds; do
  cp -R "$root/bench/workloads/a-builder-runtime" "$scratch/$kind"
  if [ "$kind" = base ]; then rockerc=$BASE; else rockerc="$root/target/release/rockerc"; fi
  (cd "$scratch/$kind" && "$rockerc" -o out Rockerfile)
done

ms() {
  s=$(date +%s%N)
  "$@" > /dev/null 2>&1 || { echo "overhead: failed: $*" >&2; exit 1; }
  e=$(date +%s%N)
  echo $(((e - s) / 1000000))
}

# around KIND: one run of KIND's script through the shim; appends its wall time to KIND.ms and
# its time outside its docker build to KIND.around.
around() {
  : > "$scratch/build.ns"
  s=$(date +%s%N)
  (cd "$scratch/$1" && OVERHEAD_BUILDS="$scratch/build.ns" PATH="$scratch/shim:$PATH" sh out/build.sh --no-cache > /dev/null 2>&1) ||
    { echo "overhead: the $1 script failed" >&2; exit 1; }
  e=$(date +%s%N)
  read -r b < "$scratch/build.ns"
  echo $(((e - s) / 1000000)) >> "$scratch/$1.ms"
  echo $(((e - s - b) / 1000000)) >> "$scratch/$1.around"
}
median() {
  sort -n "$1" | awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%d", m }'
}
range() {
  sort -n "$1" | awk '{ a[NR] = $1 } END { printf "min %d max %d", a[1], a[NR] }'
}

echo "load before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
i=0
while [ "$i" -lt "$runs" ]; do
  for kind in $kinds; do around "$kind"; done
  (cd "$scratch/new" && DOCKER_BUILDKIT=1 ms docker build --no-cache --progress=plain --target stage-2 -f out/fused.Dockerfile .) >> "$scratch/bare.ms"
  i=$((i + 1))
done
echo "load after:  $(cut -d ' ' -f 1-3 /proc/loadavg)"
bare=$(median "$scratch/bare.ms")
printf '%-34s median %5d ms  (%s)\n' "docker build of fused.Dockerfile" "$bare" "$(range "$scratch/bare.ms")"
for kind in $kinds; do
  printf '%-34s median %5d ms  (%s)\n' "sh build.sh --no-cache ($kind)" "$(median "$scratch/$kind.ms")" "$(range "$scratch/$kind.ms")"
  printf '%-34s median %5d ms  (%s)\n' "  of which around its build" "$(median "$scratch/$kind.around")" "$(range "$scratch/$kind.around")"
done

command -v strace > /dev/null 2>&1 || { echo "(no strace: no process counts)"; exit 0; }
for kind in $kinds; do
  (cd "$scratch/$kind" && strace -f -qq -e trace=execve -e signal=none -o "$scratch/$kind.trace" sh out/build.sh --no-cache > /dev/null 2>&1)
  grep 'execve(' "$scratch/$kind.trace" | grep -v 'ENOENT\|resumed' | awk -v kind="$kind" '
    BEGIN { phase = 0 }
    {
      c = $0; sub(/^[^[]*\[/, "", c); split(c, w, ", "); p = w[1]; gsub(/["\]]/, "", p); a = w[2]; gsub(/["\]]/, "", a)
      if (p == "sh" && !shell++) next
      if (p == "sleep") next
      if (p == "docker" && a == "build" && phase == 0) { phase = 1; next }
      # The build streams through tee and awk; the first other process is after it.
      if (phase == 1 && p != "tee" && p != "awk") phase = 2
      if (phase == 1) next
      n[phase]++
      if (p == "docker") { d[phase]++; p = "docker " a }
      l[phase] = l[phase] (l[phase] == "" ? "" : ", ") p
    }
    END {
      printf "%s: before the build %d processes (%d docker): %s\n", kind, n[0], d[0], l[0]
      printf "%s: after the build %d processes (%d docker): %s\n", kind, n[2], d[2], l[2]
    }'
done
