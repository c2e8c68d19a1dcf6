// SIGHUP applies changed alert receivers in a real picketd (issue #6): the receiver's URL
// moves to another server and the next alert goes there, resolving, with the same
// fingerprint, the alert fired before the reload (active alerts survive a reload); a
// receiver config the alert layer refuses (a filter matching no event) fails the whole
// reload and the running receivers stay. Real 3+3 cluster, one picketd (a lone watcher
// leads itself), two webhook receivers in the test process. Waits are bounded polls.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
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

constexpr const char* kSecret = "reload-test-signing-secret";

class Picketd {
  public:
    Picketd(const testing::RedisCluster& cluster, const std::string& alerts)
        : cluster_(cluster), http_port_(static_cast<std::uint16_t>(testing::free_port())) {
        write(alerts);
        process_ = testing::ChildProcess::spawn({PICKETD_PATH, "--config", config()},
                                                dir_.path() + "/picketd.log");
    }
    std::string config() const { return dir_.path() + "/picket.yml"; }

    void write(const std::string& alerts) {
        std::ofstream f(config());
        f << "watcher:\n  id: reload-watcher\n  http_listen: 127.0.0.1:" << http_port_
          << "\n  state_dir: " << dir_.path() << "/state\n"
          << "cluster:\n  name: reload-test\n  seeds: [" << cluster_.addresses().at(0) << "]\n"
          << "detection:\n  ping_interval: 100ms\n"
          << alerts;
    }

    json status() {
        auto r = testing::http_get(http_port_, "/v1/status", 1s);
        return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
    }
    std::string log() const { return testing::read_file(dir_.path() + "/picketd.log"); }
    std::size_t count_in_log(const std::string& needle) const {
        const auto text = log();
        std::size_t n = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
            ++n;
        }
        return n;
    }
    testing::ChildProcess& process() { return process_; }

  private:
    const testing::RedisCluster& cluster_;
    testing::TempDir dir_;
    std::uint16_t http_port_;
    testing::ChildProcess process_;
};

std::string receiver_section(const std::string& url, const std::string& secret_file,
                             const std::string& events) {
    return "alerts:\n  receivers:\n    - name: hook\n      url: " + url +
           "\n      secret_file: " + secret_file + "\n      timeout: 2s\n      events: " + events +
           "\n";
}

TEST(AlertReload, SighupMovesAReceiverAndKeepsActiveAlerts) {
    boost::asio::io_context io;
    testing::WebhookReceiver first(io);
    testing::WebhookReceiver second(io);
    testing::TempDir secrets;
    const std::string secret_file = secrets.path() + "/hook.secret";
    testing::write_file(secret_file, kSecret);
    chmod(secret_file.c_str(), 0600);
    auto cluster = testing::RedisCluster::create({});
    const std::string events = "[node_sdown, node_recovered]";
    Picketd p(*cluster, receiver_section(first.url(), secret_file, events));
    auto leads = [&] {
        auto s = p.status();
        return s.is_object() && s["vote"]["role"] == "leader" && s["nodes"].size() == 6;
    };
    ASSERT_TRUE(testing::wait_until(leads, 20s, 100ms)) << p.status().dump().substr(0, 2000);

    const std::size_t replica = cluster->replica_indices().at(0);
    const std::string address = cluster->node(replica).address();
    cluster->node(replica).kill();
    ASSERT_TRUE(testing::run_until(
        io,
        [&] {
            return first.find("firing", {{"node", address}}).has_value();
        },
        20s))
        << first.describe();
    const auto fired = *first.find("firing", {{"node", address}});
    EXPECT_EQ(fired.alert["labels"]["event"], "node_sdown");
    testing::expect_signed_v4(*fired.request, kSecret, "hook");

    // Move the receiver; SIGHUP; the reload is logged as applied to the alert layer.
    p.write(receiver_section(second.url(), secret_file, events));
    ASSERT_TRUE(p.process().send_signal(SIGHUP));
    ASSERT_TRUE(
        testing::wait_until([&] { return p.count_in_log("alerts: reconfigured") == 1; }, 10s, 50ms))
        << p.log().substr(0, 4000);
    EXPECT_NE(p.log().find("changed: hook"), std::string::npos) << p.log().substr(0, 4000);
    const std::size_t first_before = first.requests().size();

    // The next alert — the recovery — goes to the new URL and resolves the alert fired
    // before the reload: same fingerprint, same startsAt.
    cluster->node(replica).restart();
    ASSERT_TRUE(testing::run_until(
        io,
        [&] {
            return second.find("resolved", {{"node", address}}).has_value();
        },
        20s))
        << second.describe() << p.log().substr(0, 4000);
    const auto resolved = *second.find("resolved", {{"node", address}});
    EXPECT_EQ(resolved.alert["fingerprint"], fired.alert["fingerprint"]);
    EXPECT_EQ(resolved.alert["startsAt"], fired.alert["startsAt"]);
    testing::expect_signed_v4(*resolved.request, kSecret, "hook");
    EXPECT_EQ(first.requests().size(), first_before) << first.describe();

    // A receiver config the alert layer refuses fails the whole reload; the running one
    // stays: the next alert still reaches the second receiver.
    p.write(receiver_section(first.url(), secret_file, "[nothing_*]"));
    ASSERT_TRUE(p.process().send_signal(SIGHUP));
    ASSERT_TRUE(testing::wait_until(
        [&] {
            auto s = p.status();
            return s.is_object() && s["watcher"]["config_reload_ok"] == false;
        },
        10s, 50ms));
    EXPECT_NE(p.status()["watcher"]["config_reload_error"].get<std::string>().find(
                  "'nothing_*' matches no event"),
              std::string::npos)
        << p.status()["watcher"].dump();
    cluster->node(replica).kill();
    ASSERT_TRUE(testing::run_until(
        io,
        [&] {
            std::size_t firing = 0;
            for (const auto& r : second.alerts()) {
                firing += r.alert["status"] == "firing" ? 1u : 0u;
            }
            return firing >= 1;
        },
        20s))
        << second.describe();
    EXPECT_EQ(first.requests().size(), first_before) << first.describe();
    EXPECT_EQ(p.count_in_log("alerts: reconfigured"), 1u);
}

}  // namespace
}  // namespace picket
