#include "picket/cluster/info.h"

#include <gtest/gtest.h>

#include "picket/cluster/role.h"
#include "test_data.h"

namespace picket::cluster {
namespace {

using testing::read_data;
using testing::read_reply;

Info parse_ok(std::string_view text) {
    auto info = parse_info(text);
    EXPECT_TRUE(info.has_value()) << info.error().to_string();
    return info ? *info : Info{};
}

TEST(InfoTest, ParsesEverySectionOfARealMaster) {
    const auto info = parse_ok(read_data("redis-7.0/info_all_master.txt"));
    for (const char* name :
         {"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
          "commandstats", "errorstats", "latencystats", "cluster", "keyspace"}) {
        EXPECT_NE(info.section(name), nullptr) << name;
    }
    EXPECT_EQ(info.get("replication", "role"), "master");
    EXPECT_EQ(info.get("Replication", "role"), "master") << "section names are case-insensitive";
    EXPECT_EQ(info.get("server", "redis_mode"), "cluster");
    EXPECT_EQ(info.get("replication", "no_such_key"), std::nullopt);
    EXPECT_EQ(info.get("no_such_section", "role"), std::nullopt);
    // Values keep everything after the first ':'.
    EXPECT_EQ(info.get("keyspace", "db0")->substr(0, 5), "keys=");
    // An empty section still exists.
    ASSERT_NE(info.section("modules"), nullptr);
    EXPECT_TRUE(info.section("modules")->empty());
    // Fields remember their line.
    const auto* role = info.field("replication", "role");
    ASSERT_NE(role, nullptr);
    EXPECT_GT(role->line, 1u);

    auto server = parse_server(info);
    ASSERT_TRUE(server.has_value()) << server.error().to_string();
    EXPECT_EQ(server->redis_version, "7.0.15");
    EXPECT_EQ(server->run_id.size(), 40u);
    EXPECT_GT(server->process_id, 0);
    EXPECT_GE(server->uptime_in_seconds, 0);
    EXPECT_EQ(server->redis_mode, "cluster");
    ASSERT_TRUE(server->tcp_port.has_value());

    auto persistence = parse_persistence(info);
    ASSERT_TRUE(persistence.has_value()) << persistence.error().to_string();
    EXPECT_FALSE(persistence->loading);
    EXPECT_EQ(persistence->async_loading, false);
    EXPECT_TRUE(persistence->aof_enabled);
    EXPECT_FALSE(persistence->loading_loaded_perc.has_value());

    auto enabled = parse_cluster_enabled(info);
    ASSERT_TRUE(enabled.has_value());
    EXPECT_TRUE(*enabled);
}

TEST(InfoTest, RealMasterReplicationMatchesItsRoleReply) {
    const auto info = parse_ok(read_data("redis-7.0/info_replication_master.txt"));
    auto r = parse_replication(info);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->role, ReplicationRole::kMaster);
    EXPECT_EQ(r->connected_slaves, 1);
    ASSERT_EQ(r->replicas.size(), 1u);
    EXPECT_EQ(r->replicas[0].index, 0u);
    EXPECT_EQ(r->replicas[0].ip, "127.0.0.1");
    EXPECT_TRUE(r->replicas[0].online());
    EXPECT_EQ(r->replicas[0].lag, 0);
    EXPECT_EQ(r->master_replid.size(), 40u);
    EXPECT_EQ(r->master_replid2, std::string(40, '0'));
    EXPECT_EQ(r->second_repl_offset, -1);
    EXPECT_EQ(r->master_failover_state, "no-failover");

    // Captured with no writes in between: the same numbers as ROLE.
    auto role = parse_role(read_reply("redis-7.0/role_master.resp"));
    ASSERT_TRUE(role.has_value()) << role.error().to_string();
    EXPECT_EQ(role->offset, r->master_repl_offset);
    ASSERT_EQ(role->replicas.size(), 1u);
    EXPECT_EQ(role->replicas[0].port, r->replicas[0].port);
    EXPECT_EQ(role->replicas[0].offset, r->replicas[0].offset);
}

TEST(InfoTest, RealReplicaReplication) {
    const auto all = parse_ok(read_data("redis-7.0/info_all_replica.txt"));
    const auto section = parse_ok(read_data("redis-7.0/info_replication_replica.txt"));
    for (const Info* info : {&all, &section}) {
        auto r = parse_replication(*info);
        ASSERT_TRUE(r.has_value()) << r.error().to_string();
        EXPECT_EQ(r->role, ReplicationRole::kReplica);
        EXPECT_EQ(r->master_host, "127.0.0.1");
        EXPECT_NE(r->master_port, 0);
        EXPECT_EQ(r->master_link_status, MasterLinkStatus::kUp);
        EXPECT_GE(r->master_last_io_seconds_ago, 0);
        EXPECT_FALSE(r->master_sync_in_progress);
        EXPECT_TRUE(r->slave_read_repl_offset.has_value());
        EXPECT_EQ(r->slave_priority, 100);
        EXPECT_TRUE(r->slave_read_only);
        EXPECT_EQ(r->replica_announced, true);
        EXPECT_FALSE(r->master_link_down_since_seconds.has_value());
        EXPECT_TRUE(r->replicas.empty());
    }
    auto role = parse_role(read_reply("redis-7.0/role_replica.resp"));
    ASSERT_TRUE(role.has_value());
    EXPECT_EQ(role->master_port, parse_replication(section)->master_port);
}

TEST(InfoTest, RealReplicaWithItsMasterKilled) {
    const auto info = parse_ok(read_data("redis-7.0/info_replication_replica_link_down.txt"));
    auto r = parse_replication(info);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->role, ReplicationRole::kReplica);
    EXPECT_EQ(r->master_link_status, MasterLinkStatus::kDown);
    EXPECT_EQ(r->master_last_io_seconds_ago, -1);
    ASSERT_TRUE(r->master_link_down_since_seconds.has_value());
    EXPECT_GE(*r->master_link_down_since_seconds, 0);
    // The replica still reports the offset it applied (from its cached master).
    EXPECT_GT(r->slave_repl_offset, 0);
}

TEST(InfoTest, RealPromotedReplicaKeepsItsOldHistory) {
    auto r = parse_replication(parse_ok(read_data("redis-7.0/info_replication_promoted.txt")));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->role, ReplicationRole::kMaster);
    EXPECT_EQ(r->connected_slaves, 0);
    ASSERT_TRUE(r->master_replid2.has_value());
    EXPECT_NE(*r->master_replid2, std::string(40, '0'));
    EXPECT_NE(r->second_repl_offset, -1);
}

TEST(InfoTest, LfAndCrlfParseTheSame) {
    const std::string crlf = "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n";
    const std::string lf = "# Replication\nrole:master\nconnected_slaves:0\n";
    const auto a = parse_ok(crlf);
    const auto b = parse_ok(lf);
    EXPECT_EQ(a.get("replication", "role"), "master");
    EXPECT_EQ(b.get("replication", "role"), "master");
    EXPECT_EQ(a.get("replication", "connected_slaves"), b.get("replication", "connected_slaves"));
}

TEST(InfoTest, ValuesMayContainColons) {
    const auto info = parse_ok(
        "# Server\r\nexecutable:/usr/bin/redis-server\r\n"
        "# Replication\r\nmaster_host:::1\r\nmaster_port:6379\r\n");
    EXPECT_EQ(info.get("server", "executable"), "/usr/bin/redis-server");
    EXPECT_EQ(info.get("replication", "master_host"), "::1");
}

TEST(InfoTest, EmptyInputHasNoSections) {
    const auto info = parse_ok("");
    EXPECT_TRUE(info.sections().empty());
    auto r = parse_replication(info);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("replication"), std::string::npos);
    EXPECT_FALSE(parse_server(info).has_value());
    EXPECT_FALSE(parse_persistence(info).has_value());
    EXPECT_FALSE(parse_cluster_enabled(info).has_value());
}

TEST(InfoTest, FieldsBeforeAnyHeaderGoToTheUnnamedSection) {
    const auto info = parse_ok("a:1\r\n\r\n# X\r\nb:2\r\n");
    EXPECT_EQ(info.get("", "a"), "1");
    EXPECT_EQ(info.get("x", "b"), "2");
}

TEST(InfoTest, RejectsMalformedLinesWithTheirNumber) {
    auto no_colon = parse_info("# Server\r\nredis_version:7.0.15\r\ngarbage\r\n");
    ASSERT_FALSE(no_colon.has_value());
    EXPECT_EQ(no_colon.error().line, 3u);
    EXPECT_NE(no_colon.error().to_string().find("line 3"), std::string::npos);

    auto empty_key = parse_info("# Server\n:value\n");
    ASSERT_FALSE(empty_key.has_value());
    EXPECT_EQ(empty_key.error().line, 2u);

    auto no_name = parse_info("#\r\n");
    ASSERT_FALSE(no_name.has_value());
    EXPECT_EQ(no_name.error().line, 1u);
}

TEST(InfoTest, HostileLongLinesAreCutInErrors) {
    const std::string junk(1 << 20, 'x');
    auto r = parse_info("# Server\r\n" + junk + "\r\n");
    ASSERT_FALSE(r.has_value());
    EXPECT_LT(r.error().message.size(), 200u);

    const auto info = parse_ok("# Replication\r\nrole:" + junk + "\r\n");
    auto rep = parse_replication(info);
    ASSERT_TRUE(rep.has_value());
    EXPECT_EQ(rep->role, ReplicationRole::kUnknown);
}

constexpr std::string_view kReplicaSection =
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:10.0.0.1\r\n"
    "master_port:6379\r\n"
    "master_link_status:up\r\n"
    "master_last_io_seconds_ago:1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_repl_offset:100\r\n"
    "slave_priority:0\r\n"
    "slave_read_only:1\r\n"
    "connected_slaves:0\r\n"
    "master_replid:5c3a1e6bf4b6e32a9c6e2c0b0b1d0f1e2a3b4c5d\r\n"
    "master_repl_offset:100\r\n";

TEST(InfoTest, Redis60ReplicaWithoutNewerFields) {
    // 6.0 has no replica_announced, master_failover_state or slave_read_repl_offset.
    auto r = parse_replication(parse_ok(kReplicaSection));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->slave_priority, 0);
    EXPECT_FALSE(r->replica_announced.has_value());
    EXPECT_FALSE(r->master_failover_state.has_value());
    EXPECT_FALSE(r->slave_read_repl_offset.has_value());
    EXPECT_FALSE(r->master_replid2.has_value());
}

TEST(InfoTest, ReplicaFieldErrorsNameTheFieldAndLine) {
    std::string text(kReplicaSection);
    text.replace(text.find("master_port:6379"), 16, "master_port:99999");
    auto r = parse_replication(parse_ok(text));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("master_port"), std::string::npos);
    EXPECT_EQ(r.error().line, 4u);

    std::string link(kReplicaSection);
    link.replace(link.find("status:up"), 9, "status:sideways");
    r = parse_replication(parse_ok(link));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("master_link_status"), std::string::npos);

    std::string missing(kReplicaSection);
    missing.erase(missing.find("master_host"), std::string_view("master_host:10.0.0.1\r\n").size());
    r = parse_replication(parse_ok(missing));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("missing field 'master_host'"), std::string::npos);

    std::string flag(kReplicaSection);
    flag.replace(flag.find("slave_read_only:1"), 17, "slave_read_only:2");
    EXPECT_FALSE(parse_replication(parse_ok(flag)).has_value());
}

TEST(InfoTest, ReplicaLinesAreOrderedByNumberNotByKey) {
    std::string text =
        "# Replication\r\nrole:master\r\nconnected_slaves:11\r\n"
        "master_replid:x\r\nmaster_repl_offset:5\r\n";
    for (int i = 0; i < 11; ++i) {
        text += "slave" + std::to_string(i) + ":ip=::1,port=" + std::to_string(7000 + i) +
                ",state=online,offset=5,lag=0\r\n";
    }
    text += "slave:not-a-replica-line\r\n";  // no number: not a slaveN entry
    auto r = parse_replication(parse_ok(text));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->replicas.size(), 11u);
    for (std::size_t i = 0; i < 11; ++i) {
        EXPECT_EQ(r->replicas[i].index, i);
        EXPECT_EQ(r->replicas[i].port, 7000 + i);
        EXPECT_EQ(r->replicas[i].ip, "::1");
    }
}

TEST(InfoTest, BadReplicaLines) {
    const std::string head =
        "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_replid:x\r\n"
        "master_repl_offset:5\r\n";
    for (const char* line : {"slave0:ip=1.2.3.4,port=x,state=online,offset=1,lag=0",
                             "slave0:ip=1.2.3.4,state=online,offset=1", "slave0:garbage",
                             "slave0:ip=1.2.3.4,port=1,state=online,offset=z",
                             "slave0:ip=1.2.3.4,port=1,state=online,offset=1,lag=-"}) {
        auto r = parse_replication(parse_ok(head + line + "\r\n"));
        ASSERT_FALSE(r.has_value()) << line;
        EXPECT_EQ(r.error().line, 6u) << line;
    }
    // Unknown keys and a missing lag are fine.
    auto ok = parse_replication(
        parse_ok(head + "slave0:ip=1.2.3.4,port=1,state=send_bulk,offset=0,future=1\r\n"));
    ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
    EXPECT_FALSE(ok->replicas[0].online());
    EXPECT_FALSE(ok->replicas[0].lag.has_value());
}

TEST(InfoTest, LoadingProgress) {
    const auto info = parse_ok(
        "# Persistence\r\nloading:1\r\nasync_loading:0\r\naof_enabled:0\r\n"
        "loading_start_time:1700000000\r\nloading_total_bytes:1000\r\n"
        "loading_loaded_bytes:250\r\nloading_loaded_perc:25.00\r\nloading_eta_seconds:3\r\n");
    auto p = parse_persistence(info);
    ASSERT_TRUE(p.has_value()) << p.error().to_string();
    EXPECT_TRUE(p->loading);
    EXPECT_DOUBLE_EQ(p->loading_loaded_perc.value_or(0), 25.0);
    EXPECT_EQ(p->loading_eta_seconds, 3);
    EXPECT_EQ(p->loading_total_bytes, 1000);
    EXPECT_EQ(p->loading_loaded_bytes, 250);

    auto bad = parse_persistence(parse_ok("# Persistence\r\nloading:yes\r\naof_enabled:0\r\n"));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().line, 2u);
}

TEST(InfoTest, UnknownRoleStopsTyping) {
    auto r = parse_replication(parse_ok("# Replication\r\nrole:sentinel\r\n"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->role, ReplicationRole::kUnknown);
    EXPECT_FALSE(parse_replication(parse_ok("# Replication\r\nconnected_slaves:0\r\n")));
}

}  // namespace
}  // namespace picket::cluster
