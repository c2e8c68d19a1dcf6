#pragma once
// A deterministic simulation of N watchers running the real picket::consensus::Consensus
// over a simulated network, against a model of the Redis shards. Everything random comes
// from one seed; the same seed replays the same trace (checked by a hash of it).
//
// What plugs in later (docs/consensus.md): opinions are injected by the fault script
// (each live watcher notices a dead master after a random detection delay) where the
// real detector (issue #3) will be fed probe results from the Redis model; the replica
// choice and the re-verification before a command are a stand-in (`decide_failovers`,
// `execute`) for issue #5's failover-decision class.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "picket/consensus/consensus.h"
#include "picket/consensus/invariants.h"
#include "picket/proto/auth.h"

namespace picket::sim {

using consensus::WatcherId;

/// What one run exercised; summed over runs and compared with minimums.
struct Coverage {
    std::uint64_t elections = 0;           ///< leaders elected
    std::uint64_t stepdowns = 0;           ///< leaders stepping down
    std::uint64_t restarts = 0;            ///< watcher crash + restart
    std::uint64_t crashes_mid_output = 0;  ///< crashed before persisting an output
    std::uint64_t pauses = 0;              ///< watcher paused (its clock jumps on resume)
    std::uint64_t partitions = 0;          ///< full, one-way or partial partitions
    std::uint64_t dropped = 0;             ///< messages dropped
    std::uint64_t duplicated = 0;          ///< messages duplicated
    std::uint64_t sealed = 0;              ///< messages sent through the real Authenticator
    std::uint64_t auth_drops = 0;          ///< ... and dropped by it (replays of duplicates)
    std::uint64_t master_kills = 0;        ///< Redis masters killed
    std::uint64_t odown = 0;               ///< ODOWN declarations
    std::uint64_t proposals = 0;           ///< failover records proposed
    std::uint64_t adoptions = 0;           ///< records adopted by a new leader
    std::uint64_t commands = 0;            ///< failover commands sent to Redis
    std::uint64_t cas_refused = 0;         ///< commands not sent: compare-and-set failed
    std::uint64_t promotions = 0;          ///< replicas promoted by a command
    std::uint64_t late_commands = 0;       ///< commands landing as no-ops (already promoted)
    std::uint64_t lease_checks = 0;        ///< steps where one lease holder was seen alone

    void add(const Coverage& o);
    std::string to_string() const;
};

/// Knobs of one run.
struct SimConfig {
    std::size_t watchers = 5;
    std::uint64_t seed = 1;
    /// Faults happen during this phase; then everything heals and liveness is checked.
    Duration fault_phase = std::chrono::seconds(20);
    /// A leader must appear this soon after healing...
    Duration leader_bound = std::chrono::seconds(8);
    /// ...and a master killed then must be promoted this soon after it is killed.
    Duration failover_bound = std::chrono::seconds(12);
    /// Record every trace line (for --trace replays); the hash is always computed.
    bool keep_trace = false;
};

/// Result of one run.
struct SimResult {
    bool ok = true;
    std::vector<std::string> violations;
    std::uint64_t trace_hash = 0;
    Coverage coverage;
    std::vector<std::string> trace;
};

/// Runs one seed to completion.
SimResult run(const SimConfig& config);

}  // namespace picket::sim
