#pragma once
// A deterministic simulation of N watchers, each running the real classes of picketd's
// core — picket::detect::Detector, picket::consensus::Consensus and the decisions of
// picket::failover (plan_failover, choose_replica, still_valid) — inside a shell that
// mirrors daemon/src (vote.cpp's feed_local/process, failover.cpp's on_tick/execute),
// over a simulated network, against a model of the Redis shards (config epochs, the
// masters' vote for FORCE with its 2 x cluster-node-timeout throttle, TAKEOVER, a delay
// between a command leaving and Redis acting on it, old masters rejoining as replicas).
// Everything random comes from one seed; the same seed replays the same trace (checked
// by a hash of it). docs/consensus.md, "The simulation", says what is checked.

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
    std::uint64_t elections = 0;              ///< leaders elected
    std::uint64_t stepdowns = 0;              ///< leaders stepping down
    std::uint64_t restarts = 0;               ///< watcher crash + restart
    std::uint64_t crashes_mid_output = 0;     ///< crashed before persisting an output
    std::uint64_t pauses = 0;                 ///< watcher paused (its clock jumps on resume)
    std::uint64_t partitions = 0;             ///< full, one-way or partial watcher partitions
    std::uint64_t dropped = 0;                ///< messages dropped
    std::uint64_t duplicated = 0;             ///< messages duplicated
    std::uint64_t sealed = 0;                 ///< messages sent through the real Authenticator
    std::uint64_t auth_drops = 0;             ///< ... and dropped by it (replays of duplicates)
    std::uint64_t master_kills = 0;           ///< Redis masters killed
    std::uint64_t redis_pauses = 0;           ///< Redis nodes paused (timeouts-only evidence)
    std::uint64_t redis_partitions = 0;       ///< Redis nodes cut from the bus / from watchers
    std::uint64_t sdowns = 0;                 ///< SDOWN declared by a real detector
    std::uint64_t safe_modes = 0;             ///< detectors entering safe mode (late ticks)
    std::uint64_t odown = 0;                  ///< ODOWN declarations
    std::uint64_t plan_waits = 0;             ///< plan_failover() said Wait (timeouts only)
    std::uint64_t plan_vetoes = 0;            ///< plan_failover() vetoed
    std::uint64_t proposals = 0;              ///< failover records proposed
    std::uint64_t adoptions = 0;              ///< records adopted by a new leader
    std::uint64_t commands = 0;               ///< failover commands sent to Redis
    std::uint64_t held_commands = 0;          ///< ... held by a pause between check and send
    std::uint64_t cas_refused = 0;            ///< not sent: still_valid() refused
    std::uint64_t force_votes_throttled = 0;  ///< masters' votes refused by the throttle
    std::uint64_t force_failed = 0;           ///< FORCE without a majority of votes: no promotion
    std::uint64_t takeovers = 0;              ///< TAKEOVER promotions
    std::uint64_t promotions = 0;             ///< replicas promoted by a command
    std::uint64_t failovers_verified = 0;     ///< promotions verified by a leader's shell (done)
    std::uint64_t late_commands = 0;          ///< commands whose target was dead when they landed
    std::uint64_t stale_rejected = 0;         ///< landed after a newer failover: refused, harmless
    std::uint64_t rejoins = 0;                ///< old masters rejoining as replicas
    std::uint64_t master_alive_at_send = 0;   ///< commands sent while the failed master ran
    /// Held commands promoting a replica while its master, back and cut off, still took
    /// writes: the residual risk of a pause between the last check and the command.
    std::uint64_t held_split_brain = 0;
    /// Held commands that landed after a newer failover and promoted their target over
    /// another master: the same residual risk.
    std::uint64_t held_stale_promotions = 0;
    /// Failures moved on to another candidate after an attempt that could no longer land.
    std::uint64_t candidate_switches = 0;
    std::uint64_t lease_checks = 0;  ///< steps where one lease holder was seen alone

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
    Duration failover_bound = std::chrono::seconds(5);
    /// Record every trace line (for --trace replays); the hash is always computed.
    bool keep_trace = false;
};

/// Result of one run.
struct SimResult {
    bool ok = true;
    std::vector<std::string> violations;
    std::uint64_t trace_hash = 0;
    Coverage coverage;
    /// Liveness phase: from killing a master to its replica's promotion.
    Duration failover_time{};
    std::vector<std::string> trace;
};

/// Runs one seed to completion.
SimResult run(const SimConfig& config);

}  // namespace picket::sim
