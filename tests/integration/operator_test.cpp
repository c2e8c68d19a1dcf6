// Operator actions through picketctl and the admin API (issue #5), with real processes:
// the tutorial's 3+3 cluster (cluster-node-timeout 15000, cluster-replica-no-failover yes)
// and three picketd. Maintenance holds an automatic failover off until it is lifted; a
// graceful switchover under a write load loses no acknowledged write; a forced failover
// recovers what the rules refuse (two masters lost, TAKEOVER not allowed), after which the
// automatic path uses FORCE for the second shard. Waits are bounded; assertions read Redis
// and picketd's own records.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <set>

#include <filesystem>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/wait.h"
#include "sidecars.h"

namespace picket {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Sidecars;
using testing::tutorial_cluster;

/// Runs picketctl with the sidecars' admin token and the given admin URLs.
testing::ProcessResult ctl(const Sidecars& s, const std::vector<std::size_t>& watchers,
                           std::vector<std::string> args) {
    std::vector<std::string> argv = {PICKETCTL_PATH, "--token-file", s.token_file()};
    for (auto w : watchers) {
        argv.push_back("--admin-url");
        argv.push_back(s.admin_url(w));
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv, 15s);
}

std::vector<std::size_t> all_of(const Sidecars& s) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        out.push_back(i);
    }
    return out;
}

TEST(Operator, AdminApiRefusesAWrongToken) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    testing::TempDir dir;
    const std::string wrong = dir.path() + "/wrong.token";
    testing::write_file(wrong, "not-the-admin-token-at-all");
    auto r = testing::run_process({PICKETCTL_PATH, "--token-file", wrong, "--admin-url",
                                   sidecars.admin_url(0), "maintenance", "on", "cluster"},
                                  15s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("missing or wrong admin token"), std::string::npos) << r.err;
    EXPECT_TRUE(sidecars.status(0)["failover"]["maintenance"].empty());
    // Without --force a manual failover is refused by picketctl itself.
    auto f = ctl(sidecars, {0}, {"failover", "0-5460"});
    EXPECT_EQ(f.exit_code, 2);
    EXPECT_NE(f.err.find("--force"), std::string::npos) << f.err;
}

TEST(Operator, MaintenanceHoldsOffTheFailoverUntilItIsLifted) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_address = cluster->addresses().at(victim);

    auto on =
        ctl(sidecars, all_of(sidecars), {"maintenance", "on", victim_address, "--for", "10m"});
    ASSERT_EQ(on.exit_code, 0) << on.out << on.err;
    EXPECT_NE(on.out.find("maintenance on for node " + cluster->node_id(victim)), std::string::npos)
        << on.out;
    // The leader replicates it: every watcher shows it within a few heartbeats.
    for (std::size_t i = 0; i < sidecars.size(); ++i) {
        json m;
        EXPECT_TRUE(testing::wait_until(
            [&] { return (m = sidecars.status(i)["failover"]["maintenance"]).size() == 1; }, 5s,
            50ms))
            << i << ": " << m.dump();
        ASSERT_EQ(m.size(), 1U) << m.dump();
        EXPECT_EQ(m[0]["target"], cluster->node_id(victim));
        EXPECT_TRUE(m[0]["remaining_ms"].is_number());
    }

    cluster->node(victim).kill();
    auto vetoed = sidecars.wait_attempt(cluster->node_id(victim), {"vetoed"}, 20s);
    ASSERT_TRUE(vetoed.is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_NE(vetoed["reason"].get<std::string>().find("maintenance"), std::string::npos)
        << vetoed.dump();
    EXPECT_EQ(cluster->node(heir).info_field("replication", "role"), "slave");
    // The readiness says so too.
    auto check = testing::run_process({PICKETCTL_PATH, "--url", sidecars.url(0), "check"}, 10s);
    EXPECT_EQ(check.exit_code, 1);
    EXPECT_NE(check.out.find("maintenance"), std::string::npos) << check.out;

    auto off = ctl(sidecars, all_of(sidecars), {"maintenance", "off", victim_address});
    ASSERT_EQ(off.exit_code, 0) << off.out << off.err;
    cluster->wait_until_master(heir, 20s);
    auto done = sidecars.wait_attempt(cluster->node_id(victim), {"converged"}, 20s);
    EXPECT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump();
}

// Maintenance is cluster state (issue #5): set through the leader, replicated by the vote,
// shown by every watcher, and kept by the next leader after the one that took it is gone.
TEST(Operator, MaintenanceIsKeptByTheNextLeader) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_address = cluster->addresses().at(victim);
    const std::string victim_id = cluster->node_id(victim);
    int leader = -1;
    ASSERT_TRUE(testing::wait_until([&] { return (leader = sidecars.leader()) >= 0; }, 10s, 100ms));
    const auto old_leader = static_cast<std::size_t>(leader);
    std::vector<std::size_t> followers;
    for (std::size_t i = 0; i < sidecars.size(); ++i) {
        if (i != old_leader) {
            followers.push_back(i);
        }
    }

    // A follower refuses and names the leader; through every admin URL it succeeds.
    auto refused = ctl(sidecars, {followers.at(0)}, {"maintenance", "on", victim_address});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("not the leader"), std::string::npos) << refused.err;
    auto on = ctl(sidecars, all_of(sidecars), {"maintenance", "on", victim_address});
    ASSERT_EQ(on.exit_code, 0) << on.out << on.err;
    EXPECT_NE(on.out.find("maintenance on for node " + victim_id), std::string::npos) << on.out;
    // Committed (a majority holds it), and every follower shows it, in /v1/status and in
    // picketctl's table.
    ASSERT_TRUE(testing::wait_until(
        [&] { return sidecars.status(old_leader)["vote"]["maintenance_committed"] == true; }, 5s,
        50ms));
    for (auto f : followers) {
        json m;
        ASSERT_TRUE(testing::wait_until(
            [&] { return (m = sidecars.status(f)["failover"]["maintenance"]).size() == 1; }, 5s,
            50ms))
            << m.dump();
        EXPECT_EQ(m[0]["target"], victim_id);
        EXPECT_TRUE(m[0]["remaining_ms"].is_null()) << "until turned off";
        auto table =
            testing::run_process({PICKETCTL_PATH, "--url", sidecars.url(f), "status"}, 10s);
        EXPECT_NE(table.out.find("MAINTENANCE"), std::string::npos) << table.out;
        EXPECT_NE(table.out.find("node " + victim_id + "  until turned off"), std::string::npos)
            << table.out;
    }

    // The leader that took it is gone; a follower leads now and must know it.
    sidecars.kill(old_leader);
    int next = -1;
    ASSERT_TRUE(testing::wait_until(
        [&] { return (next = sidecars.leader()) >= 0 && next != leader; }, 15s, 100ms))
        << sidecars.logs();
    const auto new_leader = static_cast<std::size_t>(next);
    EXPECT_EQ(sidecars.status(new_leader)["failover"]["maintenance"].size(), 1U);

    cluster->node(victim).kill();
    auto vetoed = sidecars.wait_attempt(victim_id, {"vetoed"}, 30s);
    ASSERT_TRUE(vetoed.is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_NE(vetoed["reason"].get<std::string>().find("maintenance"), std::string::npos)
        << vetoed.dump();
    // The new leader's recorded event says why.
    EXPECT_TRUE(testing::wait_until(
        [&] {
            const json st = sidecars.status(new_leader);  // the loop must not outlive it
            for (const auto& e : st["events"]) {
                if (e["kind"] == "failover_blocked" &&
                    e["detail"].get<std::string>().find("is in maintenance") != std::string::npos) {
                    return true;
                }
            }
            return false;
        },
        5s, 100ms))
        << sidecars.status(new_leader)["events"].dump();
    auto check =
        testing::run_process({PICKETCTL_PATH, "--url", sidecars.url(new_leader), "check"}, 10s);
    EXPECT_EQ(check.exit_code, 1);
    EXPECT_NE(check.out.find("maintenance"), std::string::npos) << check.out;
    EXPECT_EQ(cluster->node(heir).info_field("replication", "role"), "slave");

    // Lifted through the new leader: the failover proceeds.
    auto off = ctl(sidecars, {new_leader}, {"maintenance", "off", victim_address});
    ASSERT_EQ(off.exit_code, 0) << off.out << off.err;
    cluster->wait_until_master(heir, 30s);
    auto done = sidecars.wait_attempt(victim_id, {"converged"}, 30s);
    EXPECT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump();
}

TEST(Operator, SwitchoverUnderWriteLoadLosesNoAcknowledgedWrite) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    // The master that owns the hash tag {sw}.
    std::optional<std::size_t> owner;
    for (auto m : cluster->master_indices()) {
        if (cluster->node(m).cli({"SET", "{sw}probe", "x"}).trimmed() == "OK") {
            owner = m;
        }
    }
    ASSERT_TRUE(owner);
    const std::size_t heir = cluster->replica_of(*owner).at(0);
    int leader = -1;
    ASSERT_TRUE(testing::wait_until([&] { return (leader = sidecars.leader()) >= 0; }, 10s, 100ms));

    testing::CliOptions follow;
    follow.follow_redirects = true;
    std::map<int, std::string> acked;
    auto write = [&](int i) {
        const std::string key = "{sw}k" + std::to_string(i);
        auto r = cluster->node(heir).cli_with(follow, {"SET", key, std::to_string(i)}, 5s);
        if (r.ok() && r.trimmed() == "OK") {
            acked[i] = std::to_string(i);
        }
    };
    int i = 0;
    for (; i < 50; ++i) {
        write(i);
    }
    auto sw =
        ctl(sidecars, {static_cast<std::size_t>(leader)},
            {"switchover", cluster->addresses().at(*owner), "--to", cluster->addresses().at(heir)});
    ASSERT_EQ(sw.exit_code, 0) << sw.out << sw.err << sidecars.logs();
    EXPECT_NE(sw.out.find("switchover of shard"), std::string::npos) << sw.out;
    // Keep writing through the switchover, bounded in count.
    bool promoted = false;
    int after = 0;
    for (; i < 2000 && after < 50; ++i) {
        write(i);
        if (!promoted && (i % 10) == 0) {
            promoted = cluster->node(heir).info_field("replication", "role") == "master";
        }
        after += promoted ? 1 : 0;
    }
    ASSERT_TRUE(promoted) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    auto done = sidecars.wait_attempt(cluster->node_id(*owner), {"converged"}, 20s);
    ASSERT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump();
    EXPECT_NE(done["reason"].get<std::string>().find("agree"), std::string::npos);
    // The old master follows the new one: the cooperative path, no data loss.
    cluster->wait_until_replica_of(*owner, heir, 20s);

    std::size_t lost = 0;
    for (const auto& [k, v] : acked) {
        auto r = cluster->node(heir).cli({"GET", "{sw}k" + std::to_string(k)});
        lost += r.trimmed() == v ? 0U : 1U;
    }
    std::cout << "switchover: " << acked.size() << " acknowledged writes of " << i
              << ", lost: " << lost << "\n";
    EXPECT_GT(acked.size(), 90U);
    EXPECT_EQ(lost, 0U);
}

TEST(Operator, ForcedFailoverRecoversWhatTheRulesRefuseThenForceFollows) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  allow_takeover: false\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const auto masters = cluster->master_indices();
    const std::size_t first = masters.at(0);
    const std::size_t second = masters.at(1);
    const std::size_t heir1 = cluster->replica_of(first).at(0);
    const std::size_t heir2 = cluster->replica_of(second).at(0);
    cluster->node(first).kill();
    cluster->node(second).kill();

    // One master of three is left: FORCE cannot get its votes, TAKEOVER is not allowed.
    auto vetoed = sidecars.wait_attempt(cluster->node_id(first), {"vetoed"}, 20s);
    ASSERT_TRUE(vetoed.is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_NE(vetoed["reason"].get<std::string>().find("allow_takeover is off"), std::string::npos)
        << vetoed.dump();
    EXPECT_EQ(cluster->node(heir1).info_field("replication", "role"), "slave");

    // The operator vouches: TAKEOVER for the first shard ...
    const int leader = sidecars.leader();
    ASSERT_GE(leader, 0);
    auto forced = ctl(sidecars, {static_cast<std::size_t>(leader)},
                      {"failover", vetoed["shard"].get<std::string>(), "--force"});
    ASSERT_EQ(forced.exit_code, 0) << forced.out << forced.err;
    cluster->wait_until_master(heir1, 20s);
    auto first_done =
        sidecars.wait_attempt(cluster->node_id(first), {"converged", "not_converged"}, 20s);
    ASSERT_TRUE(first_done.is_object()) << sidecars.leader_status()["failover"].dump();
    EXPECT_EQ(first_done["mode"], "TAKEOVER");

    // ... after which two of three masters answer again: the second shard fails over
    // automatically, with FORCE.
    cluster->wait_until_master(heir2, 30s);
    auto second_done =
        sidecars.wait_attempt(cluster->node_id(second), {"converged", "not_converged"}, 20s);
    ASSERT_TRUE(second_done.is_object()) << sidecars.leader_status()["failover"].dump();
    EXPECT_EQ(second_done["mode"], "FORCE");
    EXPECT_TRUE(testing::wait_until(
        [&] {
            return cluster->node(heir2).cli({"CLUSTER", "INFO"}).out.find("cluster_state:ok") !=
                   std::string::npos;
        },
        20s, 200ms))
        << cluster->node(heir2).cli({"CLUSTER", "INFO"}).out
        << cluster->node(heir2).cli({"CLUSTER", "NODES"}).out
        << cluster->node(heir1).cli({"CLUSTER", "NODES"}).out;
}

// Issue #5: two masters' Redis killed at once (their hosts and watchers up). The cluster
// alone cannot elect (one master of three votes) and stays down; picket, with
// allow_takeover, sees both refuse connections (known dead: nothing to fence), takes the
// first shard over, and then — two of three masters again — fails the second over with FORCE.
TEST(Operator, TwoMastersKilledTheClusterAloneStaysDownPicketTakesOverThenForces) {
    auto o = tutorial_cluster();
    // The cluster's own failover on, so "alone it stays down" is Redis's doing, not ours.
    o.node.extra_config.clear();
    o.node.cluster_node_timeout_ms = 2000;
    auto cluster = testing::RedisCluster::create(o);
    Sidecars sidecars(*cluster, 3, "  allow_takeover: true\n  cluster_node_timeout: 2s\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const auto masters = cluster->master_indices();
    const std::size_t first = masters.at(0);
    const std::size_t second = masters.at(1);
    const std::size_t survivor = masters.at(2);
    const std::size_t heir1 = cluster->replica_of(first).at(0);
    const std::size_t heir2 = cluster->replica_of(second).at(0);

    // picket holds off while the cluster is left alone.
    auto on = ctl(sidecars, all_of(sidecars), {"maintenance", "on", "cluster", "--for", "10m"});
    ASSERT_EQ(on.exit_code, 0) << on.out << on.err;
    ASSERT_TRUE(testing::wait_until(
        [&] {
            for (std::size_t i = 0; i < sidecars.size(); ++i) {
                if (sidecars.status(i)["failover"]["maintenance"].size() != 1) {
                    return false;
                }
            }
            return true;
        },
        5s, 50ms));
    cluster->node(first).kill();
    cluster->node(second).kill();
    // Well past the cluster's own PFAIL -> FAIL -> election path (2 s node timeout).
    std::this_thread::sleep_for(8s);
    EXPECT_EQ(cluster->node(heir1).info_field("replication", "role"), "slave");
    EXPECT_EQ(cluster->node(heir2).info_field("replication", "role"), "slave");
    EXPECT_NE(cluster->node(survivor).cli({"CLUSTER", "INFO"}).out.find("cluster_state:fail"),
              std::string::npos)
        << cluster->node(survivor).cli({"CLUSTER", "INFO"}).out;

    // Now picket alone acts (the replicas' own failover off, so it cannot race ours).
    for (std::size_t r : {heir1, heir2}) {
        cluster->node(r).cli({"CONFIG", "SET", "cluster-replica-no-failover", "yes"});
    }
    auto off = ctl(sidecars, all_of(sidecars), {"maintenance", "off", "cluster"});
    ASSERT_EQ(off.exit_code, 0) << off.out << off.err;
    cluster->wait_until_master(heir1, 30s);
    cluster->wait_until_master(heir2, 30s);
    auto a1 = sidecars.wait_attempt(cluster->node_id(first), {"converged", "not_converged"}, 30s);
    auto a2 = sidecars.wait_attempt(cluster->node_id(second), {"converged", "not_converged"}, 30s);
    ASSERT_TRUE(a1.is_object() && a2.is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    // One TAKEOVER (whichever shard went first), then FORCE for the other.
    std::multiset<std::string> modes = {a1["mode"].get<std::string>(),
                                        a2["mode"].get<std::string>()};
    EXPECT_EQ(modes, (std::multiset<std::string>{"FORCE", "TAKEOVER"})) << a1.dump() << "\n"
                                                                        << a2.dump();
    EXPECT_TRUE(testing::wait_until(
        [&] {
            return cluster->node(survivor).cli({"CLUSTER", "INFO"}).out.find("cluster_state:ok") !=
                   std::string::npos;
        },
        20s, 200ms))
        << cluster->node(survivor).cli({"CLUSTER", "INFO"}).out;
}

TEST(Operator, PreFailoverHookVetoesAndPostHookReportsWithTheRecordInTheEnvironment) {
    testing::TempDir hooks;
    const std::string pre = hooks.path() + "/pre.sh";
    const std::string post = hooks.path() + "/post.sh";
    testing::write_file(pre, "#!/bin/sh\nenv | grep ^PICKET_ | sort > " + hooks.path() +
                                 "/pre.env\n[ -e " + hooks.path() + "/veto ] && exit 3\nexit 0\n");
    testing::write_file(
        post, "#!/bin/sh\nenv | grep ^PICKET_ | sort > " + hooks.path() + "/post.env\nexit 0\n");
    chmod(pre.c_str(), 0755);
    chmod(post.c_str(), 0755);
    testing::write_file(hooks.path() + "/veto", "");

    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3,
                      "  pre_failover_command: [" + pre + "]\n  post_failover_command: [" + post +
                          "]\n  hook_timeout: 5s\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    cluster->node(victim).kill();

    auto vetoed = sidecars.wait_attempt(cluster->node_id(victim), {"vetoed_by_hook"}, 20s);
    ASSERT_TRUE(vetoed.is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_NE(vetoed["reason"].get<std::string>().find("exited 3"), std::string::npos)
        << vetoed.dump();
    const auto pre_env = testing::read_file(hooks.path() + "/pre.env");
    EXPECT_NE(pre_env.find("PICKET_HOOK=pre_failover"), std::string::npos) << pre_env;
    EXPECT_NE(pre_env.find("PICKET_FAILED_MASTER=" + cluster->node_id(victim)), std::string::npos)
        << pre_env;
    EXPECT_NE(pre_env.find("PICKET_REPLICA_ADDRESS="), std::string::npos) << pre_env;
    EXPECT_NE(pre_env.find("PICKET_MODE=FORCE"), std::string::npos) << pre_env;
    EXPECT_EQ(cluster->node(heir).info_field("replication", "role"), "slave");

    // The operator lifts the veto and forces: the hook now agrees, the failover runs and
    // the post hook hears how it ended.
    std::filesystem::remove(hooks.path() + "/veto");
    const int leader = sidecars.leader();
    ASSERT_GE(leader, 0);
    auto forced = ctl(sidecars, {static_cast<std::size_t>(leader)},
                      {"failover", vetoed["shard"].get<std::string>(), "--force"});
    ASSERT_EQ(forced.exit_code, 0) << forced.out << forced.err;
    auto done = sidecars.wait_attempt(cluster->node_id(victim), {"converged"}, 30s);
    ASSERT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::string post_env;
    EXPECT_TRUE(testing::wait_until(
        [&] {
            post_env = testing::read_file(hooks.path() + "/post.env");
            return post_env.find("PICKET_RESULT=converged") != std::string::npos;
        },
        10s, 100ms))
        << post_env;
    EXPECT_NE(post_env.find("PICKET_REPLICA=" + cluster->node_id(heir)), std::string::npos)
        << post_env;
}

TEST(Operator, FailbackReturnsTheShardToItsPreferredMasterOnceItIsCalmAndInSync) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    Sidecars sidecars(*cluster, 3,
                      "  cooldown: 1s\n  failback: true\n  failback_after: 2s\n"
                      "  preferred_masters: [" +
                          cluster->addresses().at(victim) + "]\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();

    cluster->node(victim).kill();
    ASSERT_TRUE(sidecars.wait_attempt(cluster->node_id(victim), {"converged"}, 30s).is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    // The preferred master comes back as a replica of its heir ...
    cluster->node(victim).restart();
    cluster->wait_until_replica_of(victim, heir, 30s);
    // ... and, calm and in sync for failback_after, gets its shard back gracefully.
    cluster->wait_until_master(victim, 40s);
    auto back = sidecars.wait_attempt(cluster->node_id(heir), {"converged"}, 20s);
    ASSERT_TRUE(back.is_object()) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_NE(back["reason"].get<std::string>().find("agree"), std::string::npos) << back.dump();
    cluster->wait_until_replica_of(heir, victim, 20s);
    // Once: it stays master (no flapping back and forth) for a settle period.
    std::this_thread::sleep_for(3s);
    EXPECT_EQ(cluster->node(victim).info_field("replication", "role"), "master");
}

TEST(Operator, CooldownBlocksASecondFailoverOfTheShardUntilAcknowledged) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  cooldown: 10m\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const std::size_t first = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(first).at(0);
    cluster->node(first).kill();
    ASSERT_TRUE(sidecars.wait_attempt(cluster->node_id(first), {"converged"}, 30s).is_object())
        << sidecars.logs();
    cluster->node(first).restart();
    cluster->wait_until_replica_of(first, heir, 30s);
    // The shard's readiness says why it could not fail over now: a cooldown series (the
    // problem series exist only while their problem does).
    std::string metrics;
    EXPECT_TRUE(testing::wait_until(
        [&] {
            metrics = sidecars.leader_metrics();
            return metrics.find("picket_shard_failover_problem{problem=\"cooldown\"") !=
                   std::string::npos;
        },
        10s, 200ms))
        << metrics;
    EXPECT_EQ(metrics.find("picket_shard_failover_problem{problem=\"migration\""),
              std::string::npos)
        << metrics;

    // The same shard fails again within the cooldown: blocked, and said so.
    cluster->node(heir).kill();
    auto blocked = sidecars.wait_attempt(cluster->node_id(heir), {"vetoed"}, 20s);
    ASSERT_TRUE(blocked.is_object()) << sidecars.leader_status()["failover"].dump();
    EXPECT_NE(blocked["reason"].get<std::string>().find("cooldown"), std::string::npos)
        << blocked.dump();
    bool event = false;
    const json leader = sidecars.leader_status();  // kept: a range-for over a temporary's
                                                   // member would dangle
    for (const auto& e : leader["events"]) {
        event = event || e["kind"] == "failover_blocked_cooldown";
    }
    EXPECT_TRUE(event) << leader["events"].dump();
    EXPECT_EQ(cluster->node(first).info_field("replication", "role"), "slave");

    // The operator knows why it flapped and lifts the block on every watcher.
    auto ack = ctl(sidecars, all_of(sidecars), {"ack", blocked["shard"].get<std::string>()});
    EXPECT_EQ(ack.exit_code, 0) << ack.out << ack.err;
    EXPECT_NE(ack.out.find("cooldown of shard"), std::string::npos) << ack.out;
    cluster->wait_until_master(first, 30s);
    EXPECT_TRUE(sidecars.wait_attempt(cluster->node_id(heir), {"converged"}, 30s).is_object())
        << sidecars.leader_status()["failover"].dump();
}

TEST(Operator, ConfigDriftIsReportedPerCheck) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    const auto set = cluster->node(0).cli({"CONFIG", "SET", "cluster-require-full-coverage", "no"});
    ASSERT_TRUE(set.ok()) << set.describe();
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    json drift;
    EXPECT_TRUE(testing::wait_until(
        [&] {
            drift = sidecars.status(0)["config_drift"];
            return drift.is_object() && drift.contains("require_full_coverage");
        },
        20s, 200ms))
        << sidecars.status(0).dump();
    ASSERT_TRUE(drift.is_object());
    EXPECT_NE(drift["require_full_coverage"].get<std::string>().find(cluster->addresses().at(0)),
              std::string::npos)
        << drift.dump();
    // Every other check agrees: same timeout everywhere and in picket's config, and
    // cluster-replica-no-failover on every replica.
    EXPECT_EQ(drift.size(), 1U) << drift.dump();
}

}  // namespace
}  // namespace picket
