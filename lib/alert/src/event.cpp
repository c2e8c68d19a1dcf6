#include "picket/alert/event.h"

#include <array>
#include <cassert>

namespace picket::alert {

namespace {

using enum EventType;

constexpr std::array kAllTypes{
    kNodeSdown,
    kNodeOdown,
    kNodeRecovered,
    kRoleChanged,
    kReplicaLinkDown,
    kReplicaLinkUp,
    kLeaderElected,
    kLeaderLost,
    kQuorumLost,
    kQuorumRegained,
    kSafeModeEntered,
    kSafeModeLeft,
    kShardNotFailoverReady,
    kShardFailoverReady,
    kFailoverStarted,
    kFailoverReplicaChosen,
    kFailoverPromoted,
    kFailoverConverged,
    kFailoverFailed,
    kFailoverBlockedCooldown,
    kFailoverVetoed,
    kMaintenanceOn,
    kMaintenanceOff,
    kConfigReloaded,
    kConfigReloadFailed,
    kConfigDrift,
    kConfigDriftResolved,
};

constexpr std::array<EventType, 2> kResolvesDown{kNodeSdown, kNodeOdown};
constexpr std::array<EventType, 1> kResolvesLink{kReplicaLinkDown};
constexpr std::array<EventType, 1> kResolvesLeader{kLeaderLost};
constexpr std::array<EventType, 1> kResolvesQuorum{kQuorumLost};
constexpr std::array<EventType, 1> kResolvesSafeMode{kSafeModeEntered};
constexpr std::array<EventType, 1> kResolvesReadiness{kShardNotFailoverReady};
constexpr std::array<EventType, 1> kResolvesFailover{kFailoverStarted};
constexpr std::array<EventType, 1> kResolvesMaintenance{kMaintenanceOn};
constexpr std::array<EventType, 1> kResolvesReload{kConfigReloadFailed};
constexpr std::array<EventType, 1> kResolvesDrift{kConfigDrift};

constexpr std::span<const EventType> kNone{};

using S = Severity;
using Sc = Scope;

// One row per type, in declaration order (checked by an assert in info()).
// clang-format off
const std::array<EventInfo, kAllTypes.size()> kInfos{{
    {kNodeSdown, "node_sdown", "PicketNodeSdown", S::kWarning, Sc::kNode, true, false, kNone,
     "Redis node {node} is subjectively down (watcher {watcher})"},
    {kNodeOdown, "node_odown", "PicketNodeOdown", S::kCritical, Sc::kNode, true, false, kNone,
     "Redis node {node} is objectively down"},
    {kNodeRecovered, "node_recovered", "PicketNodeRecovered", S::kInfo, Sc::kNode, false, false,
     kResolvesDown, "Redis node {node} answers again"},
    {kRoleChanged, "role_changed", "PicketRoleChanged", S::kInfo, Sc::kNode, false, true, kNone,
     "Redis node {node} changed role"},
    {kReplicaLinkDown, "replica_link_down", "PicketReplicaLinkDown", S::kWarning, Sc::kNode, true,
     false, kNone, "Replica {node} lost its link to its master"},
    {kReplicaLinkUp, "replica_link_up", "PicketReplicaLinkUp", S::kInfo, Sc::kNode, false, false,
     kResolvesLink, "Replica {node} is linked to its master again"},
    {kLeaderElected, "leader_elected", "PicketLeaderElected", S::kInfo, Sc::kCluster, false, true,
     kResolvesLeader, "Watcher {watcher} is the leader"},
    {kLeaderLost, "leader_lost", "PicketLeaderLost", S::kWarning, Sc::kWatcher, true, false, kNone,
     "Watcher {watcher} knows no leader"},
    {kQuorumLost, "quorum_lost", "PicketQuorumLost", S::kCritical, Sc::kWatcher, true, false, kNone,
     "Watcher {watcher} cannot reach a quorum of watchers: no failover possible"},
    {kQuorumRegained, "quorum_regained", "PicketQuorumRegained", S::kInfo, Sc::kWatcher, false,
     false, kResolvesQuorum, "Watcher {watcher} reaches a quorum again"},
    {kSafeModeEntered, "safe_mode_entered", "PicketSafeMode", S::kWarning, Sc::kWatcher, true,
     false, kNone, "Watcher {watcher} entered safe mode: its own opinions are withheld"},
    {kSafeModeLeft, "safe_mode_left", "PicketSafeModeLeft", S::kInfo, Sc::kWatcher, false, false,
     kResolvesSafeMode, "Watcher {watcher} left safe mode"},
    {kShardNotFailoverReady, "shard_not_failover_ready", "PicketShardNotFailoverReady",
     S::kWarning, Sc::kShard, true, false, kNone, "Shard {shard} cannot be failed over now"},
    {kShardFailoverReady, "shard_failover_ready", "PicketShardFailoverReady", S::kInfo,
     Sc::kShard, false, false, kResolvesReadiness, "Shard {shard} can be failed over again"},
    {kFailoverStarted, "failover_started", "PicketFailoverStarted", S::kCritical, Sc::kShard, true,
     false, kNone, "Failover of shard {shard} started"},
    {kFailoverReplicaChosen, "failover_replica_chosen", "PicketFailoverReplicaChosen", S::kInfo,
     Sc::kShard, false, true, kNone, "Failover of shard {shard}: replica {node} chosen"},
    {kFailoverPromoted, "failover_promoted", "PicketFailoverPromoted", S::kInfo, Sc::kShard,
     false, true, kNone, "Failover of shard {shard}: {node} promoted to master"},
    {kFailoverConverged, "failover_converged", "PicketFailoverConverged", S::kInfo, Sc::kShard,
     false, true, kResolvesFailover, "Failover of shard {shard} converged on {node}"},
    {kFailoverFailed, "failover_failed", "PicketFailoverFailed", S::kCritical, Sc::kShard, false,
     true, kResolvesFailover, "Failover of shard {shard} failed"},
    {kFailoverBlockedCooldown, "failover_blocked_cooldown", "PicketFailoverBlockedCooldown",
     S::kCritical, Sc::kShard, false, true, kNone,
     "Failover of shard {shard} blocked by the cooldown (picketctl ack to lift it)"},
    {kFailoverVetoed, "failover_vetoed", "PicketFailoverVetoed", S::kCritical, Sc::kShard, false,
     true, kNone, "Failover of shard {shard} vetoed by the pre-failover hook"},
    {kMaintenanceOn, "maintenance_on", "PicketMaintenance", S::kInfo, Sc::kShard, true, false,
     kNone, "Maintenance on for {shard}{node}: no automatic failover"},
    {kMaintenanceOff, "maintenance_off", "PicketMaintenanceOff", S::kInfo, Sc::kShard, false,
     false, kResolvesMaintenance, "Maintenance off for {shard}{node}"},
    {kConfigReloaded, "config_reloaded", "PicketConfigReloaded", S::kInfo, Sc::kWatcher, false,
     false, kResolvesReload, "Watcher {watcher} reloaded its configuration"},
    {kConfigReloadFailed, "config_reload_failed", "PicketConfigReloadFailed", S::kWarning,
     Sc::kWatcher, true, false, kNone,
     "Watcher {watcher} refused a configuration reload; the running configuration stays"},
    {kConfigDrift, "config_drift", "PicketConfigDrift", S::kWarning, Sc::kCluster, true, false,
     kNone, "Redis configuration drift: {check} {node}"},
    {kConfigDriftResolved, "config_drift_resolved", "PicketConfigDriftResolved", S::kInfo,
     Sc::kCluster, false, false, kResolvesDrift, "Redis configuration drift resolved: {check}"},
}};
// clang-format on

}  // namespace

std::span<const EventType> all_event_types() {
    return kAllTypes;
}

std::string_view to_string(Severity s) {
    switch (s) {
        case Severity::kInfo:
            return "info";
        case Severity::kWarning:
            return "warning";
        case Severity::kCritical:
            return "critical";
    }
    return "unknown";
}

const EventInfo& info(EventType t) {
    const auto& row = kInfos.at(static_cast<std::size_t>(t));
    assert(row.type == t);
    return row;
}

std::string_view to_string(EventType t) {
    return info(t).name;
}

std::optional<EventType> parse_event_type(std::string_view name) {
    for (const auto& row : kInfos) {
        if (row.name == name) {
            return row.type;
        }
    }
    return std::nullopt;
}

bool is_cluster_level(EventType t) {
    return info(t).scope != Scope::kWatcher;
}

}  // namespace picket::alert
