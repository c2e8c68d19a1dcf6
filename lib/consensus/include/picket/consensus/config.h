#pragma once
// Configuration of the vote: who votes, how sure the watchers must be, and the timers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "picket/base/expected.h"
#include "picket/base/time.h"

namespace picket::consensus {

/// A watcher (picketd) id, as in the `peers` section of the config.
using WatcherId = std::string;

/// Everything the state machine needs to know up front. Fixed for the life of a
/// Consensus object; a voter-set change is a rolling restart (docs/consensus.md).
struct Config {
    /// This watcher.
    WatcherId self;
    /// All voters, including `self` and any witnesses (watchers without Redis).
    std::vector<WatcherId> voters;
    /// How many watchers' fresh SDOWN opinions make a master ODOWN. 0 means a majority.
    std::size_t quorum = 0;
    /// Leader → follower heartbeat period.
    Duration heartbeat_interval = std::chrono::milliseconds(100);
    /// Election timeouts are drawn uniformly from [min, max] (§5.2). `min` also bounds
    /// leader stickiness (a follower that heard a leader within `min` refuses votes,
    /// thesis §4.2.3), check-quorum, and the lease.
    Duration election_timeout_min = std::chrono::milliseconds(1000);
    Duration election_timeout_max = std::chrono::milliseconds(2000);
    /// Bound on how much faster any watcher's monotonic clock may run than another's,
    /// in parts per million. The lease shrinks by this fraction.
    std::uint32_t max_drift_ppm = 50'000;
    /// Subtracted from the lease for scheduling slack between a lease check and the act.
    Duration lease_margin = std::chrono::milliseconds(50);
    /// How long a received opinion counts, aged by the leader's receive time. 0 means
    /// 3 heartbeat intervals (a follower refreshes its opinions in every reply).
    Duration opinion_validity{};

    /// Strict majority of the voters.
    std::size_t majority() const { return voters.size() / 2 + 1; }
    /// `quorum`, or the majority when 0.
    std::size_t effective_quorum() const { return quorum == 0 ? majority() : quorum; }
    /// election_timeout_min × (1 − drift) − margin (docs/consensus.md, "Lease").
    Duration lease_duration() const;
    /// opinion_validity or its default.
    Duration effective_opinion_validity() const;
};

/// Result of validate(): the config is usable; these warnings should be logged.
struct ConfigCheck {
    std::vector<std::string> warnings;
};

/// Rejects unusable configs with a message (at start-up, as a config error): no voters,
/// self not a voter, duplicate ids, quorum > N − 1 (the watcher on a dead master's VM
/// dies with it), timers that leave no lease. Warns when quorum > majority.
Expected<ConfigCheck, std::string> validate(const Config& config);

}  // namespace picket::consensus
