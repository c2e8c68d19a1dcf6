// picketd as a real process against a real 3+3 Redis Cluster: discovery, /v1/status and
// /metrics; kill -9 of a replica (dead evidence, timing from picketd's own records); a
// paused master (unresponsive evidence, only after down_after_unresponsive); a master
// reloading a slow AOF (-LOADING within grace is not down); configuration errors; SIGHUP
// with a broken file; clean SIGTERM.
//
// Assertions on timing use picketd's own monotonic records (/v1/status), never the test's
// wall clock; waits are bounded polls.

#include <gtest/gtest.h>
#include <signal.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "picket/http/server.h"
#include "picket/proto/auth.h"
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

/// One picketd process with its own config and log in a temp dir.
class Picketd {
  public:
    Picketd(const testing::RedisCluster& cluster, const std::string& extra_detection = "",
            const std::string& log_format = "text", const std::string& extra_sections = "")
        : http_port_(static_cast<std::uint16_t>(testing::free_port())) {
        config_path_ = dir_.path() + "/picket.yml";
        extra_sections_ = extra_sections;
        write_config(cluster, extra_detection, log_format);
        process_ = testing::ChildProcess::spawn({PICKETD_PATH, "--config", config_path_},
                                                dir_.path() + "/picketd.log");
    }

    void write_config(const testing::RedisCluster& cluster, const std::string& extra_detection,
                      const std::string& log_format) {
        std::ofstream f(config_path_);
        f << "watcher:\n  id: test-watcher\n  http_listen: 127.0.0.1:" << http_port_
          << "\n  state_dir: " << dir_.path() << "/state\n"
          << "cluster:\n  name: itest\n  seeds: [" << cluster.addresses().at(0) << "]\n"
          << "detection:\n  ping_interval: 100ms\n"
          << extra_detection << "log:\n  format: " << log_format << "\n"
          << extra_sections_;
    }
    void write_raw(const std::string& text) { std::ofstream(config_path_) << text; }

    std::uint16_t port() const { return http_port_; }
    testing::ChildProcess& process() { return process_; }
    std::string log() const { return testing::read_file(dir_.path() + "/picketd.log"); }

    json status() {
        auto r = http_get(http_port_, "/v1/status");
        if (r.status != 200) {
            return json();
        }
        return json::parse(r.body, nullptr, false);
    }

    /// The status entry of the node at "127.0.0.1:port", or null.
    json node(int redis_port) {
        auto s = status();
        if (!s.is_object()) {
            return json();
        }
        for (const auto& n : s["nodes"]) {
            if (n["address"] == "127.0.0.1:" + std::to_string(redis_port)) {
                return n;
            }
        }
        return json();
    }

    /// Polls (bounded) until `pred(status)` holds; fails with the last status and log.
    json wait_status(const std::function<bool(const json&)>& pred, std::chrono::milliseconds limit,
                     const std::string& what) {
        json last;
        const bool ok = testing::wait_until(
            [&] {
                last = status();
                return last.is_object() && pred(last);
            },
            limit, 50ms);
        EXPECT_TRUE(ok) << "waiting for " << what
                        << "\nlast status: " << last.dump(1).substr(0, 4000) << "\nlog:\n"
                        << log().substr(0, 4000);
        return last;
    }

    void wait_all_up(std::size_t nodes) {
        wait_status(
            [&](const json& s) {
                if (!s["cluster"]["topology_known"].get<bool>() || s["nodes"].size() != nodes) {
                    return false;
                }
                for (const auto& n : s["nodes"]) {
                    if (n["state"] != "up") {
                        return false;
                    }
                }
                return true;
            },
            15s, "all nodes up");
    }

  private:
    testing::TempDir dir_;
    std::uint16_t http_port_;
    std::string config_path_;
    std::string extra_sections_;
    testing::ChildProcess process_;
};

std::unique_ptr<testing::RedisCluster> make_cluster(testing::NodeOptions node = {}) {
    testing::ClusterOptions o;
    o.node = std::move(node);
    return testing::RedisCluster::create(o);
}

TEST(Picketd, DiscoversTheClusterAndExportsStatusAndMetrics) {
    auto cluster = make_cluster();
    Picketd p(*cluster);
    p.wait_all_up(6);
    auto s = p.status();
    EXPECT_EQ(s["shards"].size(), 3u);
    EXPECT_EQ(s["cluster"]["state"], "ok");
    EXPECT_EQ(s["watcher"]["id"], "test-watcher");
    for (const auto& n : s["nodes"]) {
        EXPECT_EQ(n["node_id"].get<std::string>().size(), 40u);
        EXPECT_TRUE(n["latency_ms"].is_number());
    }

    auto m = http_get(p.port(), "/metrics");
    ASSERT_EQ(m.status, 200u);
    EXPECT_NE(m.content_type.find("text/plain; version=0.0.4"), std::string::npos);
    for (const auto& address : cluster->addresses()) {
        EXPECT_NE(m.body.find("picket_node_up{node=\"" + address + "\"} 1"), std::string::npos)
            << address << "\n"
            << m.body.substr(0, 3000);
    }
    EXPECT_NE(m.body.find("picket_cluster_state_ok 1"), std::string::npos);
    EXPECT_NE(m.body.find("picket_build_info{"), std::string::npos);
    EXPECT_NE(m.body.find("process_resident_memory_bytes"), std::string::npos);

    // The real exposition passes Prometheus's own linter.
    testing::TempDir tmp;
    const std::string file = tmp.path() + "/metrics.txt";
    testing::write_file(file, m.body);
    auto lint = testing::run_process({"sh", "-c", "promtool check metrics < " + file}, 30s);
    EXPECT_TRUE(lint.exited_ok()) << lint.describe() << lint.out;

    EXPECT_EQ(http_get(p.port(), "/readyz").status, 200u);
    auto verbose = http_get(p.port(), "/readyz?verbose");
    EXPECT_NE(verbose.body.find("[+]topology ok: 6 nodes"), std::string::npos) << verbose.body;
    EXPECT_EQ(http_get(p.port(), "/livez").status, 200u);
    EXPECT_EQ(http_get(p.port(), "/nope").status, 404u);
}

TEST(Picketd, KilledReplicaIsSdownWithDeadEvidenceAndRecovers) {
    auto cluster = make_cluster();
    Picketd p(*cluster);
    p.wait_all_up(6);
    const std::size_t replica = cluster->replica_indices().at(0);
    const int port = cluster->node(replica).port();
    cluster->node(replica).kill();

    auto s = p.wait_status([&](const json&) { return p.node(port)["state"] == "sdown"; }, 10s,
                           "replica SDOWN");
    auto n = p.node(port);
    ASSERT_TRUE(n.is_object());
    EXPECT_EQ(n["evidence"], "dead");
    // picketd's own records: SDOWN within down_after + 2 × ping_interval of the replica's
    // last reply, which came at most one ping_interval before the first failed probe.
    const auto silent = n["silent_since_mono_ms"].get<std::int64_t>();
    const auto failing = n["failing_since_mono_ms"].get<std::int64_t>();
    const auto detection = n["sdown_since_mono_ms"].get<std::int64_t>() - silent;
    EXPECT_GE(detection, 1000);
    EXPECT_LE(detection, 1000 + 2 * 100) << n.dump(1);
    EXPECT_LE(silent, failing);
    EXPECT_GE(silent, failing - 100) << n.dump(1);
    auto m = http_get(p.port(), "/metrics");
    EXPECT_NE(m.body.find("picket_node_sdown{node=\"127.0.0.1:" + std::to_string(port) + "\"} 1"),
              std::string::npos);

    cluster->node(replica).restart();
    p.wait_status([&](const json&) { return p.node(port)["state"] == "up"; }, 15s,
                  "replica up again");
    auto events = p.status()["events"];
    bool recovered = false;
    for (const auto& e : events) {
        recovered = recovered || (e["kind"] == "recovered" &&
                                  e["address"] == "127.0.0.1:" + std::to_string(port));
    }
    EXPECT_TRUE(recovered) << events.dump(1);
}

TEST(Picketd, PausedMasterIsSdownOnlyAfterDownAfterUnresponsive) {
    auto cluster = make_cluster();
    Picketd p(*cluster, "  down_after_unresponsive: 3s\n  ping_timeout: 500ms\n");
    p.wait_all_up(6);
    const std::size_t master = cluster->master_indices().at(0);
    const int port = cluster->node(master).port();
    cluster->node(master).pause();

    // While only timeouts come back it is failing, not down.
    p.wait_status([&](const json&) { return p.node(port)["state"] == "failing"; }, 10s,
                  "master failing");
    EXPECT_EQ(p.node(port)["evidence"], "unresponsive");
    p.wait_status([&](const json&) { return p.node(port)["state"] == "sdown"; }, 10s,
                  "master SDOWN");
    auto n = p.node(port);
    EXPECT_EQ(n["evidence"], "unresponsive") << n.dump(1);
    const auto detection = n["sdown_since_mono_ms"].get<std::int64_t>() -
                           n["failing_since_mono_ms"].get<std::int64_t>();
    EXPECT_GE(detection, 3000) << n.dump(1);

    cluster->node(master).resume();
    p.wait_status([&](const json&) { return p.node(port)["state"] == "up"; }, 10s,
                  "master up after SIGCONT");
}

TEST(Picketd, MasterLoadingWithinGraceIsNotDown) {
    // Loading 40000 keys at 100 µs each keeps the restarted master in -LOADING for ~4 s;
    // handling events every KiB while loading keeps it answering (-LOADING) meanwhile.
    testing::NodeOptions node;
    node.extra_config.emplace_back("enable-debug-command", "yes");
    node.extra_config.emplace_back("key-load-delay", "100");
    node.extra_config.emplace_back("loading-process-events-interval-bytes", "1024");
    auto cluster = make_cluster(node);
    const std::size_t master = cluster->master_indices().at(0);
    auto& m = cluster->node(master);
    // Keys must live in the master's own slots: find a hash tag that maps there.
    std::string tag;
    for (int i = 0; i < 200 && tag.empty(); ++i) {
        const std::string candidate = "t" + std::to_string(i);
        const auto slot = std::stoi(m.cli_ok({"CLUSTER", "KEYSLOT", candidate}));
        for (const auto& e : cluster->cluster_nodes(master)) {
            if (!e.has_flag("myself")) {
                continue;
            }
            for (const auto& r : e.slots) {
                const auto dash = r.find('-');
                if (r.front() == '[') {
                    continue;
                }
                const int lo = std::stoi(r.substr(0, dash));
                const int hi = dash == std::string::npos ? lo : std::stoi(r.substr(dash + 1));
                if (slot >= lo && slot <= hi) {
                    tag = candidate;
                }
            }
        }
    }
    ASSERT_FALSE(tag.empty());
    m.cli_ok({"DEBUG", "POPULATE", "40000", "{" + tag + "}k"}, 30s);
    m.cli_ok({"BGREWRITEAOF"});
    ASSERT_TRUE(testing::wait_until(
        [&] {
            return m.info_field("persistence", "aof_rewrite_in_progress") == "0" &&
                   m.info_field("persistence", "aof_rewrite_scheduled") == "0";
        },
        30s, 100ms));

    // down_after 3 s: shorter than the load, longer than the kill-to-restart gap.
    Picketd p(*cluster, "  down_after: 3s\n  down_after_unresponsive: 5s\n  loading_grace: 60s\n");
    p.wait_all_up(6);
    const int port = m.port();
    m.kill();
    // restart() returns once the node answers PONG, i.e. after the load. (It must run on
    // this thread: the fixture's children die with the thread that spawned them.)
    m.restart();
    p.wait_status([&](const json&) { return p.node(port)["state"] == "up"; }, 30s,
                  "master up after loading");
    // picketd's own record: it got -LOADING replies and never held the master down.
    const std::string address = "127.0.0.1:" + std::to_string(port);
    auto metrics = http_get(p.port(), "/metrics").body;
    EXPECT_NE(
        metrics.find("picket_ping_failures_total{node=\"" + address + "\",reason=\"loading\"}"),
        std::string::npos)
        << "picketd never saw the master loading";
    for (const auto& e : p.status()["events"]) {
        EXPECT_FALSE(e["kind"] == "sdown" && e["address"] == address)
            << "a node loading within its grace is not down: " << e.dump();
    }
}

TEST(Picketd, SendsSignedAlertmanagerStyleWebhooksForSdownAndRecovery) {
    // A webhook receiver in this process (picket's own HTTP server) captures deliveries.
    boost::asio::io_context io;
    std::vector<http::Request> deliveries;
    auto receiver =
        http::Server::listen(io.get_executor(), "127.0.0.1", 0, {}, [&](const http::Request& r) {
            deliveries.push_back(r);
            return http::Response::text(200, "ok\n");
        });
    ASSERT_TRUE(receiver) << receiver.error();
    (*receiver)->start();
    testing::TempDir secrets;
    const std::string secret_file = secrets.path() + "/hook.secret";
    testing::write_file(secret_file, "webhook-signing-secret");
    chmod(secret_file.c_str(), 0600);

    auto cluster = make_cluster();
    const std::string alerts =
        "alerts:\n  receivers:\n    - name: hook\n      url: http://127.0.0.1:" +
        std::to_string((*receiver)->local_endpoint().port()) +
        "/hook\n      secret_file: " + secret_file +
        "\n      events: [node_sdown, node_recovered]\n";
    Picketd p(*cluster, "", "text", alerts);
    p.wait_all_up(6);
    // Cluster-level alerts go out from the leader; a lone watcher elects itself first.
    p.wait_status([](const json& st) { return st["vote"]["role"] == "leader"; }, 10s,
                  "the watcher leads");
    const std::size_t replica = cluster->replica_indices().at(0);
    const std::string address = cluster->node(replica).address();
    cluster->node(replica).kill();

    auto find = [&](const std::string& status) -> std::optional<std::pair<http::Request, json>> {
        for (const auto& d : deliveries) {
            auto body = json::parse(d.body, nullptr, false);
            if (body.is_object() && body["status"] == status && !body["alerts"].empty() &&
                body["alerts"][0]["labels"]["node"] == address) {
                return std::make_pair(d, body);
            }
        }
        return std::nullopt;
    };
    ASSERT_TRUE(testing::run_until(
        io, [&] { return find("firing").has_value(); }, 15s))
        << deliveries.size() << " deliveries; first: "
        << (deliveries.empty() ? std::string() : deliveries.front().body.substr(0, 1500)) << "\n"
        <<
        [&] {
            std::string lines;
            std::istringstream m(http_get(p.port(), "/metrics").body);
            for (std::string l; std::getline(m, l);) {
                if (l.rfind("picket_alert", 0) == 0 || l.rfind("picket_events_total", 0) == 0) {
                    lines += l + "\n";
                }
            }
            return lines;
        }()
        << p.log().substr(0, 3000);
    auto [req, body] = *find("firing");
    EXPECT_EQ(body["version"], "4");
    EXPECT_EQ(body["receiver"], "hook");
    const auto& a = body["alerts"][0];
    EXPECT_EQ(a["labels"]["event"], "node_sdown");
    EXPECT_EQ(a["labels"]["cluster"], "itest");
    EXPECT_NE(a["annotations"]["description"].get<std::string>().find("dead"), std::string::npos)
        << a.dump(1);
    // Signed: HMAC-SHA256(secret, timestamp + "." + body).
    const auto ts = req.headers.at("x-picket-timestamp");
    EXPECT_EQ(req.headers.at("x-picket-signature"),
              "sha256=" + proto::hmac_sha256_hex("webhook-signing-secret", ts + "." + req.body));

    cluster->node(replica).restart();
    ASSERT_TRUE(testing::run_until(
        io, [&] { return find("resolved").has_value(); }, 15s));
    auto [rreq, resolved] = *find("resolved");
    EXPECT_EQ(resolved["alerts"][0]["fingerprint"], a["fingerprint"])
        << "firing and resolved share a fingerprint";
}

TEST(Picketd, BadConfigurationsAreRefusedWithTheirPlace) {
    testing::TempDir dir;
    const std::string file = dir.path() + "/bad.yml";
    testing::write_file(file,
                        "watcher:\n  id: w1\n  colour: blue\ncluster:\n  name: c\n"
                        "  seeds: [127.0.0.1:7000]\ndetection:\n  ping_interval: 5\n");
    auto r = testing::run_process({PICKETD_PATH, "--config", file, "--check-config"}, 10s);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find(file + ":3:3:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("colour"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(file + ":8:18:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("2 error(s)"), std::string::npos) << r.err;

    auto missing = testing::run_process({PICKETD_PATH}, 10s);
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("--config FILE is required"), std::string::npos);

    auto version = testing::run_process({PICKETD_PATH, "--version"}, 10s);
    EXPECT_TRUE(version.exited_ok());
    EXPECT_NE(version.out.find("hiredis 0.14"), std::string::npos) << version.out;
    EXPECT_NE(version.out.find("boost 1.81"), std::string::npos) << version.out;

    testing::write_file(file,
                        "watcher:\n  id: w1\ncluster:\n  name: c\n  seeds: [127.0.0.1:7000]\n");
    auto good = testing::run_process({PICKETD_PATH, "--config", file, "--check-config"}, 10s);
    EXPECT_TRUE(good.exited_ok()) << good.describe();
    EXPECT_NE(good.out.find("ping_interval: 100ms"), std::string::npos) << good.out;
}

TEST(Picketd, SighupWithABrokenFileKeepsTheRunningConfiguration) {
    auto cluster = make_cluster();
    Picketd p(*cluster, "", "json");
    p.wait_all_up(6);
    p.write_raw("watcher: [this is: not valid\n");
    ASSERT_TRUE(p.process().send_signal(SIGHUP));
    auto s =
        p.wait_status([](const json& st) { return st["watcher"]["config_reload_ok"] == false; },
                      10s, "reload failure reported");
    EXPECT_NE(s["watcher"]["config_reload_error"].get<std::string>().find("picket.yml:"),
              std::string::npos);
    auto m = http_get(p.port(), "/metrics");
    EXPECT_NE(m.body.find("picket_config_last_reload_successful 0"), std::string::npos);
    // Still watching with the old configuration.
    p.wait_all_up(6);

    p.write_config(*cluster, "  info_interval: 2s\n", "json");
    ASSERT_TRUE(p.process().send_signal(SIGHUP));
    p.wait_status([](const json& st) { return st["watcher"]["config_reload_ok"] == true; }, 10s,
                  "reload success");
    // JSON log lines parse one by one.
    std::istringstream lines(p.log());
    std::string line;
    int parsed = 0;
    while (std::getline(lines, line)) {
        auto j = json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
        ASSERT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg"));
        ++parsed;
    }
    EXPECT_GT(parsed, 3);
}

TEST(Picketd, SigtermStopsPromptlyAndCleanly) {
    auto cluster = make_cluster();
    Picketd p(*cluster);
    p.wait_all_up(6);
    ASSERT_TRUE(p.process().send_signal(SIGTERM));
    ASSERT_TRUE(p.process().wait_exit(5s)) << "picketd did not stop";
    EXPECT_TRUE(WIFEXITED(p.process().last_wait_status()));
    EXPECT_EQ(WEXITSTATUS(p.process().last_wait_status()), 0);
    EXPECT_NE(p.log().find("picketd stopped"), std::string::npos) << p.log();
}

/// A unix datagram socket standing in for systemd's $NOTIFY_SOCKET.
class NotifySocket {
  public:
    NotifySocket() {
        path_ = dir_.path() + "/notify.sock";
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        timeval tv{0, 100 * 1000};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~NotifySocket() { close(fd_); }
    const std::string& path() const { return path_; }

    /// Collects datagrams until one contains `needle` (bounded); returns all seen.
    std::string wait_for(const std::string& needle, std::chrono::milliseconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end && seen_.find(needle) == std::string::npos) {
            char buf[512];
            const auto n = recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                seen_.append(buf, static_cast<std::size_t>(n));
                seen_ += '\n';
            }
        }
        return seen_;
    }

  private:
    testing::TempDir dir_;
    std::string path_;
    int fd_ = -1;
    std::string seen_;
};

TEST(Picketd, SpeaksTheSystemdNotifyProtocol) {
    auto cluster = make_cluster();
    NotifySocket notify;
    setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
    setenv("WATCHDOG_USEC", "400000", 1);
    Picketd p(*cluster);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    EXPECT_NE(notify.wait_for("READY=1", 10s).find("READY=1"), std::string::npos);
    EXPECT_NE(notify.wait_for("WATCHDOG=1", 5s).find("WATCHDOG=1"), std::string::npos);
    ASSERT_TRUE(p.process().send_signal(SIGHUP));
    EXPECT_NE(notify.wait_for("RELOADING=1", 5s).find("RELOADING=1"), std::string::npos);
    ASSERT_TRUE(p.process().send_signal(SIGTERM));
    EXPECT_NE(notify.wait_for("STOPPING=1", 5s).find("STOPPING=1"), std::string::npos);
    EXPECT_TRUE(p.process().wait_exit(5s));
}

TEST(Picketd, PicketctlShowsTheClusterAndExplainsAnUnreachableDaemon) {
    auto cluster = make_cluster();
    Picketd p(*cluster);
    p.wait_all_up(6);
    const std::string url = "http://127.0.0.1:" + std::to_string(p.port());
    auto table = testing::run_process({PICKETCTL_PATH, "--url", url, "status"}, 10s);
    ASSERT_TRUE(table.exited_ok()) << table.describe();
    EXPECT_NE(table.out.find("cluster itest  state ok"), std::string::npos) << table.out;
    for (const auto& address : cluster->addresses()) {
        EXPECT_NE(table.out.find(address), std::string::npos) << address << "\n" << table.out;
    }
    auto as_json = testing::run_process({PICKETCTL_PATH, "--url", url, "status", "--json"}, 10s);
    ASSERT_TRUE(as_json.exited_ok());
    EXPECT_EQ(json::parse(as_json.out)["shards"].size(), 3u);

    const int dead_port = testing::free_port();
    auto down = testing::run_process(
        {PICKETCTL_PATH, "--url", "http://127.0.0.1:" + std::to_string(dead_port), "status"}, 10s);
    EXPECT_EQ(down.exit_code, 1);
    EXPECT_NE(down.err.find("cannot connect to picketd"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace picket
