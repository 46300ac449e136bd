#!/usr/bin/env bash
# Fuzzes rockerc for a bounded time: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Targets (fuzz/fuzz_targets, checks in fuzz/src/lib.rs): template, parse, compile; all three by
# default, each for SECONDS_PER_TARGET (default 60). Installs cargo-fuzz if it is missing, builds
# the targets with the stable toolchain, seeds a corpus, runs each target, and prints per target
# the executions, the speed, the coverage and whether it crashed. Exits 1 if any target found a
# crash, a timeout or a memory blow-up; the input is left in fuzz/artifacts/TARGET/.
#
# Seeds are gathered at run time and never committed: golden/*/Rockerfile, every Dockerfile under
# $ROCKERC_CONFORMANCE_DIR (BuildKit's parser test files) and every file in $ROCKERC_CORPUS_DIR
# (real-world Rockerfiles). Both default to ../shared beside the repository, as .ci/run sets them.
#
# Limits per input: FUZZ_TIMEOUT seconds (default 10) and FUZZ_RSS_MB of memory (default 2048);
# FUZZ_MAX_LEN bytes per input (default 16384). FUZZ_FORK=1 keeps fuzzing past crashes
# (libFuzzer's -fork=1 -ignore_crashes=1), for long runs that should collect every crash.
#
# Why cargo-fuzz on stable: cargo-fuzz's only nightly need is -Zsanitizer for its default
# AddressSanitizer. rockerc has no unsafe code, so `-s none` loses nothing a sanitizer would
# catch, and `-a` keeps debug assertions (integer overflow checks) on in the optimised build.
set -euo pipefail

budget=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(template parse compile)
case $budget in '' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS_PER_TARGET] [template|parse|compile]..." >&2; exit 2 ;; esac

fuzz=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$fuzz")
shared=$(dirname "$repo")/shared
conformance=${ROCKERC_CONFORMANCE_DIR:-$shared/conformance/buildkit}
corpus_dir=${ROCKERC_CORPUS_DIR:-$shared/corpus}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}
max_len=${FUZZ_MAX_LEN:-16384}
cargo_fuzz_version=0.13.2
build_flags=(--release --debug-assertions --sanitizer none)

# What it needs: cargo-fuzz (from crates.io) and a C++ compiler (libfuzzer-sys builds libFuzzer).
if ! command -v c++ >/dev/null 2>&1; then
    echo "fuzz: installing g++ (libFuzzer is C++)"
    sudo=${SUDO:-$( [ "$(id -u)" = 0 ] || echo sudo )}
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
    echo "fuzz: installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --quiet
fi

cd "$repo"
echo "fuzz: building ${targets[*]} ($(rustc --version))"
for t in "${targets[@]}"; do
    cargo fuzz build "${build_flags[@]}" "$t"
done

# The seed corpus, one file per distinct input, named by its hash as libFuzzer names its own.
# One folder per run, so runs of different targets can share the machine.
mkdir -p "$fuzz/seeds"
seeds=$(mktemp -d "$fuzz/seeds/run.XXXXXX")
trap 'rm -rf "$seeds"' EXIT
add_seeds() {
    local what=$1 n=0 f
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$seeds/$(sha1sum <"$f" | cut -c1-40)"
        n=$((n + 1))
    done
    echo "fuzz: seeds: $n from $what"
}
add_seeds "golden/" "$repo"/golden/*/Rockerfile
if [ -d "$conformance" ]; then
    mapfile -t files < <(find "$conformance" -type f -name Dockerfile | sort)
    add_seeds "$conformance" "${files[@]}"
else
    echo "fuzz: seeds: none from BuildKit's test files (set ROCKERC_CONFORMANCE_DIR)"
fi
if [ -d "$corpus_dir" ]; then
    add_seeds "$corpus_dir" "$corpus_dir"/*
else
    echo "fuzz: seeds: none from the real-world corpus (set ROCKERC_CORPUS_DIR)"
fi

mode=()
[ "${FUZZ_FORK:-0}" = 1 ] && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
mkdir -p "$fuzz/logs"
failed=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$fuzz/corpus/$t" "$fuzz/artifacts/$t"
    before=$(find "$fuzz/artifacts/$t" -type f | wc -l)
    log=$fuzz/logs/$t.log
    echo "fuzz: $t for ${budget}s (log: fuzz/logs/$t.log)"
    status=0
    cargo fuzz run "${build_flags[@]}" "$t" "$fuzz/corpus/$t" "$seeds" -- \
        -max_total_time="$budget" -timeout="$timeout" -rss_limit_mb="$rss" -max_len="$max_len" \
        -dict="$fuzz/rockerfile.dict" -print_final_stats=1 "${mode[@]}" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss_peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    [ -n "$execs" ] || execs=$(printf '%s\n' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    [ -n "$speed" ] || speed=$(printf '%s\n' "$last" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
    cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 edges, \2 features/p')
    corp=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([0-9/a-zA-Z]*\).*/\1/p')
    after=$(find "$fuzz/artifacts/$t" -type f | wc -l)
    found=$((after - before))
    line="$t: ${execs:-?} executions, ${speed:-?} exec/s, coverage ${cov:-?}, corpus ${corp:-?}, peak RSS ${rss_peak:-?} MB"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        failed=1
        line="$line: CRASH ($(grep -a -m1 -oE 'panicked at [^:]+:[0-9]+' "$log" || grep -a -m1 -oE 'ERROR: libFuzzer: [a-z -]+|SUMMARY: libFuzzer: [a-z -]+' "$log" || echo "exit $status")), $found new input(s) in fuzz/artifacts/$t/"
        while IFS= read -r artifact; do
            line="$line
    reproduce: cargo fuzz run ${build_flags[*]} $t $artifact
    minimise:  cargo fuzz tmin ${build_flags[*]} $t $artifact"
        done < <(grep -a -oE 'Test unit written to [^ ]+' "$log" | sed 's/Test unit written to //' | sort -u)
    else
        line="$line: no crash"
    fi
    echo "fuzz: $line"
    summary+=("$line")
done

echo
echo "fuzz: summary (${budget}s per target, timeout ${timeout}s, ${rss} MB per input)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
