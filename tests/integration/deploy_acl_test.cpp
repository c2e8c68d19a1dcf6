// deploy/redis/acl.conf against a real Redis 7: the shipped file refuses to load until its
// password placeholder is replaced; ACL DRYRUN allows every command picketd sends (found in
// the sources, so a new command cannot be added without updating the ACL) and denies the
// dangerous ones; and a real picketd logged in as that user on a 3+3 cluster sees all six
// nodes up with no ACL denial recorded by any node.
//
// Both documented ways of loading the file are used: `include` in redis.conf (single node)
// and an `aclfile` holding its `user` line (the cluster).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "picket/testing/http_client.h"
#include "picket/testing/ports.h"
#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/redis_node.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/wait.h"

namespace picket {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPlaceholder = "PICKET_PASSWORD_SHA256";

std::string random_password() {
    std::random_device rd;
    std::ostringstream out;
    for (int i = 0; i < 4; ++i) {
        out << std::hex << rd();
    }
    return out.str();
}

std::string sha256_hex(const testing::TempDir& dir, const std::string& text) {
    const std::string file = dir.file("sha-input");
    testing::write_file(file, text);
    auto r = testing::run_process({"sha256sum", file}, 5s);
    if (!r.exited_ok() || r.out.size() < 64) {
        throw std::runtime_error("sha256sum: " + r.describe());
    }
    return r.out.substr(0, 64);
}

/// The shipped acl.conf with the placeholder replaced by the hash of `password`.
std::string acl_conf_with(const testing::TempDir& dir, const std::string& password) {
    std::string text = testing::read_file(DEPLOY_ACL_CONF);
    const std::string placeholder = kPlaceholder;
    const std::string hash = sha256_hex(dir, password);
    std::size_t replaced = 0;
    for (auto at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + hash.size())) {
        text.replace(at, placeholder.size(), hash);
        ++replaced;
    }
    if (replaced == 0) {
        throw std::runtime_error(std::string(DEPLOY_ACL_CONF) + " has no " + placeholder);
    }
    return text;
}

/// Only the `user ...` lines: what an aclfile may hold (it allows no comments).
std::string user_lines(const std::string& conf) {
    std::istringstream in(conf);
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        if (line.rfind("user ", 0) == 0) {
            out += line + "\n";
        }
    }
    return out;
}

/// Every `Command{"LITERAL", "LITERAL", ...}` in picket's sources: the literal leading
/// words of each command picketd (or picketctl through it) can send.
std::set<std::vector<std::string>> commands_in_sources() {
    const std::regex command_re(R"re(Command\s*\{\s*((?:"[^"]*"\s*,?\s*)+))re");
    const std::regex word_re(R"re("([^"]*)")re");
    std::set<std::vector<std::string>> found;
    for (const char* sub : {"lib", "daemon", "proto"}) {
        const std::filesystem::path root = std::filesystem::path(PICKET_SOURCE_DIR) / sub;
        if (!std::filesystem::exists(root)) {
            continue;
        }
        for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
            const auto ext = entry.path().extension();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".h")) {
                continue;
            }
            const std::string text = testing::read_file(entry.path().string());
            for (std::sregex_iterator it(text.begin(), text.end(), command_re), end; it != end;
                 ++it) {
                const std::string literals = (*it)[1];
                std::vector<std::string> words;
                for (std::sregex_iterator w(literals.begin(), literals.end(), word_re); w != end;
                     ++w) {
                    words.push_back((*w)[1]);
                }
                if (!words.empty()) {
                    found.insert(words);
                }
            }
        }
    }
    return found;
}

/// `ACL DRYRUN picket args...`; "OK" when allowed, Redis's explanation otherwise. Commands
/// whose leading words come from the sources may lack arguments: Redis checks the arity
/// before the permissions, so placeholder arguments are added until the arity fits.
std::string dryrun(testing::RedisNode& node, std::vector<std::string> args) {
    for (int extra = 0; extra <= 4; ++extra) {
        std::vector<std::string> argv{"ACL", "DRYRUN", "picket"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = node.cli(argv);
        const std::string text = r.trimmed() + r.err;
        if (text.find("wrong number of arguments") == std::string::npos) {
            return text;
        }
        args.emplace_back("x");
    }
    return "wrong number of arguments even with 4 more";
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

TEST(DeployAcl, ShippedFileIsRefusedUntilThePasswordHashIsFilledIn) {
    // A server that wrongly starts runs until the timeout and is killed: timed_out.
    auto r = testing::run_process({testing::find_executable("redis-server", "PICKET_REDIS_SERVER"),
                                   "--port", std::to_string(testing::free_port()), "--bind",
                                   "127.0.0.1", "--save", "", "--include", DEPLOY_ACL_CONF},
                                  10s);
    EXPECT_FALSE(r.timed_out) << "redis-server accepted the placeholder";
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE((r.out + r.err).find("password hash"), std::string::npos) << r.describe();
}

class DeployAclNode : public ::testing::Test {
  protected:
    void SetUp() override {
        password_ = random_password();
        testing::write_file(dir_.file("picket-acl.conf"), acl_conf_with(dir_, password_));
        testing::NodeOptions o;
        o.cluster_enabled = false;
        o.appendonly = false;
        o.extra_config.emplace_back("include", dir_.file("picket-acl.conf"));
        node_ = testing::RedisNode::start(o, "acl");
    }

    testing::TempDir dir_{"deploy-acl"};
    std::string password_;
    std::unique_ptr<testing::RedisNode> node_;
};

TEST_F(DeployAclNode, EveryCommandPicketdSendsIsAllowed) {
    const auto from_sources = commands_in_sources();
    // The command sets picket relies on today; the sources must contain at least these
    // (if this fails, the scan above lost track of how commands are written).
    for (const auto& expected : std::vector<std::vector<std::string>>
         {std::vector<std::string>{"PING"}, {"INFO", "replication"}, {"CLUSTER", "NODES"},
          {"CLUSTER", "INFO"}, {"CLIENT", "SETNAME"}}) {
        EXPECT_TRUE(from_sources.count(expected)) << "not found in sources: " << join(expected);
    }
    for (const auto& words : from_sources) {
        EXPECT_EQ(dryrun(*node_, words), "OK") << "picketd sends '" << join(words)
                                               << "' but deploy/redis/acl.conf denies it";
    }
    // The failover issue's commands and the rest of what acl.conf promises.
    for (const auto& args : std::vector<std::vector<std::string>>{
             std::vector<std::string>{"PING"},
             {"INFO"},
             {"INFO", "replication"},
             {"ROLE"},
             {"CLUSTER", "NODES"},
             {"CLUSTER", "INFO"},
             {"CLUSTER", "SHARDS"},
             {"CLUSTER", "MYID"},
             {"CLUSTER", "FAILOVER"},
             {"CLUSTER", "FAILOVER", "FORCE"},
             {"CLUSTER", "FAILOVER", "TAKEOVER"},
             {"CONFIG", "GET", "cluster-node-timeout"},
             {"CLIENT", "SETNAME", "picket-vm1"},
             {"AUTH", "picket", "x"},
             {"HELLO", "2"},
             {"SET", "picket:verify:{0}", "1", "PX", "60000"},
             {"DEL", "picket:verify:{0}"},
         }) {
        EXPECT_EQ(dryrun(*node_, args), "OK") << join(args);
    }
}

TEST_F(DeployAclNode, DangerousCommandsAndOtherKeysAreDenied) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             std::vector<std::string>{"FLUSHALL"},
             {"FLUSHDB"},
             {"CONFIG", "SET", "cluster-node-timeout", "1"},
             {"CONFIG", "REWRITE"},
             {"CONFIG", "RESETSTAT"},
             {"DEBUG", "SLEEP", "0"},
             {"KEYS", "*"},
             {"SCAN", "0"},
             {"SHUTDOWN"},
             {"SAVE"},
             {"BGSAVE"},
             {"CLUSTER", "RESET"},
             {"CLUSTER", "FORGET", "0123456789012345678901234567890123456789"},
             {"CLUSTER", "MEET", "127.0.0.1", "1"},
             {"CLUSTER", "ADDSLOTS", "1"},
             {"CLUSTER", "SETSLOT", "1", "STABLE"},
             {"REPLICAOF", "NO", "ONE"},
             {"SET", "orders:1", "x"},
             {"DEL", "orders:1"},
             {"GET", "picket:verify"},
             {"SET", "picket:verify", "1", "GET"},
             {"EVAL", "return 1", "0"},
             {"FUNCTION", "FLUSH"},
             {"ACL", "SETUSER", "x"},
             {"MODULE", "LIST"},
             {"MONITOR"},
             {"CLIENT", "KILL", "ID", "1"},
             {"SUBSCRIBE", "picket"},
             {"PUBLISH", "picket", "x"},
         }) {
        const std::string reply = dryrun(*node_, args);
        EXPECT_NE(reply, "OK") << join(args) << " is allowed";
        EXPECT_NE(reply.find("no permissions"), std::string::npos) << join(args) << ": " << reply;
    }
}

TEST_F(DeployAclNode, ThePasswordLogsInAndOnlyIt) {
    testing::CliOptions as_picket;
    as_picket.auth = testing::CliAuth{"picket", password_};
    EXPECT_EQ(node_->cli_with(as_picket, {"PING"}).trimmed(), "PONG");
    auto flush = node_->cli_with(as_picket, {"FLUSHALL"});
    EXPECT_FALSE(flush.ok());
    EXPECT_NE((flush.out + flush.err).find("NOPERM"), std::string::npos) << flush.describe();
    testing::CliOptions wrong;
    wrong.auth = testing::CliAuth{"picket", password_ + "x"};
    EXPECT_FALSE(node_->cli_with(wrong, {"PING"}).ok());
}

std::string acl_log_of_picket(testing::RedisNode& node) {
    // ACL LOG entries are maps; --raw prints keys and values on their own lines.
    auto r = node.cli({"ACL", "LOG"});
    if (r.trimmed().find("picket") == std::string::npos) {
        return "";
    }
    return r.out;
}

TEST(DeployAclCluster, PicketdLoggedInAsTheAclUserSeesTheWholeCluster) {
    testing::TempDir dir("deploy-acl-cluster");
    const std::string password = random_password();
    testing::write_file(dir.file("users.acl"), user_lines(acl_conf_with(dir, password)));
    testing::ClusterOptions o;
    // The default user stays as Redis creates it (on, nopass: not in the file), for the
    // test's own redis-cli; picketd uses only the picket user.
    o.node.extra_config.emplace_back("aclfile", dir.file("users.acl"));
    o.name = "deploy-acl";
    auto cluster = testing::RedisCluster::create(o);

    // What StateDirectory=picket gives picketd under systemd: an existing, private directory.
    std::filesystem::create_directory(dir.file("state"));
    ASSERT_EQ(chmod(dir.file("state").c_str(), 0700), 0);
    testing::write_file(dir.file("redis.password"), password + "\n");
    ASSERT_EQ(chmod(dir.file("redis.password").c_str(), 0600), 0);
    const auto http_port = static_cast<std::uint16_t>(testing::free_port());
    testing::write_file(dir.file("picket.yml"),
                        "watcher:\n  id: acl-watcher\n  peer_listen: 127.0.0.1:" +
                            std::to_string(testing::free_port()) +
                            "\n  http_listen: 127.0.0.1:" + std::to_string(http_port) +
                            "\n  state_dir: " + dir.file("state") +
                            "\ncluster:\n  name: acl\n  seeds: [" + cluster->addresses().at(0) +
                            "]\n  user: picket\n  password_file: " + dir.file("redis.password") +
                            "\ndetection:\n  ping_interval: 100ms\n");
    auto picketd = testing::ChildProcess::spawn({PICKETD_PATH, "--config", dir.file("picket.yml")},
                                                dir.file("picketd.log"));

    json last;
    const bool all_up = testing::wait_until(
        [&] {
            auto r = testing::http_get(http_port, "/v1/status");
            last = r.status == 200 ? json::parse(r.body, nullptr, false) : json();
            if (!last.is_object() || !last["cluster"]["topology_known"].get<bool>() ||
                last["nodes"].size() != 6 || last["shards"].size() != 3) {
                return false;
            }
            for (const auto& n : last["nodes"]) {
                if (n["state"] != "up") {
                    return false;
                }
            }
            return true;
        },
        20s, 100ms);
    ASSERT_TRUE(all_up) << "last status: " << last.dump(1).substr(0, 4000) << "\nlog:\n"
                        << testing::tail_file(dir.file("picketd.log"), 40);

    // Let a few INFO and CLUSTER NODES rounds run, then: picketd's connections are the
    // picket user's, and no node recorded a denied command or a failed login for it.
    std::this_thread::sleep_for(3s);
    for (std::size_t i = 0; i < cluster->size(); ++i) {
        auto& node = cluster->node(i);
        const std::string clients = node.cli_ok({"CLIENT", "LIST"});
        EXPECT_NE(clients.find("user=picket"), std::string::npos)
            << node.name() << " has no client logged in as picket:\n"
            << clients;
        EXPECT_EQ(acl_log_of_picket(node), "") << node.name() << " denied picketd something";
    }
    picketd.stop(5s);
}

}  // namespace
}  // namespace picket
