#pragma once
// AlertDispatcher: the shell around picket::alert::Publisher that picketd owns. It sends
// what the publisher asks for with the HTTP client, feeds the results back, and keeps one
// timer for retries and Alertmanager re-sends. Single-threaded: every call on the
// io_context thread that runs `executor`.
//
// Lifetime: the dispatcher may be destroyed with requests in flight; they finish or time
// out on their own (each has its deadline) and their results are dropped.

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "picket/alert/event.h"
#include "picket/alert/publisher.h"
#include "picket/base/expected.h"
#include "picket/base/time.h"
#include "picket/config/config.h"

namespace picket::alert {

/// One finished attempt, for logs and the latency histogram.
struct DeliveryRecord {
    std::string target;  ///< receiver name or "alertmanager"
    std::uint32_t attempt = 1;
    bool delivered = false;
    bool will_retry = false;
    std::optional<FailureReason> reason;
    unsigned http_status = 0;  ///< 0 when no response
    std::string error;         ///< transport error or "redirect to <Location>" (not followed)
    double latency_seconds = 0;
    double retry_in_seconds = 0;
};

class AlertDispatcher {
  public:
    struct Options {
        std::string cluster;     ///< cluster.name
        std::string watcher_id;  ///< watcher.id
        /// Used when alerts.external_url is empty: "http://" + watcher.http_listen.
        std::string default_external_url;
        /// Whether this watcher leads now; cluster-level events are sent only while true.
        std::function<bool()> is_leader = [] { return true; };
        RetryPolicy retry;
        /// Seed of the jitter RNG (0: from the watcher id).
        std::uint64_t seed = 0;
        /// Called for every finished attempt (logs are written by the dispatcher too).
        std::function<void(const DeliveryRecord&)> on_delivery;
        /// Clocks; default io::mono_now / io::wall_seconds (tests may inject).
        std::function<TimePoint()> mono_now;
        std::function<double()> wall_now;
    };

    /// Builds the publisher (filters parsed, secrets taken from the config) and the TLS
    /// contexts of every https target. Errors: a filter matching no event, an unreadable
    /// CA file.
    static Expected<std::unique_ptr<AlertDispatcher>, std::string> create(
        boost::asio::any_io_executor executor, const config::AlertsConfig& alerts, Options options);
    ~AlertDispatcher();
    AlertDispatcher(const AlertDispatcher&) = delete;
    AlertDispatcher& operator=(const AlertDispatcher&) = delete;

    /// A SIGHUP reload: applies `alerts` (receivers added, removed or changed by name; the
    /// Alertmanager push) as Publisher::reconfigure() describes — queued notifications of
    /// kept receivers and the active alerts stay. All or nothing: a filter matching no event
    /// or an unreadable CA file is an error and changes nothing. Logs what changed.
    Expected<ReconfigureSummary, std::string> reconfigure(const config::AlertsConfig& alerts);

    /// An event happened at monotonic `now`, wall-clock `wall_unix` (seconds).
    void publish(const Event& event, TimePoint now, double wall_unix);

    /// Receivers in config order, then "alertmanager" when configured.
    std::vector<TargetStats> stats() const;
    /// Firing alerts tracked (for /v1/status).
    std::size_t active_alerts() const;

    /// Stops the timer; later publish() calls are ignored. In-flight requests end by their
    /// deadlines.
    void stop();

    struct Impl;

  private:
    explicit AlertDispatcher(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace picket::alert
