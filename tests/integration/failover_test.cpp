// Failover by picket (issue #5) with real processes: the tutorial's 3+3 cluster
// (cluster-node-timeout 15000) with cluster-replica-no-failover yes, so only picket can
// promote; three picketd sidecars with down_after 1s. Kill -9 a master → picket promotes
// its replica and the cluster serves writes again; the old master rejoins as a replica.
// Observe-only mode promotes nothing and says what it would do. Assertions read Redis
// and picketd's own records; waits are bounded.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "picket/testing/http_client.h"
#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/wait.h"
#include "sidecars.h"

namespace picket {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::http_get;

using testing::Sidecars;
using testing::tutorial_cluster;

TEST(Failover, KilledMasterIsPromotedByPicketAndOldMasterRejoins) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n  verify_write: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();

    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);

    // Before: every shard can be failed over (picketctl check exits 0 and says READY).
    ASSERT_TRUE(testing::wait_until(
        [&] {
            auto r = testing::run_process({PICKETCTL_PATH, "--url", sidecars.url(0), "check"}, 10s);
            return r.exit_code == 0;
        },
        15s, 200ms))
        << testing::run_process({PICKETCTL_PATH, "--url", sidecars.url(0), "check"}, 10s).out
        << sidecars.logs();
    const auto check =
        testing::run_process({PICKETCTL_PATH, "--url", sidecars.url(0), "check"}, 10s);
    EXPECT_NE(check.out.find("READY"), std::string::npos) << check.out;
    EXPECT_NE(check.out.find("would promote"), std::string::npos) << check.out;
    const auto metrics_before = http_get(sidecars.http_port(0), "/metrics").body;
    EXPECT_NE(metrics_before.find("picket_shard_failover_ready{shard=\"0-5460\"} 1"),
              std::string::npos);
    // Every shard ready: no problem series at all (they exist only while a problem does).
    EXPECT_EQ(metrics_before.find("picket_shard_failover_problem{"), std::string::npos)
        << metrics_before;

    cluster->node(victim).kill();
    // Far below the 15 s the cluster would need (and it would not act at all here).
    cluster->wait_until_master(heir, 20s);

    // Writes to the victim's slots work again, through the new master.
    testing::CliOptions follow;
    follow.follow_redirects = true;
    auto set = cluster->node(heir).cli_with(follow, {"SET", "{failover}k", "v"});
    EXPECT_TRUE(set.ok()) << set.describe();

    // picketd's own record of the failover.
    // ... up to convergence: every node agrees on the new master and its slots.
    json attempt = sidecars.wait_attempt(cluster->node_id(victim), {"converged"}, 20s);
    // failover.verify_write: the new master accepted a write to a picket key of its slots.
    ASSERT_TRUE(attempt.is_object()) << sidecars.leader_status()["failover"].dump();
    const auto said = attempt["reason"].get<std::string>();
    const auto at = said.find("accepted a write to ");
    ASSERT_NE(at, std::string::npos) << said;
    const std::string written = said.substr(at + 20, said.find_first_of(" ,(", at + 20) - at - 20);
    EXPECT_NE(cluster->node(heir).cli({"-c", "GET", written}).out, "") << written;
    EXPECT_NE(cluster->node(heir).cli({"EXISTS", written}).out.find('1'), std::string::npos)
        << "the key is in the new master's own slots: " << written;
    ASSERT_TRUE(attempt.is_object()) << sidecars.leader_status().dump() << sidecars.logs();
    EXPECT_LE(attempt["promoted_mono_ms"].get<std::int64_t>(),
              attempt["converged_mono_ms"].get<std::int64_t>());
    EXPECT_EQ(attempt["failed_master"], cluster->node_id(victim));
    EXPECT_EQ(attempt["replica"], cluster->node_id(heir));
    EXPECT_EQ(attempt["mode"], "FORCE");
    std::cout << "picket failover record: " << attempt.dump() << "\n";
    EXPECT_LE(attempt["sent_mono_ms"].get<std::int64_t>(),
              attempt["promoted_mono_ms"].get<std::int64_t>());

    // ... and its metrics.
    const auto m = sidecars.leader_metrics();
    EXPECT_NE(m.find("picket_failovers_total{result=\"succeeded\",shard=\"" +
                     attempt["shard"].get<std::string>() + "\"} 1"),
              std::string::npos)
        << m.substr(0, 4000);
    EXPECT_NE(m.find("picket_failover_phase_duration_seconds_count{phase=\"promoted\"} 1"),
              std::string::npos);
    EXPECT_NE(m.find("picket_failover_phase_duration_seconds_count{phase=\"converged\"} 1"),
              std::string::npos);

    // The tutorial's Step 4, second half: the old master comes back as a replica, and
    // the leader notices it in its record.
    cluster->node(victim).restart();
    cluster->wait_until_replica_of(victim, heir, 30s);
    EXPECT_TRUE(testing::wait_until(
        [&] {
            auto a = sidecars.wait_attempt(cluster->node_id(victim), {"converged"}, 1s);
            return a.is_object() && a["rejoined_mono_ms"].is_number();
        },
        20s, 200ms))
        << sidecars.leader_status()["failover"].dump();

    // The history keeps it, with its phases, and survives in the state directory.
    const int leader = sidecars.leader();
    ASSERT_GE(leader, 0);
    const auto history = json::parse(
        http_get(sidecars.http_port(static_cast<std::size_t>(leader)), "/v1/history").body, nullptr,
        false);
    ASSERT_TRUE(history.is_array() && !history.empty()) << history.dump();
    EXPECT_EQ(history.back()["state"], "converged");
    EXPECT_EQ(history.back()["replica"], cluster->node_id(heir));
    EXPECT_TRUE(history.back()["promoted_after_ms"].is_number());
    EXPECT_TRUE(history.back()["rejoined_after_ms"].is_number());
    const auto table = testing::run_process(
        {PICKETCTL_PATH, "--url", sidecars.url(static_cast<std::size_t>(leader)), "history"}, 10s);
    EXPECT_EQ(table.exit_code, 0);
    EXPECT_NE(table.out.find("converged"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("FORCE"), std::string::npos) << table.out;
}

TEST(Failover, ObserveOnlySaysWhatItWouldDoAndDoesNothing) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  observe_only: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    cluster->node(victim).kill();
    json attempt;
    ASSERT_TRUE(testing::wait_until(
        [&] {
            auto s = sidecars.leader_status();
            for (const auto& a : s.is_object() ? s["failover"]["attempts"] : json::array()) {
                if (a["state"] == "observed") {
                    attempt = a;
                    return true;
                }
            }
            return false;
        },
        15s, 100ms))
        << sidecars.logs();
    EXPECT_NE(attempt["reason"].get<std::string>().find("would send CLUSTER FAILOVER"),
              std::string::npos);
    EXPECT_EQ(cluster->node(heir).info_field("replication", "role"), "slave")
        << "observe-only must not promote";
}

}  // namespace
}  // namespace picket
