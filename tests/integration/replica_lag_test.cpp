// Issue #5 "Done when": a replica too far behind is never promoted. Real redis-server nodes
// (cluster-replica-no-failover yes, so only picket can promote) and three picketd sidecars
// with failover.max_lag_on_failover 100KiB.
//
// How a replica is made to lag while it stays up and answering: its replication link is
// broken (masteruser/masterauth set to a user the master does not have, and the link
// killed, so every reconnect fails AUTH) and then ~1 MB is written to the master. Its
// slave_repl_offset stays where it was while the master's and the other replica's move on.
// Before the master is killed, the test reads the lag back from every picketd's
// /v1/status, so the condition is known to hold when the leader decides.
//  - Two replicas, the lagging one with the better replica-priority (it would win without
//    the lag rule): the up-to-date one is promoted; the record names the lagging one as
//    excluded and says how far behind it was.
//  - The only replica lagging: no failover; the attempt is vetoed with "no eligible
//    replica" and the lag, a failover_blocked event is recorded, and the replica is never
//    promoted.
// Assertions read picketd's recorded attempts and events and Redis's own state; every wait
// is bounded.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "picket/testing/http_client.h"
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

constexpr std::int64_t kMaxLag = 100 * 1024;
const std::string kPolicy = "  max_lag_on_failover: 100KiB\n";
/// Bytes written to the master while the replica cannot follow: ten times the allowed lag.
constexpr int kWriteBytes = 1024 * 1024;

json node_status(Sidecars& s, std::size_t i, const std::string& id) {
    auto st = s.status(i);
    for (const auto& n : st.is_object() ? st["nodes"] : json::array()) {
        if (n["node_id"] == id) {
            return n;
        }
    }
    return json();
}

std::int64_t offset_of(const json& node) {
    const auto& r = node.is_object() ? node["replication"] : json();
    return r.is_object() && r["offset"].is_number_integer() ? r["offset"].get<std::int64_t>() : -1;
}

std::string role(testing::RedisCluster& c, std::size_t i) {
    return c.node(i).info_field("replication", "role").value_or("?");
}

/// Stops replica r from following its master while it keeps serving: every reconnect
/// fails AUTH (the master has no such user), so its offset stays where it is.
void break_replication(testing::RedisCluster& c, std::size_t r) {
    auto& node = c.node(r);
    node.cli_ok({"CONFIG", "SET", "masteruser", "picket-test-no-such-user"});
    node.cli_ok({"CONFIG", "SET", "masterauth", "picket-test-wrong-password"});
    node.cli_ok({"CLIENT", "KILL", "TYPE", "master"});
    ASSERT_TRUE(testing::wait_until(
        [&] { return node.info_field("replication", "master_link_status") == "down"; }, 10s, 50ms))
        << node.log_tail();
}

/// Writes kWriteBytes to master m (one SET of a key in its slots; effects replication sends
/// the whole value to its replicas). Returns the master's offset afterwards.
std::int64_t write_to_master(testing::RedisCluster& c, std::size_t m) {
    auto& node = c.node(m);
    const std::string script = "redis.call('SET', KEYS[1], string.rep('x', tonumber(ARGV[1])))";
    bool written = false;
    for (int k = 0; k < 1000 && !written; ++k) {
        // A key of another shard gets MOVED (exit 1): try the next name.
        written =
            node.cli({"EVAL", script, "1", "lag:" + std::to_string(k), std::to_string(kWriteBytes)})
                .ok();
    }
    EXPECT_TRUE(written) << "no key of the master's slots found";
    return std::stoll(node.info_field("replication", "master_repl_offset").value_or("0"));
}

/// Every sidecar sees `master` at or past `master_offset` and `lagging` more than kMaxLag
/// behind it: the condition the leader decides on holds on whichever sidecar leads.
bool wait_lag_seen(Sidecars& s, const std::string& master, const std::string& lagging,
                   std::int64_t master_offset, std::string& seen) {
    return testing::wait_until(
        [&] {
            seen.clear();
            bool ok = true;
            for (std::size_t i = 0; i < s.size(); ++i) {
                const auto m = offset_of(node_status(s, i, master));
                const auto l = offset_of(node_status(s, i, lagging));
                seen += "w" + std::to_string(i + 1) + ": master " + std::to_string(m) +
                        ", lagging replica " + std::to_string(l) + "\n";
                ok = ok && m >= master_offset && l >= 0 && m - l > kMaxLag;
            }
            return ok;
        },
        20s, 200ms);
}

/// The leader's recorded events of `kind` (the /v1/status event list) as text.
std::string events_of(Sidecars& s, const std::string& kind) {
    std::string out;
    auto st = s.leader_status();
    for (const auto& e : st.is_object() ? st["events"] : json::array()) {
        if (e["kind"] == kind) {
            out += e["detail"].get<std::string>() + "\n";
        }
    }
    return out;
}

TEST(ReplicaLag, TooFarBehindReplicaIsPassedOverForTheUpToDateOne) {
    auto options = tutorial_cluster();
    options.replicas_per_master = 2;
    auto cluster = testing::RedisCluster::create(options);
    const auto masters = cluster->master_indices();
    ASSERT_EQ(masters.size(), 3U);
    const std::size_t m = masters[0];
    const auto replicas = cluster->replica_of(m);
    ASSERT_EQ(replicas.size(), 2U);
    const std::size_t lagging = replicas[0];
    const std::size_t current = replicas[1];
    Sidecars sidecars(*cluster, 3, kPolicy);
    ASSERT_TRUE(sidecars.wait_ready(3, 9)) << sidecars.logs();

    // The lagging replica has the better priority: only the lag rule can pass it over.
    cluster->node(lagging).cli_ok({"CONFIG", "SET", "replica-priority", "1"});
    break_replication(*cluster, lagging);
    const std::int64_t master_offset = write_to_master(*cluster, m);
    const auto master_id = cluster->node_id(m);
    const auto lagging_id = cluster->node_id(lagging);
    std::string seen;
    ASSERT_TRUE(wait_lag_seen(sidecars, master_id, lagging_id, master_offset, seen))
        << seen << sidecars.logs();
    ASSERT_TRUE(testing::wait_until(
        [&] {
            for (std::size_t i = 0; i < sidecars.size(); ++i) {
                auto n = node_status(sidecars, i, lagging_id);
                if (!n.is_object() || n["replication"]["priority"] != 1) {
                    return false;
                }
                // The up-to-date replica has caught up in picket's view too.
                if (offset_of(node_status(sidecars, i, cluster->node_id(current))) <
                    master_offset) {
                    return false;
                }
            }
            return true;
        },
        20s, 200ms))
        << sidecars.status(0)["nodes"].dump();
    std::cout << "before the kill:\n" << seen;

    cluster->node(m).kill();
    const json done = sidecars.wait_attempt(master_id, {"converged"}, 30s);
    ASSERT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "attempt: " << done.dump() << "\n";
    EXPECT_EQ(done["replica"], cluster->node_id(current));
    const auto choice = done["choice"].get<std::string>();
    EXPECT_NE(choice.find("1 excluded"), std::string::npos) << choice;
    EXPECT_NE(choice.find(lagging_id), std::string::npos) << choice;
    EXPECT_NE(choice.find("bytes behind the master's last known offset"), std::string::npos)
        << choice;
    EXPECT_NE(choice.find("max_lag_on_failover 102400"), std::string::npos) << choice;
    // The event the alert is made of says the same.
    const auto chosen = events_of(sidecars, "failover_replica_chosen");
    EXPECT_NE(chosen.find(lagging_id + " (" + cluster->addresses().at(lagging) + ") excluded: "),
              std::string::npos)
        << chosen;
    // Redis: the up-to-date replica is master, the lagging one never was.
    cluster->wait_until_master(current, 20s);
    EXPECT_EQ(role(*cluster, lagging), "slave");
    // The history (persisted record) has the reason too.
    const auto leader = sidecars.leader();
    ASSERT_GE(leader, 0);
    const auto history =
        http_get(sidecars.http_port(static_cast<std::size_t>(leader)), "/v1/history").body;
    EXPECT_NE(history.find("bytes behind the master's last known offset"), std::string::npos)
        << history;
}

TEST(ReplicaLag, OnlyReplicaTooFarBehindMeansNoFailoverAndSaysWhy) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    const auto masters = cluster->master_indices();
    ASSERT_EQ(masters.size(), 3U);
    const std::size_t m = masters[0];
    const auto replicas = cluster->replica_of(m);
    ASSERT_EQ(replicas.size(), 1U);
    const std::size_t lagging = replicas[0];
    Sidecars sidecars(*cluster, 3, kPolicy);
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();

    break_replication(*cluster, lagging);
    const std::int64_t master_offset = write_to_master(*cluster, m);
    const auto master_id = cluster->node_id(m);
    const auto lagging_id = cluster->node_id(lagging);
    std::string seen;
    ASSERT_TRUE(wait_lag_seen(sidecars, master_id, lagging_id, master_offset, seen))
        << seen << sidecars.logs();
    std::cout << "before the kill:\n" << seen;
    // The readiness already says this shard cannot be failed over, and why.
    std::string readiness;
    ASSERT_TRUE(testing::wait_until(
        [&] {
            readiness = sidecars.leader_status()["failover"]["readiness"].dump();
            return readiness.find("no eligible replica") != std::string::npos &&
                   readiness.find("bytes behind") != std::string::npos;
        },
        20s, 200ms))
        << readiness;

    cluster->node(m).kill();
    const json vetoed = sidecars.wait_attempt(master_id, {"vetoed"}, 20s);
    ASSERT_TRUE(vetoed.is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "attempt: " << vetoed.dump() << "\n";
    const auto why = vetoed["reason"].get<std::string>();
    EXPECT_NE(why.find("no eligible replica"), std::string::npos) << why;
    EXPECT_NE(why.find(lagging_id), std::string::npos) << why;
    EXPECT_NE(why.find("bytes behind the master's last known offset"), std::string::npos) << why;
    // The recorded event (and so the shard_not_failover_ready alert) says why.
    std::string blocked;
    EXPECT_TRUE(testing::wait_until(
        [&] {
            blocked = events_of(sidecars, "failover_blocked");
            return blocked.find("no eligible replica") != std::string::npos;
        },
        10s, 200ms))
        << blocked;
    // Nothing was promoted: no watcher's attempt went past the veto, and Redis still has
    // the lagging node as a replica.
    const std::vector<std::string> acting = {"fencing",      "proposed", "retrying",
                                             "command_sent", "promoted", "converged"};
    for (std::size_t i = 0; i < sidecars.size(); ++i) {
        auto st = sidecars.status(i);
        for (const auto& a : st.is_object() ? st["failover"]["attempts"] : json::array()) {
            EXPECT_EQ(std::count(acting.begin(), acting.end(), a["state"].get<std::string>()), 0)
                << "w" << i + 1 << ": " << a.dump();
        }
    }
    EXPECT_EQ(role(*cluster, lagging), "slave");
}

}  // namespace
}  // namespace picket
