#pragma once
// Every metric picketd exports, declared in one place (Envoy style), on a prometheus-cpp
// core registry rendered in the text format by picket::http.
//
// Naming follows Prometheus conventions: prefix picket_, base units (seconds, bytes),
// counters end in _total, info metrics in _info, labels bounded (node addresses are
// bounded by the cluster's size; reasons by enums).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>

#include "picket/metrics/process_collector.h"

namespace picket::metrics {

/// Build facts for picket_build_info.
struct BuildInfo {
    std::string version;
    std::string revision;
};

/// The series of one Redis node; created on first use, removed by Metrics::forget_node.
struct NodeSeries {
    prometheus::Gauge* up = nullptr;         ///< 1 when the last probe got a reply
    prometheus::Gauge* is_master = nullptr;  ///< 1 when INFO says master
    prometheus::Gauge* sdown = nullptr;      ///< 1 when this watcher holds it SDOWN
    prometheus::Gauge* failing_seconds = nullptr;
    prometheus::Gauge* replication_offset = nullptr;
    prometheus::Gauge* replica_lag = nullptr;
    prometheus::Gauge* master_link_up = nullptr;
    /// Round trip of the node's last answered PING (the distribution is cluster-wide:
    /// per-node histograms made /metrics 1.9 MB at 1,000 nodes).
    prometheus::Gauge* ping_last_duration = nullptr;
    prometheus::Counter* ping_attempts = nullptr;
    /// By reason (probe outcome name), created as reasons occur.
    std::map<std::string, prometheus::Counter*> ping_failures;
};

/// The registry and all families. Not thread-safe beyond what prometheus-cpp gives;
/// picketd touches it from its one thread.
class Metrics {
    // First member: every family below registers with it during construction.
    std::shared_ptr<prometheus::Registry> registry_;

  public:
    explicit Metrics(const BuildInfo& build);

    /// The text exposition format (version 0.0.4) of everything registered.
    std::string render() const;
    static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

    prometheus::Registry& registry() { return *registry_; }

    NodeSeries& node(const std::string& address);
    void forget_node(const std::string& address);
    void count_ping_failure(const std::string& address, const std::string& reason);
    /// An answered PING's round trip, into the cluster-wide histogram.
    void observe_ping(double seconds) { ping_duration_.Observe(seconds); }
    void count_event(const std::string& event);

    // Cluster-wide gauges (as this watcher last read them).
    prometheus::Gauge& cluster_state_ok;
    prometheus::Gauge& cluster_current_epoch;
    prometheus::Family<prometheus::Gauge>& cluster_slots;  ///< label state
    prometheus::Gauge& cluster_known_nodes;
    prometheus::Gauge& topology_disagreements;
    // This watcher.
    prometheus::Gauge& safe_mode;
    prometheus::Gauge& event_loop_lag_seconds;
    prometheus::Histogram& event_loop_lag;
    prometheus::Gauge& config_last_reload_successful;
    prometheus::Gauge& config_last_reload_success_timestamp_seconds;
    prometheus::Counter& http_requests;
    prometheus::Counter& http_bad_requests;
    // The vote (issue #4).
    prometheus::Gauge& vote_term;
    prometheus::Gauge& vote_is_leader;
    prometheus::Gauge& vote_lease_valid;
    prometheus::Gauge& vote_quorum_available;
    prometheus::Family<prometheus::Gauge>& peer_connected;           ///< label peer
    prometheus::Family<prometheus::Counter>& peer_messages_dropped;  ///< label reason
    prometheus::Counter& peer_messages_received;
    // Failover (issue #5).
    prometheus::Family<prometheus::Gauge>& node_odown;          ///< label node
    prometheus::Family<prometheus::Counter>& failovers;         ///< labels shard, result
    prometheus::Family<prometheus::Histogram>& failover_phase;  ///< label phase
    prometheus::Gauge& cluster_open_slots;
    prometheus::Family<prometheus::Gauge>& shard_failover_ready;    ///< label shard
    prometheus::Family<prometheus::Gauge>& shard_failover_problem;  ///< labels shard, problem
    // Alert delivery (issue #6), per receiver ("alertmanager" for the direct push).
    prometheus::Family<prometheus::Counter>& alert_sent;        ///< label receiver
    prometheus::Family<prometheus::Counter>& alert_failures;    ///< labels receiver, reason
    prometheus::Family<prometheus::Counter>& alert_dropped;     ///< label receiver
    prometheus::Family<prometheus::Counter>& alert_abandoned;   ///< label receiver
    prometheus::Family<prometheus::Gauge>& alert_queue_length;  ///< label receiver

    /// Brings a counter up to `total` (for counters kept by another component).
    static void set_counter(prometheus::Counter& c, double total);

  private:
    /// A node's series, owned here rather than by registered families: render() writes
    /// them straight from these values, sorted by node. (Collecting 10 series per node
    /// through the registry copied every label of 10,000 series per scrape at 1,000
    /// nodes, and serializing them through prometheus-cpp's ostream was as much again.)
    struct NodeEntry {
        NodeSeries series;  ///< points at the members below
        /// `{node="<address, escaped>"} `: written before every value of this node.
        std::string label;
        prometheus::Gauge up;
        prometheus::Gauge is_master;
        prometheus::Gauge sdown;
        prometheus::Gauge failing_seconds;
        prometheus::Gauge replication_offset;
        prometheus::Gauge replica_lag;
        prometheus::Gauge master_link_up;
        prometheus::Gauge ping_last_duration;
        prometheus::Counter ping_attempts;
        /// By reason; std::map: node-based, the series' pointers stay valid.
        std::map<std::string, prometheus::Counter, std::less<>> ping_failures;
    };
    /// Appends the per-node families (HELP, TYPE and one line per node, by address).
    void render_nodes(std::string& out) const;

    /// prometheus-cpp 1.0's Registry takes no custom Collectables: merged in render().
    ProcessCollector process_;
    prometheus::Histogram& ping_duration_;
    prometheus::Family<prometheus::Counter>& events_;
    /// By address (sorted: the exposition lists nodes in this order).
    std::map<std::string, NodeEntry, std::less<>> nodes_;
    std::map<std::string, prometheus::Counter*> event_counters_;
    /// The last exposition's size: the next one reserves a little more up front.
    mutable std::size_t last_render_size_ = 0;
};

}  // namespace picket::metrics
