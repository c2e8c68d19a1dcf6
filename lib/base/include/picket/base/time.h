#pragma once
// Time as pure code sees it: readings of a monotonic clock, passed in by the shell.
// Pure modules never read a clock themselves (tests/check_layering.sh); the shell reads
// CLOCK_BOOTTIME (monotonic, counts suspend) and the simulation advances its own.

#include <chrono>
#include <cstdint>

namespace picket {

/// The tag clock of every TimePoint. It has no now(): only the shell makes readings
/// (picket::io::mono_now()), and the simulation makes its own.
struct MonoClock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<MonoClock>;
    static constexpr bool is_steady = true;
};

using Duration = std::chrono::nanoseconds;
using TimePoint = MonoClock::time_point;

/// Milliseconds as a plain integer, for logs, metrics labels and wire formats.
inline std::int64_t to_ms(Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace picket
