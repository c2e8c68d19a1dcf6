#pragma once
// Failure detection for one watcher: what it alone believes about each Redis node.
//
// A pure class (no clock, socket or thread): the shell feeds it probe results, INFO
// replication and CLUSTER NODES views, each with the monotonic time they happened, and
// calls tick(now) on its one timer. It answers with per-node status, the opinions the
// vote combines (issue 4), and a list of events and actions drained by take_output().
//
// Two kinds of evidence, because they are not equally certain:
//  - dead: the host answered and Redis did not — connection refused, reset, or closed
//    (a killed process); a master still -LOADING after loading_grace counts too. Every
//    replica reporting its link down is corroboration only: with our timeouts it cannot
//    tell a dead master from one cut off from us and from its replicas. SDOWN after `down_after` of
//    silence: counted from the last reply (Sentinel's convention for a lost link), at most
//    one probe_interval before the first failed probe.
//  - unresponsive: only timeouts (or unreachable). A stall, SIGSTOP, fork pause, dead VM
//    or cut network all look alike. SDOWN after `down_after_unresponsive`, counted from
//    the first unanswered probe (Redis Cluster's convention for node-timeout): the vote's
//    timeouts-only wait builds on it and must not start early.
// Any valid reply ends a failure streak (-BUSY and -MASTERDOWN and other error replies
// are replies: the process is alive). Like Sentinel's TILT, a tick that comes late by
// more than `loop_lag` (or time going backwards) puts the detector in safe mode for
// `safe_mode_hold`: its SDOWN opinions are withheld and probes sent before the lag are
// ignored, because a paused watcher sees every node "silent" for the length of its pause.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/time.h"
#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/info.h"

namespace picket::detect {

/// Thresholds; DetectorConfig{} holds the documented defaults.
struct DetectorConfig {
    /// SDOWN after this long of dead evidence (refused/reset/closed).
    Duration down_after = std::chrono::seconds(1);
    /// SDOWN after this long of timeouts only; above fork/BGSAVE stalls.
    Duration down_after_unresponsive = std::chrono::seconds(5);
    /// A node answering -LOADING is alive this long; a master loading longer is down.
    Duration loading_grace = std::chrono::seconds(60);
    /// Expected spacing of tick() calls (the shell's timer period).
    Duration tick_interval = std::chrono::milliseconds(100);
    /// Spacing of the shell's probes of one node (ping_interval). Dead evidence counts
    /// from the node's last reply, but never from more than this before the first failed
    /// probe: a gap in our own probing is not the node's silence.
    Duration probe_interval = std::chrono::milliseconds(100);
    /// A tick later than tick_interval + loop_lag enters safe mode.
    Duration loop_lag = std::chrono::milliseconds(500);
    /// How long safe mode lasts after the last late tick.
    Duration safe_mode_hold = std::chrono::seconds(10);
    /// INFO replication older than this no longer counts as a replica's testimony.
    Duration replica_report_max_age = std::chrono::seconds(5);
};

/// How sure we are that a node is down.
enum class Evidence : std::uint8_t {
    kNone,          ///< no failure
    kDead,          ///< the process is gone (or a master never finished loading)
    kUnresponsive,  ///< no answer in time: cannot tell a stall from a partition
};
std::string_view to_string(Evidence e);

/// What one probe (PING or any command used as one) came back with. The shell maps the
/// RESP client's result onto this (see probe_outcome_for_error_code()).
enum class ProbeOutcome : std::uint8_t {
    kPong,          ///< +PONG (or any normal reply)
    kBusy,          ///< -BUSY: a script runs; alive
    kMasterDown,    ///< -MASTERDOWN: a replica without its master; alive
    kErrorReply,    ///< any other error reply (NOAUTH, NOPERM, ...): alive, misconfigured
    kLoading,       ///< -LOADING: alive, loading its dataset
    kRefused,       ///< connection refused: dead evidence
    kReset,         ///< connection reset: dead evidence
    kClosed,        ///< connection closed by the server: dead evidence
    kTimeout,       ///< no reply before the deadline: unresponsive evidence
    kUnreachable,   ///< no route to host: unresponsive evidence (the host may be down)
    kIndeterminate  ///< TLS, auth, protocol errors: says nothing about liveness
};
std::string_view to_string(ProbeOutcome o);

/// The outcome for a Redis error reply's code ("BUSY", "LOADING", ...).
ProbeOutcome probe_outcome_for_error_code(std::string_view code);

/// One probe result. `sent_at` is when the command left; `completed_at` when the reply
/// (or the error) arrived.
struct Probe {
    ProbeOutcome outcome = ProbeOutcome::kPong;
    TimePoint sent_at{};
    TimePoint completed_at{};
    /// Error text for status and logs (empty on success).
    std::string detail;
};

/// A node the topology knows about: what to probe and what the cluster says it is.
struct KnownNode {
    /// "ip:port", the key of everything in the detector.
    std::string address;
    /// Cluster node id; empty while unknown (a seed not yet seen in CLUSTER NODES).
    std::string node_id;
    /// Whether the cluster's view calls it a master.
    bool cluster_says_master = false;
    /// Its master's address when the cluster calls it a replica, else empty.
    std::string master_address;
};

/// Coarse state of a node as this watcher sees it.
enum class NodeState : std::uint8_t {
    kUnknown,  ///< not probed yet
    kUp,       ///< last probe answered
    kFailing,  ///< failing, not yet long enough for SDOWN
    kSdown,    ///< subjectively down
    kLoading,  ///< answering -LOADING within loading_grace
};
std::string_view to_string(NodeState s);

/// Everything the detector knows about one node (for /v1/status and metrics).
struct NodeStatus {
    std::string address;
    std::string node_id;
    bool cluster_says_master = false;
    std::string master_address;

    NodeState state = NodeState::kUnknown;
    /// Evidence of the current failure streak (kNone when not failing): the probes', and
    /// dead for a master still loading after loading_grace.
    Evidence evidence = Evidence::kNone;
    /// Evidence from this watcher's own probes alone: the kind of the latest failure.
    Evidence probe_evidence = Evidence::kNone;
    /// Why, in words: "connection refused", "replicas report link down", ...
    std::string reason;

    ProbeOutcome last_outcome = ProbeOutcome::kPong;
    std::string last_error;
    std::optional<TimePoint> last_reply;     ///< completion time of the last valid reply
    std::optional<TimePoint> failing_since;  ///< sent_at of the first failed probe
    /// Dead evidence counts from here: the last reply, or probe_interval before
    /// failing_since when the last reply is older (or there was none).
    std::optional<TimePoint> silent_since;
    std::optional<TimePoint> sdown_since;    ///< when SDOWN was declared
    std::optional<TimePoint> loading_since;  ///< first -LOADING of the current load
    Duration last_latency{};                 ///< round trip of the last valid reply
    std::uint64_t probes = 0;
    std::uint64_t failures = 0;

    // From INFO replication.
    std::optional<cluster::ReplicationInfo> replication;
    std::optional<TimePoint> replication_at;
    /// Replica only: bytes behind its master's last known offset.
    std::optional<std::int64_t> lag_bytes;
    /// INFO role differs from what the cluster's views say.
    bool role_contradicts_cluster = false;

    // From other nodes' CLUSTER NODES.
    std::set<std::string> flagged_pfail_by;  ///< viewer addresses marking it fail?
    std::set<std::string> flagged_fail_by;   ///< viewer addresses marking it fail
    /// Master only: replicas (addresses) whose fresh INFO reports the link to it down.
    std::set<std::string> replicas_report_link_down;
};

/// This watcher's opinion of one node, as the vote receives it: durations, never clock
/// readings (issue 4), so the leader can age it by its own clock.
struct Opinion {
    std::string node_id;
    std::string address;
    bool sdown = false;
    Evidence evidence = Evidence::kNone;
    /// How long the node has been failing (since the first failed probe).
    Duration down_for{};
    /// Corroboration, recorded in the decision.
    bool cluster_flags_pfail = false;
    bool cluster_flags_fail = false;
    bool replicas_report_link_down = false;
};

/// Something worth a log line, a metric and maybe an alert.
struct Event {
    enum class Kind : std::uint8_t {
        kNodeAdded,
        kNodeRemoved,
        kSdown,
        kRecovered,
        kRoleChanged,
        kReplicaLinkDown,
        kReplicaLinkUp,
        kSafeModeEntered,
        kSafeModeLeft,
    };
    Kind kind;
    TimePoint at{};
    std::string address;
    std::string node_id;
    Evidence evidence = Evidence::kNone;
    /// kSdown: failing time at declaration; kRecovered: how long it was down.
    Duration duration{};
    std::string detail;
};
std::string_view to_string(Event::Kind k);

/// Something the shell should do.
struct Action {
    enum class Kind : std::uint8_t {
        kRefreshReplication,  ///< read INFO replication of `address` now (a state changed)
    };
    Kind kind;
    std::string address;
    friend bool operator==(const Action&, const Action&) = default;
};

/// Drained by take_output().
struct Output {
    std::vector<Event> events;
    std::vector<Action> actions;
};

/// The failure detector of one watcher. Keyed by node address. Not thread-safe.
class Detector {
  public:
    explicit Detector(DetectorConfig config = {});

    /// Replaces the set of nodes to watch: new ones start kUnknown, missing ones are
    /// forgotten (with an event), known ones get their cluster attributes updated.
    void set_nodes(const std::vector<KnownNode>& nodes, TimePoint now);

    /// A probe finished. Probes of unknown addresses are ignored.
    void on_probe(std::string_view address, const Probe& probe);

    /// INFO replication of `address` was read at `now`.
    void on_replication(std::string_view address, const cluster::ReplicationInfo& info,
                        TimePoint now);

    /// CLUSTER NODES as node `viewer` sees the cluster, read at `now`: failure flags it
    /// puts on others are recorded as corroboration.
    void on_cluster_view(std::string_view viewer, const std::vector<cluster::ClusterNode>& view,
                         TimePoint now);

    /// Time passes: thresholds are re-checked, the event loop's lag is measured.
    void tick(TimePoint now);

    /// The earliest time at which tick() could change a node's state by time passing
    /// alone (a failing node reaching its threshold, a master's loading grace running
    /// out), if any. The shell wakes for it between its regular ticks, so detection
    /// does not wait for the next tick. O(nodes).
    std::optional<TimePoint> next_deadline() const;

    /// Events and actions since the last call.
    Output take_output();

    /// Opinions of every node with a known id (or address), for the vote. SDOWN opinions
    /// are withheld (sdown=false) in safe mode.
    /// With `sdown_only`, just the SDOWN ones (none in safe mode): what the vote keeps; it
    /// costs O(nodes) comparisons, not O(nodes) opinions, every tick (issue #8, scale).
    std::vector<Opinion> opinions(TimePoint now, bool sdown_only = false) const;

    bool in_safe_mode(TimePoint now) const;
    std::optional<TimePoint> safe_mode_until() const { return safe_mode_until_; }

    const std::map<std::string, NodeStatus, std::less<>>& nodes() const { return nodes_; }
    const NodeStatus* node(std::string_view address) const;
    const DetectorConfig& config() const { return config_; }
    void set_config(const DetectorConfig& config) { config_ = config; }

    /// Probes ignored because they were sent before the last safe-mode entry.
    std::uint64_t stale_probes_ignored() const { return stale_probes_ignored_; }

  private:
    void observe_time(TimePoint now);
    void evaluate(NodeStatus& n, TimePoint now);
    void declare_sdown(NodeStatus& n, TimePoint now);
    void recover(NodeStatus& n, TimePoint now);
    void refresh_replica_testimony(NodeStatus& master, TimePoint now);
    void refresh_lag(NodeStatus& n);
    /// When the current failure streak's threshold runs out (none if not failing).
    std::optional<TimePoint> sdown_deadline(const NodeStatus& n, Evidence ev) const;
    /// Addresses of the nodes whose latest INFO says they replicate `master`.
    const std::set<std::string, std::less<>>& replicas_of(std::string_view master) const;
    void index_replica(const std::string& replica, const cluster::ReplicationInfo* before,
                       const cluster::ReplicationInfo* after);
    void emit(Event e) { output_.events.push_back(std::move(e)); }
    void request_replication(const std::string& address);

    DetectorConfig config_;
    std::map<std::string, NodeStatus, std::less<>> nodes_;
    /// Master address (as its replicas' INFO names it) → the nodes whose latest INFO is
    /// that of a replica of it. Keeps INFO handling O(replicas of one master), not
    /// O(nodes) per reply (issue #8, scale).
    std::map<std::string, std::set<std::string, std::less<>>, std::less<>> replicas_of_;
    /// What a viewer's CLUSTER NODES says of one node it flags.
    struct Flagged {
        bool fail = false;   ///< "fail"
        bool pfail = false;  ///< "fail?"
    };
    /// viewer address → (node address → its flags), only the nodes the viewer flags fail
    /// or fail? (what corroboration reads), so memory grows with what is flagged, not
    /// with viewers × nodes. Invariant: every node's flagged_fail_by / flagged_pfail_by is
    /// exactly the viewers here that flag its address so.
    std::map<std::string, std::map<std::string, Flagged, std::less<>>, std::less<>> views_;
    /// Adds (`add`) or removes `viewer` in the flagged sets of the nodes `flagged` names.
    void apply_flags(const std::string& viewer,
                     const std::map<std::string, Flagged, std::less<>>& flagged, bool add);
    /// Time of the latest input (tick or other); a gap past the lag threshold means the
    /// event loop (or the whole process) stalled.
    std::optional<TimePoint> last_input_;
    std::optional<TimePoint> safe_mode_until_;
    /// Probes sent before this are from before a lag and are ignored.
    std::optional<TimePoint> ignore_probes_sent_before_;
    std::uint64_t stale_probes_ignored_ = 0;
    Output output_;
};

}  // namespace picket::detect
