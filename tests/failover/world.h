#pragma once
// Test fixtures for the failover decisions: a synthetic cluster (CLUSTER NODES text →
// Topology) and the detector's per-node status, built field by field.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/topology.h"
#include "picket/failover/choice.h"

namespace picket::failover::testing {

using namespace std::chrono_literals;

/// A valid node id made of one repeated hex digit.
inline std::string id(char c) {
    return std::string(40, c);
}

/// An arbitrary monotonic reading.
inline const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

/// One line of a synthetic CLUSTER NODES reply.
struct Line {
    char node;
    std::string address;  // "10.0.0.1:7000"
    std::string flags;    // "master", "slave", "master,fail", ...
    char master = 0;      // 0 for "-"
    std::uint64_t epoch = 0;
    std::string slots;  // "0-5460", may include "[100->-<id>]" on the reporter's line
};

/// Node `reporter`'s CLUSTER NODES view of `lines`.
inline cluster::ClusterView view_of(const std::vector<Line>& lines, char reporter) {
    std::string text;
    for (const auto& l : lines) {
        // "ip:port[,hostname]" → "ip:port@cport[,hostname]".
        const auto comma = l.address.find(',');
        const std::string endpoint = l.address.substr(0, comma);
        const std::string hostname = comma == std::string::npos ? "" : l.address.substr(comma);
        const auto port = endpoint.substr(endpoint.rfind(':') + 1);
        text += id(l.node) + " " + endpoint + "@1" + port + hostname + " " +
                (l.node == reporter ? "myself," : "") + l.flags + " " +
                (l.master != 0 ? id(l.master) : "-") + " 0 0 " + std::to_string(l.epoch) +
                " connected" + (l.slots.empty() ? "" : " ") + l.slots + "\n";
    }
    auto nodes = cluster::parse_cluster_nodes(text);
    EXPECT_TRUE(nodes.has_value()) << text;
    auto view = cluster::make_view(nodes ? *nodes : std::vector<cluster::ClusterNode>{});
    EXPECT_TRUE(view.has_value()) << text;
    return view ? *view : cluster::ClusterView{};
}

/// The topology as node `reporter` sees `lines`.
inline cluster::Topology topology_of(const std::vector<Line>& lines, char reporter) {
    return cluster::Topology::build(std::vector<cluster::ClusterView>{view_of(lines, reporter)});
}

/// Masters a, b, c on hosts .1-.3; replicas d, e, f of a on .4-.6.
inline std::vector<Line> three_masters() {
    return {
        {'a', "10.0.0.1:7000", "master", 0, 1, "0-5460"},
        {'b', "10.0.0.2:7000", "master", 0, 2, "5461-10922"},
        {'c', "10.0.0.3:7000", "master", 0, 3, "10923-16383"},
        {'d', "10.0.0.4:7000", "slave", 'a', 1, ""},
        {'e', "10.0.0.5:7000", "slave", 'a', 1, ""},
        {'f', "10.0.0.6:7000", "slave", 'a', 1, ""},
    };
}

/// A replica of a (10.0.0.1:7000) that answers, with fresh INFO at kT0.
inline detect::NodeStatus replica_status(char node, const std::string& address, std::int64_t offset,
                                         std::int64_t priority = 100) {
    detect::NodeStatus s;
    s.address = address;
    s.node_id = id(node);
    s.master_address = "10.0.0.1:7000";
    s.state = detect::NodeState::kUp;
    s.last_reply = kT0;
    cluster::ReplicationInfo r;
    r.role = cluster::ReplicationRole::kReplica;
    r.master_host = "10.0.0.1";
    r.master_port = 7000;
    r.master_link_status = cluster::MasterLinkStatus::kUp;
    r.master_last_io_seconds_ago = 0;
    r.slave_repl_offset = offset;
    r.slave_priority = priority;
    s.replication = r;
    s.replication_at = kT0;
    return s;
}

/// The failed master a as the detector sees it: SDOWN, connection refused since kT0 − 2 s.
inline detect::NodeStatus dead_master_status() {
    detect::NodeStatus s;
    s.address = "10.0.0.1:7000";
    s.node_id = id('a');
    s.cluster_says_master = true;
    s.state = detect::NodeState::kSdown;
    s.evidence = detect::Evidence::kDead;
    s.probe_evidence = detect::Evidence::kDead;
    s.last_outcome = detect::ProbeOutcome::kRefused;
    s.failing_since = kT0 - 2s;
    s.sdown_since = kT0 - 1s;
    return s;
}

/// A healthy master as the detector sees it.
inline detect::NodeStatus up_master_status(char node, const std::string& address) {
    detect::NodeStatus s;
    s.address = address;
    s.node_id = id(node);
    s.cluster_says_master = true;
    s.state = detect::NodeState::kUp;
    s.last_reply = kT0;
    return s;
}

/// The detector's nodes for `three_masters()`: a dead, b and c up, d/e/f replicas with
/// offsets 1000, 900, 800.
inline NodeStatuses standard_nodes() {
    NodeStatuses n;
    n["10.0.0.1:7000"] = dead_master_status();
    n["10.0.0.2:7000"] = up_master_status('b', "10.0.0.2:7000");
    n["10.0.0.3:7000"] = up_master_status('c', "10.0.0.3:7000");
    n["10.0.0.4:7000"] = replica_status('d', "10.0.0.4:7000", 1000);
    n["10.0.0.5:7000"] = replica_status('e', "10.0.0.5:7000", 900);
    n["10.0.0.6:7000"] = replica_status('f', "10.0.0.6:7000", 800);
    return n;
}

/// A choice input for master a over `topo` and `nodes`.
inline ChoiceInput choice_input(const cluster::Topology& topo, const NodeStatuses& nodes) {
    ChoiceInput in;
    in.master_id = id('a');
    in.master_address = "10.0.0.1:7000";
    in.topology = &topo;
    in.nodes = &nodes;
    return in;
}

/// The candidate entry for node `c`, or nullptr.
inline const Candidate* find(const Choice& choice, char c) {
    for (const auto& cand : choice.candidates) {
        if (cand.node_id == id(c)) {
            return &cand;
        }
    }
    return nullptr;
}

}  // namespace picket::failover::testing
