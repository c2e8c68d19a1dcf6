#pragma once
// The /v1/status document: this watcher, every shard and node with role, state, last
// reply, latency, offset, lag, flags and the evidence per node.

#include <nlohmann/json.hpp>

#include "picket/base/time.h"
#include "picket/watch/watcher.h"

namespace picket::watch {

/// Facts about this watcher that the watcher module does not own.
struct WatcherFacts {
    std::string id;
    std::string version;
    std::string cluster_name;
    double started_at_unix = 0;
};

/// Builds the status JSON. Times are reported as "ms ago" relative to `now` (monotonic
/// readings mean nothing outside this process) plus wall-clock stamps where useful.
nlohmann::json status_json(const Watcher& watcher, const WatcherFacts& facts, TimePoint now);

}  // namespace picket::watch
