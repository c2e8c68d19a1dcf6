#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run) and as the README tells people to:
#   1. install every dependency from Debian (deploy/install-deps.sh, idempotent);
#   2. configure + build with GCC and -Werror (PICKET_PORTABLE=ON: what the packages ship);
#   3. run every ctest test (labels: unit, integration, later sim);
#   4. build the pure libraries with clang + ASan/UBSan + libFuzzer instrumentation, run
#      their unit tests, replay every fuzz corpus and fuzz each target briefly;
#   5. check the vote's Promela model exhaustively with spin.
# Prints the time each stage took and exits non-zero on any failure.
#
# Environment: PICKET_JOBS (build parallelism, default nproc), PICKET_FUZZ_SECONDS
# (per target, default 10), PICKET_SKIP_SANITIZE=1 to skip stage 4 locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${PICKET_JOBS:-$(nproc)}
fuzz_seconds=${PICKET_FUZZ_SECONDS:-10}
declare -a stage_names=() stage_times=()
passed=0
failed=0
status=0

stage() {  # stage NAME COMMAND...: runs and times one stage; a failure fails the run
    local name=$1
    shift
    local start=$SECONDS
    echo
    echo "=== ${name}"
    if "$@"; then
        stage_names+=("$name")
        stage_times+=("$((SECONDS - start))s")
    else
        stage_names+=("$name (FAILED)")
        stage_times+=("$((SECONDS - start))s")
        status=1
    fi
}

count_ctest() {  # adds ctest's "N tests failed out of M" from a log to the totals
    local line
    line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$1" | tail -n 1 || true)
    if [ -n "$line" ]; then
        local f total
        f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
        total=$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")
        passed=$((passed + total - f))
        failed=$((failed + f))
    fi
}

install() { deploy/install-deps.sh; }

build_main() {
    # PICKET_PORTABLE: the packaged binaries (static third-party libraries and libstdc++) are
    # the ones every test runs against; package_test packs and checks them.
    cmake -S . -B build/ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPICKET_WERROR=ON \
        -DPICKET_PORTABLE=ON >/dev/null
    cmake --build build/ci -j "$jobs"
}

test_main() {
    local rc=0
    ctest --test-dir build/ci --output-on-failure -j "$jobs" --timeout 600 2>&1 |
        tee build/ci/ctest.log || rc=$?
    count_ctest build/ci/ctest.log
    return $rc
}

build_sanitize() {
    CC=clang CXX=clang++ cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPICKET_WERROR=ON -DPICKET_SANITIZE=ON -DPICKET_FUZZ=ON -DPICKET_BUILD_IO=OFF >/dev/null
    cmake --build build/asan -j "$jobs"
}

test_sanitize() {
    local rc=0
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build/asan --output-on-failure -j "$jobs" 2>&1 |
        tee build/asan/ctest.log || rc=$?
    count_ctest build/asan/ctest.log
    return $rc
}

fuzz() {
    local rc=0 target name corpus work
    for target in build/asan/tests/fuzz/fuzz_*; do
        [ -x "$target" ] || continue
        name=$(basename "$target")
        name=${name#fuzz_}
        corpus=tests/fuzz/corpus/$name
        work=$(mktemp -d)
        # Replay the checked-in corpus, then explore for a while into a scratch dir
        # (the repo's corpus is read, never written).
        if "$target" -runs=0 "$corpus" >"$work/replay.log" 2>&1 &&
            "$target" -max_total_time="$fuzz_seconds" -timeout=5 -rss_limit_mb=2048 \
                -print_final_stats=0 "$work" "$corpus" >"$work/fuzz.log" 2>&1; then
            echo "fuzz $name: corpus replayed, $(grep -oE '#[0-9]+' "$work/fuzz.log" | tail -n 1 | tr -d '#') runs, no crash"
            passed=$((passed + 1))
        else
            echo "fuzz $name: FAILED"
            tail -n 40 "$work"/*.log
            failed=$((failed + 1))
            rc=1
        fi
        rm -rf "$work"
    done
    return $rc
}

model_check() {  # exhaustive check of the vote's Promela model (proto/model/vote.pml)
    local rc=0
    proto/model/check.sh || rc=$?
    if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    return $rc
}

stage "install dependencies" install
stage "build (gcc, -Werror)" build_main
stage "tests (unit + integration)" test_main
if [ "${PICKET_SKIP_SANITIZE:-0}" != 1 ]; then
    stage "build (clang, ASan+UBSan, fuzz targets; pure libraries)" build_sanitize
    stage "tests under ASan+UBSan" test_sanitize
    stage "fuzz: replay corpora + ${fuzz_seconds}s per target" fuzz
fi
stage "model check: proto/model/vote.pml with spin" model_check

echo
echo "=== stage times"
for i in "${!stage_names[@]}"; do
    printf '%-60s %s\n' "${stage_names[$i]}" "${stage_times[$i]}"
done
echo
echo "${passed} passed, ${failed} failed"
exit $status
