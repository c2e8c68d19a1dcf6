#include "daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "logging.h"
#include "picket/cluster/config_get.h"
#include "picket/failover/plan.h"
#include "picket/io/clock.h"
#include "picket/io/tls.h"
#include "picket/resp/client.h"
#include "picket/watch/status.h"
#include "sd_notify.h"
#include "version.h"

namespace picket::daemon {

namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr std::size_t kMaxRecordedEvents = 256;
/// Failover phases: milliseconds (command to promotion) up to tens of seconds (detection).
const prometheus::Histogram::BucketBoundaries kPhaseBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60};

std::chrono::milliseconds millis(Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

bool node_is_up(const detect::NodeStatus& n) {
    return n.state == detect::NodeState::kUp || n.state == detect::NodeState::kLoading;
}
}  // namespace

namespace {
std::string known_nodes_path(const config::Config& c) {
    return c.watcher.state_dir + "/known-nodes";
}

/// The node addresses of the last known topology (one "host:port" per line), so that a
/// restarted picketd whose configured seeds are all down (its own VM's Redis died with
/// it) still finds the cluster. Bounded; malformed lines are skipped.
std::vector<std::string> remembered_nodes(const config::Config& c) {
    std::vector<std::string> out;
    std::ifstream in(known_nodes_path(c));
    std::string line;
    while (out.size() < 4096 && std::getline(in, line)) {
        const auto colon = line.rfind(':');
        if (line.empty() || line.size() > 300 || colon == std::string::npos || colon == 0 ||
            colon + 1 >= line.size() ||
            line.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
            continue;
        }
        out.push_back(line);
    }
    return out;
}
}  // namespace

watch::WatchOptions watch_options(const config::Config& c) {
    watch::WatchOptions o;
    for (const auto& s : c.cluster.seeds) {
        o.seeds.push_back(s.to_string());
    }
    o.client.username = c.cluster.user;
    o.client.password = c.cluster.password.reveal();
    o.client.tls.enabled = c.cluster.tls.enabled;
    o.client.tls.ca_file = c.cluster.tls.ca_file;
    o.client.tls.cert_file = c.cluster.tls.cert_file;
    o.client.tls.key_file = c.cluster.tls.key_file;
    o.client.tls.server_name = c.cluster.tls.server_name;
    o.client.tls.verify_peer = c.cluster.tls.verify_peer;
    o.client.tls.verify_hostname = c.cluster.tls.verify_hostname;
    o.client.connect_timeout = millis(c.cluster.connect_timeout);
    o.client.command_timeout =
        std::max(millis(c.detection.ping_timeout), std::chrono::milliseconds(1000));
    o.ping_interval = c.detection.ping_interval;
    o.ping_timeout = c.detection.ping_timeout;
    o.info_interval = c.detection.info_interval;
    o.nodes_interval = c.detection.nodes_interval;
    o.nodes_sample = c.detection.nodes_sample;
    o.detector.down_after = c.detection.down_after;
    o.detector.down_after_unresponsive = c.detection.down_after_unresponsive;
    o.detector.loading_grace = c.detection.loading_grace;
    o.detector.tick_interval = c.detection.ping_interval;
    o.detector.probe_interval = c.detection.ping_interval;
    o.detector.loop_lag = c.detection.safe_mode.loop_lag;
    o.detector.safe_mode_hold = c.detection.safe_mode.hold;
    return o;
}

Daemon::Daemon(DaemonOptions options, config::Config config)
    : options_(std::move(options)),
      config_(std::move(config)),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      metrics_({version(), git_revision()}) {
    watch::WatchHooks hooks;
    hooks.on_event = [this](const detect::Event& e) { on_event(e); };
    hooks.on_probe = [this](const std::string& a, const detect::Probe& p) { on_probe(a, p); };
    hooks.on_tick = [this](TimePoint now, Duration lag) { on_tick(now, lag); };
    auto watch = watch_options(config_);
    for (auto& address : remembered_nodes(config_)) {
        if (std::find(watch.seeds.begin(), watch.seeds.end(), address) == watch.seeds.end()) {
            watch.seeds.push_back(std::move(address));
        }
    }
    watcher_ = std::make_unique<watch::Watcher>(io_.get_executor(), std::move(watch),
                                                std::move(hooks), [] { return io::mono_now(); });
    vote_ = std::make_unique<VoteService>(
        io_.get_executor(), config_, *watcher_,
        [this](const std::string& kind, const std::string& detail, const std::string& node) {
            on_vote_event(kind, detail, node, {});
        },
        [this](const std::string& why) {
            spdlog::critical("{}", why);
            exit_code_ = 1;
            stop();
        });
    failover_ = std::make_unique<FailoverService>(
        io_.get_executor(), config_, *watcher_, *vote_,
        [this](const std::string& kind, const std::string& detail, const std::string& node,
               const std::string& shard) { on_vote_event(kind, detail, node, shard); });
    vote_->set_action_handler([this](const consensus::Action& a) { failover_->on_action(a); });
    failover_->set_phase_observer([this](const std::string& phase, double seconds) {
        metrics_.failover_phase.Add({{"phase", phase}}, kPhaseBuckets).Observe(seconds);
    });
    watchdog_ = sd_watchdog_interval();
    started_at_unix_ = io::wall_seconds();
    metrics_.config_last_reload_successful.Set(1);
    metrics_.config_last_reload_success_timestamp_seconds.Set(started_at_unix_);
}

Daemon::~Daemon() = default;

int Daemon::run() {
    for (const auto& w : config_.warnings) {
        spdlog::warn("config: {}", w.to_string());
    }
    http::ServerLimits limits;
    limits.max_header_bytes = config_.http.max_header_bytes;
    limits.max_body_bytes = config_.http.max_body_bytes;
    limits.request_timeout = millis(config_.http.request_timeout);
    limits.idle_timeout = millis(config_.http.idle_timeout);
    limits.max_connections = config_.http.max_connections;
    const auto& listen = config_.watcher.http_listen;
    auto server = http::Server::listen(io_.get_executor(), listen.host, listen.port, limits,
                                       [this](const http::Request& r) { return handle(r); });
    if (!server) {
        spdlog::error("{}", server.error());
        return 1;
    }
    http_ = std::move(*server);
    if (!config_.http.admin_token.empty()) {
        const auto& admin = config_.http.admin_listen;
        const auto& tls = config_.http.admin_tls;
        auto handler = [this](const http::Request& r) { return handle_admin(r); };
        Expected<std::unique_ptr<http::Server>, std::string> a =
            unexpected(std::string("no admin listener"));
        if (admin.is_unix()) {
            a = http::Server::listen_unix(io_.get_executor(), admin.unix_path,
                                          config_.http.admin_socket_mode, limits, handler);
        } else if (tls.enabled) {
            auto ctx = io::make_server_context({tls.cert_file, tls.key_file, tls.client_ca_file});
            if (!ctx) {
                spdlog::error("http.admin_tls: {}", ctx.error());
                return 1;
            }
            a = http::Server::listen_tls(io_.get_executor(), admin.tcp.host, admin.tcp.port,
                                         std::move(*ctx), limits, handler);
        } else {
            a = http::Server::listen(io_.get_executor(), admin.tcp.host, admin.tcp.port, limits,
                                     handler);
        }
        if (!a) {
            spdlog::error("admin API: {}", a.error());
            return 1;
        }
        admin_ = std::move(*a);
    }
    alert::AlertDispatcher::Options ao;
    ao.cluster = config_.cluster.name;
    ao.watcher_id = config_.watcher.id;
    ao.default_external_url = "http://" + config_.watcher.http_listen.to_string();
    ao.is_leader = [this] {
        const auto* c = vote_->consensus();
        return c != nullptr && c->is_leader();
    };
    ao.mono_now = [] { return io::mono_now(); };
    ao.wall_now = [] { return io::wall_seconds(); };
    auto dispatcher = alert::AlertDispatcher::create(io_.get_executor(), config_.alerts, ao);
    if (!dispatcher) {
        spdlog::error("alerts: {}", dispatcher.error());
        return 1;
    }
    alerts_ = std::move(*dispatcher);
    if (auto v = vote_->start(); !v) {
        spdlog::error("{}", v.error());
        return 1;
    }
    failover_->load_history();
    failover_->check_old_maintenance_file();
    http_->start();
    if (admin_) {
        admin_->start();
    }
    watcher_->start();
    asio::co_spawn(io_, drift_loop(), asio::detached);
    wait_signals();
    spdlog::info("picketd {} (git {}) watcher {} for cluster {}: {} seed(s), HTTP on {}", version(),
                 git_revision(), config_.watcher.id, config_.cluster.name,
                 config_.cluster.seeds.size(), listen.to_string());
    sd_notify("READY=1\nSTATUS=watching cluster " + config_.cluster.name);
    io_.run();
    spdlog::info("picketd stopped");
    spdlog::default_logger()->flush();
    return exit_code_;
}

void Daemon::wait_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) {
            return;
        }
        if (signo == SIGHUP) {
            reload();
            wait_signals();
            return;
        }
        spdlog::info("signal {}: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
        stop();
    });
}

void Daemon::stop() {
    sd_notify("STOPPING=1");
    signals_.cancel();
    if (alerts_) {
        alerts_->stop();
    }
    vote_->stop();
    watcher_->stop();
    if (http_) {
        http_->stop();
    }
    if (admin_) {
        admin_->stop();
    }
    // Connections and timers wind down as their operations complete with "aborted";
    // stop the loop so shutdown is bounded even if a peer is slow.
    asio::post(io_, [this] { io_.stop(); });
}

void Daemon::reload() {
    sd_notify("RELOADING=1");
    spdlog::info("SIGHUP: reloading {}", options_.config_path);
    auto refuse = [this](std::string why) {
        last_reload_ok_ = false;
        last_reload_error_ = std::move(why);
        metrics_.config_last_reload_successful.Set(0);
        spdlog::error("config reload failed, keeping the running configuration:\n{}",
                      last_reload_error_);
        record("config_reload_failed", last_reload_error_);
        alert(alert::EventType::kConfigReloadFailed, {}, {}, {}, last_reload_error_);
        sd_notify("READY=1");
    };
    auto next = config::load_config(options_.config_path);
    if (!next) {
        refuse(next.error().to_string());
        return;
    }
    // Alert receivers first: the one part that can still refuse (a filter matching no
    // event, an unreadable CA file), and it changes nothing when it does.
    if (alerts_) {
        auto applied = alerts_->reconfigure(next->alerts);
        if (!applied) {
            refuse(applied.error());
            return;
        }
        for (const auto& gone : applied->removed) {
            // Its queue went with it; the counters keep their last values.
            metrics_.alert_queue_length.Add({{"receiver", gone}}).Set(0);
        }
    }
    restart_pending_ = config::restart_required_changes(config_, *next);
    for (const auto& change : restart_pending_) {
        spdlog::warn("config reload: '{}' needs a restart; not applied until then", change);
    }
    for (const auto& w : next->warnings) {
        spdlog::warn("config: {}", w.to_string());
    }
    // Apply what can change at run time; keep the restart-only keys as they are.
    config_ = config::merge_for_reload(config_, *next);
    watcher_->reconfigure(watch_options(config_));
    if (!options_.log_level) {
        set_log_level(config_.log.level);
    }
    last_reload_ok_ = true;
    last_reload_error_.clear();
    metrics_.config_last_reload_successful.Set(1);
    metrics_.config_last_reload_success_timestamp_seconds.Set(io::wall_seconds());
    record("config_reloaded", restart_pending_.empty() ? "applied"
                                                       : std::to_string(restart_pending_.size()) +
                                                             " change(s) need a restart");
    alert(alert::EventType::kConfigReloaded, {}, {}, {}, "applied");
    spdlog::info("config reloaded");
    sd_notify("READY=1");
}

void Daemon::record(RecordedEvent e) {
    metrics_.count_event(e.kind);
    events_.push_back(std::move(e));
    while (events_.size() > kMaxRecordedEvents) {
        events_.pop_front();
    }
}

void Daemon::record(std::string kind, std::string detail) {
    RecordedEvent e;
    e.at_mono_ms = to_ms(io::mono_now().time_since_epoch());
    e.at_unix = io::wall_seconds();
    e.kind = std::move(kind);
    e.detail = std::move(detail);
    record(std::move(e));
}

void Daemon::on_event(const detect::Event& e) {
    RecordedEvent r;
    r.at_mono_ms = to_ms(e.at.time_since_epoch());
    r.at_unix = io::wall_seconds();
    r.kind = std::string(detect::to_string(e.kind));
    r.address = e.address;
    r.node_id = e.node_id;
    r.evidence = std::string(detect::to_string(e.evidence));
    r.duration_ms = to_ms(e.duration);
    r.detail = e.detail;
    switch (e.kind) {
        case detect::Event::Kind::kSdown:
            spdlog::warn("node {} ({}) SDOWN: {} evidence, failing for {} ms: {}", e.address,
                         e.node_id, r.evidence, r.duration_ms, e.detail);
            break;
        case detect::Event::Kind::kSafeModeEntered:
            spdlog::warn("safe mode entered: {}; own SDOWN opinions withheld", e.detail);
            break;
        default:
            spdlog::info("{} {} {}", r.kind, e.address, e.detail);
            break;
    }
    std::optional<alert::EventType> type;
    switch (e.kind) {
        case detect::Event::Kind::kSdown:
            type = alert::EventType::kNodeSdown;
            break;
        case detect::Event::Kind::kRecovered:
            type = alert::EventType::kNodeRecovered;
            break;
        case detect::Event::Kind::kRoleChanged:
            type = alert::EventType::kRoleChanged;
            break;
        case detect::Event::Kind::kReplicaLinkDown:
            type = alert::EventType::kReplicaLinkDown;
            break;
        case detect::Event::Kind::kReplicaLinkUp:
            type = alert::EventType::kReplicaLinkUp;
            break;
        case detect::Event::Kind::kSafeModeEntered:
            type = alert::EventType::kSafeModeEntered;
            break;
        case detect::Event::Kind::kSafeModeLeft:
            type = alert::EventType::kSafeModeLeft;
            break;
        default:
            break;  // node added/removed: logs and metrics only
    }
    if (type) {
        std::string shard;
        if (const auto* s = watcher_->topology().shard_of(e.node_id); s != nullptr) {
            shard = s->master_id;
        }
        alert(*type, e.address, e.node_id, shard,
              r.evidence == "none" ? r.detail : r.evidence + " evidence: " + r.detail);
    }
    record(std::move(r));
    if ((e.kind == detect::Event::Kind::kSdown || e.kind == detect::Event::Kind::kRecovered) &&
        vote_) {
        // Posted: the watcher is still draining the detector's output.
        asio::post(io_, [this] {
            if (vote_) {
                vote_->opinions_changed();
            }
        });
    }
}

void Daemon::alert(alert::EventType type, const std::string& node, const std::string& node_id,
                   const std::string& shard, const std::string& detail) {
    if (!alerts_) {
        return;
    }
    alert::Event e;
    e.type = type;
    e.node = node;
    e.node_id = node_id;
    e.shard = shard;
    e.detail = detail;
    alerts_->publish(e, io::mono_now(), io::wall_seconds());
}

void Daemon::on_vote_event(const std::string& kind, const std::string& detail,
                           const std::string& node_id, const std::string& shard) {
    const bool notable = kind == "odown_declared" || kind == "quorum_lost" ||
                         kind == "stepped_down" || kind == "leader_lost" ||
                         kind.rfind("failover_", 0) == 0;
    if (notable) {
        spdlog::warn("vote: {} ({})", kind, detail);
    } else {
        spdlog::info("vote: {} ({})", kind, detail);
    }
    record(kind, detail);
    if (kind == "odown_declared") {
        // Plan at once, not on the next watcher tick (up to a ping interval later): the
        // decision follows the quorum within milliseconds (issue #4). Posted, so the vote
        // finishes processing its output first.
        asio::post(io_, [this] { failover_->on_tick(io::mono_now()); });
    }
    // The vote's and the failover's words, in the alert vocabulary (docs/alerts.md).
    static const std::map<std::string, alert::EventType, std::less<>> kAlerts = {
        {"became_leader", alert::EventType::kLeaderElected},
        {"leader_lost", alert::EventType::kLeaderLost},
        {"quorum_lost", alert::EventType::kQuorumLost},
        {"quorum_regained", alert::EventType::kQuorumRegained},
        {"odown_declared", alert::EventType::kNodeOdown},
        {"failover_started", alert::EventType::kFailoverStarted},
        {"failover_vetoed", alert::EventType::kFailoverVetoed},
        {"maintenance_on", alert::EventType::kMaintenanceOn},
        {"maintenance_off", alert::EventType::kMaintenanceOff},
        {"failover_promoted", alert::EventType::kFailoverPromoted},
        {"failover_converged", alert::EventType::kFailoverConverged},
        {"shard_not_failover_ready", alert::EventType::kShardNotFailoverReady},
        {"shard_failover_ready", alert::EventType::kShardFailoverReady},
        {"failover_failed", alert::EventType::kFailoverFailed},
        {"failover_aborted", alert::EventType::kFailoverFailed},
        {"failover_blocked", alert::EventType::kShardNotFailoverReady},
        {"failover_blocked_cooldown", alert::EventType::kFailoverBlockedCooldown},
        {"config_reloaded", alert::EventType::kConfigReloaded},
        {"config_reload_failed", alert::EventType::kConfigReloadFailed},
    };
    if (auto it = kAlerts.find(kind); it != kAlerts.end()) {
        std::string address;
        if (!node_id.empty()) {
            if (const auto* n = watcher_->topology().node(node_id); n != nullptr) {
                address = n->address.endpoint();
            }
        }
        alert(it->second, address, node_id, shard, detail);
    }
    if (kind == "failover_replica_chosen" || kind == "failover_candidate_switched") {
        // Reported with the failed master's id; the alert is about the chosen replica (a
        // switch to another candidate is a new choice, said in the same words).
        std::string replica;
        const json failover = failover_->status(io::mono_now());
        for (const auto& a : failover["attempts"]) {
            if (a["shard"] == shard && a["failed_master"] == node_id) {
                if (const auto* n = watcher_->topology().node(a["replica"].get<std::string>())) {
                    replica = n->address.endpoint();
                }
            }
        }
        alert(alert::EventType::kFailoverReplicaChosen, replica, {}, shard, detail);
    }
}

void Daemon::on_probe(const std::string& address, const detect::Probe& probe) {
    auto& s = metrics_.node(address);
    s.ping_attempts->Increment();
    using detect::ProbeOutcome;
    switch (probe.outcome) {
        case ProbeOutcome::kPong:
        case ProbeOutcome::kBusy:
        case ProbeOutcome::kMasterDown:
        case ProbeOutcome::kErrorReply:
        case ProbeOutcome::kLoading: {
            const double rtt =
                std::chrono::duration<double>(probe.completed_at - probe.sent_at).count();
            metrics_.observe_ping(rtt);
            s.ping_last_duration->Set(rtt);
            if (probe.outcome != ProbeOutcome::kPong) {
                metrics_.count_ping_failure(address, std::string(detect::to_string(probe.outcome)));
            }
            break;
        }
        default:
            metrics_.count_ping_failure(address, std::string(detect::to_string(probe.outcome)));
            break;
    }
}

namespace {
resp::Command config_get_command() {
    return resp::Command{"CONFIG", "GET", "cluster-node-timeout", "cluster-require-full-coverage"};
}
}  // namespace

asio::awaitable<void> Daemon::drift_loop() {
    asio::steady_timer timer(io_);
    timer.expires_after(std::chrono::seconds(5));
    while (true) {
        if (auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)); ec) {
            co_return;  // stopped
        }
        timer.expires_after(std::chrono::seconds(30));
        if (!watcher_->topology_known()) {
            continue;
        }
        std::vector<std::string> addresses;
        for (const auto& n : watcher_->topology().nodes()) {
            if (!n.noaddr && !n.handshake) {
                addresses.push_back(n.address.endpoint());
            }
        }
        std::map<std::string, std::map<std::string, std::string, std::less<>>> settings;
        for (const auto& address : addresses) {
            resp::ClientOptions o = watch_options(config_).client;
            const auto colon = address.rfind(':');
            o.host = address.substr(0, colon);
            if (o.host.size() > 2 && o.host.front() == '[') {
                o.host = o.host.substr(1, o.host.size() - 2);
            }
            o.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
            resp::Client client(io_.get_executor(), o);
            auto reply =
                co_await client.exec(config_get_command(), std::chrono::milliseconds(1000));
            if (reply) {
                if (auto values = cluster::parse_config_get(*reply); values) {
                    settings[address] = std::move(*values);
                }
            }
            client.close();
        }
        const auto now_drift = failover::config_drift(watcher_->topology(), settings,
                                                      config_.failover.cluster_node_timeout);
        for (const auto& [check, detail] : now_drift) {
            if (drift_.count(check) == 0 || drift_[check] != detail) {
                spdlog::warn("config drift ({}): {}", check, detail);
                record("config_drift", check + ": " + detail);
                if (alerts_ && drift_.count(check) == 0) {
                    alert::Event e;
                    e.type = alert::EventType::kConfigDrift;
                    e.check = check;
                    e.detail = detail;
                    alerts_->publish(e, io::mono_now(), io::wall_seconds());
                }
            }
        }
        for (const auto& [check, detail] : drift_) {
            if (now_drift.count(check) == 0) {
                spdlog::info("config drift ({}) resolved", check);
                record("config_drift_resolved", check);
                if (alerts_) {
                    alert::Event e;
                    e.type = alert::EventType::kConfigDriftResolved;
                    e.check = check;
                    e.detail = "settings agree again";
                    alerts_->publish(e, io::mono_now(), io::wall_seconds());
                }
            }
        }
        drift_ = now_drift;
    }
}

void Daemon::remember_nodes() {
    if (!watcher_->topology_known()) {
        return;
    }
    std::string text;
    for (const auto& n : watcher_->topology().nodes()) {
        if (!n.noaddr && !n.handshake) {
            text += n.address.endpoint() + "\n";
        }
    }
    if (text.empty() || text == remembered_text_) {
        return;
    }
    const auto path = known_nodes_path(config_);
    const auto tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) {
            return;  // best effort: the configured seeds still work
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (!ec) {
        remembered_text_ = std::move(text);
    }
}

void Daemon::on_tick(TimePoint now, Duration lag) {
    last_tick_ = now;
    if (now - last_remember_ >= std::chrono::seconds(5)) {
        last_remember_ = now;
        remember_nodes();
    }
    failover_->on_tick(now);
    const double lag_s = std::chrono::duration<double>(lag).count();
    metrics_.event_loop_lag_seconds.Set(lag_s);
    metrics_.event_loop_lag.Observe(lag_s);
    if (watchdog_ && now - last_watchdog_ >= *watchdog_ / 2) {
        last_watchdog_ = now;
        sd_notify("WATCHDOG=1");
    }
}

void Daemon::update_metrics(TimePoint now) {
    const auto& det = watcher_->detector();
    std::set<std::string> seen;
    for (const auto& [addr, n] : det.nodes()) {
        seen.insert(addr);
        auto& s = metrics_.node(addr);
        s.up->Set(node_is_up(n) ? 1 : 0);
        const bool master = n.replication ? n.replication->role == cluster::ReplicationRole::kMaster
                                          : n.cluster_says_master;
        s.is_master->Set(master ? 1 : 0);
        s.sdown->Set(n.state == detect::NodeState::kSdown ? 1 : 0);
        s.failing_seconds->Set(
            n.failing_since ? std::chrono::duration<double>(now - *n.failing_since).count() : 0);
        if (n.replication) {
            const auto& r = *n.replication;
            const bool replica = r.role == cluster::ReplicationRole::kReplica;
            s.replication_offset->Set(
                static_cast<double>(replica ? r.slave_repl_offset : r.master_repl_offset));
            s.master_link_up->Set(
                replica && r.master_link_status == cluster::MasterLinkStatus::kUp ? 1 : 0);
        }
        s.replica_lag->Set(n.lag_bytes ? static_cast<double>(*n.lag_bytes) : 0);
    }
    for (const auto& addr : metric_nodes_) {
        if (seen.count(addr) == 0) {
            metrics_.forget_node(addr);
            metrics_.node_odown.Remove(&metrics_.node_odown.Add({{"node", addr}}));
        }
    }
    metric_nodes_ = std::move(seen);
    if (const auto& ci = watcher_->cluster_info(); ci) {
        metrics_.cluster_state_ok.Set(ci->state == cluster::ClusterState::kOk ? 1 : 0);
        metrics_.cluster_slots.Add({{"state", "assigned"}})
            .Set(static_cast<double>(ci->slots_assigned));
        metrics_.cluster_slots.Add({{"state", "ok"}}).Set(static_cast<double>(ci->slots_ok));
        metrics_.cluster_slots.Add({{"state", "pfail"}}).Set(static_cast<double>(ci->slots_pfail));
        metrics_.cluster_slots.Add({{"state", "fail"}}).Set(static_cast<double>(ci->slots_fail));
    }
    metrics_.cluster_current_epoch.Set(static_cast<double>(watcher_->current_epoch()));
    metrics_.cluster_known_nodes.Set(static_cast<double>(watcher_->topology().nodes().size()));
    double open_slots = 0;
    for (const auto& n : watcher_->topology().nodes()) {
        open_slots += static_cast<double>(n.migrations.size());
    }
    metrics_.cluster_open_slots.Set(open_slots);
    for (const auto& [key, count] : failover_->results()) {
        metrics::Metrics::set_counter(
            metrics_.failovers.Add({{"shard", key.first}, {"result", key.second}}),
            static_cast<double>(count));
    }
    // A problem series exists while the problem does (value 1): six always-present series
    // per shard were 3,000 of 14,500 lines at 1,000 nodes, nearly all 0.
    std::set<std::pair<std::string, std::string>> problems;
    for (const auto& [shard, r] : failover_->readiness()) {
        metrics_.shard_failover_ready.Add({{"shard", shard}}).Set(r.ready() ? 1 : 0);
        for (const auto p : r.problems) {
            problems.emplace(shard, std::string(failover::to_string(p)));
        }
    }
    for (const auto& [shard, problem] : problem_series_) {
        if (problems.count({shard, problem}) == 0) {
            metrics_.shard_failover_problem.Remove(
                &metrics_.shard_failover_problem.Add({{"shard", shard}, {"problem", problem}}));
        }
    }
    for (const auto& [shard, problem] : problems) {
        metrics_.shard_failover_problem.Add({{"shard", shard}, {"problem", problem}}).Set(1);
    }
    problem_series_ = std::move(problems);
    metrics_.topology_disagreements.Set(
        static_cast<double>(watcher_->topology().disagreements().size()));
    metrics_.safe_mode.Set(det.in_safe_mode(now) ? 1 : 0);
    if (const auto* c = vote_->consensus(); c != nullptr) {
        for (const auto& [addr, n] : det.nodes()) {
            metrics_.node_odown.Add({{"node", addr}})
                .Set(!n.node_id.empty() && c->odown().count(n.node_id) != 0 ? 1 : 0);
        }
        metrics_.vote_term.Set(static_cast<double>(c->term()));
        metrics_.vote_is_leader.Set(c->is_leader() ? 1 : 0);
        metrics_.vote_lease_valid.Set(c->lease_valid(now) ? 1 : 0);
        metrics_.vote_quorum_available.Set(c->leader().has_value() ? 1 : 0);
    }
    if (alerts_) {
        for (const auto& t : alerts_->stats()) {
            const prometheus::Labels l{{"receiver", t.name}};
            metrics::Metrics::set_counter(metrics_.alert_sent.Add(l),
                                          static_cast<double>(t.queue.sent));
            metrics::Metrics::set_counter(metrics_.alert_dropped.Add(l),
                                          static_cast<double>(t.queue.dropped));
            metrics::Metrics::set_counter(metrics_.alert_abandoned.Add(l),
                                          static_cast<double>(t.queue.abandoned));
            metrics_.alert_queue_length.Add(l).Set(static_cast<double>(t.queue.queue_length));
            for (std::size_t i = 0; i < t.queue.failures.size(); ++i) {
                const auto reason =
                    std::string(alert::to_string(static_cast<alert::FailureReason>(i)));
                metrics::Metrics::set_counter(
                    metrics_.alert_failures.Add({{"receiver", t.name}, {"reason", reason}}),
                    static_cast<double>(t.queue.failures[i]));
            }
        }
    }
    if (const auto* net = vote_->network(); net != nullptr) {
        for (const auto& p : config_.peers.members) {
            metrics_.peer_connected.Add({{"peer", p.id}}).Set(net->connected(p.id) ? 1 : 0);
        }
        const auto& st = net->stats();
        for (std::size_t i = 0; i < st.dropped.size(); ++i) {
            const auto reason = std::string(proto::to_string(static_cast<proto::DropReason>(i)));
            metrics::Metrics::set_counter(metrics_.peer_messages_dropped.Add({{"reason", reason}}),
                                          static_cast<double>(st.dropped[i]));
        }
        metrics::Metrics::set_counter(metrics_.peer_messages_received,
                                      static_cast<double>(st.received));
    }
    if (http_) {
        const auto& st = http_->stats();
        metrics_.http_requests.Increment(static_cast<double>(st.requests) -
                                         metrics_.http_requests.Value());
        metrics_.http_bad_requests.Increment(static_cast<double>(st.bad_requests) -
                                             metrics_.http_bad_requests.Value());
    }
}

http::Response Daemon::readyz(const http::Request& request) {
    const TimePoint now = io::mono_now();
    struct Check {
        std::string name;
        bool ok;
        std::string detail;
    };
    std::vector<Check> checks;
    checks.push_back({"config", true, last_reload_ok_ ? "loaded" : "running; last reload failed"});
    checks.push_back({"event-loop",
                      watcher_->ticks() > 0 && now - last_tick_ < std::chrono::seconds(5),
                      "ticks: " + std::to_string(watcher_->ticks())});
    checks.push_back({"topology", watcher_->topology_known(),
                      watcher_->topology_known()
                          ? std::to_string(watcher_->topology().nodes().size()) + " nodes"
                          : "no CLUSTER NODES read yet"});
    bool ok = true;
    std::string body;
    for (const auto& c : checks) {
        ok = ok && c.ok;
        body += (c.ok ? "[+]" : "[-]") + c.name + " " + (c.ok ? "ok" : "failed") + ": " + c.detail +
                "\n";
    }
    const bool verbose = request.query.find("verbose") != std::string::npos;
    if (!verbose) {
        body = ok ? "ok\n" : "not ready\n";
    }
    return http::Response::text(ok ? 200 : 503, body);
}

namespace {
/// Constant-time comparison (the token must not leak through timing).
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    }
    return diff == 0;
}

http::Response admin_reply(unsigned status, bool ok, const std::string& message,
                           json extra = json::object()) {
    extra["ok"] = ok;
    extra["message"] = message;
    return http::Response::json(status, extra.dump() + "\n");
}
}  // namespace

http::Response Daemon::handle_admin(const http::Request& request) {
    const auto auth = request.headers.find("authorization");
    const std::string bearer = "Bearer ";
    if (auth == request.headers.end() || auth->second.rfind(bearer, 0) != 0 ||
        !same_secret(auth->second.substr(bearer.size()), config_.http.admin_token.reveal())) {
        spdlog::warn("admin API: refused a request without the right token from {}", request.peer);
        auto r = admin_reply(401, false, "missing or wrong admin token");
        r.headers["WWW-Authenticate"] = "Bearer";
        return r;
    }
    if (request.method != "POST") {
        auto r = admin_reply(405, false, "the admin API takes POST with a JSON body");
        r.headers["Allow"] = "POST";
        return r;
    }
    const auto body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
        return admin_reply(400, false, "the body must be a JSON object");
    }
    auto str = [&](const char* k) {
        const auto it = body.find(k);
        return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const auto user_header = request.headers.find("x-picket-user");
    std::string who =
        (user_header != request.headers.end() ? user_header->second : "?") + "@" + request.peer;
    if (who.size() > 128) {
        who.resize(128);
    }
    const TimePoint now = io::mono_now();
    Expected<std::string, std::string> result = unexpected(std::string("unknown action"));
    if (request.path == "/v1/admin/maintenance") {
        const auto on = body.find("on");
        const auto secs = body.find("for_seconds");
        if (str("target").empty() || on == body.end() || !on->is_boolean() ||
            (secs != body.end() && (!secs->is_number() || secs->get<double>() < 0 ||
                                    secs->get<double>() > 30.0 * 86400))) {
            return admin_reply(400, false,
                               "need {\"target\": ..., \"on\": true|false, \"for_seconds\": "
                               "0..2592000 (optional)}");
        }
        const auto duration = std::chrono::duration_cast<Duration>(
            std::chrono::duration<double>(secs != body.end() ? secs->get<double>() : 0.0));
        result = failover_->set_maintenance(str("target"), on->get<bool>(), duration, who, now);
    } else if (request.path == "/v1/admin/ack") {
        result = failover_->acknowledge(str("shard"), who);
    } else if (request.path == "/v1/admin/failover") {
        const auto force = body.find("force");
        if (force == body.end() || !force->is_boolean() || !force->get<bool>()) {
            return admin_reply(400, false,
                               "a manual failover overrides picket's safety rules: it needs "
                               "\"force\": true (picketctl failover SHARD --force)");
        }
        result = failover_->force_failover(str("shard"), who, now);
    } else if (request.path == "/v1/admin/switchover") {
        result = failover_->switchover(str("shard"), str("to"), who, now);
    } else {
        return admin_reply(404, false,
                           "unknown admin action; POST /v1/admin/{maintenance,ack,failover,"
                           "switchover}");
    }
    spdlog::warn("admin API: {} {} by {}: {}", request.path, request.body.substr(0, 200), who,
                 result ? *result : "refused: " + result.error());
    record("admin_" + request.path.substr(request.path.rfind('/') + 1),
           who + ": " + (result ? *result : "refused: " + result.error()));
    if (!result) {
        json extra = json::object();
        if (const auto* c = vote_->consensus(); c != nullptr && c->leader()) {
            extra["leader"] = *c->leader();
        }
        return admin_reply(409, false, result.error(), extra);
    }
    return admin_reply(200, true, *result);
}

http::Response Daemon::handle(const http::Request& request) {
    if (request.method != "GET" && request.method != "HEAD") {
        auto r = http::Response::text(405, "method not allowed\n");
        r.headers["Allow"] = "GET, HEAD";
        return r;
    }
    const TimePoint now = io::mono_now();
    if (request.path == "/metrics") {
        update_metrics(now);
        http::Response r;
        r.content_type = metrics::Metrics::kContentType;
        r.body = metrics_.render();
        return r;
    }
    if (request.path == "/livez") {
        return http::Response::text(200, "ok\n");  // answering is the proof: the loop runs
    }
    if (request.path == "/readyz") {
        return readyz(request);
    }
    if (request.path == "/leader") {
        const auto* c = vote_->consensus();
        if (c != nullptr && c->is_leader()) {
            return http::Response::text(
                200, "leader " + config_.watcher.id + " term " + std::to_string(c->term()) + "\n");
        }
        return http::Response::text(
            503, "not the leader; leader: " +
                     (c != nullptr && c->leader() ? *c->leader() : std::string("unknown")) + "\n");
    }
    if (request.path == "/v1/status") {
        watch::WatcherFacts facts{config_.watcher.id, version(), config_.cluster.name,
                                  started_at_unix_};
        auto doc = watch::status_json(*watcher_, facts, now);
        doc["watcher"]["config_reload_ok"] = last_reload_ok_;
        doc["watcher"]["config_reload_error"] = last_reload_error_;
        doc["watcher"]["restart_required"] = restart_pending_;
        doc["watcher"]["quorum"] = config_.effective_quorum();
        doc["watcher"]["voters"] = config_.voter_ids();
        doc["vote"] = vote_->status(now);
        doc["failover"] = failover_->status(now);
        doc["failover"]["maintenance"] = failover_->maintenance_status(now);
        doc["config_drift"] = drift_;
        json events = json::array();
        for (const auto& e : events_) {
            events.push_back({{"at_mono_ms", e.at_mono_ms},
                              {"at_unix", e.at_unix},
                              {"kind", e.kind},
                              {"address", e.address},
                              {"node_id", e.node_id},
                              {"evidence", e.evidence},
                              {"duration_ms", e.duration_ms},
                              {"detail", e.detail}});
        }
        doc["events"] = events;
        return http::Response::json(200,
                                    doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    }
    if (request.path == "/v1/history") {
        return http::Response::json(
            200, failover_->history().dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    }
    return http::Response::text(
        404, "not found; try /metrics, /livez, /readyz, /v1/status, /v1/history, /leader\n");
}

}  // namespace picket::daemon
