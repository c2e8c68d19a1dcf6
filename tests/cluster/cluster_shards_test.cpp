#include "picket/cluster/cluster_shards.h"

#include <gtest/gtest.h>

#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/config_get.h"
#include "test_data.h"

namespace picket::cluster {
namespace {

using resp::Reply;
using testing::read_data;
using testing::read_reply;

Reply s(std::string text) {
    return Reply::string(std::move(text));
}
Reply i(std::int64_t v) {
    return Reply::integer_reply(v);
}

/// A node entry as Redis 7.0 sends it.
Reply node_entry(const std::string& id, std::int64_t port, const std::string& role,
                 std::int64_t offset, const std::string& health) {
    return Reply::array({s("id"), s(id), s("port"), i(port), s("ip"), s("10.0.0.1"), s("endpoint"),
                         s("10.0.0.1"), s("role"), s(role), s("replication-offset"), i(offset),
                         s("health"), s(health)});
}

TEST(ClusterShardsTest, RealHealthyCluster) {
    auto shards = parse_cluster_shards(read_reply("redis-7.0/cluster_shards.resp"));
    ASSERT_TRUE(shards.has_value()) << shards.error().to_string();
    ASSERT_EQ(shards->size(), 3u);
    std::vector<SlotRange> all;
    for (const auto& shard : *shards) {
        all.insert(all.end(), shard.slots.begin(), shard.slots.end());
        ASSERT_EQ(shard.nodes.size(), 2u);
        int masters = 0;
        for (const auto& n : shard.nodes) {
            EXPECT_TRUE(is_node_id(n.id));
            EXPECT_TRUE(n.port.has_value());
            EXPECT_FALSE(n.tls_port.has_value());
            EXPECT_EQ(n.ip, "127.0.0.1");
            EXPECT_EQ(n.endpoint, "127.0.0.1");
            EXPECT_FALSE(n.hostname.has_value()) << "7.0.15 omits an unset hostname";
            EXPECT_NE(n.health, ShardHealth::kFailed);
            EXPECT_NE(n.health, ShardHealth::kUnknown);
            masters += n.role == ShardRole::kMaster ? 1 : 0;
        }
        EXPECT_EQ(masters, 1);
    }
    EXPECT_EQ(normalize_slot_ranges(all), (std::vector<SlotRange>{{0, 16383}}));
}

TEST(ClusterShardsTest, RealClusterAfterFailover) {
    auto shards = parse_cluster_shards(read_reply("redis-7.0/cluster_shards_after_failover.resp"));
    ASSERT_TRUE(shards.has_value()) << shards.error().to_string();
    ASSERT_EQ(shards->size(), 4u) << "the failed master is a shard of its own, without slots";
    int failed = 0;
    for (const auto& shard : *shards) {
        for (const auto& n : shard.nodes) {
            if (n.health == ShardHealth::kFailed) {
                ++failed;
                EXPECT_TRUE(shard.slots.empty());
                EXPECT_EQ(shard.nodes.size(), 1u);
            }
        }
    }
    EXPECT_EQ(failed, 1);
}

TEST(ClusterShardsTest, OptionalFieldsAndUnknownKeys) {
    auto tls_only =
        Reply::array({s("id"), s(std::string(40, 'a')), s("tls-port"), i(6380), s("hostname"),
                      s("redis-a"), s("role"), s("master"), s("future"), Reply::array({i(1)})});
    const auto reply = Reply::array(
        {Reply::array({s("slots"), Reply::array({i(0), i(10), s("20"), s("30")}), s("nodes"),
                       Reply::array({tls_only}), s("shard-id"), s("xyz")})});
    auto shards = parse_cluster_shards(reply);
    ASSERT_TRUE(shards.has_value()) << shards.error().to_string();
    const auto& n = (*shards)[0].nodes[0];
    EXPECT_FALSE(n.port.has_value());
    EXPECT_EQ(n.tls_port, 6380);
    EXPECT_EQ(n.hostname, "redis-a");
    EXPECT_EQ(n.health, ShardHealth::kUnknown);
    EXPECT_EQ((*shards)[0].slots, (std::vector<SlotRange>{{0, 10}, {20, 30}}));
}

TEST(ClusterShardsTest, EmptyClusterAndEmptyShard) {
    auto none = parse_cluster_shards(Reply::array({}));
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty());
    auto empty = parse_cluster_shards(Reply::array({Reply::array(
        {s("slots"), Reply::array({}), s("nodes"),
         Reply::array({node_entry(std::string(40, 'b'), 7000, "master", 0, "online")})})}));
    ASSERT_TRUE(empty.has_value()) << empty.error().to_string();
    EXPECT_TRUE((*empty)[0].slots.empty());
}

TEST(ClusterShardsTest, Errors) {
    const auto good_node = node_entry(std::string(40, 'a'), 7000, "master", 5, "online");
    auto shard = [](Reply slots, Reply nodes) {
        return Reply::array(
            {Reply::array({s("slots"), std::move(slots), s("nodes"), std::move(nodes)})});
    };
    const std::vector<std::pair<std::string, Reply>> cases = {
        {"error reply", Reply::error("ERR unknown subcommand 'SHARDS'")},
        {"not an array", s("hello")},
        {"shard not an array", Reply::array({i(1)})},
        {"odd map", Reply::array({Reply::array({s("slots")})})},
        {"non-text key", Reply::array({Reply::array({i(1), i(2)})})},
        {"missing nodes", Reply::array({Reply::array({s("slots"), Reply::array({})})})},
        {"missing slots", Reply::array({Reply::array({s("nodes"), Reply::array({})})})},
        {"slot 16384", shard(Reply::array({i(0), i(16384)}), Reply::array({good_node}))},
        {"reversed", shard(Reply::array({i(9), i(3)}), Reply::array({good_node}))},
        {"odd slots", shard(Reply::array({i(9)}), Reply::array({good_node}))},
        {"negative slot", shard(Reply::array({i(-1), i(3)}), Reply::array({good_node}))},
        {"slots not array", shard(i(3), Reply::array({good_node}))},
        {"nodes not array", shard(Reply::array({}), i(3))},
        {"bad id",
         shard(Reply::array({}), Reply::array({node_entry("abc", 1, "master", 0, "online")}))},
        {"bad port", shard(Reply::array({}), Reply::array({node_entry(std::string(40, 'a'), 70000,
                                                                      "master", 0, "online")}))},
        {"bad role", shard(Reply::array({}), Reply::array({node_entry(std::string(40, 'a'), 1,
                                                                      "boss", 0, "online")}))},
        {"no id", shard(Reply::array({}), Reply::array({Reply::array({s("role"), s("master")})}))},
        {"no role",
         shard(Reply::array({}), Reply::array({Reply::array({s("id"), s(std::string(40, 'a'))})}))},
        {"offset text",
         shard(Reply::array({}),
               Reply::array({Reply::array({s("id"), s(std::string(40, 'a')), s("role"), s("master"),
                                           s("replication-offset"), s("x")})}))},
    };
    for (const auto& [name, reply] : cases) {
        auto r = parse_cluster_shards(reply);
        ASSERT_FALSE(r.has_value()) << name;
        EXPECT_NE(r.error().message.find("CLUSTER SHARDS"), std::string::npos) << name;
        EXPECT_EQ(r.error().line, 0u);
    }
    auto e = parse_cluster_shards(Reply::error("ERR unknown subcommand 'SHARDS'"));
    EXPECT_NE(e.error().message.find("unknown subcommand"), std::string::npos);
}

TEST(ConfigGetTest, RealNodeTimeout) {
    const auto reply = read_reply("redis-7.0/config_get_cluster_node_timeout.resp");
    auto values = parse_config_get(reply);
    ASSERT_TRUE(values.has_value()) << values.error().to_string();
    EXPECT_EQ(values->at("cluster-node-timeout"), "15000");
    auto timeout = parse_config_integer(reply, "cluster-node-timeout");
    ASSERT_TRUE(timeout.has_value());
    EXPECT_EQ(*timeout, 15000);
    EXPECT_FALSE(parse_config_integer(reply, "maxmemory").has_value());
}

TEST(ConfigGetTest, Errors) {
    EXPECT_FALSE(parse_config_get(Reply::error("ERR nope")).has_value());
    EXPECT_FALSE(parse_config_get(Reply::array({s("a")})).has_value());
    EXPECT_FALSE(parse_config_get(Reply::array({s("a"), i(1)})).has_value());
    EXPECT_FALSE(parse_config_integer(Reply::array({s("a"), s("x")}), "a").has_value());
    auto empty = parse_config_get(Reply::array({}));
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace picket::cluster
