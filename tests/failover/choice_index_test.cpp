// ChoiceIndex: choose_replica(), readiness(), master_liveness() and shard_migrating()
// with the index give exactly what the scans without it give, on random clusters with the
// awkward cases the scans handle (shared hosts, hostnames, duplicate ids, detector-only
// followers, replicas naming the master by hostname or by a stale view), and on a
// 1,000-node cluster like the one the scale benchmark emulates.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/topology.h"
#include "picket/failover/choice.h"
#include "picket/failover/plan.h"
#include "world.h"

namespace picket::failover {
namespace {

using namespace testing;

/// A 40-hex-digit node id for a number.
std::string node_id(std::size_t n) {
    char buf[41];
    std::snprintf(buf, sizeof buf, "%040zx", n + 1);
    return buf;
}

/// One node of a generated cluster.
struct GenNode {
    std::string id;
    std::string ip;
    std::uint16_t port = 0;
    std::string hostname;  // may be empty
    bool master = false;
    std::size_t master_of = 0;  // for replicas: index of its master
    std::string slots;          // for masters: "a-b" or empty
};

std::string address(const GenNode& n) {
    return n.ip + ":" + std::to_string(n.port);
}

/// The CLUSTER NODES text of `nodes` as node `reporter` prints it; `migration` is added to
/// the reporter's own line (only a node's own view shows its migrations).
std::string cluster_nodes_text(const std::vector<GenNode>& nodes, std::size_t reporter,
                               const std::string& migration) {
    std::string text;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const auto& n = nodes[i];
        text += n.id + " " + address(n) + "@" + std::to_string(n.port + 10000) +
                (n.hostname.empty() ? "" : "," + n.hostname) + " " +
                (i == reporter ? "myself," : "") + (n.master ? "master" : "slave") + " " +
                (n.master ? std::string("-") : nodes[n.master_of].id) + " 0 0 1 connected";
        if (n.master && !n.slots.empty()) {
            text += " " + n.slots;
        }
        if (i == reporter && !migration.empty()) {
            text += " " + migration;
        }
        text += "\n";
    }
    return text;
}

cluster::Topology build(const std::string& text) {
    auto parsed = cluster::parse_cluster_nodes(text);
    EXPECT_TRUE(parsed.has_value()) << text;
    auto view = cluster::make_view(parsed ? *parsed : std::vector<cluster::ClusterNode>{});
    EXPECT_TRUE(view.has_value()) << text;
    return cluster::Topology::build(
        std::vector<cluster::ClusterView>{view ? *view : cluster::ClusterView{}});
}

/// Field by field: every candidate with its explanation, in order, and the sentence.
void expect_same(const Choice& a, const Choice& b, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(a.chosen, b.chosen);
    EXPECT_EQ(a.reason, b.reason);
    ASSERT_EQ(a.candidates.size(), b.candidates.size());
    for (std::size_t i = 0; i < a.candidates.size(); ++i) {
        const auto& x = a.candidates[i];
        const auto& y = b.candidates[i];
        EXPECT_EQ(x.node_id, y.node_id);
        EXPECT_EQ(x.address, y.address);
        EXPECT_EQ(x.exclusion, y.exclusion);
        EXPECT_EQ(x.reason, y.reason);
        EXPECT_EQ(x.priority, y.priority);
        EXPECT_EQ(x.offset, y.offset);
        EXPECT_EQ(x.lag_bytes, y.lag_bytes);
        EXPECT_EQ(x.shares_host_with_master, y.shares_host_with_master);
        EXPECT_EQ(x.rank, y.rank);
    }
}

void expect_same(const std::vector<MasterLiveness>& a, const std::vector<MasterLiveness>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].id, b[i].id);
        EXPECT_EQ(a[i].liveness, b[i].liveness);
    }
}

/// A random cluster and a random detector view of it.
struct RandomWorld {
    std::vector<GenNode> gen;
    cluster::Topology topo;
    NodeStatuses nodes;

    explicit RandomWorld(std::uint32_t seed) {
        std::mt19937 rng(seed);
        auto pick = [&rng](std::size_t n) {
            return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
        };
        auto chance = [&](int percent) { return static_cast<int>(pick(100)) < percent; };
        const std::vector<std::string> ips = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4",
                                              "::1"};
        const std::vector<std::string> hostnames = {"", "", "h1", "h2", "h3"};
        const std::size_t masters = 1 + pick(5);
        const std::size_t replicas = pick(9);
        const std::size_t slots_each = 16384 / masters;
        for (std::size_t i = 0; i < masters + replicas; ++i) {
            GenNode n;
            n.id = node_id(i);
            n.ip = ips[pick(ips.size())];
            n.port = static_cast<std::uint16_t>(7000 + i);
            n.hostname = hostnames[pick(hostnames.size())];
            n.master = i < masters;
            if (n.master) {
                if (!chance(15)) {  // some masters own no slots
                    const std::size_t lo = i * slots_each;
                    const std::size_t hi = i + 1 == masters ? 16383 : lo + slots_each - 1;
                    n.slots = std::to_string(lo) + "-" + std::to_string(hi);
                }
            } else {
                n.master_of = pick(masters);
            }
            gen.push_back(n);
        }
        const std::size_t reporter = pick(gen.size());
        std::string migration;
        if (chance(30)) {
            migration = "[" + std::to_string(pick(16384)) + "->-" + gen[pick(masters)].id + "]";
        }
        topo = build(cluster_nodes_text(gen, reporter, migration));

        // The detector: most nodes, some missing, some with no id or another node's id, some
        // following a master by INFO (ip or hostname form, maybe stale), some only by view,
        // plus nodes the topology does not know.
        auto add_status = [&](const std::string& addr, const std::string& id, bool replica,
                              const GenNode* master) {
            detect::NodeStatus s;
            s.address = addr;
            s.node_id = id;
            s.cluster_says_master = !replica || chance(10);
            const detect::NodeState states[] = {detect::NodeState::kUp, detect::NodeState::kUp,
                                                detect::NodeState::kUp, detect::NodeState::kSdown,
                                                detect::NodeState::kLoading};
            s.state = states[pick(5)];
            s.last_reply = kT0;
            if (chance(30)) {
                s.failing_since = kT0 - std::chrono::seconds(pick(20));
            }
            if (master != nullptr && chance(80)) {
                s.master_address = address(*master);
            }
            if (chance(85)) {
                cluster::ReplicationInfo r;
                r.role = replica ? cluster::ReplicationRole::kReplica
                                 : cluster::ReplicationRole::kMaster;
                if (chance(5)) {
                    r.role = cluster::ReplicationRole::kUnknown;
                }
                if (replica && master != nullptr) {
                    const int form = static_cast<int>(pick(10));
                    if (form < 6) {
                        r.master_host = master->ip;
                    } else if (form < 8 && !master->hostname.empty()) {
                        r.master_host = master->hostname;
                    } else if (form < 9) {
                        r.master_host = ips[pick(ips.size())];  // maybe someone else
                    }
                    r.master_port =
                        chance(90) ? master->port : static_cast<std::uint16_t>(7000 + pick(14));
                }
                r.master_link_status =
                    chance(80) ? cluster::MasterLinkStatus::kUp : cluster::MasterLinkStatus::kDown;
                if (chance(50)) {
                    r.master_link_down_since_seconds = static_cast<std::int64_t>(pick(30)) - 1;
                }
                r.slave_repl_offset = static_cast<std::int64_t>(pick(3)) * 1000;
                r.master_repl_offset = static_cast<std::int64_t>(pick(3)) * 1000;
                r.slave_priority = static_cast<std::int64_t>(pick(3)) * 50;
                r.master_sync_in_progress = chance(5);
                s.replication = r;
                s.replication_at = kT0;
            }
            nodes[addr] = s;
        };
        for (const auto& n : gen) {
            if (chance(10)) {
                continue;  // not probed
            }
            std::string id = n.id;
            if (chance(10)) {
                id.clear();
            } else if (chance(5)) {
                id = gen[pick(gen.size())].id;  // a stale entry with another node's id
            }
            add_status(address(n), id, !n.master, n.master ? nullptr : &gen[n.master_of]);
        }
        const std::size_t extra = pick(4);
        for (std::size_t k = 0; k < extra; ++k) {
            const std::string addr = ips[pick(ips.size())] + ":" + std::to_string(8000 + pick(5));
            add_status(addr, chance(50) ? node_id(100 + k) : "", true, &gen[pick(masters)]);
        }
    }
};

ChoiceInput input_for(const RandomWorld& w, const GenNode& m) {
    ChoiceInput in;
    in.master_id = m.id;
    in.master_address = address(m);
    in.master_hostname = m.hostname;
    in.topology = &w.topo;
    in.nodes = &w.nodes;
    return in;
}

TEST(ChoiceIndex, RandomClustersChooseAsTheScan) {
    std::size_t with_candidates = 0;
    std::size_t chosen = 0;
    std::size_t shared_host = 0;
    for (std::uint32_t seed = 1; seed <= 400; ++seed) {
        const RandomWorld w(seed);
        const ChoiceIndex index(&w.topo, &w.nodes);
        for (const auto& m : w.gen) {
            ChoiceInput in = input_for(w, m);
            if (seed % 3 == 0) {
                in.master_failed_at = kT0 - std::chrono::seconds(seed % 7);
            }
            const Choice plain = choose_replica(in);
            in.index = &index;
            const Choice indexed = choose_replica(in);
            expect_same(plain, indexed, "seed " + std::to_string(seed) + " master " + m.id);
            with_candidates += plain.candidates.empty() ? 0U : 1U;
            chosen += plain.chosen ? 1U : 0U;
            for (const auto& c : plain.candidates) {
                shared_host += c.shares_host_with_master ? 1U : 0U;
            }
        }
        expect_same(master_liveness(w.topo, w.nodes), master_liveness(w.topo, w.nodes, &index));
        for (const auto& shard : w.topo.shards()) {
            const auto fm = failed_master_from(w.topo, shard.master_id);
            ASSERT_TRUE(fm);
            EXPECT_EQ(shard_migrating(w.topo, *fm), shard_migrating(w.topo, *fm, &index))
                << "seed " << seed;
        }
        // Without a topology, and without a detector view.
        for (const auto* topo : {static_cast<const cluster::Topology*>(nullptr), &w.topo}) {
            for (const auto* nodes : {static_cast<const NodeStatuses*>(nullptr), &w.nodes}) {
                const ChoiceIndex partial(topo, nodes);
                ChoiceInput in = input_for(w, w.gen.front());
                in.topology = topo;
                in.nodes = nodes;
                const Choice plain = choose_replica(in);
                in.index = &partial;
                expect_same(plain, choose_replica(in), "partial, seed " + std::to_string(seed));
            }
        }
    }
    // The random worlds exercise what they are meant to: candidates, choices and both
    // placements.
    EXPECT_GT(with_candidates, 400U);
    EXPECT_GT(chosen, 100U);
    EXPECT_GT(shared_host, 50U);
}

TEST(ChoiceIndex, ReadinessOfAThousandNodesAsTheScan) {
    // 500 masters with one replica each, as the scale benchmark's emulator; replicas report
    // offsets and priorities that make the choice depend on them, a few are down.
    std::vector<GenNode> gen;
    const std::size_t masters = 500;
    for (std::size_t i = 0; i < 2 * masters; ++i) {
        GenNode n;
        n.id = node_id(i);
        n.ip = "127.0.0." + std::to_string(1 + i % 7);
        n.port = static_cast<std::uint16_t>(20000 + i);
        n.master = i < masters;
        if (n.master) {
            const std::size_t lo = i * 16384 / masters;
            const std::size_t hi = (i + 1) * 16384 / masters - 1;
            n.slots = std::to_string(lo) + "-" + std::to_string(hi);
        } else {
            n.master_of = i % masters;
        }
        gen.push_back(n);
    }
    // A second replica for every tenth master.
    for (std::size_t i = 0; i < masters; i += 10) {
        GenNode n;
        n.id = node_id(gen.size());
        n.ip = "127.0.0.9";
        n.port = static_cast<std::uint16_t>(20000 + gen.size());
        n.master_of = i;
        gen.push_back(n);
    }
    const cluster::Topology topo = build(cluster_nodes_text(gen, 0, ""));
    ASSERT_EQ(topo.nodes().size(), gen.size());
    NodeStatuses nodes;
    for (std::size_t i = 0; i < gen.size(); ++i) {
        const auto& n = gen[i];
        detect::NodeStatus s;
        s.address = address(n);
        s.node_id = n.id;
        s.cluster_says_master = n.master;
        s.state = i % 97 == 5 ? detect::NodeState::kSdown : detect::NodeState::kUp;
        s.last_reply = kT0;
        cluster::ReplicationInfo r;
        if (n.master) {
            r.role = cluster::ReplicationRole::kMaster;
            r.master_repl_offset = 5000;
        } else {
            s.master_address = address(gen[n.master_of]);
            r.role = cluster::ReplicationRole::kReplica;
            r.master_host = gen[n.master_of].ip;
            r.master_port = gen[n.master_of].port;
            r.master_link_status = cluster::MasterLinkStatus::kUp;
            r.slave_repl_offset = static_cast<std::int64_t>(5000 - (i % 3) * 100);
            r.slave_priority = i % 11 == 0 ? 0 : 100;
        }
        s.replication = r;
        s.replication_at = kT0;
        nodes[s.address] = s;
    }
    const ChoiceIndex index(&topo, &nodes);
    const auto liveness = master_liveness(topo, nodes);
    expect_same(liveness, master_liveness(topo, nodes, &index));
    std::size_t ready = 0;
    std::size_t compared = 0;
    for (const auto& shard : topo.shards()) {
        const auto m = failed_master_from(topo, shard.master_id);
        ASSERT_TRUE(m);
        ReadinessInput in;
        in.master = *m;
        in.topology = &topo;
        in.nodes = &nodes;
        in.master_offset = 5000;
        in.reachable_voters = 3;
        in.voter_count = 3;
        in.quorum = 2;
        in.masters = liveness;
        const Readiness plain = readiness(in);
        in.index = &index;
        const Readiness indexed = readiness(in);
        EXPECT_EQ(plain.replica, indexed.replica) << m->id;
        EXPECT_EQ(plain.reason, indexed.reason) << m->id;
        EXPECT_EQ(plain.problems, indexed.problems) << m->id;
        ready += plain.ready() ? 1U : 0U;
        ++compared;
    }
    EXPECT_EQ(compared, masters);
    EXPECT_GT(ready, masters / 2);
    EXPECT_LT(ready, masters);  // some shards have no eligible replica (down, priority 0)
}

}  // namespace
}  // namespace picket::failover
