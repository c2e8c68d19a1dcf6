#pragma once
// A group of real picketd sidecars watching a tests/support RedisCluster: one per node (up
// to the cluster's size), a shared peer secret, down_after 1s, and the admin API on with a
// token. Shared by the failover, operator and failover scenario tests. A sidecar can be
// killed (kill -9) and restarted with the same command, state directory and log file.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "picket/testing/http_client.h"
#include "picket/testing/ports.h"
#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/wait.h"

namespace picket::testing {

class Sidecars {
  public:
    /// `failover` is the body of the `failover:` section (indented by two spaces);
    /// `detection` is appended to the `detection:` section (after `down_after: 1s`).
    /// `admin_unix_socket`: the admin API listens on <dir>/wI.admin.sock (mode 0600)
    /// instead of loopback TCP; admin_url() is then "unix:<path>". `http_extra` is appended
    /// to the `http:` section (e.g. admin_tls).
    Sidecars(const RedisCluster& cluster, std::size_t n, const std::string& failover,
             const std::string& detection = "", bool admin_unix_socket = false,
             const std::string& http_extra = "") {
        using namespace std::chrono_literals;
        std::vector<std::uint16_t> peer_ports;
        for (std::size_t i = 0; i < n; ++i) {
            peer_ports.push_back(static_cast<std::uint16_t>(free_port()));
            http_ports_.push_back(static_cast<std::uint16_t>(free_port()));
            admin_ports_.push_back(static_cast<std::uint16_t>(free_port()));
        }
        const std::string secret = dir_.path() + "/peer.secret";
        write_file(secret, "failover-test-shared-secret");
        chmod(secret.c_str(), 0600);
        token_file_ = dir_.path() + "/admin.token";
        write_file(token_file_, "sidecars-admin-token-0123456789\n");
        chmod(token_file_.c_str(), 0600);
        for (std::size_t i = 0; i < n; ++i) {
            const std::string id = "w" + std::to_string(i + 1);
            const std::string conf = dir_.path() + "/" + id + ".yml";
            admin_sockets_.push_back(admin_unix_socket ? dir_.path() + "/" + id + ".admin.sock"
                                                       : std::string());
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
              << "]\ndetection:\n  down_after: 1s\n"
              << detection << "http:\n  admin_listen: "
              << (admin_unix_socket ? "unix:" + admin_sockets_[i]
                                    : "127.0.0.1:" + std::to_string(admin_ports_[i]))
              << "\n  admin_token_file: " << token_file_ << "\n"
              << http_extra << "failover:\n"
              << failover;
            f.close();
            std::filesystem::create_directories(dir_.path() + "/state-" + id);
            confs_.push_back(conf);
            processes_.push_back(std::make_unique<ChildProcess>(spawn(i)));
        }
    }

    std::size_t size() const { return http_ports_.size(); }
    std::uint16_t http_port(std::size_t i) const { return http_ports_.at(i); }
    std::string url(std::size_t i) const {
        return "http://127.0.0.1:" + std::to_string(http_ports_.at(i));
    }
    std::string admin_url(std::size_t i) const {
        return admin_sockets_.at(i).empty()
                   ? "http://127.0.0.1:" + std::to_string(admin_ports_.at(i))
                   : "unix:" + admin_sockets_.at(i);
    }
    /// The admin socket's path (empty when the admin API is on TCP).
    const std::string& admin_socket(std::size_t i) const { return admin_sockets_.at(i); }
    const std::string& token_file() const { return token_file_; }
    ChildProcess& process(std::size_t i) { return *processes_.at(i); }

    /// kill -9 sidecar i and reap it (a crash, or its VM gone).
    void kill(std::size_t i) { processes_.at(i)->kill_and_reap(); }

    /// Starts sidecar i again with the same command, state directory and log file (the
    /// log is appended to). Stops it first if it still runs. Call from the test's main
    /// thread: the child dies with the thread that spawned it (PR_SET_PDEATHSIG).
    /// Watcher i's state directory.
    std::string state_dir(std::size_t i) const {
        return dir_.path() + "/state-w" + std::to_string(i + 1);
    }

    void restart(std::size_t i) {
        processes_.at(i)->kill_and_reap();
        *processes_.at(i) = spawn(i);
    }

    nlohmann::json status(std::size_t i) {
        using namespace std::chrono_literals;
        auto r = http_get(http_ports_.at(i), "/v1/status", 1s);
        return r.status == 200 ? nlohmann::json::parse(r.body, nullptr, false) : nlohmann::json();
    }

    /// Index of the sidecar that leads, or -1.
    int leader() {
        for (std::size_t i = 0; i < http_ports_.size(); ++i) {
            auto s = status(i);
            if (s.is_object() && s["vote"]["role"] == "leader") {
                return static_cast<int>(i);
            }
        }
        return -1;
    }

    /// The /metrics text of whichever sidecar leads.
    std::string leader_metrics() {
        const int i = leader();
        return i < 0 ? std::string()
                     : http_get(http_ports_[static_cast<std::size_t>(i)], "/metrics").body;
    }

    /// The status of whichever sidecar leads.
    nlohmann::json leader_status() {
        const int i = leader();
        return i < 0 ? nlohmann::json() : status(static_cast<std::size_t>(i));
    }

    /// The leader's failover attempt for `failed_master` once its state is one of
    /// `states`, within `timeout`; null otherwise.
    nlohmann::json wait_attempt(const std::string& failed_master,
                                const std::vector<std::string>& states,
                                std::chrono::milliseconds timeout) {
        using namespace std::chrono_literals;
        nlohmann::json found;
        wait_until(
            [&] {
                auto s = leader_status();
                for (const auto& a :
                     s.is_object() ? s["failover"]["attempts"] : nlohmann::json::array()) {
                    if (a["failed_master"] != failed_master) {
                        continue;
                    }
                    for (const auto& st : states) {
                        if (a["state"] == st) {
                            found = a;
                            return true;
                        }
                    }
                }
                return false;
            },
            timeout, 100ms);
        return found;
    }

    /// Every sidecar answers, the leader knows `shards` shards and every sidecar probes
    /// `nodes` nodes (default 2 × shards: one replica per master).
    bool wait_ready(std::size_t shards, std::size_t nodes = 0) {
        using namespace std::chrono_literals;
        if (nodes == 0) {
            nodes = 2 * shards;
        }
        return wait_until(
            [&] {
                auto s = leader_status();
                if (!s.is_object() || s["shards"].size() != shards) {
                    return false;
                }
                for (std::size_t i = 0; i < http_ports_.size(); ++i) {
                    auto st = status(i);
                    if (!st.is_object() || st["nodes"].size() != nodes) {
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
            const auto text = read_file(dir_.path() + "/w" + std::to_string(i + 1) + ".log");
            out += "--- w" + std::to_string(i + 1) + "\n" +
                   (text.size() > 6000 ? text.substr(text.size() - 6000) : text);
        }
        return out;
    }

  private:
    ChildProcess spawn(std::size_t i) {
        return ChildProcess::spawn({PICKETD_PATH, "--config", confs_.at(i)},
                                   dir_.path() + "/w" + std::to_string(i + 1) + ".log");
    }

    TempDir dir_;
    std::vector<std::string> confs_;
    std::vector<std::uint16_t> http_ports_;
    std::vector<std::uint16_t> admin_ports_;
    std::vector<std::string> admin_sockets_;
    std::string token_file_;
    std::vector<std::unique_ptr<ChildProcess>> processes_;
};

/// The tutorial's cluster with the cluster's own failover off: picket must be the actor.
inline ClusterOptions tutorial_cluster() {
    ClusterOptions o;
    o.node.cluster_node_timeout_ms = 15000;
    o.node.extra_config.emplace_back("cluster-replica-no-failover", "yes");
    return o;
}

}  // namespace picket::testing
