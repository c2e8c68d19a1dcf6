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
#include "picket/testing/ports.h"
#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/wait.h"

namespace picket {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::http_get;

class Sidecars {
  public:
    Sidecars(const testing::RedisCluster& cluster, std::size_t n, const std::string& failover) {
        std::vector<std::uint16_t> peer_ports;
        for (std::size_t i = 0; i < n; ++i) {
            peer_ports.push_back(static_cast<std::uint16_t>(testing::free_port()));
            http_ports_.push_back(static_cast<std::uint16_t>(testing::free_port()));
        }
        const std::string secret = dir_.path() + "/peer.secret";
        testing::write_file(secret, "failover-test-shared-secret");
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
            f << "cluster:\n  name: failover-test\n  seeds: [" << cluster.addresses().at(i)
              << "]\ndetection:\n  down_after: 1s\nfailover:\n"
              << failover;
            f.close();
            std::filesystem::create_directories(dir_.path() + "/state-" + id);
            processes_.push_back(
                std::make_unique<testing::ChildProcess>(testing::ChildProcess::spawn(
                    {PICKETD_PATH, "--config", conf}, dir_.path() + "/" + id + ".log")));
        }
    }

    json status(std::size_t i) {
        auto r = http_get(http_ports_.at(i), "/v1/status", 1s);
        return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
    }

    /// The /metrics text of whichever sidecar leads.
    std::string leader_metrics() {
        for (std::size_t i = 0; i < http_ports_.size(); ++i) {
            auto s = status(i);
            if (s.is_object() && s["vote"]["role"] == "leader") {
                return http_get(http_ports_[i], "/metrics").body;
            }
        }
        return {};
    }

    /// The status of whichever sidecar leads.
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
            out += "--- w" + std::to_string(i + 1) + "\n" +
                   testing::read_file(dir_.path() + "/w" + std::to_string(i + 1) + ".log")
                       .substr(0, 6000);
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
    // picket must be the only actor: the cluster's own failover is off.
    o.node.extra_config.emplace_back("cluster-replica-no-failover", "yes");
    return o;
}

TEST(Failover, KilledMasterIsPromotedByPicketAndOldMasterRejoins) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();

    const std::size_t victim = cluster->master_indices().at(0);
    const std::size_t heir = cluster->replica_of(victim).at(0);
    cluster->node(victim).kill();
    // Far below the 15 s the cluster would need (and it would not act at all here).
    cluster->wait_until_master(heir, 20s);

    // Writes to the victim's slots work again, through the new master.
    testing::CliOptions follow;
    follow.follow_redirects = true;
    auto set = cluster->node(heir).cli_with(follow, {"SET", "{failover}k", "v"});
    EXPECT_TRUE(set.ok()) << set.describe();

    // picketd's own record of the failover.
    json attempt;
    ASSERT_TRUE(testing::wait_until(
        [&] {
            auto s = sidecars.leader_status();
            if (!s.is_object()) {
                return false;
            }
            for (const auto& a : s["failover"]["attempts"]) {
                if (a["state"] == "promoted") {
                    attempt = a;
                    return true;
                }
            }
            return false;
        },
        10s, 100ms))
        << sidecars.logs();
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

    // The tutorial's Step 4, second half: the old master comes back as a replica.
    cluster->node(victim).restart();
    cluster->wait_until_replica_of(victim, heir, 30s);
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
