#!/usr/bin/env bash
# Fails when a pure module (no clock, sockets, threads, or logging sinks) reaches for
# one: the deterministic simulation and fuzzing depend on it. Pure modules are listed
# in lib/*/CMakeLists.txt with the PURE flag.
set -euo pipefail
root=${1:-$(dirname "$0")/..}
status=0
forbidden='#include[[:space:]]*[<"](boost/asio|boost/beast|prometheus/|spdlog/|thread>|mutex>|chrono>.*now|sys/socket|netinet/|unistd\.h|random>)'
for cm in "$root"/lib/*/CMakeLists.txt "$root"/proto/CMakeLists.txt; do
    dir=$(dirname "$cm")
    grep -q 'picket_library([a-z_]* PURE' "$cm" || grep -q 'picket_library([a-z_]* INTERFACE' "$cm" || continue
    # Only the module's own files: sub-folders with their own CMakeLists are other targets.
    while IFS= read -r f; do
        sub=$(dirname "$f")
        skip=0
        while [ "$sub" != "$dir" ]; do
            [ -e "$sub/CMakeLists.txt" ] && skip=1 && break
            sub=$(dirname "$sub")
        done
        [ "$skip" = 1 ] && continue
        if grep -nE "$forbidden" "$f"; then
            echo "layering: $f is in a pure module but includes an I/O, clock or threading header" >&2
            status=1
        fi
        if grep -nE 'std::chrono::(steady|system|high_resolution)_clock::now|\btime\(|gettimeofday|clock_gettime' "$f"; then
            echo "layering: $f is in a pure module but reads a clock" >&2
            status=1
        fi
    done < <(find "$dir" -name '*.h' -o -name '*.cpp' | sort)
done
[ "$status" = 0 ] && echo "layering: pure modules are pure"
exit $status
