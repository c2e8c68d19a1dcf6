#pragma once
// What to do about an ODOWN master right now (issue #5, "Executing"), the compare-and-set
// check before a command, and per-shard readiness (Sentinel's CKQUORUM).
//
// Redis facts the rules rest on (cluster.c):
//  - CLUSTER FAILOVER FORCE skips the handshake with the old master but still needs votes
//    from a majority of slot-owning masters (needed_quorum = size / 2 + 1, where size
//    counts masters serving at least one slot). Those masters vote even when *they* see
//    the old master healthy: Redis does not catch a false positive of ours.
//  - After voting for a replica of a master, masters refuse votes for that master's
//    replicas for 2 × cluster-node-timeout.
//  - TAKEOVER bumps the epoch with no vote at all: nothing stops it but us.
//  - A master cut off from the majority keeps taking writes until cluster-node-timeout
//    after it lost contact, then refuses them (cluster-require-full-coverage yes).
//
// plan_failover() is called by the leader on every tick for every ODOWN master; it is a
// pure function of its input, so calling it again after anything changed is how the
// decision is re-evaluated (e.g. after a TAKEOVER restored the masters' majority).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "picket/base/time.h"
#include "picket/cluster/slots.h"
#include "picket/cluster/topology.h"
#include "picket/failover/choice.h"
#include "picket/proto/message.h"

namespace picket::failover {

/// The master that failed, as the topology knew it before the failure.
struct FailedMaster {
    std::string id;
    /// "ip:port".
    std::string address;
    /// cluster-announce-hostname, if any.
    std::string hostname;
    /// Its slots.
    std::vector<cluster::SlotRange> slots;
    /// Its config epoch: with the id, the key of this failure (proto::RecordKey).
    std::uint64_t config_epoch = 0;
};

/// The failed master as `topology` describes it; nullopt when it is not a known master.
std::optional<FailedMaster> failed_master_from(const cluster::Topology& topology,
                                               std::string_view master_id);

/// The shard's name in records, metrics and alerts: its slot ranges ("0-5460",
/// "0-100,200-300"). Unlike a master id it survives the failover.
std::string shard_name(const std::vector<cluster::SlotRange>& slots);

/// The record key of this failure.
proto::RecordKey record_key(const FailedMaster& master);

/// What this watcher knows about a slot-owning master, for the FORCE/TAKEOVER rules.
enum class Liveness : std::uint8_t {
    /// Answers this watcher's probes (up or loading): it can vote for FORCE.
    kReachable,
    /// Its host answers and Redis refuses (refused/reset/closed) and it is SDOWN: the
    /// process is gone, it serves nothing on any side of any partition.
    kKnownDead,
    /// Anything else (timeouts, unreachable, not probed): it may be alive on the far side
    /// of a partition, still taking writes.
    kPossiblyAlive,
};
std::string_view to_string(Liveness l);

/// One slot-owning master and what we know of it.
struct MasterLiveness {
    std::string id;
    Liveness liveness = Liveness::kPossiblyAlive;
};

/// Every slot-owning master of `topology` (sorted by id) with its liveness per this
/// watcher's detector. With `index` (built over the same topology and nodes) each master's
/// status is looked up instead of searched: O(nodes) instead of O(masters × nodes).
std::vector<MasterLiveness> master_liveness(const cluster::Topology& topology,
                                            const NodeStatuses& nodes,
                                            const ChoiceIndex* index = nullptr);

/// Counts of slot-owning masters by liveness, and the majority arithmetic.
struct MasterCounts {
    std::size_t total = 0;
    std::size_t reachable = 0;
    std::size_t known_dead = 0;
    std::size_t possibly_alive = 0;
    /// Redis's needed_quorum: total / 2 + 1.
    std::size_t majority() const { return total / 2 + 1; }
    /// A majority can vote: FORCE works.
    bool force_possible() const { return total > 0 && reachable >= majority(); }
    /// The possibly-alive masters could be together on the far side of a partition,
    /// forming a majority that keeps serving.
    bool possibly_alive_majority() const { return total > 0 && possibly_alive >= majority(); }
};
MasterCounts count_masters(const std::vector<MasterLiveness>& masters);

/// The fences the plan respects, as durations since the last contact with the master.
/// Timeouts-only evidence: act no earlier than this (max(down_after_unresponsive,
/// cluster_node_timeout + 1 s), or down_after_unresponsive when fast_on_timeouts).
Duration timeouts_only_wait(const Policy& policy);
/// TAKEOVER with possibly-alive masters: 1.5 × cluster_node_timeout + 2 s.
Duration takeover_fence(const Policy& policy);

/// Facts about the shard and the operator's switches, gathered by the shell.
struct ShardFacts {
    /// Slots of the shard importing or migrating, seen by some node (in addition to what
    /// plan_failover() finds in the topology itself).
    bool slots_migrating = false;
    /// The shard's cooldown after a previous failover has not passed and was not
    /// acknowledged.
    bool in_cooldown = false;
    /// How much of the cooldown is left (for the reason).
    Duration cooldown_remaining{};
    /// The global failover rate limit (max_failovers per window) is reached.
    bool rate_limited = false;
    /// The failed master, its shard or the cluster is in maintenance.
    bool maintenance = false;
    /// The cluster promoted a replica on its own: that node's id (see
    /// cluster_promotion()). Found by plan_failover() in the topology too.
    std::optional<std::string> promoted_by_cluster;
};

/// Everything plan_failover() looks at.
struct PlanInput {
    /// The ODOWN master.
    FailedMaster master;
    /// The ODOWN evidence (consensus::OdownState::evidence): kDead if any watcher saw the
    /// process gone.
    proto::Evidence evidence = proto::Evidence::kNone;
    /// How long since the last contact with the master (the ODOWN watchers' shortest
    /// down_for).
    Duration since_last_contact{};
    /// The shell's monotonic now (to age the replicas' INFO).
    TimePoint now{};
    /// The fresh cluster model. May be null.
    const cluster::Topology* topology = nullptr;
    /// This watcher's detector view. May be null.
    const NodeStatuses* nodes = nullptr;
    /// Slot-owning masters and their liveness (master_liveness()); the failed master is
    /// among them.
    std::vector<MasterLiveness> masters;
    /// Replica choice inputs beyond the master's identity (maintenance set, master offset,
    /// earlier attempts' failed candidates).
    std::set<std::string, std::less<>> maintenance;
    std::set<std::string, std::less<>> failed_candidates;
    std::optional<std::int64_t> master_offset;
    /// The settings.
    Policy policy;
    /// Facts about the shard.
    ShardFacts facts;
};

/// Not yet: timeouts-only evidence, too early to tell a stall from a partition.
struct Wait {
    /// Act once since_last_contact reaches this.
    Duration until_since_last_contact{};
    std::string reason;
};

/// Why a failover is refused.
enum class VetoReason : std::uint8_t {
    kNoEvidence,         ///< the input has no failure evidence (a caller bug or a race)
    kMaintenance,        ///< operator maintenance
    kCooldown,           ///< the shard failed over recently
    kRateLimited,        ///< global max_failovers per window reached
    kSlotsMigrating,     ///< resharding in progress in the shard
    kReplicasSeeMaster,  ///< holistic veto: replicas still hear from the master
    kNoEligibleReplica,  ///< every candidate excluded
    kTakeoverDisabled,   ///< the masters' majority is lost and allow_takeover is off
    kTakeoverUnsafe,     ///< possibly-alive masters could be a serving majority
};
std::string_view to_string(VetoReason r);

/// No failover; alert with the reason.
struct Veto {
    VetoReason why = VetoReason::kNoEvidence;
    std::string reason;
};

/// The cluster promoted a replica itself: record and report, do nothing.
struct AlreadyDone {
    std::string new_master;
    std::string reason;
};

/// Fail over now (once the record is committed and the compare-and-set check passes).
struct Act {
    proto::FailoverMode mode = proto::FailoverMode::kForce;
    /// Node id of the replica to send CLUSTER FAILOVER to.
    std::string replica;
    /// TAKEOVER only: do not send before since_last_contact reaches this (the cluster's
    /// own fence has stopped possibly-alive minority masters by then). Zero otherwise.
    Duration fence_wait{};
    /// fence_wait − since_last_contact, floored at zero: how long from `now`.
    Duration fence_remaining{};
    std::string reason;
};

using Decision = std::variant<Wait, Veto, AlreadyDone, Act>;

/// The plan: the decision, plus the facts behind it for the record, logs and status.
struct Plan {
    Decision decision;
    /// The replica choice (computed whenever the decision got that far; otherwise empty).
    Choice choice;
    /// The masters' majority arithmetic.
    MasterCounts masters;

    /// The decision's reason sentence.
    const std::string& reason() const;
    template <typename T>
    const T* get() const {
        return std::get_if<T>(&decision);
    }
};

/// Decides. Rules in order (each documented in plan.cpp): already done, no evidence,
/// maintenance, cooldown, rate limit, migration, holistic veto, timeouts-only wait,
/// replica choice, then FORCE while a majority of masters is reachable, else TAKEOVER
/// under its conditions.
Plan plan_failover(const PlanInput& input);

/// The node that now serves the failed master's slots at a higher config epoch (the
/// cluster's own failover, or someone else's), or nullopt.
std::optional<std::string> cluster_promotion(const cluster::Topology& topology,
                                             const FailedMaster& master);

/// True when some node shows a slot of the shard importing or migrating, or the master
/// or one of its replicas shows any migration. With `index` (built over `topology`) only
/// the nodes with migrations are looked at.
bool shard_migrating(const cluster::Topology& topology, const FailedMaster& master,
                     const ChoiceIndex* index = nullptr);

/// Result of the compare-and-set check. Converts to true when the command may be sent.
struct CasResult {
    bool ok = false;
    /// Why not (empty when ok).
    std::string reason;
    explicit operator bool() const { return ok; }
};

/// The compare-and-set check right before sending a record's command, against a freshly
/// read topology: the record's failed master is still a master at the record's config
/// epoch and still serves its slots, and the target is still its replica. Anything else
/// means the world moved on (the cluster failed over, another command landed, a
/// resharding happened): do not send.
CasResult still_valid(const proto::FailoverRecord& record, const cluster::Topology& fresh);

/// Switching to another candidate (issue #5): an aborted attempt's replica may still act
/// on a command it received (a paused process runs what is buffered when it resumes), so
/// the failure moves on to another replica only once that attempt can no longer land.
struct SwitchInput {
    /// The aborted attempt: its replica (node id and "ip:port") and mode.
    std::string replica;
    std::string replica_address;
    proto::FailoverMode mode = proto::FailoverMode::kForce;
    /// The vote holds the abort in a majority (consensus::Consensus::abort_committed):
    /// no later leader can adopt an earlier phase of that attempt and execute it.
    bool abort_committed = false;
    /// When this leader saw the attempt aborted (its monotonic clock).
    TimePoint aborted_at{};
    /// When this leader's last command for this failure left for Redis, if one did (and
    /// Redis did not refuse it), and when this leader was elected: a command of an
    /// earlier leader was checked before that.
    std::optional<TimePoint> command_sent_at;
    TimePoint leader_since{};
    TimePoint now{};
    /// How long a probe result can take to show up after it was sent (ping_interval +
    /// ping_timeout): a verdict must rest on a probe sent after the abort.
    Duration probe_delay{};
    /// cluster-node-timeout: masters refuse votes for the failed master's replicas for
    /// 2 × this after voting for one (the FORCE vote throttle).
    Duration cluster_node_timeout{};
    /// The cluster model (is the replica still a replica?). May be null.
    const cluster::Topology* topology = nullptr;
    /// The detector's view of the replica (dead? answering INFO as a replica?).
    const NodeStatuses* nodes = nullptr;
};
struct SwitchVerdict {
    bool may_switch = false;
    /// What was seen of the candidate after the abort: connection refused (dead), or
    /// answering as a replica. Neither: it may be hung, with a command in its buffer.
    bool dead = false;
    bool still_replica = false;
    /// The detector sees it up: only then is retrying the same candidate any use (a
    /// replica down, hung or dead, fails the compare-and-set read anyway).
    bool candidate_up = false;
    /// Why (not): "previous attempt's candidate 10.0.0.5:7001 dead (connection refused)".
    std::string reason;
    /// How much longer at least before it may (zero when unknown or when it may).
    Duration wait{};
};
/// Whether a failure may move from the aborted attempt's replica to another one: the
/// abort is committed; 2 × cluster-node-timeout have passed since this leader's last
/// command for the failure and since its election (the masters' vote throttle: before
/// that no other replica of the shard can win an election; and a command held by a pause
/// of this or an earlier leader, or buffered by a stopped replica, must have landed or
/// died — the bound the per-shard cooldown already assumes, docs/consensus.md "Lease");
/// and the replica was seen dead (connection refused, reset or closed, by a probe sent
/// after the abort) or alive answering INFO replication as a replica (fresh after the
/// abort, and the cluster model still shows it a replica). A replica that only times out
/// (hung, or cut off) is neither: it may still act on a buffered command, so the attempt
/// is retried on it instead.
SwitchVerdict switch_candidate(const SwitchInput& in);

/// Convergence after a promotion: what one node's own CLUSTER NODES says about it.
struct ViewAgreement {
    /// The view shows the record's target as a master serving exactly the failed shard's
    /// slots, at a config epoch above the failed master's, and no other master claiming
    /// any of those slots.
    bool agrees = false;
    /// Why not (empty when it agrees).
    std::string reason;
};
/// Whether `view` (one node's CLUSTER NODES) has converged on `record`'s promotion.
ViewAgreement view_shows_promotion(const cluster::ClusterView& view,
                                   const proto::FailoverRecord& record);

/// Redis settings that contradict picket's or each other (event config_drift, one per
/// check): "require_full_coverage" (some node has cluster-require-full-coverage no, which
/// leaves a minority master serving and TAKEOVER unfenced), "cluster_node_timeout" (nodes
/// differ, or differ from picket's failover.cluster_node_timeout, on which its waits and
/// fences rest), "replica_no_failover" (cluster-replica-no-failover on some replicas only:
/// the cluster's own failover races picket for the others). `settings` is CONFIG GET per
/// node address; nodes missing from it are not judged. Returns check → detail.
std::map<std::string, std::string> config_drift(
    const cluster::Topology& topology,
    const std::map<std::string, std::map<std::string, std::string, std::less<>>>& settings,
    Duration configured_node_timeout);

/// Why a shard could not be failed over right now.
enum class ReadinessProblem : std::uint8_t {
    kNoEligibleReplica,
    kNoQuorum,    ///< not enough watchers (or no leader) to agree on ODOWN and a record
    kNoMajority,  ///< a majority of masters is unreachable and TAKEOVER is not allowed
    kCooldown,
    kMigration,
    kMaintenance,
};
std::string_view to_string(ReadinessProblem p);

/// Input of readiness(): the shard as if its master failed now.
struct ReadinessInput {
    /// The shard's master (as if failed).
    FailedMaster master;
    const cluster::Topology* topology = nullptr;
    const NodeStatuses* nodes = nullptr;
    std::set<std::string, std::less<>> maintenance;
    std::optional<std::int64_t> master_offset;
    Policy policy;
    /// Voters reachable (this one included) and the ODOWN quorum; a failover needs both a
    /// quorum of SDOWN opinions and a majority to commit the record.
    std::size_t reachable_voters = 0;
    std::size_t voter_count = 0;
    std::size_t quorum = 0;
    /// Slot-owning masters' liveness, excluding nothing (the shard's master included, as
    /// it is now); the failed master is counted as lost.
    std::vector<MasterLiveness> masters;
    ShardFacts facts;
    /// Optional, over `topology` and `nodes` (see ChoiceInput::index): one index for a
    /// pass over every shard makes each shard's readiness O(its replicas).
    const ChoiceIndex* index = nullptr;
};

/// Readiness of one shard: ready, or every problem with its reason.
struct Readiness {
    std::vector<ReadinessProblem> problems;
    /// "ready: would promote <id> (FORCE)" or the problems joined by "; ".
    std::string reason;
    /// The replica that would be chosen, if any.
    std::optional<std::string> replica;
    bool ready() const { return problems.empty(); }
};
Readiness readiness(const ReadinessInput& input);

}  // namespace picket::failover
