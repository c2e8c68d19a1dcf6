// Integration test of tests/support: the fixture that every other integration test trusts
// must itself be proven against real redis-server processes. One 3+3 cluster with a 2 s
// cluster-node-timeout is shared by the ClusterFixtureTest cases, in order, so a forced
// failover costs seconds rather than the tutorial's 15+.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "picket/testing/ports.h"
#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/redis_node.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/tls_material.h"

namespace {

using namespace std::chrono_literals;
using picket::testing::CliAuth;
using picket::testing::CliOptions;
using picket::testing::CliResult;
using picket::testing::ClusterOptions;
using picket::testing::NodeOptions;
using picket::testing::RedisCluster;
using picket::testing::RedisNode;
using picket::testing::TempDir;
using picket::testing::TlsMaterial;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

class ClusterFixtureTest : public ::testing::Test {
  protected:
    /// The shared cluster, created on first use so that any test also runs alone
    /// (--gtest_filter); the last test destroys it.
    static RedisCluster& cluster() {
        if (!cluster_) {
            ClusterOptions options;
            options.node.cluster_node_timeout_ms = 2000;
            const auto start = Clock::now();
            cluster_ = RedisCluster::create(options);
            std::printf("[ fixture  ] 3+3 cluster created in %.2f s\n", seconds_since(start));
        }
        return *cluster_;
    }
    static void TearDownTestSuite() { cluster_.reset(); }

    static inline std::unique_ptr<RedisCluster> cluster_;
};

TEST_F(ClusterFixtureTest, CreatesAHealthyThreeMasterThreeReplicaCluster) {
    RedisCluster& c = cluster();
    ASSERT_EQ(c.size(), 6u);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < c.size(); ++i) {
        const std::string info = c.node(i).cli_ok({"CLUSTER", "INFO"});
        EXPECT_EQ(picket::testing::parse_info_field(info, "cluster_state"), "ok") << i;
        EXPECT_EQ(picket::testing::parse_info_field(info, "cluster_known_nodes"), "6") << i;
        EXPECT_EQ(picket::testing::parse_info_field(info, "cluster_size"), "3") << i;
        ids.insert(c.node_id(i));
        EXPECT_EQ(c.index_of_node_id(c.node_id(i)), i);
        EXPECT_EQ(c.index_of_port(c.node(i).port()), i);
        EXPECT_EQ(c.cluster_nodes(i).size(), 6u);
    }
    EXPECT_EQ(ids.size(), 6u);
    const auto masters = c.master_indices();
    EXPECT_EQ(masters.size(), 3u);
    EXPECT_EQ(c.replica_indices().size(), 3u);
    for (const auto m : masters) {
        EXPECT_EQ(c.replica_of(m).size(), 1u) << c.node(m).name();
    }
}

TEST_F(ClusterFixtureTest, SetAndGetFollowRedirections) {
    RedisCluster& c = cluster();
    CliOptions redirects;
    redirects.follow_redirects = true;
    int moved = 0;
    for (int k = 0; k < 10; ++k) {
        const std::string key = "fixture-key-" + std::to_string(k);
        const std::string value = "value-" + std::to_string(k);
        const CliResult set = c.node(0).cli_with(redirects, {"SET", key, value});
        ASSERT_TRUE(set.ok()) << set.describe();
        EXPECT_EQ(set.trimmed(), "OK");
        const CliResult get = c.node(c.size() - 1).cli_with(redirects, {"GET", key});
        ASSERT_TRUE(get.ok()) << get.describe();
        EXPECT_EQ(get.trimmed(), value);
        // Without -c, keys outside node 0's slots are refused with MOVED (exit 1 with -e).
        const CliResult plain = c.node(0).cli({"GET", key});
        if (!plain.ok()) {
            EXPECT_NE(plain.err.find("MOVED"), std::string::npos) << plain.describe();
            ++moved;
        }
    }
    EXPECT_GT(moved, 0);
    EXPECT_LT(moved, 10);
}

TEST_F(ClusterFixtureTest, PausedNodeAnswersNothingUntilResumed) {
    RedisCluster& c = cluster();
    const auto replicas = c.replica_indices();
    ASSERT_FALSE(replicas.empty());
    RedisNode& n = c.node(replicas[0]);
    n.pause();
    EXPECT_TRUE(n.paused());
    EXPECT_TRUE(n.running());
    EXPECT_EQ(picket::testing::process_state(n.pid()), 'T');
    const auto start = Clock::now();
    const CliResult ping = n.cli({"PING"}, 300ms);
    EXPECT_TRUE(ping.timed_out) << ping.describe();
    EXPECT_FALSE(ping.ok());
    EXPECT_LT(seconds_since(start), 2.0);
    n.resume();
    EXPECT_FALSE(n.paused());
    EXPECT_EQ(n.cli_ok({"PING"}), "PONG");
    c.wait_cluster_ok(20s);
}

TEST_F(ClusterFixtureTest, KilledMasterFailsOverAndRejoinsAsReplica) {
    RedisCluster& c = cluster();
    const auto masters = c.master_indices();
    ASSERT_FALSE(masters.empty());
    const std::size_t m = masters[0];
    const auto replicas = c.replica_of(m);
    ASSERT_EQ(replicas.size(), 1u);
    const std::size_t r = replicas[0];

    // A key in m's slots (the first one m accepts without MOVED), replicated before the kill.
    std::string key;
    for (int k = 0; k < 100 && key.empty(); ++k) {
        const std::string candidate = "failover-key-" + std::to_string(k);
        if (c.node(m).cli({"SET", candidate, "survives"}).ok()) {
            key = candidate;
        }
    }
    ASSERT_FALSE(key.empty());
    EXPECT_EQ(c.node(m).cli_ok({"WAIT", "1", "2000"}), "1");

    const pid_t old_pid = c.node(m).pid();
    c.node(m).kill();
    EXPECT_FALSE(c.node(m).running());
    EXPECT_FALSE(picket::testing::process_exists(old_pid));

    const auto kill_time = Clock::now();
    c.wait_until_failed(m, 30s);
    std::printf("[ fixture  ] killed master flagged fail after %.2f s\n", seconds_since(kill_time));
    c.wait_until_master(r, 30s);
    std::printf(
        "[ fixture  ] replica promoted %.2f s after the master was killed "
        "(cluster-node-timeout 2000 ms)\n",
        seconds_since(kill_time));
    EXPECT_EQ(c.node(r).cli_ok({"GET", key}), "survives");
    EXPECT_EQ(c.master_indices().size(), 3u);

    const auto restart_time = Clock::now();
    c.node(m).restart();
    EXPECT_NE(c.node(m).pid(), old_pid);
    c.wait_until_replica_of(m, r, 30s);
    std::printf("[ fixture  ] old master rejoined as replica %.2f s after restart\n",
                seconds_since(restart_time));
    EXPECT_EQ(c.replica_of(r), std::vector<std::size_t>{m});
    EXPECT_EQ(c.node(m).info_field("replication", "role"), "slave");
    c.wait_cluster_ok(30s);
    EXPECT_EQ(c.master_indices().size(), 3u);
    EXPECT_EQ(c.replica_indices().size(), 3u);
}

TEST_F(ClusterFixtureTest, AclUserNeedsItsPassword) {
    RedisCluster& c = cluster();
    c.create_acl_user("picket", "s3cret");
    for (std::size_t i = 0; i < c.size(); ++i) {
        CliOptions right;
        right.auth = CliAuth{"picket", "s3cret"};
        const CliResult ok = c.node(i).cli_with(right, {"ACL", "WHOAMI"});
        EXPECT_TRUE(ok.ok()) << ok.describe();
        EXPECT_EQ(ok.trimmed(), "picket");

        CliOptions wrong;
        wrong.auth = CliAuth{"picket", "not-the-password"};
        const CliResult refused = c.node(i).cli_with(wrong, {"ACL", "WHOAMI"});
        EXPECT_FALSE(refused.ok()) << refused.describe();
        EXPECT_NE(refused.err.find("WRONGPASS"), std::string::npos) << refused.describe();
    }
}

// Last of the suite: it destroys the shared cluster.
TEST_F(ClusterFixtureTest, DestroyingTheClusterLeavesNoProcesses) {
    RedisCluster& c = cluster();
    std::vector<pid_t> pids;
    std::vector<std::string> dirs;
    for (std::size_t i = 0; i < c.size(); ++i) {
        ASSERT_TRUE(c.node(i).running());
        pids.push_back(c.node(i).pid());
        dirs.push_back(c.node(i).dir());
    }
    const auto start = Clock::now();
    cluster_.reset();
    std::printf("[ fixture  ] cluster destroyed in %.2f s\n", seconds_since(start));
    for (const pid_t pid : pids) {
        EXPECT_FALSE(picket::testing::process_exists(pid)) << "pid " << pid;
    }
    if (std::getenv("PICKET_KEEP_TMP") == nullptr) {
        for (const auto& dir : dirs) {
            EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
        }
    }
}

TEST(TlsNodeTest, AnswersWithTheRightCaAndRefusesAnotherCa) {
    TempDir pki("picket-pki");
    const auto start = Clock::now();
    const TlsMaterial tls = TlsMaterial::generate(pki.path());
    std::printf("[ fixture  ] TLS material generated in %.2f s\n", seconds_since(start));

    NodeOptions options;
    options.cluster_enabled = false;
    options.appendonly = false;
    options.tls = tls.server_files();
    auto node = RedisNode::start(options, "tls-standalone");
    EXPECT_EQ(node->cli_ok({"PING"}), "PONG");

    CliOptions no_client_cert;
    no_client_cert.present_client_cert = false;
    const CliResult anonymous = node->cli_with(no_client_cert, {"PING"});
    EXPECT_TRUE(anonymous.ok()) << anonymous.describe();  // tls-auth-clients optional

    CliOptions other_ca;
    other_ca.ca_cert = tls.other_ca_cert();
    const CliResult wrong_ca = node->cli_with(other_ca, {"PING"});
    EXPECT_FALSE(wrong_ca.ok()) << wrong_ca.describe();
    EXPECT_EQ(wrong_ca.out.find("PONG"), std::string::npos) << wrong_ca.describe();

    CliOptions untrusted_client;
    untrusted_client.client_cert = tls.other_client_cert();
    untrusted_client.client_key = tls.other_client_key();
    const CliResult refused_client = node->cli_with(untrusted_client, {"PING"});
    EXPECT_FALSE(refused_client.ok()) << refused_client.describe();

    // No plaintext port: a non-TLS client gets no PONG.
    const auto plain = picket::testing::run_process(
        {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(node->port()), "PING"}, 3s);
    EXPECT_EQ(plain.out.find("PONG"), std::string::npos) << plain.describe();

    const pid_t pid = node->pid();
    node.reset();
    EXPECT_FALSE(picket::testing::process_exists(pid));
}

// tls-cluster and tls-replication: the bus and replication links run over TLS too.
TEST(TlsClusterTest, CreatesAClusterThatServesOnlyTls) {
    TempDir pki("picket-pki");
    const TlsMaterial tls = TlsMaterial::generate(pki.path());
    ClusterOptions options;
    options.name = "tls-cluster";
    options.node.cluster_node_timeout_ms = 2000;
    options.node.tls = tls.server_files();
    const auto start = Clock::now();
    auto c = RedisCluster::create(options);
    std::printf("[ fixture  ] 3+3 TLS cluster created in %.2f s\n", seconds_since(start));
    EXPECT_EQ(c->master_indices().size(), 3u);
    EXPECT_EQ(c->replica_indices().size(), 3u);
    CliOptions redirects;
    redirects.follow_redirects = true;
    for (int k = 0; k < 5; ++k) {
        const std::string key = "tls-key-" + std::to_string(k);
        const CliResult set = c->node(1).cli_with(redirects, {"SET", key, "v"});
        EXPECT_TRUE(set.ok()) << set.describe();
        const CliResult get = c->node(4).cli_with(redirects, {"GET", key});
        EXPECT_EQ(get.trimmed(), "v") << get.describe();
    }
    // Replication over TLS carried the writes: WAIT on a master sees its replica ack.
    const auto masters = c->master_indices();
    ASSERT_FALSE(masters.empty());
    EXPECT_EQ(c->node(masters[0]).cli_ok({"WAIT", "1", "2000"}), "1");
}

TEST(PortsTest, HandsOutDistinctPortsWithFreeBusPorts) {
    std::set<int> seen;
    for (int i = 0; i < 20; ++i) {
        const int p = picket::testing::free_port();
        EXPECT_GE(p, 1024);
        EXPECT_LE(p + picket::testing::kClusterBusOffset, 65535);
        EXPECT_TRUE(seen.insert(p).second) << p;
        EXPECT_FALSE(seen.contains(p + picket::testing::kClusterBusOffset)) << p;
    }
}

TEST(ParseTest, ClusterNodesAndInfo) {
    const auto entries = picket::testing::parse_cluster_nodes(
        "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave "
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n"
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001,host1 myself,master - 0 "
        "0 1 connected 0-5460 [93->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]\n");
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_TRUE(entries[0].is_replica());
    EXPECT_EQ(entries[0].master_id, entries[1].id);
    EXPECT_EQ(entries[0].port, 30004);
    EXPECT_EQ(entries[0].bus_port, 40004);
    EXPECT_TRUE(entries[1].has_flag("myself"));
    EXPECT_TRUE(entries[1].is_master());
    EXPECT_EQ(entries[1].bus_port, 40001);
    EXPECT_EQ(entries[1].slots.size(), 2u);
    EXPECT_EQ(picket::testing::parse_info_field("# Replication\r\nrole:master\r\n", "role"),
              "master");
    EXPECT_EQ(picket::testing::parse_info_field("role:master\r\n", "rol"), std::nullopt);
}

}  // namespace
