#pragma once
// Which replica to promote when a master has failed (issue #5, "Choosing the replica").
//
// Pure: the detector's per-node status, the topology model and the operator's settings
// in; a ranked, explained list of candidates out. Every candidate is either eligible or
// carries exactly one Exclusion (the first that applies, in the enum's order) with a
// sentence saying why, so the record, the log line, /v1/status and the alert all show
// the same explanation.
//
// Deliberately NOT an exclusion: the cluster's "nofailover" flag
// (cluster-replica-no-failover). It only stops the cluster's own election; operators who
// let picket be the only actor set it on every replica, and CLUSTER FAILOVER FORCE /
// TAKEOVER ignore it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "picket/base/time.h"
#include "picket/cluster/topology.h"
#include "picket/detect/detector.h"

namespace picket::failover {

/// The detector's nodes, keyed by "ip:port" (detect::Detector::nodes()).
using NodeStatuses = std::map<std::string, detect::NodeStatus, std::less<>>;

/// The operator's failover settings the decisions use. The shell fills it from
/// config::FailoverConfig and config::DetectionConfig (this pure module does not link the
/// YAML loader); defaults match the documented configuration defaults.
struct Policy {
    /// failover.fast_on_timeouts: on timeouts-only evidence, act after
    /// down_after_unresponsive instead of max(down_after_unresponsive,
    /// cluster_node_timeout + 1 s). Opens a split-brain window (see plan.h).
    bool fast_on_timeouts = false;
    /// failover.allow_takeover: CLUSTER FAILOVER TAKEOVER when a majority of slot-owning
    /// masters is unreachable.
    bool allow_takeover = false;
    /// failover.takeover_when_unreachable: TAKEOVER even when the possibly-alive masters
    /// could form a majority among themselves (they may still serve writes).
    bool takeover_when_unreachable = false;
    /// failover.cluster_node_timeout: the cluster-node-timeout picket assumes.
    Duration cluster_node_timeout = std::chrono::seconds(15);
    /// detection.down_after_unresponsive: SDOWN after this long of timeouts only.
    Duration down_after_unresponsive = std::chrono::seconds(5);
    /// failover.max_lag_on_failover: replicas further behind (bytes) are excluded.
    std::uint64_t max_lag_on_failover = std::uint64_t{64} * 1024 * 1024;
    /// failover.replica_max_link_down: a replica whose link to the master was already
    /// down longer than this when the master failed holds stale data.
    Duration replica_max_link_down = std::chrono::seconds(10);
    /// failover.never_promote, each entry a node id or "host:port" (config::NodeRef's
    /// to_string()).
    std::vector<std::string> never_promote;
    /// INFO replication older than this is not a replica's testimony (holistic veto);
    /// detect::DetectorConfig::replica_report_max_age.
    Duration replica_report_max_age = std::chrono::seconds(5);
};

/// Why a replica may not be promoted. Checked in this order; the first that applies is
/// reported.
enum class Exclusion : std::uint8_t {
    /// In maintenance (picketctl maintenance on NODE|SHARD|cluster).
    kMaintenance,
    /// Listed in failover.never_promote (by node id or host:port).
    kNeverPromote,
    /// The candidate of an earlier attempt at this failure that was seen dead or not
    /// promoted after its abort (switch_candidate()).
    kFailedAttempt,
    /// This watcher does not see it up: SDOWN, failing, loading, not probed yet, or not
    /// probed at all. Promoting a node we cannot reach cannot be verified.
    kDown,
    /// No INFO replication from it: priority, offset and link cannot be checked.
    kNoReplicationInfo,
    /// Its INFO says it is a master, or replicates a different master.
    kNotReplicating,
    /// replica-priority 0 (INFO slave_priority): the operator's "never promote" in Redis.
    kPriorityZero,
    /// Replication offset 0: it never completed a sync and holds no data.
    kNeverSynced,
    /// More than max_lag_on_failover bytes behind the last known master offset.
    kTooFarBehind,
    /// Its link to the master was down for longer than replica_max_link_down before the
    /// master failed (INFO master_link_down_since_seconds), or was never up.
    kLinkDownTooLong,
};
std::string_view to_string(Exclusion e);

class ChoiceIndex;

/// Everything choose_replica() looks at.
struct ChoiceInput {
    /// The failed master's node id.
    std::string master_id;
    /// Its "ip:port" (the detector's key); used to match replicas by their INFO
    /// master_host:master_port and detector nodes without a topology entry.
    std::string master_address;
    /// Its cluster-announce-hostname, if any (replicas may name it by hostname).
    std::string master_hostname;
    /// The cluster model; its replicas of master_id are candidates. May be null.
    const cluster::Topology* topology = nullptr;
    /// This watcher's detector view; its nodes whose INFO or cluster view says they
    /// replicate the master are candidates too. May be null (then nobody is up).
    const NodeStatuses* nodes = nullptr;
    /// Node ids or "host:port" currently in maintenance.
    std::set<std::string, std::less<>> maintenance;
    /// Node ids of earlier attempts' candidates that failed (dead, or not promoted).
    std::set<std::string, std::less<>> failed_candidates;
    /// The master's last known replication offset (its INFO master_repl_offset), when
    /// known. The reference for the lag is the highest of this and every candidate's
    /// offset: no replica can be ahead of the master's true offset, so that maximum is the
    /// best lower bound we have.
    std::optional<std::int64_t> master_offset;
    /// When the master failed (the detector's failing_since of the master, i.e. its last
    /// contact). When unset, the master's detector status is used; when that is unknown
    /// too, master_link_down_since_seconds is taken as is (stricter).
    std::optional<TimePoint> master_failed_at;
    /// The settings.
    Policy policy;
    /// Optional look-ups over `topology` and `nodes`, built from exactly these two (same
    /// objects, unchanged since): the same choice in O(the master's candidates) instead of
    /// a scan of every node. For a readiness pass, which chooses for every shard.
    const ChoiceIndex* index = nullptr;
};

/// One candidate and what became of it.
struct Candidate {
    /// Node id (empty when only the detector knows it and has no id yet).
    std::string node_id;
    /// "ip:port".
    std::string address;
    /// nullopt when eligible.
    std::optional<Exclusion> exclusion;
    /// A sentence: "chosen: priority 100, offset 5000, ..." or "excluded: ...".
    std::string reason;
    /// INFO slave_priority (100 when unknown).
    std::int64_t priority = 100;
    /// INFO slave_repl_offset (0 when unknown).
    std::int64_t offset = 0;
    /// Bytes behind the reference offset (see ChoiceInput::master_offset).
    std::int64_t lag_bytes = 0;
    /// On an IP or hostname that already hosts another slot-owning master: promoting it
    /// would put two masters on one host (one host failure, two shards down).
    bool shares_host_with_master = false;
    /// Position among the eligible candidates (0 = chosen); unset when excluded.
    std::optional<std::size_t> rank;

    bool eligible() const { return !exclusion.has_value(); }
};

/// The result: every candidate explained, the best one chosen if any.
struct Choice {
    /// Node id (or address, when the id is unknown) of the replica to promote.
    std::optional<std::string> chosen;
    /// Eligible candidates in rank order, then the excluded ones by node id, address.
    std::vector<Candidate> candidates;
    /// A sentence for logs and alerts: why this one, or why none.
    std::string reason;

    /// The chosen candidate's entry, or nullptr.
    const Candidate* chosen_candidate() const;
};

/// Chooses the replica to promote. Order among the eligible (Sentinel's and the issue's):
/// lower priority, then higher replication offset, then not sharing a host with another
/// master, then lower node id (then address), so every watcher chooses the same one from
/// the same facts.
Choice choose_replica(const ChoiceInput& input);

/// The detector status of a node: by node id, else by "ip:port". nullptr when unknown.
const detect::NodeStatus* find_status(const NodeStatuses& nodes, std::string_view node_id,
                                      std::string_view address);

/// What choose_replica() otherwise finds by scanning every node, indexed once for one
/// topology and one detector view (O(nodes) to build): the topology's replicas by master,
/// the detector's nodes by id and by the master they say they follow, and the hosts of
/// the slot-owning masters. A readiness pass chooses for every shard: with the index that
/// is O(nodes) a pass instead of O(shards × nodes).
///
/// Holds pointers into `topology` and `nodes` (either may be null): both must outlive it
/// and stay unchanged while it is used. Build a new one when either changes.
class ChoiceIndex {
  public:
    ChoiceIndex(const cluster::Topology* topology, const NodeStatuses* nodes);
    // Holds views of its own strings (info_keys_): moves keep them, copies would not.
    ChoiceIndex(const ChoiceIndex&) = delete;
    ChoiceIndex& operator=(const ChoiceIndex&) = delete;
    ChoiceIndex(ChoiceIndex&&) = default;
    ChoiceIndex& operator=(ChoiceIndex&&) = default;

    const cluster::Topology* topology() const { return topology_; }
    const NodeStatuses* nodes() const { return nodes_; }

    /// Same as failover::find_status(*nodes(), node_id, address); nullptr without nodes.
    const detect::NodeStatus* find_status(std::string_view node_id, std::string_view address) const;
    /// The topology's replicas of `master_id`, in topology (node id) order.
    const std::vector<const cluster::NodeModel*>& replicas_of(std::string_view master_id) const;
    /// Detector entries whose INFO (replica role) names `endpoint` ("host:port") as master.
    const std::vector<const NodeStatuses::value_type*>& info_followers(
        std::string_view endpoint) const;
    /// Detector entries whose cluster view says they replicate the master at `address`.
    const std::vector<const NodeStatuses::value_type*>& view_followers(
        std::string_view address) const;
    /// True when a slot-owning master other than `except_master_id` has `host` as its ip
    /// or hostname.
    bool master_on_host(std::string_view host, std::string_view except_master_id) const;
    /// Topology nodes with slots importing or migrating, in topology order.
    const std::vector<const cluster::NodeModel*>& migrating() const { return migrating_; }

  private:
    template <typename T>
    using ByKey = std::unordered_map<std::string_view, std::vector<T>>;

    const cluster::Topology* topology_;
    const NodeStatuses* nodes_;
    /// Node id → the first detector entry (in address order) with that id.
    std::unordered_map<std::string_view, const detect::NodeStatus*> status_by_id_;
    ByKey<const cluster::NodeModel*> replicas_;
    /// Keys are owned by info_keys_ (INFO's master_host:master_port, built once).
    ByKey<const NodeStatuses::value_type*> info_followers_;
    std::vector<std::string> info_keys_;
    ByKey<const NodeStatuses::value_type*> view_followers_;
    /// Host (ip or hostname) → ids of the slot-owning masters on it.
    ByKey<std::string_view> master_hosts_;
    std::vector<const cluster::NodeModel*> migrating_;
};

}  // namespace picket::failover
