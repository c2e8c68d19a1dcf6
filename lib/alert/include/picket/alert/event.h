#pragma once
// picket's one event vocabulary: everything a watcher may tell an operator about, with its
// stable name (metrics label, log word, webhook `event` label, receiver filters), default
// severity, scope, and which events close which alerts.
//
// Three kinds of event (Sentinel sends every event through one function, sentinelEvent();
// picket's shell does the same with publish()):
//  - firing: opens an alert that stays active until an event that resolves it
//    (node_sdown, quorum_lost, failover_started, ...);
//  - resolving: closes the active alerts of the types it lists; the resolved notification
//    carries the firing alert's labels, so the pair shares one fingerprint
//    (node_recovered resolves node_sdown and node_odown of the same node);
//  - standalone: a one-shot notification (role_changed, failover_promoted). A resolving
//    event may also be standalone (failover_converged closes failover_started and is
//    reported itself).
//
// Scope decides which labels identify an alert and who sends it: node and shard events are
// cluster-level (sent by the leader only), watcher events concern this watcher (sent by
// every watcher, with a `watcher` label).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace picket::alert {

enum class EventType : std::uint8_t {
    kNodeSdown,                ///< this watcher holds a node subjectively down
    kNodeOdown,                ///< the watchers agree a node is down (objectively)
    kNodeRecovered,            ///< the node answers again (resolves SDOWN/ODOWN)
    kRoleChanged,              ///< a node became master or replica
    kReplicaLinkDown,          ///< a replica reports master_link_status:down
    kReplicaLinkUp,            ///< ... and up again
    kLeaderElected,            ///< a watcher won the vote (resolves leader_lost)
    kLeaderLost,               ///< no leader known to this watcher
    kQuorumLost,               ///< this watcher cannot reach a quorum of watchers
    kQuorumRegained,           ///< ... and can again
    kSafeModeEntered,          ///< this watcher distrusts its own opinions (Sentinel TILT)
    kSafeModeLeft,             ///< ... and trusts them again
    kShardNotFailoverReady,    ///< a shard could not be failed over now; reasons say why
    kShardFailoverReady,       ///< ... and can be again
    kFailoverStarted,          ///< a failover of a shard began
    kFailoverReplicaChosen,    ///< the replica to promote, with the reason per candidate
    kFailoverPromoted,         ///< the chosen replica answers as master
    kFailoverConverged,        ///< every node agrees on the new master and its slots
    kFailoverFailed,           ///< the failover ended without a verified new master
    kFailoverBlockedCooldown,  ///< an automatic failover was held back by the cooldown
    kFailoverVetoed,           ///< the pre-failover hook vetoed a failover
    kMaintenanceOn,            ///< automatic failover is off for a node, shard or the cluster
    kMaintenanceOff,           ///< ... and on again
    kConfigReloaded,           ///< SIGHUP reload applied (resolves config_reload_failed)
    kConfigReloadFailed,       ///< SIGHUP reload refused; the running config stays
    kConfigDrift,              ///< Redis settings contradict picket's or each other
    kConfigDriftResolved,      ///< ... and agree again
};

/// Every event type, in declaration order.
std::span<const EventType> all_event_types();

enum class Severity : std::uint8_t { kInfo, kWarning, kCritical };
std::string_view to_string(Severity s);

/// What an event is about; decides its identifying labels and who sends it.
enum class Scope : std::uint8_t {
    kNode,     ///< a Redis node (labels node, shard); cluster-level
    kShard,    ///< a shard (label shard); cluster-level
    kCluster,  ///< the whole cluster; cluster-level
    kWatcher,  ///< this watcher (label watcher); sent by every watcher
};

/// The static facts about one event type.
struct EventInfo {
    EventType type;
    std::string_view name;       ///< "node_sdown": metrics label, filters, `event` label
    std::string_view alertname;  ///< "PicketNodeSdown": the `alertname` label
    Severity severity;
    Scope scope;
    /// Opens an alert that stays active until resolved.
    bool firing;
    /// Sent as a one-shot notification of its own (standalone events).
    bool standalone;
    /// The firing types this event resolves (empty for most).
    std::span<const EventType> resolves;
    /// Summary template; "{node}", "{shard}", "{watcher}", "{check}" are substituted.
    std::string_view summary;
};

const EventInfo& info(EventType t);
std::string_view to_string(EventType t);
/// The type named `name` ("node_sdown"), or nullopt.
std::optional<EventType> parse_event_type(std::string_view name);

/// True when the event concerns the cluster (node, shard, cluster scope): only the leader
/// sends it, so operators hear of it once. Watcher events are sent by every watcher —
/// quorum_lost above all, since a watcher without quorum cannot know of any leader.
bool is_cluster_level(EventType t);

/// One occurrence. Fields not meaningful for the type stay empty.
struct Event {
    EventType type = EventType::kNodeSdown;
    std::string node;     ///< Redis node address "ip:port" (node scope)
    std::string node_id;  ///< its cluster node id when known
    std::string shard;    ///< shard name: its master's node id, or the configured name
    /// config_drift: which check ("cluster_node_timeout", "require_full_coverage",
    /// "replica_no_failover"); becomes the `check` label, so drifts are separate alerts.
    std::string check;
    /// One line of detail ("connection refused", "replica 10.0.0.5:6379 chosen").
    std::string detail;
    /// Reasons, one per line in the description ("10.0.0.6:6379: priority 0").
    std::vector<std::string> reasons;
};

}  // namespace picket::alert
