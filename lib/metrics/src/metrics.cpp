#include "picket/metrics/metrics.h"

#include "picket/metrics/text_format.h"

namespace picket::metrics {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

/// Ping round trips: loopback ~50 µs up to the default 1 s deadline.
const prometheus::Histogram::BucketBoundaries kPingBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
const prometheus::Histogram::BucketBoundaries kLagBuckets = {0.001, 0.005, 0.01, 0.05, 0.1,
                                                             0.25,  0.5,   1,    5,    30};

}  // namespace

Metrics::Metrics(const BuildInfo& build)
    : registry_(std::make_shared<prometheus::Registry>()),
      cluster_state_ok(BuildGauge()
                           .Name("picket_cluster_state_ok")
                           .Help("1 when CLUSTER INFO of the last node read says cluster_state:ok")
                           .Register(*registry_)
                           .Add({})),
      cluster_current_epoch(BuildGauge()
                                .Name("picket_cluster_current_epoch")
                                .Help("Highest cluster_current_epoch seen in CLUSTER INFO")
                                .Register(*registry_)
                                .Add({})),
      cluster_slots(BuildGauge()
                        .Name("picket_cluster_slots")
                        .Help("Slots by state (assigned, ok, pfail, fail) per CLUSTER INFO")
                        .Register(*registry_)),
      cluster_known_nodes(BuildGauge()
                              .Name("picket_cluster_known_nodes")
                              .Help("Nodes in the topology model")
                              .Register(*registry_)
                              .Add({})),
      topology_disagreements(BuildGauge()
                                 .Name("picket_topology_disagreements")
                                 .Help("Ways the nodes' CLUSTER NODES views disagree right now")
                                 .Register(*registry_)
                                 .Add({})),
      safe_mode(BuildGauge()
                    .Name("picket_safe_mode")
                    .Help("1 while this watcher distrusts its own opinions (loop stall, "
                          "clock jump)")
                    .Register(*registry_)
                    .Add({})),
      event_loop_lag_seconds(BuildGauge()
                                 .Name("picket_event_loop_lag_seconds")
                                 .Help("How late the last timer tick ran")
                                 .Register(*registry_)
                                 .Add({})),
      event_loop_lag(BuildHistogram()
                         .Name("picket_event_loop_lag_distribution_seconds")
                         .Help("How late timer ticks ran")
                         .Register(*registry_)
                         .Add({}, kLagBuckets)),
      config_last_reload_successful(BuildGauge()
                                        .Name("picket_config_last_reload_successful")
                                        .Help("1 when the last configuration (re)load succeeded")
                                        .Register(*registry_)
                                        .Add({})),
      config_last_reload_success_timestamp_seconds(
          BuildGauge()
              .Name("picket_config_last_reload_success_timestamp_seconds")
              .Help("Unix time of the last successful configuration load")
              .Register(*registry_)
              .Add({})),
      http_requests(BuildCounter()
                        .Name("picket_http_requests_total")
                        .Help("HTTP requests served")
                        .Register(*registry_)
                        .Add({})),
      http_bad_requests(BuildCounter()
                            .Name("picket_http_bad_requests_total")
                            .Help("HTTP requests refused as malformed, oversized or too slow")
                            .Register(*registry_)
                            .Add({})),
      vote_term(BuildGauge()
                    .Name("picket_vote_term")
                    .Help("Current term of this watcher's vote")
                    .Register(*registry_)
                    .Add({})),
      vote_is_leader(BuildGauge()
                         .Name("picket_vote_is_leader")
                         .Help("1 while this watcher is the elected leader")
                         .Register(*registry_)
                         .Add({})),
      vote_lease_valid(BuildGauge()
                           .Name("picket_vote_lease_valid")
                           .Help("1 while this leader holds a valid lease (may act on Redis)")
                           .Register(*registry_)
                           .Add({})),
      vote_quorum_available(BuildGauge()
                                .Name("picket_vote_quorum_available")
                                .Help("1 when this watcher knows a leader elected by a majority")
                                .Register(*registry_)
                                .Add({})),
      peer_connected(BuildGauge()
                         .Name("picket_peer_connected")
                         .Help("1 when this watcher's connection to the peer is up")
                         .Register(*registry_)),
      peer_messages_dropped(BuildCounter()
                                .Name("picket_peer_messages_dropped_total")
                                .Help("Peer messages dropped, by reason (bad MAC, replay, ...)")
                                .Register(*registry_)),
      peer_messages_received(BuildCounter()
                                 .Name("picket_peer_messages_received_total")
                                 .Help("Authenticated peer messages received")
                                 .Register(*registry_)
                                 .Add({})),
      node_odown(BuildGauge()
                     .Name("picket_node_odown")
                     .Help("1 while the watchers' quorum holds the node objectively down "
                           "(known to the leader)")
                     .Register(*registry_)),
      failovers(BuildCounter()
                    .Name("picket_failovers_total")
                    .Help("Failovers handled, by shard and result (succeeded, failed, vetoed, "
                          "blocked)")
                    .Register(*registry_)),
      failover_phase(BuildHistogram()
                         .Name("picket_failover_phase_duration_seconds")
                         .Help("Time of each failover phase: decided (failure to decision), "
                               "command_sent, promoted, converged")
                         .Register(*registry_)),
      cluster_open_slots(BuildGauge()
                             .Name("picket_cluster_open_slots")
                             .Help("Slots importing or migrating (failover refuses such shards)")
                             .Register(*registry_)
                             .Add({})),
      shard_failover_ready(BuildGauge()
                               .Name("picket_shard_failover_ready")
                               .Help("1 when the shard (slot ranges) could be failed over right "
                                     "now, as this watcher sees it (Sentinel's CKQUORUM)")
                               .Register(*registry_)),
      shard_failover_problem(
          BuildGauge()
              .Name("picket_shard_failover_problem")
              .Help("1 for each reason the shard could not be failed over now: "
                    "no_eligible_replica, no_quorum, no_majority, cooldown, migration, "
                    "maintenance")
              .Register(*registry_)),
      alert_sent(BuildCounter()
                     .Name("picket_alert_sent_total")
                     .Help("Alert notifications delivered (2xx), by receiver")
                     .Register(*registry_)),
      alert_failures(BuildCounter()
                         .Name("picket_alert_failures_total")
                         .Help("Failed delivery attempts, by receiver and reason")
                         .Register(*registry_)),
      alert_dropped(BuildCounter()
                        .Name("picket_alert_dropped_total")
                        .Help("Notifications dropped unsent because the queue was full")
                        .Register(*registry_)),
      alert_abandoned(BuildCounter()
                          .Name("picket_alert_abandoned_total")
                          .Help("Notifications given up (final 4xx/3xx or out of attempts)")
                          .Register(*registry_)),
      alert_queue_length(BuildGauge()
                             .Name("picket_alert_queue_length")
                             .Help("Notifications waiting or in flight, by receiver")
                             .Register(*registry_)),
      ping_duration_(BuildHistogram()
                         .Name("picket_ping_duration_seconds")
                         .Help("Round trip of answered PINGs, all nodes together")
                         .Register(*registry_)
                         .Add({}, kPingBuckets)),
      events_(BuildCounter()
                  .Name("picket_events_total")
                  .Help("Events emitted, by event name")
                  .Register(*registry_)) {
    BuildGauge()
        .Name("picket_build_info")
        .Help("Build facts of this picketd")
        .Register(*registry_)
        .Add({{"version", build.version}, {"revision", build.revision}})
        .Set(1);
}

namespace {

/// A per-node family: its name, help and type, and how to read a node's value.
struct NodeFamily {
    const char* name;
    const char* help;
    prometheus::MetricType type;
    double (*value)(const NodeSeries& s);
};

/// The per-node families, in the order they were registered before render() wrote them
/// itself (names, help and types unchanged: dashboards and alert rules use them).
const NodeFamily kNodeFamilies[] = {
    {"picket_node_up", "1 when the node's last probe got a reply", prometheus::MetricType::Gauge,
     [](const NodeSeries& s) { return s.up->Value(); }},
    {"picket_node_is_master", "1 when the node's INFO replication says role:master",
     prometheus::MetricType::Gauge, [](const NodeSeries& s) { return s.is_master->Value(); }},
    {"picket_node_sdown", "1 when this watcher holds the node subjectively down",
     prometheus::MetricType::Gauge, [](const NodeSeries& s) { return s.sdown->Value(); }},
    {"picket_node_failing_seconds", "Seconds since the node's first failed probe (0 when up)",
     prometheus::MetricType::Gauge, [](const NodeSeries& s) { return s.failing_seconds->Value(); }},
    {"picket_replication_offset_bytes",
     "master_repl_offset of a master, slave_repl_offset of a replica",
     prometheus::MetricType::Gauge,
     [](const NodeSeries& s) { return s.replication_offset->Value(); }},
    {"picket_replica_lag_bytes", "Bytes a replica is behind its master's last known offset",
     prometheus::MetricType::Gauge, [](const NodeSeries& s) { return s.replica_lag->Value(); }},
    {"picket_master_link_up", "1 when a replica reports master_link_status:up",
     prometheus::MetricType::Gauge, [](const NodeSeries& s) { return s.master_link_up->Value(); }},
    {"picket_ping_last_duration_seconds", "Round trip of the node's last answered PING",
     prometheus::MetricType::Gauge,
     [](const NodeSeries& s) { return s.ping_last_duration->Value(); }},
    {"picket_ping_attempts_total", "PINGs sent", prometheus::MetricType::Counter,
     [](const NodeSeries& s) { return s.ping_attempts->Value(); }},
};

constexpr const char* kPingFailures = "picket_ping_failures_total";
constexpr const char* kPingFailuresHelp = "PINGs that got no valid reply, by reason";

}  // namespace

std::string Metrics::render() const {
    std::string out;
    out.reserve(last_render_size_ + last_render_size_ / 8 + 4096);
    text::append_families(out, registry_->Collect());
    render_nodes(out);
    text::append_families(out, process_.Collect());
    last_render_size_ = out.size();
    return out;
}

void Metrics::render_nodes(std::string& out) const {
    // A family without series is left out, as prometheus-cpp's registry leaves it out.
    if (nodes_.empty()) {
        return;
    }
    for (const auto& f : kNodeFamilies) {
        text::append_header(out, f.name, f.help, f.type);
        for (const auto& [address, entry] : nodes_) {
            out += f.name;
            out += entry.label;
            text::append_value(out, f.value(entry.series));
            out += '\n';
        }
    }
    bool header = false;
    for (const auto& [address, entry] : nodes_) {
        if (!header && !entry.ping_failures.empty()) {
            text::append_header(out, kPingFailures, kPingFailuresHelp,
                                prometheus::MetricType::Counter);
            header = true;
        }
        for (const auto& [reason, counter] : entry.ping_failures) {
            out += kPingFailures;
            out += "{node=\"";
            text::append_label_value(out, address);
            out += "\",reason=\"";
            text::append_label_value(out, reason);
            out += "\"} ";
            text::append_value(out, counter.Value());
            out += '\n';
        }
    }
}

void Metrics::set_counter(prometheus::Counter& c, double total) {
    if (total > c.Value()) {
        c.Increment(total - c.Value());
    }
}

NodeSeries& Metrics::node(const std::string& address) {
    auto [it, inserted] = nodes_.try_emplace(address);
    NodeEntry& e = it->second;
    if (inserted) {
        e.label = "{node=\"";
        text::append_label_value(e.label, address);
        e.label += "\"} ";
        NodeSeries& s = e.series;
        s.up = &e.up;
        s.is_master = &e.is_master;
        s.sdown = &e.sdown;
        s.failing_seconds = &e.failing_seconds;
        s.replication_offset = &e.replication_offset;
        s.replica_lag = &e.replica_lag;
        s.master_link_up = &e.master_link_up;
        s.ping_last_duration = &e.ping_last_duration;
        s.ping_attempts = &e.ping_attempts;
    }
    return e.series;
}

void Metrics::forget_node(const std::string& address) {
    nodes_.erase(address);
}

void Metrics::count_ping_failure(const std::string& address, const std::string& reason) {
    node(address);
    NodeEntry& e = nodes_.find(address)->second;
    auto it = e.ping_failures.find(reason);
    if (it == e.ping_failures.end()) {
        it = e.ping_failures.try_emplace(reason).first;
        e.series.ping_failures.emplace(reason, &it->second);
    }
    it->second.Increment();
}

void Metrics::count_event(const std::string& event) {
    auto it = event_counters_.find(event);
    if (it == event_counters_.end()) {
        it = event_counters_.emplace(event, &events_.Add({{"event", event}})).first;
    }
    it->second->Increment();
}

}  // namespace picket::metrics
