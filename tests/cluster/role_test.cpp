#include "picket/cluster/role.h"

#include <gtest/gtest.h>

#include "test_data.h"

namespace picket::cluster {
namespace {

using resp::Reply;
using testing::read_reply;

Reply s(std::string text) {
    return Reply::string(std::move(text));
}
Reply i(std::int64_t v) {
    return Reply::integer_reply(v);
}

TEST(RoleTest, RealMaster) {
    auto r = parse_role(read_reply("redis-7.0/role_master.resp"));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->role, RoleKind::kMaster);
    EXPECT_GT(r->offset, 0);
    ASSERT_EQ(r->replicas.size(), 1u);
    EXPECT_EQ(r->replicas[0].ip, "127.0.0.1");
    EXPECT_NE(r->replicas[0].port, 0);
    EXPECT_EQ(r->replicas[0].offset, r->offset);
}

TEST(RoleTest, RealReplica) {
    auto r = parse_role(read_reply("redis-7.0/role_replica.resp"));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->role, RoleKind::kReplica);
    EXPECT_EQ(r->master_ip, "127.0.0.1");
    EXPECT_NE(r->master_port, 0);
    EXPECT_EQ(r->state, ReplicaState::kConnected);
    EXPECT_GT(r->offset, 0);
    EXPECT_TRUE(r->replicas.empty());
}

TEST(RoleTest, RealReplicaWithItsMasterKilled) {
    auto r = parse_role(read_reply("redis-7.0/role_replica_link_down.resp"));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->state, ReplicaState::kConnect);
    EXPECT_EQ(r->offset, -1) << "ROLE has no offset without a master link (INFO still does)";
}

TEST(RoleTest, EveryReplicaState) {
    const std::vector<std::pair<std::string, ReplicaState>> states = {
        {"none", ReplicaState::kNone},
        {"connect", ReplicaState::kConnect},
        {"connecting", ReplicaState::kConnecting},
        {"handshake", ReplicaState::kHandshake},
        {"sync", ReplicaState::kSync},
        {"connected", ReplicaState::kConnected},
        {"unknown", ReplicaState::kUnknown},
        {"future-state", ReplicaState::kUnknown}};
    for (const auto& [text, state] : states) {
        auto r = parse_role(Reply::array({s("slave"), s("10.0.0.1"), i(6379), s(text), i(-1)}));
        ASSERT_TRUE(r.has_value()) << text;
        EXPECT_EQ(r->state, state) << text;
    }
}

TEST(RoleTest, MasterWithoutReplicasAndIntegerFields) {
    auto r = parse_role(Reply::array({s("master"), i(0), Reply::array({})}));
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->replicas.empty());
    r = parse_role(
        Reply::array({s("master"), i(9), Reply::array({Reply::array({s("::1"), i(7001), i(9)})})}));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->replicas[0].port, 7001);
}

TEST(RoleTest, SentinelIsRejected) {
    auto r = parse_role(Reply::array({s("sentinel"), Reply::array({s("mymaster")})}));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("Sentinel"), std::string::npos);
}

TEST(RoleTest, Errors) {
    const std::vector<std::pair<std::string, Reply>> cases = {
        {"error reply", Reply::error("NOAUTH Authentication required.")},
        {"nil", Reply::nil()},
        {"empty", Reply::array({})},
        {"unknown role", Reply::array({s("boss")})},
        {"role not text", Reply::array({i(1)})},
        {"short master", Reply::array({s("master"), i(0)})},
        {"bad master offset", Reply::array({s("master"), s("x"), Reply::array({})})},
        {"replicas not array", Reply::array({s("master"), i(0), i(0)})},
        {"short replica entry",
         Reply::array({s("master"), i(0), Reply::array({Reply::array({s("a"), s("1")})})})},
        {"bad replica port",
         Reply::array(
             {s("master"), i(0), Reply::array({Reply::array({s("a"), s("70000"), s("1")})})})},
        {"replica entry not array", Reply::array({s("master"), i(0), Reply::array({s("x")})})},
        {"short slave", Reply::array({s("slave"), s("a"), i(1), s("connected")})},
        {"bad slave port", Reply::array({s("slave"), s("a"), i(-1), s("connected"), i(0)})},
        {"bad slave ip", Reply::array({s("slave"), i(1), i(1), s("connected"), i(0)})},
        {"bad slave state", Reply::array({s("slave"), s("a"), i(1), i(3), i(0)})},
        {"bad slave offset", Reply::array({s("slave"), s("a"), i(1), s("connected"), s("x")})},
    };
    for (const auto& [name, reply] : cases) {
        auto r = parse_role(reply);
        ASSERT_FALSE(r.has_value()) << name;
        EXPECT_EQ(r.error().message.rfind("ROLE: ", 0), 0u) << name << ": " << r.error().message;
    }
}

}  // namespace
}  // namespace picket::cluster
