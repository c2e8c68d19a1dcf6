#pragma once
// The composition root of picketd (LogCabin's Globals): builds every component from the
// configuration, wires their callbacks, owns the io_context and its one thread. main()
// only parses flags, loads the configuration and calls run().

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "failover.h"
#include "picket/alert/dispatcher.h"
#include "picket/config/config.h"
#include "picket/detect/detector.h"
#include "picket/http/server.h"
#include "picket/metrics/metrics.h"
#include "picket/watch/watcher.h"
#include "vote.h"

namespace picket::daemon {

/// Flags that override the configuration file.
struct DaemonOptions {
    std::string config_path;
    std::optional<config::LogLevel> log_level;
    std::optional<config::LogFormat> log_format;
};

/// An event as /v1/status reports it.
struct RecordedEvent {
    std::int64_t at_mono_ms = 0;
    double at_unix = 0;
    std::string kind;
    std::string address;
    std::string node_id;
    std::string evidence;
    std::int64_t duration_ms = 0;
    std::string detail;
};

/// The options of the watcher as the configuration sets them.
watch::WatchOptions watch_options(const config::Config& config);

class Daemon {
  public:
    Daemon(DaemonOptions options, config::Config config);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    /// Binds the listeners, starts watching, serves until SIGTERM/SIGINT. Returns the
    /// process exit code (non-zero when start-up failed, e.g. the port is taken).
    int run();

  private:
    void wait_signals();
    void reload();
    void stop();
    http::Response handle(const http::Request& request);
    http::Response readyz(const http::Request& request);
    /// The admin API (state-changing; bearer token; see docs/operations.md).
    http::Response handle_admin(const http::Request& request);
    void on_event(const detect::Event& event);
    /// Keeps the event for /v1/status (bounded) and counts it.
    void record(RecordedEvent event);
    void record(std::string kind, std::string detail);
    void on_probe(const std::string& address, const detect::Probe& probe);
    void on_tick(TimePoint now, Duration lag);
    /// Every 30 s: CONFIG GET of every known node, compared with each other and with
    /// picket's settings (failover::config_drift); config_drift events on change.
    boost::asio::awaitable<void> drift_loop();
    /// Keeps the topology's node addresses in <state_dir>/known-nodes (extra seeds at start).
    void remember_nodes();
    void update_metrics(TimePoint now);
    void on_vote_event(const std::string& kind, const std::string& detail,
                       const std::string& node_id, const std::string& shard);
    /// Hands an event to the alert dispatcher (webhooks, Alertmanager), if configured.
    void alert(alert::EventType type, const std::string& node, const std::string& node_id,
               const std::string& shard, const std::string& detail);

    DaemonOptions options_;
    config::Config config_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    metrics::Metrics metrics_;
    std::unique_ptr<watch::Watcher> watcher_;
    std::unique_ptr<VoteService> vote_;
    std::unique_ptr<FailoverService> failover_;
    std::unique_ptr<alert::AlertDispatcher> alerts_;
    std::unique_ptr<http::Server> http_;
    std::unique_ptr<http::Server> admin_;
    int exit_code_ = 0;
    std::deque<RecordedEvent> events_;
    std::set<std::string> metric_nodes_;
    /// (shard, problem) series of picket_shard_failover_problem exported now.
    std::set<std::pair<std::string, std::string>> problem_series_;
    std::optional<std::chrono::microseconds> watchdog_;
    TimePoint last_watchdog_{};
    TimePoint last_tick_{};
    TimePoint last_remember_{};
    std::string remembered_text_;
    /// Active config drifts: check → detail.
    std::map<std::string, std::string> drift_;
    double started_at_unix_ = 0;
    bool last_reload_ok_ = true;
    std::string last_reload_error_;
    std::vector<std::string> restart_pending_;
};

}  // namespace picket::daemon
