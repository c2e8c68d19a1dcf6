// The vote between real picketd processes on loopback (issue #4): one leader per term,
// a new leader after kill -9 of the leader, a paused leader stepping down after SIGCONT,
// and a watcher with the wrong secret kept out. Assertions read each picketd's own
// /v1/status and /metrics; waits are bounded polls.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
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

struct Member {
    std::string id;
    std::uint16_t peer_port = 0;
    std::uint16_t http_port = 0;
    std::string secret;
    std::unique_ptr<testing::ChildProcess> process;
};

/// N picketd processes forming one voter set against one Redis cluster.
class Group {
  public:
    Group(const testing::RedisCluster& cluster, std::size_t n,
          const std::map<std::size_t, std::string>& secrets = {}) {
        for (std::size_t i = 0; i < n; ++i) {
            Member m;
            m.id = "w" + std::to_string(i + 1);
            m.peer_port = static_cast<std::uint16_t>(testing::free_port());
            m.http_port = static_cast<std::uint16_t>(testing::free_port());
            auto s = secrets.find(i);
            m.secret = s == secrets.end() ? "the-shared-secret-of-this-test" : s->second;
            members_.push_back(std::move(m));
        }
        for (std::size_t i = 0; i < n; ++i) {
            start(i, cluster);
        }
    }

    void start(std::size_t i, const testing::RedisCluster& cluster) {
        auto& m = members_[i];
        const std::string secret_file = dir_.path() + "/" + m.id + ".secret";
        testing::write_file(secret_file, m.secret);
        chmod(secret_file.c_str(), 0600);
        const std::string conf = dir_.path() + "/" + m.id + ".yml";
        std::ofstream f(conf);
        f << "watcher:\n  id: " << m.id << "\n  peer_listen: 127.0.0.1:" << m.peer_port
          << "\n  http_listen: 127.0.0.1:" << m.http_port << "\n  state_dir: " << dir_.path()
          << "/state-" << m.id << "\npeers:\n  secret_file: " << secret_file << "\n  members:\n";
        for (const auto& other : members_) {
            if (other.id != m.id) {
                f << "    - {id: " << other.id << ", address: 127.0.0.1:" << other.peer_port
                  << "}\n";
            }
        }
        f << "cluster:\n  name: vote-test\n  seeds: [" << cluster.addresses().at(i % cluster.size())
          << "]\n";
        f.close();
        std::filesystem::create_directories(dir_.path() + "/state-" + m.id);
        m.process = std::make_unique<testing::ChildProcess>(testing::ChildProcess::spawn(
            {PICKETD_PATH, "--config", conf}, dir_.path() + "/" + m.id + ".log"));
    }

    Member& member(std::size_t i) { return members_.at(i); }
    std::size_t size() const { return members_.size(); }

    json vote(std::size_t i) {
        auto r = http_get(members_[i].http_port, "/v1/status", 1s);
        if (r.status != 200) {
            return json();
        }
        auto doc = json::parse(r.body, nullptr, false);
        return doc.is_object() ? doc["vote"] : json();
    }

    /// The leader every member in `among` agrees on (same leader, same term, exactly one
    /// of them leading), or nullopt.
    std::optional<std::pair<std::size_t, std::uint64_t>> agreed_leader(
        const std::vector<std::size_t>& among) {
        std::optional<std::string> leader;
        std::optional<std::uint64_t> term;
        std::size_t leaders = 0;
        std::size_t leader_index = 0;
        for (auto i : among) {
            auto v = vote(i);
            if (!v.is_object() || !v["leader"].is_string()) {
                return std::nullopt;
            }
            if ((leader && *leader != v["leader"]) || (term && *term != v["term"])) {
                return std::nullopt;
            }
            leader = v["leader"].get<std::string>();
            term = v["term"].get<std::uint64_t>();
            if (v["role"] == "leader") {
                ++leaders;
                leader_index = i;
            }
        }
        if (leaders != 1 || members_[leader_index].id != *leader) {
            return std::nullopt;
        }
        return std::make_pair(leader_index, *term);
    }

    std::pair<std::size_t, std::uint64_t> wait_leader(const std::vector<std::size_t>& among,
                                                      const std::string& what) {
        std::optional<std::pair<std::size_t, std::uint64_t>> got;
        const bool ok = testing::wait_until(
            [&] {
                got = agreed_leader(among);
                return got.has_value();
            },
            20s, 100ms);
        if (!ok) {
            std::string dump;
            for (auto i : among) {
                dump += members_[i].id + ": " + vote(i).dump() + "\n";
            }
            ADD_FAILURE() << "no agreed leader: " << what << "\n" << dump;
            return {0, 0};
        }
        return *got;
    }

    std::vector<std::size_t> all_but(std::size_t skip) const {
        std::vector<std::size_t> v;
        for (std::size_t i = 0; i < members_.size(); ++i) {
            if (i != skip) {
                v.push_back(i);
            }
        }
        return v;
    }

  private:
    testing::TempDir dir_;
    std::vector<Member> members_;
};

TEST(Vote, OneLeaderThenANewOneAfterKill9) {
    auto cluster = testing::RedisCluster::create({});
    Group g(*cluster, 5);
    auto [leader, term] = g.wait_leader({0, 1, 2, 3, 4}, "initial election");
    EXPECT_GE(term, 1u);
    EXPECT_EQ(http_get(g.member(leader).http_port, "/leader").status, 200u);
    EXPECT_EQ(http_get(g.member((leader + 1) % 5).http_port, "/leader").status, 503u);

    g.member(leader).process->kill_and_reap();
    auto [next, next_term] = g.wait_leader(g.all_but(leader), "election after kill -9");
    EXPECT_NE(next, leader);
    EXPECT_GT(next_term, term);
}

TEST(Vote, PausedLeaderStepsDownWhenItResumes) {
    auto cluster = testing::RedisCluster::create({});
    Group g(*cluster, 5);
    auto [leader, term] = g.wait_leader({0, 1, 2, 3, 4}, "initial election");
    ASSERT_TRUE(g.member(leader).process->send_signal(SIGSTOP));
    auto [next, next_term] =
        g.wait_leader(g.all_but(leader), "election while the leader is paused");
    EXPECT_GT(next_term, term);
    ASSERT_TRUE(g.member(leader).process->send_signal(SIGCONT));
    // The old leader hears the new term and follows; one leader among all five again.
    auto [after, after_term] = g.wait_leader({0, 1, 2, 3, 4}, "after SIGCONT");
    EXPECT_EQ(after, next);
    EXPECT_EQ(after_term, next_term);
    auto old = g.vote(leader);
    EXPECT_EQ(old["role"], "follower") << old.dump();
    EXPECT_FALSE(old["lease_valid"].get<bool>());
}

TEST(Vote, WrongSecretIsKeptOut) {
    auto cluster = testing::RedisCluster::create({});
    Group g(*cluster, 3, {{2, "a-different-secret-entirely"}});
    // w1 and w2 are a majority of three and elect one of themselves.
    auto [leader, term] = g.wait_leader({0, 1}, "the two with the right secret");
    EXPECT_NE(leader, 2u);
    (void)term;
    // Their frames to w3 and w3's to them are dropped as bad MACs, and counted.
    const bool counted = testing::wait_until(
        [&] {
            auto m = http_get(g.member(0).http_port, "/metrics").body;
            return m.find("picket_peer_messages_dropped_total{reason=\"bad_mac\"} 0") ==
                       std::string::npos &&
                   m.find("picket_peer_messages_dropped_total{reason=\"bad_mac\"}") !=
                       std::string::npos;
        },
        10s, 100ms);
    EXPECT_TRUE(counted) << http_get(g.member(0).http_port, "/metrics").body.substr(0, 2000);
    auto outsider = g.vote(2);
    EXPECT_NE(outsider["role"], "leader") << outsider.dump();
    EXPECT_TRUE(outsider["leader"].is_null() || outsider["leader"] != "w3") << outsider.dump();
}

}  // namespace
}  // namespace picket
