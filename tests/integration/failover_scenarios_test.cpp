// Failover scenarios of issue #5's "Done when" list with real processes on loopback:
// redis-server nodes (cluster-replica-no-failover yes, so only picket can promote) and
// three picketd sidecars (down_after 1s).
//  - A stalled master (SIGSTOP) past the timeouts-only wait fails over exactly once and
//    rejoins as a replica after SIGCONT; a shorter stall does nothing; fast_on_timeouts
//    decides after down_after_unresponsive. These use cluster-node-timeout 5000 (and
//    picket's failover.cluster_node_timeout 5s, down_after_unresponsive 2s): the wait is
//    max(2 s, 5 s + 1 s) = 6 s after the last contact.
//  - Replica exclusions (never_promote, replica-priority 0) on a cluster with two replicas
//    per master, and "no eligible replica" when every replica is excluded.
//  - The watchers' quorum lost: no failover until the killed picketd come back.
//  - The leader's own VM lost (its picketd and its master killed together).
//  - The chosen replica stopped as the failover starts, then killed: picket waits while it
//    might still act, then promotes the shard's other replica and records why.
// Assertions read picketd's recorded attempts and metrics and Redis's own state; every
// wait is bounded.

#include <gtest/gtest.h>
#include <fstream>
#include <iterator>
#include <memory>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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

// The timeouts-only wait below is max(down_after_unresponsive, cluster_node_timeout + 1s).
constexpr std::int64_t kTimeoutsOnlyWaitMs = 6000;
const std::string kFastFailover = "  cluster_node_timeout: 5s\n";
const std::string kFastDetection = "  down_after_unresponsive: 2s\n";

/// States of an attempt that mean picket decided to act (more than waiting or vetoing).
const std::set<std::string> kActing = {"fencing",  "proposed",  "retrying",      "command_sent",
                                       "promoted", "converged", "not_converged", "failed",
                                       "aborted",  "observed",  "vetoed_by_hook"};

/// The tutorial's cluster with a 5 s cluster-node-timeout, so that the timeouts-only
/// wait is 6 s instead of 16 s.
testing::ClusterOptions fast_cluster() {
    auto o = tutorial_cluster();
    o.node.cluster_node_timeout_ms = 5000;
    return o;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
        s += (s.empty() ? "" : " -> ") + x;
    }
    return s;
}

/// Every shard of the leader's readiness says ready (replicas probed, INFO read).
bool wait_shards_ready(Sidecars& s, std::size_t shards) {
    return testing::wait_until(
        [&] {
            auto st = s.leader_status();
            if (!st.is_object() || st["failover"]["readiness"].size() != shards) {
                return false;
            }
            for (const auto& [name, r] : st["failover"]["readiness"].items()) {
                if (r["ready"] != true) {
                    return false;
                }
            }
            return true;
        },
        30s, 200ms);
}

/// The sum of the samples of `name` whose labels contain `label` (e.g. result="succeeded").
double metric_sum(const std::string& text, const std::string& name, const std::string& label) {
    double sum = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name + "{", 0) == 0 && line.find(label) != std::string::npos) {
            sum += std::stod(line.substr(line.rfind(' ') + 1));
        }
    }
    return sum;
}

/// picket_failovers_total{result=...} summed over every sidecar that answers (each counts
/// the attempts it executed itself).
double failovers(Sidecars& s, const std::string& result) {
    double sum = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        sum += metric_sum(http_get(s.http_port(i), "/metrics").body, "picket_failovers_total",
                          "result=\"" + result + "\"");
    }
    return sum;
}

/// Polls the leader's attempt for `failed_master` until its state is one of `final`,
/// recording each state it was seen in (in order, without repeats). Null on timeout.
json trace_attempt(Sidecars& s, const std::string& failed_master,
                   const std::set<std::string>& final, std::chrono::milliseconds timeout,
                   std::vector<std::string>& seen, std::string* reasons = nullptr) {
    json found;
    testing::wait_until(
        [&] {
            auto st = s.leader_status();
            for (const auto& a : st.is_object() ? st["failover"]["attempts"] : json::array()) {
                if (a["failed_master"] != failed_master || !a["state"].is_string()) {
                    continue;
                }
                const auto state = a["state"].get<std::string>();
                if (seen.empty() || seen.back() != state) {
                    seen.push_back(state);
                    if (reasons != nullptr) {
                        *reasons += state + ": " + a["reason"].get<std::string>() + "\n";
                    }
                }
                if (final.count(state) != 0) {
                    found = a;
                    return true;
                }
            }
            return false;
        },
        timeout, 50ms);
    return found;
}

/// Attempts on any sidecar in an acting state, other than `except` (failed master id and
/// config epoch of a record that is allowed), as text; empty when there are none.
std::string acting_attempts(Sidecars& s, const json& except = json()) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto st = s.status(i);
        for (const auto& a : st.is_object() ? st["failover"]["attempts"] : json::array()) {
            if (!a["state"].is_string() || kActing.count(a["state"].get<std::string>()) == 0) {
                continue;
            }
            if (except.is_object() && a["failed_master"] == except["failed_master"] &&
                a["config_epoch"] == except["config_epoch"]) {
                continue;
            }
            out += "w" + std::to_string(i + 1) + ": " + a.dump() + "\n";
        }
    }
    return out;
}

std::string role(testing::RedisCluster& c, std::size_t i) {
    return c.node(i).info_field("replication", "role").value_or("?");
}

TEST(FailoverScenarios, StallPastTheWaitFailsOverOnceAndTheOldMasterRejoins) {
    auto cluster = testing::RedisCluster::create(fast_cluster());
    Sidecars sidecars(*cluster, 3, kFastFailover, kFastDetection);
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    ASSERT_TRUE(wait_shards_ready(sidecars, 3))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_id = cluster->node_id(victim);

    cluster->node(victim).pause();
    std::vector<std::string> seen;
    const json done = trace_attempt(sidecars, victim_id, {"converged", "not_converged"}, 40s, seen);
    ASSERT_TRUE(done.is_object()) << join(seen) << "\n"
                                  << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "stall: states seen " << join(seen) << "; record " << done.dump() << "\n";
    cluster->wait_until_master(heir, 10s);
    // It waited first (timeouts-only evidence), then proceeded, and decided no earlier
    // than the wait after the last contact.
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.front(), "waiting") << join(seen);
    EXPECT_NE(std::find(seen.begin(), seen.end(), "waiting"), seen.end()) << join(seen);
    EXPECT_GE(done["down_for_at_decision_ms"].get<std::int64_t>(), kTimeoutsOnlyWaitMs)
        << done.dump();
    EXPECT_EQ(done["replica"], cluster->node_id(heir));
    EXPECT_EQ(done["mode"], "FORCE");

    // SIGCONT: the old master learns the newer epoch and follows the new master.
    cluster->node(victim).resume();
    cluster->wait_until_replica_of(victim, heir, 30s);
    EXPECT_TRUE(testing::wait_until(
        [&] {
            auto a = sidecars.wait_attempt(victim_id, {"converged", "not_converged"}, 1s);
            return a.is_object() && a["rejoined_mono_ms"].is_number();
        },
        20s, 200ms))
        << sidecars.leader_status()["failover"].dump();

    // No second failover: for a settle period no other record appears on any watcher,
    // the roles hold, and exactly one failover succeeded.
    std::string violation;
    testing::wait_until(
        [&] {
            violation = acting_attempts(sidecars, done);
            if (role(*cluster, heir) != "master" || role(*cluster, victim) != "slave") {
                violation += "roles changed: heir " + role(*cluster, heir) + ", old master " +
                             role(*cluster, victim) + "\n";
            }
            return !violation.empty();
        },
        6s, 250ms);
    EXPECT_EQ(violation, "") << sidecars.logs();
    EXPECT_EQ(failovers(sidecars, "succeeded"), 1.0);
    cluster->wait_cluster_ok(20s);
}

TEST(FailoverScenarios, ShorterStallThanTheWaitDoesNothing) {
    auto cluster = testing::RedisCluster::create(fast_cluster());
    Sidecars sidecars(*cluster, 3, kFastFailover, kFastDetection);
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    ASSERT_TRUE(wait_shards_ready(sidecars, 3))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_id = cluster->node_id(victim);

    // Stall for 3 s (well inside the 6 s wait), long enough for the watchers to agree it
    // is down: the leader reports it waiting. If the machine is slow to show that, hold
    // the stall a little longer, never past 4.5 s.
    const auto paused_at = std::chrono::steady_clock::now();
    cluster->node(victim).pause();
    std::vector<std::string> seen;
    const json waiting = trace_attempt(sidecars, victim_id, {"waiting"}, 4500ms, seen);
    std::this_thread::sleep_until(paused_at + 3s);
    cluster->node(victim).resume();
    const auto stalled = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - paused_at);
    std::cout << "short stall: " << stalled.count() << " ms; states seen " << join(seen) << "\n";
    EXPECT_TRUE(waiting.is_object())
        << "the leader never reported the stalled master waiting: " << join(seen)
        << sidecars.logs();

    // Until well past the point where the wait would have ended: nothing but waiting.
    std::string violation;
    testing::wait_until(
        [&] {
            violation = acting_attempts(sidecars);
            if (role(*cluster, heir) != "slave") {
                violation += "replica's role is " + role(*cluster, heir) + "\n";
            }
            return !violation.empty();
        },
        8s, 250ms);
    EXPECT_EQ(violation, "") << sidecars.logs();
    cluster->wait_cluster_ok(20s);
    EXPECT_EQ(role(*cluster, victim), "master");
    EXPECT_EQ(role(*cluster, heir), "slave");
    EXPECT_EQ(failovers(sidecars, "succeeded"), 0.0);
}

TEST(FailoverScenarios, FastOnTimeoutsDecidesAfterDownAfterUnresponsive) {
    auto cluster = testing::RedisCluster::create(fast_cluster());
    Sidecars sidecars(*cluster, 3, kFastFailover + "  fast_on_timeouts: true\n", kFastDetection);
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    ASSERT_TRUE(wait_shards_ready(sidecars, 3))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_id = cluster->node_id(victim);

    cluster->node(victim).pause();
    std::vector<std::string> seen;
    const json done =
        trace_attempt(sidecars, victim_id, {"promoted", "converged", "not_converged"}, 30s, seen);
    ASSERT_TRUE(done.is_object()) << join(seen) << "\n"
                                  << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "fast_on_timeouts: states seen " << join(seen) << "; record " << done.dump()
              << "\n";
    cluster->wait_until_master(heir, 10s);
    EXPECT_EQ(done["replica"], cluster->node_id(heir));
    // Decided once down_after_unresponsive had passed, before the timeouts-only wait.
    const auto down_for = done["down_for_at_decision_ms"].get<std::int64_t>();
    EXPECT_GE(down_for, 2000) << done.dump();
    EXPECT_LT(down_for, kTimeoutsOnlyWaitMs) << done.dump();

    cluster->node(victim).resume();
    cluster->wait_until_replica_of(victim, heir, 30s);
    EXPECT_EQ(failovers(sidecars, "succeeded"), 1.0);
}

/// Node i's view of node `id` in sidecar s's status ("nodes" entry), or null.
json node_status(Sidecars& s, std::size_t i, const std::string& id) {
    auto st = s.status(i);
    for (const auto& n : st.is_object() ? st["nodes"] : json::array()) {
        if (n["node_id"] == id) {
            return n;
        }
    }
    return json();
}

/// The replicas of master m ordered by node id: the first wins the last tie-break of the
/// replica choice, so excluding it shows the exclusion at work.
std::vector<std::size_t> replicas_by_id(testing::RedisCluster& c, std::size_t m) {
    auto r = c.replica_of(m);
    std::sort(r.begin(), r.end(),
              [&](std::size_t a, std::size_t b) { return c.node_id(a) < c.node_id(b); });
    return r;
}

TEST(FailoverScenarios, NeverPromoteAndPriorityZeroReplicasAreNotPromoted) {
    auto options = tutorial_cluster();
    options.replicas_per_master = 2;
    auto cluster = testing::RedisCluster::create(options);
    const auto masters = cluster->master_indices();
    ASSERT_EQ(masters.size(), 3U);
    // Shard A: its first replica is in never_promote. Shard B: its first replica has
    // replica-priority 0. Shard C: one replica of each kind, so none is eligible.
    const std::size_t a = masters[0], b = masters[1], c = masters[2];
    const auto ra = replicas_by_id(*cluster, a);
    const auto rb = replicas_by_id(*cluster, b);
    const auto rc = replicas_by_id(*cluster, c);
    ASSERT_EQ(ra.size(), 2U);
    ASSERT_EQ(rb.size(), 2U);
    ASSERT_EQ(rc.size(), 2U);
    Sidecars sidecars(*cluster, 3,
                      "  never_promote: [" + cluster->node_id(ra[0]) + ", " +
                          cluster->addresses().at(rc[0]) + "]\n");
    ASSERT_TRUE(sidecars.wait_ready(3, 9)) << sidecars.logs();
    for (auto r : {rb[0], rc[1]}) {
        cluster->node(r).cli_ok({"CONFIG", "SET", "replica-priority", "0"});
    }
    // Every watcher has read the new priorities before a master dies.
    ASSERT_TRUE(testing::wait_until(
        [&] {
            for (std::size_t i = 0; i < sidecars.size(); ++i) {
                for (auto r : {rb[0], rc[1]}) {
                    auto n = node_status(sidecars, i, cluster->node_id(r));
                    if (!n.is_object() || n["replication"]["priority"] != 0) {
                        return false;
                    }
                }
            }
            return true;
        },
        20s, 200ms))
        << node_status(sidecars, 0, cluster->node_id(rb[0])).dump() << sidecars.logs();
    // The readiness says shard C cannot be failed over, and why.
    std::string readiness;
    ASSERT_TRUE(testing::wait_until(
        [&] {
            readiness = sidecars.leader_status()["failover"]["readiness"].dump();
            return readiness.find("no eligible replica") != std::string::npos;
        },
        20s, 200ms))
        << readiness;
    std::cout << "readiness: " << readiness << "\n";

    // Shard C first: nobody to promote, so picket vetoes and says why for each replica.
    cluster->node(c).kill();
    const json vetoed = sidecars.wait_attempt(cluster->node_id(c), {"vetoed"}, 20s);
    ASSERT_TRUE(vetoed.is_object())
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "no eligible replica: " << vetoed.dump() << "\n";
    const auto why = vetoed["reason"].get<std::string>();
    EXPECT_NE(why.find("no eligible replica"), std::string::npos) << why;
    EXPECT_NE(why.find("never_promote"), std::string::npos) << why;
    EXPECT_NE(why.find("replica-priority is 0"), std::string::npos) << why;
    cluster->node(c).restart();
    cluster->wait_cluster_ok(30s);
    EXPECT_EQ(role(*cluster, c), "master");
    EXPECT_EQ(role(*cluster, rc[0]), "slave");
    EXPECT_EQ(role(*cluster, rc[1]), "slave");
    EXPECT_EQ(failovers(sidecars, "succeeded"), 0.0);

    // Shard A: the replica in never_promote is passed over.
    cluster->node(a).kill();
    std::vector<std::string> seen_a;
    const json done_a = trace_attempt(sidecars, cluster->node_id(a), {"converged"}, 30s, seen_a);
    ASSERT_TRUE(done_a.is_object())
        << join(seen_a) << "\n"
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "never_promote: states seen " << join(seen_a) << "; " << done_a.dump() << "\n";
    EXPECT_EQ(done_a["replica"], cluster->node_id(ra[1]));
    EXPECT_NE(done_a["choice"].get<std::string>().find("1 excluded"), std::string::npos)
        << done_a.dump();
    cluster->wait_until_master(ra[1], 20s);

    // Shard B: the replica with replica-priority 0 is passed over.
    cluster->node(b).kill();
    std::vector<std::string> seen_b;
    std::string reasons_b;
    const json done_b =
        trace_attempt(sidecars, cluster->node_id(b), {"converged"}, 30s, seen_b, &reasons_b);
    ASSERT_TRUE(done_b.is_object())
        << join(seen_b) << "\n"
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "priority 0: states seen " << join(seen_b) << "; " << done_b.dump() << "\n"
              << reasons_b;
    EXPECT_EQ(done_b["replica"], cluster->node_id(rb[1]));
    // Shard A's dead old master no longer owns slots: two of three slot-owning masters can
    // vote, so nothing vetoes FORCE (before d2b2ab5 its stale own view kept it counted and
    // this shard was vetoed for "no majority" for ~8 s).
    EXPECT_EQ(std::find(seen_b.begin(), seen_b.end(), "vetoed"), seen_b.end()) << reasons_b;
    EXPECT_NE(done_b["choice"].get<std::string>().find("1 excluded"), std::string::npos)
        << done_b.dump();
    cluster->wait_until_master(rb[1], 20s);

    // The excluded replicas were never promoted.
    EXPECT_EQ(role(*cluster, ra[0]), "slave");
    EXPECT_EQ(role(*cluster, rb[0]), "slave");
    EXPECT_EQ(failovers(sidecars, "succeeded"), 2.0);
}

/// The leader's recorded events of `kind` whose detail contains `text`.
std::vector<json> leader_events(Sidecars& s, const std::string& kind, const std::string& text) {
    std::vector<json> out;
    const json st = s.leader_status();
    if (!st.is_object()) {
        return out;
    }
    for (const auto& e : st["events"]) {
        if (e["kind"] == kind && e["detail"].get<std::string>().find(text) != std::string::npos) {
            out.push_back(e);
        }
    }
    return out;
}

// Issue #5: "switch to another candidate only once the first is seen alive as a replica
// again or dead (refused)". The chosen replica is stopped (SIGSTOP) as the failover starts
// — the pre-failover hook tells the test which one picket chose and holds the failover
// until it is stopped — so it cannot be promoted, and a stopped process may still act on
// a buffered command: picket retries it and does not switch. Then it is killed (connection
// refused): picket moves the failure to the shard's other replica and records why.
TEST(FailoverScenarios, AStoppedThenKilledCandidateIsReplacedByTheOtherReplica) {
    testing::TempDir hooks;
    const std::string pre = hooks.path() + "/pre.sh";
    const std::string chosen = hooks.path() + "/chosen";
    const std::string go = hooks.path() + "/go";
    // Appends the chosen replica's address; the first time, waits (bounded) for the test.
    testing::write_file(pre, "#!/bin/sh\necho \"$PICKET_REPLICA_ADDRESS\" >> " + chosen +
                                 "\ni=0\nwhile [ ! -e " + go +
                                 " ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\nexit 0\n");
    chmod(pre.c_str(), 0755);

    auto options = fast_cluster();
    options.replicas_per_master = 2;
    auto cluster = testing::RedisCluster::create(options);
    Sidecars sidecars(*cluster, 3,
                      kFastFailover + "  timeout: 2s\n  pre_failover_command: [" + pre +
                          "]\n  hook_timeout: 30s\n");
    ASSERT_TRUE(sidecars.wait_ready(3, 9)) << sidecars.logs();
    const std::size_t victim = cluster->master_indices().at(0);
    const std::string victim_id = cluster->node_id(victim);
    const auto replicas = replicas_by_id(*cluster, victim);
    ASSERT_EQ(replicas.size(), 2U);
    cluster->node(victim).kill();

    // Which replica picket chose: the hook's PICKET_REPLICA_ADDRESS, and its own record.
    ASSERT_TRUE(testing::wait_until([&] { return !testing::read_file(chosen).empty(); }, 30s, 50ms))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::string address = testing::read_file(chosen);
    address = address.substr(0, address.find('\n'));
    std::size_t first = replicas[0];
    std::size_t other = replicas[1];
    if (cluster->addresses().at(first) != address) {
        std::swap(first, other);
    }
    ASSERT_EQ(cluster->addresses().at(first), address);
    auto decided = sidecars.wait_attempt(victim_id, {"proposed"}, 5s);
    EXPECT_EQ(decided["replica"], cluster->node_id(first)) << decided.dump();
    EXPECT_FALSE(
        leader_events(sidecars, "failover_replica_chosen", cluster->node_id(first)).empty());

    // Stopped before the command could reach it: it cannot be promoted, and picket must
    // not give up on it while it might still act.
    cluster->node(first).pause();
    testing::write_file(go, "");
    ASSERT_TRUE(testing::wait_until(
        [&] {
            return !leader_events(sidecars, "failover_waiting",
                                  "it may still act on a command it received")
                        .empty();
        },
        30s, 100ms))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_TRUE(leader_events(sidecars, "failover_candidate_switched", "").empty());
    EXPECT_EQ(cluster->node(other).info_field("replication", "role"), "slave");

    // Dead (connection refused): the failure moves on to the other replica.
    cluster->node(first).kill();
    ASSERT_TRUE(testing::wait_until(
        [&] { return cluster->node(other).info_field("replication", "role") == "master"; }, 60s,
        200ms))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    auto done = sidecars.wait_attempt(victim_id, {"converged"}, 30s);
    ASSERT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_EQ(done["replica"], cluster->node_id(other));
    EXPECT_EQ(done["attempt"], 1);
    ASSERT_EQ(done["failed_candidates"].size(), 1U) << done.dump();
    const std::string why = done["failed_candidates"][0];
    EXPECT_NE(why.find(cluster->node_id(first)), std::string::npos) << why;
    EXPECT_NE(why.find("dead (refused"), std::string::npos) << why;
    const auto switched = leader_events(
        sidecars, "failover_candidate_switched",
        "promotes " + cluster->node_id(other) + " instead of " + cluster->node_id(first));
    ASSERT_EQ(switched.size(), 1U) << sidecars.leader_status()["events"].dump();
    EXPECT_NE(switched[0]["detail"].get<std::string>().find("previous attempt's candidate " +
                                                            address + " dead"),
              std::string::npos)
        << switched[0].dump();
    // The history keeps the attempt and why the first candidate was left behind.
    const int leader = sidecars.leader();
    ASSERT_GE(leader, 0);
    const auto history =
        http_get(sidecars.http_port(static_cast<std::size_t>(leader)), "/v1/history");
    const json list = json::parse(history.body, nullptr, false);
    bool found = false;
    for (const auto& e : list.is_array() ? list : json::array()) {
        if (e["failed_master"] == victim_id && e["attempt"] == 1 &&
            e["replica"] == cluster->node_id(other) && e["failed_candidates"].size() == 1) {
            found = true;
        }
    }
    EXPECT_TRUE(found) << history.body;
    // One replica of this failure became master: the killed one never did.
    EXPECT_EQ(cluster->node(other).info_field("replication", "role"), "master");
}

TEST(FailoverScenarios, NoFailoverWithoutTheWatchersQuorumUntilItIsBack) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    ASSERT_TRUE(wait_shards_ready(sidecars, 3))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    // The leader survives, its two followers die, and so does the master beside the
    // survivor (node i is sidecar i's seed and VM). The restarted sidecars are seeded with
    // live nodes: a picketd whose only seed is dead never learns the topology, and if it
    // wins the election it leads without acting (a known gap, reported separately).
    int leader = -1;
    ASSERT_TRUE(testing::wait_until([&] { return (leader = sidecars.leader()) >= 0; }, 10s, 100ms));
    const auto survivor = static_cast<std::size_t>(leader);
    std::vector<std::size_t> others;
    for (std::size_t i = 0; i < sidecars.size(); ++i) {
        if (i != survivor) {
            others.push_back(i);
        }
    }
    const auto masters = cluster->master_indices();
    ASSERT_NE(std::find(masters.begin(), masters.end(), survivor), masters.end())
        << "node " << survivor << " beside the leader is not a master";
    const std::size_t victim = survivor;
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_id = cluster->node_id(victim);

    for (auto o : others) {
        sidecars.kill(o);
    }
    cluster->node(victim).kill();
    // The survivor sees the master down on its own ...
    ASSERT_TRUE(testing::wait_until(
        [&] { return node_status(sidecars, survivor, victim_id)["state"] == "sdown"; }, 20s, 200ms))
        << node_status(sidecars, survivor, victim_id).dump() << sidecars.logs();
    // ... but alone it can neither lead nor gather a quorum: nothing happens.
    std::string violation;
    testing::wait_until(
        [&] {
            auto st = sidecars.status(survivor);
            if (st["vote"]["role"] == "leader") {
                violation += "the lone watcher leads: " + st["vote"].dump() + "\n";
            }
            violation += acting_attempts(sidecars);
            if (role(*cluster, heir) != "slave") {
                violation += "replica's role is " + role(*cluster, heir) + "\n";
            }
            return !violation.empty();
        },
        5s, 250ms);
    EXPECT_EQ(violation, "") << sidecars.logs();
    // It said so: the leader stepped down for want of a quorum, and no shard is ready.
    const auto lone = sidecars.status(survivor);
    std::cout << "quorum lost: vote " << lone["vote"].dump() << "; readiness "
              << lone["failover"]["readiness"].dump() << "\n";
    std::set<std::string> kinds;
    for (const auto& e : lone["events"]) {
        kinds.insert(e["kind"].get<std::string>());
    }
    EXPECT_EQ(kinds.count("quorum_lost"), 1U) << lone["events"].dump();
    for (const auto& [name, r] : lone["failover"]["readiness"].items()) {
        EXPECT_EQ(r["ready"], false) << name << " " << r.dump();
        EXPECT_NE(r["reason"].get<std::string>().find("no_quorum"), std::string::npos) << r.dump();
    }

    // Quorum back: the failover proceeds.
    for (auto o : others) {
        sidecars.restart(o);
    }
    const json done = sidecars.wait_attempt(victim_id, {"converged"}, 40s);
    ASSERT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_EQ(done["replica"], cluster->node_id(heir));
    cluster->wait_until_master(heir, 20s);
}

TEST(FailoverScenarios, LeaderLosingItsOwnMasterIsReplacedAndTheOthersFailOver) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    ASSERT_TRUE(wait_shards_ready(sidecars, 3))
        << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    // Sidecar i is seeded with node i: node i is its VM. Right after creation nodes 0..2
    // are the masters, so the leader's VM runs a master.
    const int leader = sidecars.leader();
    ASSERT_GE(leader, 0);
    const auto l = static_cast<std::size_t>(leader);
    const auto masters = cluster->master_indices();
    ASSERT_NE(std::find(masters.begin(), masters.end(), l), masters.end())
        << "node " << l << " beside the leader is not a master";
    const std::size_t heir = cluster->replica_of(l).at(0);
    const std::string victim_id = cluster->node_id(l);

    // The VM dies: its picketd and its Redis at once.
    sidecars.kill(l);
    cluster->node(l).kill();

    int next = -1;
    ASSERT_TRUE(testing::wait_until(
        [&] {
            next = sidecars.leader();
            return next >= 0 && next != leader;
        },
        20s, 200ms))
        << sidecars.logs();
    const json done = sidecars.wait_attempt(victim_id, {"converged"}, 40s);
    ASSERT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    std::cout << "leader w" << leader + 1 << " lost with its master; new leader w" << next + 1
              << ": " << done.dump() << "\n";
    EXPECT_EQ(done["replica"], cluster->node_id(heir));
    EXPECT_EQ(done["mode"], "FORCE");
    cluster->wait_until_master(heir, 20s);
    EXPECT_TRUE(testing::wait_until(
        [&] {
            return cluster->node(heir).cli({"CLUSTER", "INFO"}).out.find("cluster_state:ok") !=
                   std::string::npos;
        },
        20s, 200ms))
        << cluster->node(heir).cli({"CLUSTER", "INFO"}).out;
}

// A picketd restarted on a VM whose Redis died with it has only that dead node as its
// seed. It remembers the topology's addresses in its state directory, so it still finds
// the cluster; and it takes part in the failover like the others.
TEST(FailoverScenarios, RestartedWatcherWhoseSeedIsDeadFindsTheClusterItRemembers) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    const std::size_t k = cluster->master_indices().at(0);
    ASSERT_LT(k, sidecars.size());
    const std::size_t heir = cluster->replica_of(k).at(0);
    const std::string known = sidecars.state_dir(k) + "/known-nodes";
    ASSERT_TRUE(testing::wait_until(
        [&] {
            return std::filesystem::exists(known) &&
                   std::count(
                       std::istreambuf_iterator<char>(*std::make_unique<std::ifstream>(known)),
                       std::istreambuf_iterator<char>(), '\n') == 6;
        },
        15s, 200ms))
        << "no known-nodes file with six addresses in " << sidecars.state_dir(k);

    cluster->node(k).kill();
    sidecars.restart(k);
    EXPECT_TRUE(testing::wait_until(
        [&] {
            const auto st = sidecars.status(k);
            return st.is_object() && st["cluster"]["topology_known"] == true &&
                   st["nodes"].size() == 6;
        },
        15s, 100ms))
        << sidecars.status(k).dump() << sidecars.logs();
    const json done = sidecars.wait_attempt(cluster->node_id(k), {"converged"}, 30s);
    EXPECT_TRUE(done.is_object()) << sidecars.leader_status()["failover"].dump() << sidecars.logs();
    EXPECT_EQ(role(*cluster, heir), "master");
}

}  // namespace
}  // namespace picket
