// The failover's alerts end to end (issue #6, "Done when"): the tutorial's 3+3 cluster
// (cluster-node-timeout 15000, cluster-replica-no-failover yes, so only picket promotes),
// three picketd sidecars with down_after 1s, and a webhook receiver in the test process
// configured in all three. Kill -9 a master → the receiver gets, signed and in
// Alertmanager's webhook v4 format, node_odown, failover_started, failover_replica_chosen,
// failover_promoted and failover_converged — each once (cluster-level alerts come from the
// leader only), in that order — with failover_started resolved by the convergence; then,
// when the old master is back, node_odown resolved with the firing alert's fingerprint.
// Second: an SDOWN seen while no watcher leads reaches the receiver through the first
// leader's replay. Assertions read what the receiver got, Redis and picketd's own logs;
// waits are bounded.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "alert_receiver.h"
#include "picket/testing/http_client.h"
#include "picket/testing/ports.h"
#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/run_async.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/wait.h"

namespace picket {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::http_get;

constexpr const char* kSecret = "failover-alerts-signing-secret";

/// Three picketd, as in failover_test.cpp, each with the same `alerts:` section (and its
/// own `extra[i]` sections); the first `start_now` are started at once, the others by
/// start().
class Sidecars {
  public:
    Sidecars(const testing::RedisCluster& cluster, std::size_t n, const std::string& alerts,
             std::size_t start_now = 3, const std::vector<std::string>& extra = {}) {
        std::vector<std::uint16_t> peer_ports;
        for (std::size_t i = 0; i < n; ++i) {
            peer_ports.push_back(static_cast<std::uint16_t>(testing::free_port()));
            http_ports_.push_back(static_cast<std::uint16_t>(testing::free_port()));
        }
        const std::string secret = dir_.path() + "/peer.secret";
        testing::write_file(secret, "failover-alerts-shared-secret");
        chmod(secret.c_str(), 0600);
        for (std::size_t i = 0; i < n; ++i) {
            const std::string id = "w" + std::to_string(i + 1);
            const std::string conf = dir_.path() + "/" + id + ".yml";
            std::ofstream f(conf);
            f << "watcher:\n  id: " << id << "\n  peer_listen: 127.0.0.1:" << peer_ports[i]
              << "\n  http_listen: 127.0.0.1:" << http_ports_[i] << "\n  state_dir: " << dir_.path()
              << "/state-" << id << "\npeers:\n  secret_file: " << secret << "\n  members:\n";
            for (std::size_t j = 0; j < n; ++j) {
                if (j != i) {
                    f << "    - {id: w" << j + 1 << ", address: 127.0.0.1:" << peer_ports[j]
                      << "}\n";
                }
            }
            f << "cluster:\n  name: failover-alerts\n  seeds: [" << cluster.addresses().at(i)
              << "]\ndetection:\n  down_after: 1s\nfailover:\n  enabled: true\n"
              << alerts << (i < extra.size() ? extra[i] : std::string());
            f.close();
            std::filesystem::create_directories(dir_.path() + "/state-" + id);
            processes_.emplace_back();
            if (i < start_now) {
                start(i);
            }
        }
    }

    /// Starts watcher i (from the test's main thread: children die with their spawner).
    void start(std::size_t i) {
        const std::string id = "w" + std::to_string(i + 1);
        processes_.at(i) = std::make_unique<testing::ChildProcess>(testing::ChildProcess::spawn(
            {PICKETD_PATH, "--config", dir_.path() + "/" + id + ".yml"},
            dir_.path() + "/" + id + ".log"));
    }

    std::string log(std::size_t i) const {
        return testing::read_file(dir_.path() + "/w" + std::to_string(i + 1) + ".log");
    }

    json status(std::size_t i) {
        auto r = http_get(http_ports_.at(i), "/v1/status", 1s);
        return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
    }

    json leader_status() {
        for (std::size_t i = 0; i < http_ports_.size(); ++i) {
            auto s = status(i);
            if (s.is_object() && s["vote"]["role"] == "leader") {
                return s;
            }
        }
        return json();
    }

    bool wait_ready(std::size_t shards) {
        return testing::wait_until(
            [&] {
                auto s = leader_status();
                if (!s.is_object() || s["shards"].size() != shards) {
                    return false;
                }
                for (std::size_t i = 0; i < http_ports_.size(); ++i) {
                    auto st = status(i);
                    if (!st.is_object() || st["nodes"].size() != 2 * shards) {
                        return false;
                    }
                }
                return true;
            },
            30s, 100ms);
    }

    std::string logs() {
        std::string out;
        for (std::size_t i = 0; i < http_ports_.size(); ++i) {
            const auto text = log(i);
            out += "--- w" + std::to_string(i + 1) + "\n" +
                   text.substr(text.size() > 6000 ? text.size() - 6000 : 0);
        }
        return out;
    }

  private:
    testing::TempDir dir_;
    std::vector<std::uint16_t> http_ports_;
    std::vector<std::unique_ptr<testing::ChildProcess>> processes_;
};

testing::ClusterOptions tutorial_cluster() {
    testing::ClusterOptions o;
    o.node.cluster_node_timeout_ms = 15000;
    o.node.extra_config.emplace_back("cluster-replica-no-failover", "yes");
    return o;
}

/// How many alerts with `status` and these labels the receiver got.
std::size_t count(const testing::WebhookReceiver& r, const std::string& status,
                  const std::map<std::string, std::string>& labels) {
    std::size_t n = 0;
    for (const auto& a : r.alerts()) {
        bool all = a.alert["status"] == status;
        for (const auto& [k, v] : labels) {
            all = all && a.alert["labels"].value(k, std::string()) == v;
        }
        n += all ? 1u : 0u;
    }
    return n;
}

TEST(FailoverAlerts, KilledMasterYieldsSignedV4FailoverAlertsThenResolved) {
    boost::asio::io_context io;
    testing::WebhookReceiver receiver(io);
    testing::TempDir secrets;
    const std::string secret_file = secrets.path() + "/oncall.secret";
    testing::write_file(secret_file, kSecret);
    chmod(secret_file.c_str(), 0600);

    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3,
                      "alerts:\n  receivers:\n    - name: oncall\n      url: " + receiver.url() +
                          "\n      secret_file: " + secret_file +
                          "\n      events: [node_odown, node_recovered, \"failover_*\"]\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();

    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    const std::string victim_address = cluster->node(victim).address();
    cluster->node(victim).kill();
    cluster->wait_until_master(heir, 20s);

    const std::vector<std::string> expected = {"failover_started", "failover_replica_chosen",
                                               "failover_promoted", "failover_converged"};
    // The failover's shard is named by the failed master's slots ("0-5460").
    std::string shard;
    auto all_fired = [&] {
        if (shard.empty()) {
            if (auto s = receiver.find("firing", {{"event", "failover_started"}})) {
                shard = s->alert["labels"].value("shard", std::string());
            }
            if (shard.empty()) {
                return false;
            }
        }
        if (count(receiver, "firing", {{"event", "node_odown"}, {"node", victim_address}}) == 0) {
            return false;
        }
        for (const auto& e : expected) {
            if (count(receiver, "firing", {{"event", e}, {"shard", shard}}) == 0) {
                return false;
            }
        }
        return true;
    };
    ASSERT_TRUE(testing::run_until(io, all_fired, 30s)) << receiver.describe() << sidecars.logs();

    // Every request signed, every payload v4, for the receiver named in the config.
    for (const auto& r : receiver.requests()) {
        testing::expect_signed_v4(r, kSecret, "oncall");
    }
    const auto odown =
        *receiver.find("firing", {{"event", "node_odown"}, {"node", victim_address}});
    EXPECT_EQ(odown.alert["labels"]["severity"], "critical");
    EXPECT_EQ(odown.alert["labels"]["cluster"], "failover-alerts");
    EXPECT_EQ(odown.alert["labels"]["alertname"], "PicketNodeOdown");
    EXPECT_EQ(odown.alert["endsAt"], "0001-01-01T00:00:00Z");
    // Cluster-level alerts come from the leader alone: once each.
    EXPECT_EQ(count(receiver, "firing", {{"event", "node_odown"}, {"node", victim_address}}), 1u)
        << receiver.describe();
    for (const auto& e : expected) {
        EXPECT_EQ(count(receiver, "firing", {{"event", e}, {"shard", shard}}), 1u)
            << e << "\n"
            << receiver.describe();
    }
    const auto chosen =
        *receiver.find("firing", {{"event", "failover_replica_chosen"}, {"shard", shard}});
    EXPECT_NE(
        chosen.alert["annotations"]["description"].get<std::string>().find(cluster->node_id(heir)),
        std::string::npos)
        << chosen.alert.dump(1);
    EXPECT_EQ(chosen.alert["labels"].value("node", std::string()), cluster->node(heir).address())
        << "failover_replica_chosen is about the chosen replica";
    const auto started =
        *receiver.find("firing", {{"event", "failover_started"}, {"shard", shard}});
    EXPECT_EQ(started.alert["labels"]["severity"], "critical");
    // Order as it happened: ODOWN, started, chosen, promoted, converged.
    std::vector<std::string> order;
    for (const auto& a : receiver.alerts()) {
        if (a.alert["status"] == "firing") {
            order.push_back(a.alert["labels"]["event"].get<std::string>());
        }
    }
    std::vector<std::string> want = {"node_odown"};
    want.insert(want.end(), expected.begin(), expected.end());
    EXPECT_EQ(order, want) << receiver.describe();

    // The convergence resolved failover_started (same fingerprint, same startsAt).
    const auto started_resolved =
        receiver.find("resolved", {{"event", "failover_started"}, {"shard", shard}});
    ASSERT_TRUE(started_resolved) << receiver.describe();
    EXPECT_EQ(started_resolved->alert["fingerprint"], started.alert["fingerprint"]);
    EXPECT_EQ(started_resolved->alert["startsAt"], started.alert["startsAt"]);

    // The old master is back (as a replica of the heir): node_odown resolves.
    cluster->node(victim).restart();
    cluster->wait_until_replica_of(victim, heir, 30s);
    ASSERT_TRUE(testing::run_until(
        io,
        [&] {
            return receiver.find("resolved", {{"event", "node_odown"}, {"node", victim_address}})
                .has_value();
        },
        30s))
        << receiver.describe() << sidecars.logs();
    const auto resolved =
        *receiver.find("resolved", {{"event", "node_odown"}, {"node", victim_address}});
    EXPECT_EQ(resolved.alert["fingerprint"], odown.alert["fingerprint"]);
    EXPECT_EQ(resolved.alert["startsAt"], odown.alert["startsAt"]);
    EXPECT_NE(resolved.alert["endsAt"], "0001-01-01T00:00:00Z");
    EXPECT_EQ(resolved.payload["status"], "resolved");
    for (const auto& r : receiver.requests()) {
        testing::expect_signed_v4(r, kSecret, "oncall");
    }
    std::cout << "receiver got:\n" << receiver.describe();
}

// Cluster-level alerts are sent by the leader only. An SDOWN seen while no leader exists
// (one watcher of three up: no quorum) reaches nobody then; the first leader sends it.
TEST(FailoverAlerts, SdownBeforeAnyLeaderIsSentByTheFirstLeader) {
    boost::asio::io_context io;
    testing::WebhookReceiver receiver(io);
    testing::TempDir secrets;
    const std::string secret_file = secrets.path() + "/oncall.secret";
    testing::write_file(secret_file, kSecret);
    chmod(secret_file.c_str(), 0600);
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3,
                      "alerts:\n  receivers:\n    - name: oncall\n      url: " + receiver.url() +
                          "\n      secret_file: " + secret_file + "\n      events: [node_sdown]\n",
                      1,
                      // w2 campaigns late and withholds its vote for 12 s after its start: it
                      // too holds the replica SDOWN before anyone leads.
                      {"", "election:\n  timeout_min: 10s\n  timeout_max: 12s\n"});
    const std::size_t replica = cluster->replica_indices().at(0);
    const std::string address = cluster->node(replica).address();
    auto w1_sees = [&](const std::string& state) {
        auto s = sidecars.status(0);
        if (!s.is_object() || s["nodes"].size() != 6) {
            return false;
        }
        for (const auto& n : s["nodes"]) {
            if (n["address"] == address) {
                return n["state"] == state;
            }
        }
        return false;
    };
    ASSERT_TRUE(testing::wait_until([&] { return w1_sees("up"); }, 30s, 100ms)) << sidecars.logs();
    cluster->node(replica).kill();
    ASSERT_TRUE(testing::wait_until([&] { return w1_sees("sdown"); }, 20s, 100ms))
        << sidecars.logs();
    ASSERT_NE(sidecars.status(0)["vote"]["role"], "leader") << "one of three cannot lead";
    // Whatever w1 would have sent has gone out by now (it publishes as it records).
    io.run_for(300ms);
    EXPECT_TRUE(receiver.requests().empty()) << receiver.describe();

    // A second watcher: a quorum, a leader, and the SDOWN reaches the receiver once.
    sidecars.start(1);
    ASSERT_TRUE(testing::run_until(
        io,
        [&] {
            return receiver.find("firing", {{"node", address}}).has_value();
        },
        30s))
        << receiver.describe() << sidecars.logs();
    const auto fired = *receiver.find("firing", {{"node", address}});
    EXPECT_EQ(fired.alert["labels"]["event"], "node_sdown");
    testing::expect_signed_v4(*fired.request, kSecret, "oncall");
    io.run_for(300ms);
    EXPECT_EQ(count(receiver, "firing", {{"node", address}}), 1u) << receiver.describe();
    // No leader can exist before w2's first campaign (10-12 s) or the end of its withholding
    // (12 s), and both watchers hold the replica SDOWN long before (down_after 1 s): whoever
    // leads sent it by the replay.
    std::size_t leader = 2;
    for (std::size_t i = 0; i < 2; ++i) {
        if (sidecars.status(i)["vote"]["role"] == "leader") {
            leader = i;
        }
    }
    ASSERT_LT(leader, 2u) << sidecars.logs();
    EXPECT_NE(sidecars.log(leader).find("alert: leading now; re-sent "), std::string::npos)
        << sidecars.logs();
    std::cout << "w" << leader + 1 << " leads and replayed the SDOWN from before the election\n";
}

}  // namespace
}  // namespace picket
