#include "picket/watch/status.h"

#include "picket/cluster/slots.h"

namespace picket::watch {

using nlohmann::json;

namespace {

json ms_since(const std::optional<TimePoint>& t, TimePoint now) {
    return t ? json(to_ms(now - *t)) : json(nullptr);
}

/// Monotonic readings in ms, comparable with each other within one picketd's status.
json mono_ms(const std::optional<TimePoint>& t) {
    return t ? json(to_ms(t->time_since_epoch())) : json(nullptr);
}

json node_json(const detect::NodeStatus& n, TimePoint now) {
    json j;
    j["address"] = n.address;
    j["node_id"] = n.node_id;
    std::string role = n.cluster_says_master ? "master" : "replica";
    if (n.replication && n.replication->role != cluster::ReplicationRole::kUnknown) {
        role = n.replication->role == cluster::ReplicationRole::kMaster ? "master" : "replica";
    }
    j["role"] = role;
    j["cluster_role"] = n.cluster_says_master ? "master" : "replica";
    j["master_address"] = n.master_address;
    j["state"] = std::string(detect::to_string(n.state));
    j["evidence"] = std::string(detect::to_string(n.evidence));
    j["reason"] = n.reason;
    j["last_outcome"] = std::string(detect::to_string(n.last_outcome));
    j["last_error"] = n.last_error;
    j["last_reply_ms_ago"] = ms_since(n.last_reply, now);
    j["latency_ms"] = static_cast<double>(n.last_latency.count()) / 1e6;
    j["failing_for_ms"] = ms_since(n.failing_since, now);
    j["sdown_for_ms"] = ms_since(n.sdown_since, now);
    j["loading_for_ms"] = ms_since(n.loading_since, now);
    j["failing_since_mono_ms"] = mono_ms(n.failing_since);
    j["silent_since_mono_ms"] = mono_ms(n.silent_since);
    j["sdown_since_mono_ms"] = mono_ms(n.sdown_since);
    j["probes"] = n.probes;
    j["failures"] = n.failures;
    if (n.replication) {
        const auto& r = *n.replication;
        json rj;
        rj["role"] = std::string(cluster::to_string(r.role));
        if (r.role == cluster::ReplicationRole::kReplica) {
            rj["offset"] = r.slave_repl_offset;
            rj["master_link"] = std::string(cluster::to_string(r.master_link_status));
            rj["master_host"] = r.master_host;
            rj["master_port"] = r.master_port;
            rj["priority"] = r.slave_priority;
            if (r.master_link_down_since_seconds) {
                rj["master_link_down_since_seconds"] = *r.master_link_down_since_seconds;
            }
        } else {
            rj["offset"] = r.master_repl_offset;
            rj["connected_replicas"] = r.connected_slaves;
        }
        rj["read_ms_ago"] = ms_since(n.replication_at, now);
        j["replication"] = rj;
    } else {
        j["replication"] = nullptr;
    }
    j["lag_bytes"] = n.lag_bytes ? json(*n.lag_bytes) : json(nullptr);
    j["role_contradicts_cluster"] = n.role_contradicts_cluster;
    j["flagged_pfail_by"] = n.flagged_pfail_by;
    j["flagged_fail_by"] = n.flagged_fail_by;
    j["replicas_report_link_down"] = n.replicas_report_link_down;
    return j;
}

}  // namespace

json status_json(const Watcher& watcher, const WatcherFacts& facts, TimePoint now) {
    const auto& det = watcher.detector();
    const auto& topo = watcher.topology();
    json doc;
    doc["watcher"] = {
        {"id", facts.id},
        {"version", facts.version},
        {"cluster_name", facts.cluster_name},
        {"started_at_unix", facts.started_at_unix},
        {"now_mono_ms", to_ms(now.time_since_epoch())},
        {"safe_mode", det.in_safe_mode(now)},
        {"safe_mode_remaining_ms",
         det.in_safe_mode(now) ? json(to_ms(*det.safe_mode_until() - now)) : json(nullptr)},
        {"ticks", watcher.ticks()},
    };

    json cl;
    cl["topology_known"] = watcher.topology_known();
    cl["current_epoch"] = watcher.current_epoch();
    if (const auto& ci = watcher.cluster_info(); ci) {
        cl["state"] = std::string(cluster::to_string(ci->state));
        cl["state_from"] = watcher.cluster_info_from();
        cl["slots"] = {{"assigned", ci->slots_assigned},
                       {"ok", ci->slots_ok},
                       {"pfail", ci->slots_pfail},
                       {"fail", ci->slots_fail}};
        cl["known_nodes"] = ci->known_nodes;
    } else {
        cl["state"] = nullptr;
    }
    json disagreements = json::array();
    for (const auto& d : topo.disagreements()) {
        disagreements.push_back({{"kind", std::string(cluster::to_string(d.kind))},
                                 {"node_id", d.node_id},
                                 {"reason", d.reason}});
    }
    cl["disagreements"] = disagreements;
    json findings = json::array();
    for (const auto& f : topo.check_all()) {
        findings.push_back({{"kind", std::string(cluster::to_string(f.kind))},
                            {"node_ids", f.node_ids},
                            {"reason", f.reason}});
    }
    cl["findings"] = findings;
    doc["cluster"] = cl;

    json shards = json::array();
    for (const auto& s : topo.shards()) {
        json sj;
        sj["master_id"] = s.master_id;
        const auto* m = topo.node(s.master_id);
        sj["master_address"] = m ? m->address.endpoint() : std::string();
        sj["slots"] = cluster::format_slot_ranges(s.slots);
        sj["slot_count"] = s.slot_count;
        sj["config_epoch"] = s.config_epoch;
        json replicas = json::array();
        for (const auto& id : s.replica_ids) {
            const auto* r = topo.node(id);
            replicas.push_back(
                {{"node_id", id}, {"address", r ? r->address.endpoint() : std::string()}});
        }
        sj["replicas"] = replicas;
        shards.push_back(sj);
    }
    doc["shards"] = shards;

    json nodes = json::array();
    for (const auto& [addr, n] : det.nodes()) {
        auto nj = node_json(n, now);
        if (auto p = watcher.problems().find(addr); p != watcher.problems().end()) {
            nj["problem"] = p->second.what;
        }
        nodes.push_back(std::move(nj));
    }
    doc["nodes"] = nodes;
    return doc;
}

}  // namespace picket::watch
