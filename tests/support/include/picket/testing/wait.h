#pragma once
// Bounded polling, the only way tests should wait for a distributed system to settle.

#include <chrono>
#include <functional>

namespace picket::testing {

/// Calls `predicate` until it returns true or `timeout` has passed, sleeping `interval`
/// between calls; returns whether it became true. The predicate is called at least once
/// and at most timeout/interval + 2 times, so a slow predicate cannot stretch the wait
/// beyond one extra call past the deadline.
bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(50));

}  // namespace picket::testing
