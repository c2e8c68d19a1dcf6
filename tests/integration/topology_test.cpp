// The topology model against a real 3+3 Redis Cluster, read through picket's own RESP
// client: a healthy cluster, a graceful CLUSTER FAILOVER done by the test, and a master
// killed with -9 until the cluster promotes its replica.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <memory>

#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/info.h"
#include "picket/cluster/topology.h"
#include "picket/resp/client.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/run_async.h"

namespace picket::cluster {
namespace {

using namespace std::chrono_literals;
using picket::testing::await;
using resp::Client;
using resp::Command;

/// Reads CLUSTER NODES, INFO replication and CONFIG GET cluster-node-timeout from every
/// node that answers, with picket's client, and builds the model.
class TopologyReader {
  public:
    explicit TopologyReader(testing::RedisCluster& cluster) : cluster_(cluster) {
        for (std::size_t i = 0; i < cluster.size(); ++i) {
            resp::ClientOptions o;
            o.port = static_cast<std::uint16_t>(cluster.node(i).port());
            o.reconnect_initial = 10ms;
            o.reconnect_max = 50ms;
            clients_.push_back(std::make_unique<Client>(io_.get_executor(), o));
        }
    }

    Topology read(NodeTimeouts* timeouts = nullptr) {
        TopologyInput input;
        for (std::size_t i = 0; i < clients_.size(); ++i) {
            auto replies = await(
                io_, clients_[i]->exec({Command{"CLUSTER", "NODES"}, Command{"INFO", "replication"},
                                        Command{"CONFIG", "GET", "cluster-node-timeout"}},
                                       500ms));
            if (!replies) {
                continue;  // killed or paused: its view is missing, as in production
            }
            auto nodes = parse_cluster_nodes((*replies)[0].str);
            EXPECT_TRUE(nodes) << nodes.error().to_string();
            auto view = make_view(std::move(*nodes));
            EXPECT_TRUE(view) << view.error().to_string();
            auto info = parse_info((*replies)[1].str);
            EXPECT_TRUE(info);
            auto repl = parse_replication(*info);
            EXPECT_TRUE(repl) << repl.error().to_string();
            input.replication[view->reporter_id] = *repl;
            if (timeouts != nullptr) {
                const auto& kv = (*replies)[2].elements;
                EXPECT_EQ(kv.size(), 2u);
                (*timeouts)[view->reporter_id] = std::stoll(kv.at(1).str);
            }
            input.views.push_back(std::move(*view));
        }
        return Topology::build(std::move(input));
    }

    /// Re-reads (bounded) until `done` holds for the model; returns the last model.
    Topology read_until(const std::function<bool(const Topology&)>& done,
                        std::chrono::milliseconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        Topology t = read();
        while (!done(t) && std::chrono::steady_clock::now() < end) {
            io_.run_for(100ms);
            t = read();
        }
        return t;
    }

  private:
    testing::RedisCluster& cluster_;
    boost::asio::io_context io_;
    std::vector<std::unique_ptr<Client>> clients_;
};

std::size_t count_kind(const std::vector<Finding>& findings, FindingKind kind) {
    return static_cast<std::size_t>(std::count_if(
        findings.begin(), findings.end(), [&](const Finding& f) { return f.kind == kind; }));
}

std::string describe(const Topology& t) {
    std::string out;
    for (const auto& d : t.disagreements()) {
        out += "disagreement: " + d.reason + "\n";
    }
    for (const auto& f : t.check_all()) {
        out += "finding: " + f.reason + "\n";
    }
    return out;
}

TEST(TopologyRealCluster, HealthyFailoverAndKill) {
    testing::ClusterOptions options;
    options.node.cluster_node_timeout_ms = 2000;  // the kill below needs the cluster's own failover
    auto cluster = testing::RedisCluster::create(options);
    TopologyReader reader(*cluster);

    // --- healthy 3+3
    NodeTimeouts timeouts;
    Topology t = reader.read(&timeouts);
    ASSERT_EQ(t.reporters().size(), 6u);
    ASSERT_EQ(t.nodes().size(), 6u);
    ASSERT_EQ(t.shards().size(), 3u) << describe(t);
    std::size_t slots = 0;
    for (const auto& shard : t.shards()) {
        EXPECT_EQ(shard.replica_ids.size(), 1u) << describe(t);
        slots += shard.slot_count;
        const auto* master = t.node(shard.master_id);
        ASSERT_NE(master, nullptr);
        ASSERT_TRUE(master->repl_offset.has_value()) << "INFO replication joined to the model";
        const auto* replica = t.node(shard.replica_ids.at(0));
        ASSERT_NE(replica, nullptr);
        EXPECT_EQ(replica->master_link_status, MasterLinkStatus::kUp);
        EXPECT_EQ(replica->master_id, shard.master_id);
    }
    EXPECT_EQ(slots, 16384u);
    EXPECT_TRUE(t.disagreements().empty()) << describe(t);
    EXPECT_TRUE(t.check_slot_coverage().empty()) << describe(t);
    EXPECT_TRUE(t.check_replicas().empty()) << describe(t);
    EXPECT_TRUE(t.check_failures().empty()) << describe(t);
    // Everything is on 127.0.0.1: every master shares its host with its replica.
    EXPECT_EQ(count_kind(t.check_same_host(), FindingKind::kSameHost), 3u);
    ASSERT_EQ(timeouts.size(), 6u);
    EXPECT_TRUE(t.check_node_timeouts(timeouts).empty());
    timeouts.begin()->second = 15000;
    EXPECT_EQ(count_kind(t.check_node_timeouts(timeouts), FindingKind::kNodeTimeoutMismatch), 1u);

    // --- graceful CLUSTER FAILOVER by the test on one replica
    const auto masters = cluster->master_indices();
    ASSERT_EQ(masters.size(), 3u);
    const std::size_t old_master = masters[0];
    const std::size_t promoted = cluster->replica_of(old_master).at(0);
    cluster->node(promoted).cli_ok({"CLUSTER", "FAILOVER"});
    cluster->wait_until_master(promoted, 20s);
    cluster->wait_until_replica_of(old_master, promoted, 20s);
    const std::string promoted_id = cluster->node_id(promoted);
    const std::string old_id = cluster->node_id(old_master);
    t = reader.read_until(
        [&](const Topology& m) {
            const auto* s = m.shard_of(promoted_id);
            return m.disagreements().empty() && s != nullptr && s->master_id == promoted_id;
        },
        20s);
    const auto* shard = t.shard_of(promoted_id);
    ASSERT_NE(shard, nullptr) << describe(t);
    EXPECT_EQ(shard->master_id, promoted_id) << describe(t);
    EXPECT_EQ(shard->replica_ids, std::vector<std::string>{old_id});
    EXPECT_GT(shard->slot_count, 0u);
    EXPECT_TRUE(t.disagreements().empty()) << describe(t);
    EXPECT_TRUE(t.check_slot_coverage().empty());

    // --- kill -9 a master; the cluster (node timeout 2 s) fails it over by itself
    const std::size_t victim = cluster->master_indices().at(1);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_id = cluster->node_id(victim);
    const std::string heir_id = cluster->node_id(heir);
    cluster->node(victim).kill();
    cluster->wait_until_master(heir, 30s);
    t = reader.read_until(
        [&](const Topology& m) {
            const auto* v = m.node(victim_id);
            const auto* s = m.shard_of(heir_id);
            return v != nullptr && v->failed_by.size() == 5 && s != nullptr &&
                   s->master_id == heir_id && s->slot_count > 0;
        },
        30s);
    ASSERT_EQ(t.reporters().size(), 5u) << "the killed node has no view";
    const auto* dead = t.node(victim_id);
    ASSERT_NE(dead, nullptr);
    EXPECT_TRUE(dead->is_failed()) << describe(t);
    EXPECT_FALSE(dead->has_own_view());
    EXPECT_TRUE(dead->slots.empty()) << "its slots moved to the promoted replica";
    const auto* heir_shard = t.shard_of(heir_id);
    ASSERT_NE(heir_shard, nullptr);
    EXPECT_EQ(heir_shard->master_id, heir_id);
    EXPECT_TRUE(t.check_slot_coverage().empty()) << describe(t);
    EXPECT_GE(count_kind(t.check_failures(), FindingKind::kNodeFailed), 1u) << describe(t);
    // The promoted master has no live replica now: losing it loses its slots.
    const auto replicas = t.check_replicas();
    EXPECT_TRUE(std::any_of(replicas.begin(), replicas.end(), [&](const Finding& f) {
        return f.kind == FindingKind::kMasterWithoutReplica &&
               std::find(f.node_ids.begin(), f.node_ids.end(), heir_id) != f.node_ids.end();
    })) << describe(t);
}

}  // namespace
}  // namespace picket::cluster
