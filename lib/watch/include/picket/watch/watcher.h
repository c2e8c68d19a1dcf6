#pragma once
// The probing shell: owns a RESP client per Redis node and the one timer, and feeds the
// pure Detector with what they return.
//
// Every tick (ping_interval) it pings every node that is due (pings are pipelined: a slow
// node may have several outstanding, bounded by the client), reads INFO replication of
// each node every info_interval (and at once when the detector asks), and CLUSTER NODES +
// CLUSTER INFO from a rotating sample of `nodes_sample` nodes every nodes_interval — from
// all nodes at once only when the current epoch or some node's role changed, so the cost
// grows linearly with the cluster, not with its square. The topology model is rebuilt
// from the fresh views; the set of probed nodes follows it (new nodes, removed nodes).
//
// Detection does not wait for ticks where it need not: a connection the server closes
// (a killed Redis) is probed again at once, and the one timer also wakes at the
// detector's next deadline (a failing node reaching its threshold), so SDOWN comes
// down_after after the first failed probe, not up to a ping interval later.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "picket/base/time.h"
#include "picket/cluster/cluster_info.h"
#include "picket/cluster/topology.h"
#include "picket/cluster/view_store.h"
#include "picket/detect/detector.h"
#include "picket/resp/client.h"

namespace picket::watch {

/// What the watcher needs from the configuration.
struct WatchOptions {
    /// "host:port" of nodes to start discovery from.
    std::vector<std::string> seeds;
    /// Auth, TLS, connect timeout, limits; host and port are set per node.
    resp::ClientOptions client;
    Duration ping_interval = std::chrono::milliseconds(100);
    Duration ping_timeout = std::chrono::seconds(1);
    Duration info_interval = std::chrono::seconds(1);
    Duration nodes_interval = std::chrono::seconds(1);
    std::size_t nodes_sample = 2;
    detect::DetectorConfig detector;
};

/// Callbacks to the daemon (logs, metrics, later the vote and alerts). All are optional
/// and run on the io_context thread.
struct WatchHooks {
    std::function<void(const detect::Event&)> on_event;
    /// Every probe, for metrics (address, probe).
    std::function<void(const std::string&, const detect::Probe&)> on_probe;
    /// Each timer tick, with how late it ran.
    std::function<void(TimePoint now, Duration lag)> on_tick;
};

/// A parse or protocol problem with one node's reply, kept for /v1/status.
struct NodeProblem {
    std::string what;
    TimePoint at{};
};

class Watcher {
  public:
    using Clock = std::function<TimePoint()>;

    Watcher(boost::asio::any_io_executor executor, WatchOptions options, WatchHooks hooks,
            Clock clock);
    ~Watcher();
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;

    void start();
    /// Stops the timer and closes every connection; outstanding probes are dropped.
    void stop();

    /// New thresholds and intervals (SIGHUP); the seeds and client settings apply to
    /// connections made from now on.
    void reconfigure(const WatchOptions& options);

    const detect::Detector& detector() const { return detector_; }
    const cluster::Topology& topology() const { return topology_; }
    /// True once at least one CLUSTER NODES view was read.
    bool topology_known() const { return topology_known_; }
    /// The latest CLUSTER INFO read (from any node) and from where.
    const std::optional<cluster::ClusterInfo>& cluster_info() const { return cluster_info_; }
    const std::string& cluster_info_from() const { return cluster_info_from_; }
    /// Highest cluster_current_epoch seen.
    std::uint64_t current_epoch() const { return current_epoch_; }
    /// Replies that did not parse, by node address.
    const std::map<std::string, NodeProblem>& problems() const { return problems_; }
    const WatchOptions& options() const { return options_; }
    /// Ticks so far (for liveness checks).
    std::uint64_t ticks() const { return ticks_; }

    struct NodeConn;

  private:
    boost::asio::awaitable<void> timer_loop();
    void on_tick(TimePoint now);
    void on_connection_lost(const std::string& address);
    /// A finished probe (timely or late) to the detector, the metrics hook, and drain().
    void report_probe(const std::string& address, const detect::Probe& probe);
    /// Sends one PING on the node's client (answered in on_ping_result).
    void send_ping(NodeConn& c, TimePoint now);
    /// A ping's outcome from the client: timely (counted off pings_in_flight) or late.
    void on_ping_result(const std::string& address, TimePoint sent,
                        const Expected<resp::Reply, resp::ClientError>& result, bool late);
    boost::asio::awaitable<void> read_replication(std::string address);
    boost::asio::awaitable<void> read_cluster(std::string address);
    NodeConn& conn(const std::string& address);
    void drain();
    void rebuild_topology(TimePoint now);
    /// Runs a rebuild deferred by rebuild_topology when its gap has passed.
    void schedule_rebuild(TimePoint when);
    void apply_node_set(TimePoint now);
    void problem(const std::string& address, std::string what);

    boost::asio::any_io_executor executor_;
    WatchOptions options_;
    WatchHooks hooks_;
    Clock clock_;
    detect::Detector detector_;
    boost::asio::steady_timer timer_;
    bool running_ = false;
    std::uint64_t ticks_ = 0;
    /// Per node address; created when the node joins the probed set.
    std::map<std::string, std::unique_ptr<NodeConn>> conns_;
    /// Latest CLUSTER NODES view per reporting address, with when it was read (each
    /// distinct line stored once).
    cluster::ViewStore views_;
    /// A stored view changed (or one was dropped) since the model was last built.
    bool views_changed_ = true;
    /// Addresses of the views the model was last built from.
    std::vector<std::string> built_from_;
    /// When the model was last built from views (a full build; refreshes of its INFO
    /// replication alone do not count).
    std::optional<TimePoint> last_build_;
    /// How long the last full build took (sets the gap before the next one).
    Duration last_build_cost_{};
    /// A full build deferred to keep them apart (see rebuild_topology).
    bool rebuild_pending_ = false;
    boost::asio::steady_timer rebuild_timer_;
    /// Latest INFO replication per node id (for the topology model).
    std::map<std::string, cluster::ReplicationInfo, std::less<>> replication_by_id_;
    cluster::Topology topology_;
    bool topology_known_ = false;
    std::optional<cluster::ClusterInfo> cluster_info_;
    std::string cluster_info_from_;
    std::uint64_t current_epoch_ = 0;
    /// Set when every node's CLUSTER NODES should be read at the next refresh.
    bool refresh_all_ = true;
    std::size_t rotation_ = 0;
    TimePoint last_full_refresh_{};
    TimePoint next_nodes_refresh_{};
    std::map<std::string, NodeProblem> problems_;
    /// Shared with coroutines so they can tell the watcher is gone.
    std::shared_ptr<bool> alive_;
};

/// Maps a RESP client result onto a probe outcome (the detector's vocabulary).
detect::ProbeOutcome probe_outcome(const Expected<resp::Reply, resp::ClientError>& result);

}  // namespace picket::watch
