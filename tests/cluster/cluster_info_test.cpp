#include "picket/cluster/cluster_info.h"

#include <gtest/gtest.h>

#include "test_data.h"

namespace picket::cluster {
namespace {

using testing::read_data;

TEST(ClusterInfoTest, RealHealthyCluster) {
    auto c = parse_cluster_info(read_data("redis-7.0/cluster_info.txt"));
    ASSERT_TRUE(c.has_value()) << c.error().to_string();
    EXPECT_EQ(c->state, ClusterState::kOk);
    EXPECT_EQ(c->slots_assigned, 16384);
    EXPECT_EQ(c->slots_ok, 16384);
    EXPECT_EQ(c->slots_pfail, 0);
    EXPECT_EQ(c->slots_fail, 0);
    EXPECT_EQ(c->known_nodes, 6);
    EXPECT_EQ(c->size, 3);
    EXPECT_GE(c->current_epoch, c->my_epoch);
    EXPECT_TRUE(c->counters.count("cluster_stats_messages_ping_sent"));
    EXPECT_TRUE(c->counters.count("cluster_stats_messages_received"));
    EXPECT_TRUE(c->counters.count("total_cluster_links_buffer_limit_exceeded"));
    EXPECT_FALSE(c->counters.count("cluster_state"));
}

TEST(ClusterInfoTest, RealClusterAfterFailover) {
    auto c = parse_cluster_info(read_data("redis-7.0/cluster_info_after_failover.txt"));
    ASSERT_TRUE(c.has_value()) << c.error().to_string();
    EXPECT_EQ(c->state, ClusterState::kOk) << "the replica took over every slot";
    EXPECT_EQ(c->size, 3);
    EXPECT_GT(c->current_epoch, 6u) << "the failover bumped the epoch";
    EXPECT_GT(c->counters.at("cluster_stats_messages_fail_received"), 0);
}

constexpr std::string_view kFailing =
    "cluster_state:fail\r\n"
    "cluster_slots_assigned:16384\r\n"
    "cluster_slots_ok:10923\r\n"
    "cluster_slots_pfail:5461\r\n"
    "cluster_slots_fail:0\r\n"
    "cluster_known_nodes:6\r\n"
    "cluster_size:3\r\n"
    "cluster_current_epoch:6\r\n"
    "cluster_my_epoch:2\r\n"
    "cluster_future_field:hello\r\n";

TEST(ClusterInfoTest, FailStateAndLfInput) {
    std::string lf(kFailing);
    for (auto pos = lf.find('\r'); pos != std::string::npos; pos = lf.find('\r')) {
        lf.erase(pos, 1);
    }
    for (const std::string_view text : {kFailing, std::string_view(lf)}) {
        auto c = parse_cluster_info(text);
        ASSERT_TRUE(c.has_value()) << c.error().to_string();
        EXPECT_EQ(c->state, ClusterState::kFail);
        EXPECT_EQ(c->slots_pfail, 5461);
        EXPECT_TRUE(c->counters.empty()) << "non-integer unknown fields are skipped";
    }
}

TEST(ClusterInfoTest, Errors) {
    EXPECT_FALSE(parse_cluster_info("").has_value());
    auto missing = parse_cluster_info("cluster_state:ok\r\n");
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message.find("cluster_slots_assigned"), std::string::npos);

    std::string bad_state(kFailing);
    bad_state.replace(0, 18, "cluster_state:meh");
    auto e = parse_cluster_info(bad_state);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().line, 1u);

    std::string bad_number(kFailing);
    bad_number.replace(bad_number.find("known_nodes:6"), 13, "known_nodes:x");
    e = parse_cluster_info(bad_number);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().line, 6u);

    EXPECT_FALSE(parse_cluster_info("# Cluster\r\n" + std::string(kFailing)).has_value());
    EXPECT_FALSE(parse_cluster_info("garbage\r\n").has_value());
    EXPECT_FALSE(parse_cluster_info(std::string(kFailing) + "cluster_my_epoch:-1\r\n"));
}

}  // namespace
}  // namespace picket::cluster
