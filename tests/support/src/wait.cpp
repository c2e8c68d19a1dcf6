#include "picket/testing/wait.h"

#include <algorithm>
#include <thread>

namespace picket::testing {

bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout;
    const long max_calls = timeout / std::max(interval, std::chrono::milliseconds(1)) + 2;
    for (long call = 0; call < max_calls; ++call) {
        if (predicate()) {
            return true;
        }
        const auto now = Clock::now();
        if (now >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::min<Clock::duration>(interval, deadline - now));
    }
    return false;
}

}  // namespace picket::testing
