// libFuzzer target: 1-3 CLUSTER NODES views, separated by '|', built into a Topology
// with every check run and the model's invariants verified. An optional fourth part is
// the INFO replication of the first view's reporter.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "picket/cluster/topology.h"

namespace {

using picket::cluster::Topology;

void verify(const Topology& t) {
    for (std::size_t i = 0; i < t.nodes().size(); ++i) {
        const auto& n = t.nodes()[i];
        if (t.node(n.id) != &n || (i > 0 && !(t.nodes()[i - 1].id < n.id))) {
            __builtin_trap();
        }
        (void)t.nodes_at(n.address.ip, n.address.port);
        (void)t.node_by_address(n.address.hostname, n.address.port);
    }
    for (const auto& s : t.shards()) {
        if (t.shard_of(s.master_id) != &s) {
            __builtin_trap();
        }
        for (const auto& r : s.replica_ids) {
            if (t.shard_of(r) != &s) {
                __builtin_trap();
            }
        }
    }
    for (std::size_t slot = 0; slot < picket::cluster::kSlotCount; slot += 7) {
        (void)t.shard_for_slot(static_cast<picket::cluster::Slot>(slot));
    }
    for (const auto& d : t.disagreements()) {
        if (d.claims.size() < 2 || d.reason.empty()) {
            __builtin_trap();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (parts.size() < 4) {
        const auto sep = input.find('|', start);
        parts.push_back(input.substr(start, sep == std::string_view::npos ? sep : sep - start));
        if (sep == std::string_view::npos) {
            break;
        }
        start = sep + 1;
    }

    picket::cluster::TopologyInput in;
    for (std::size_t i = 0; i < parts.size() && i < 3; ++i) {
        auto nodes = picket::cluster::parse_cluster_nodes(parts[i]);
        if (!nodes) {
            continue;
        }
        auto view = picket::cluster::make_view(std::move(nodes).value());
        if (view) {
            in.views.push_back(std::move(view).value());
        }
    }
    if (in.views.empty()) {
        return 0;
    }
    if (parts.size() == 4) {
        if (auto info = picket::cluster::parse_info(parts[3])) {
            if (auto replication = picket::cluster::parse_replication(*info)) {
                in.replication.emplace(in.views.front().reporter_id, *replication);
            }
        }
    }

    picket::cluster::NodeTimeouts timeouts;
    std::int64_t value = 15000;
    for (const auto& n : in.views.front().nodes) {
        timeouts.emplace(n.id, value);
        value = value == 15000 ? 2000 : 15000;
    }
    const auto t = Topology::build(std::move(in));
    verify(t);
    for (const auto& f : t.check_all(timeouts)) {
        if (f.reason.empty()) {
            __builtin_trap();
        }
    }
    return 0;
}
