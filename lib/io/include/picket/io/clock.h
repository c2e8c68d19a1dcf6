#pragma once
// The shell's clock readings. Pure modules get these as inputs; they never read a clock.

#include <ctime>

#include "picket/base/time.h"

namespace picket::io {

/// CLOCK_BOOTTIME: monotonic and counting time suspended, so a VM pause or a laptop
/// sleep shows up as elapsed time (and, to the detector, as a stall).
inline TimePoint mono_now() {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return TimePoint(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

/// Wall-clock seconds since the epoch, for reports only (never for decisions).
inline double wall_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace picket::io
