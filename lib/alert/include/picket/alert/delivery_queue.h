#pragma once
// The delivery queue of one receiver (pure): what to send, when, and what happened.
//
// Inputs: enqueue(body, now), on_result(id, result, now), tick(now). Output of tick():
// "send this request now" actions. The shell does the HTTP and reports back; nothing here
// reads a clock or touches a socket, so every retry schedule is tested with a fake clock.
//
// Rules:
//  - One request in flight at a time, oldest first: a receiver sees notifications in the
//    order they happened (a resolved after its firing).
//  - Bounded: at most `capacity` deliveries wait (the one in flight not counted); when full,
//    the oldest waiting one is dropped and counted.
//  - 2xx delivers. 5xx, transport errors and timeouts are retried after a capped
//    exponential backoff (initial × 2^(attempt−1), at most max_backoff) scaled by a jitter
//    factor in [1 − jitter, 1] from the injected RNG, up to max_attempts. 4xx and 3xx are
//    final: the request is wrong or the receiver moved, repeating it will not help (and
//    redirects are never followed: a webhook URL that redirects is a misconfiguration or an
//    attack on where the signed payload goes).
//  - Each attempt has a deadline (the receiver's timeout); the shell enforces it, and tick()
//    also expires an attempt whose result never came (deadline + 1 s) as a timeout.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/time.h"

namespace picket::alert {

/// Retry schedule; RetryPolicy{} holds the defaults.
struct RetryPolicy {
    Duration initial_backoff = std::chrono::milliseconds(500);
    Duration max_backoff = std::chrono::seconds(30);
    std::uint32_t max_attempts = 8;  ///< ≥ 1; attempts, not retries
    double jitter = 0.5;             ///< 0..1: delay × [1 − jitter, 1]
};

/// Why an attempt did not deliver.
enum class FailureReason : std::uint8_t {
    kHttp4xx,    ///< final
    kRedirect,   ///< 3xx: final, never followed
    kHttp5xx,    ///< retried
    kTransport,  ///< connect/TLS/read/write error or a malformed response: retried
    kTimeout,    ///< no complete response before the deadline: retried
};
inline constexpr std::size_t kFailureReasonCount = 5;
/// "http_4xx", "redirect", "http_5xx", "transport", "timeout" (metric label values).
std::string_view to_string(FailureReason r);

/// What the shell reports for one attempt.
struct DeliveryResult {
    enum class Kind : std::uint8_t { kHttpStatus, kTransportError, kTimeout };
    Kind kind = Kind::kHttpStatus;
    unsigned status = 0;  ///< for kHttpStatus

    static DeliveryResult http(unsigned status) { return {Kind::kHttpStatus, status}; }
    static DeliveryResult transport_error() { return {Kind::kTransportError, 0}; }
    static DeliveryResult timeout() { return {Kind::kTimeout, 0}; }

    /// nullopt for 2xx (delivered), else the failure reason. Statuses outside 200..599
    /// count as transport errors (a malformed response).
    std::optional<FailureReason> failure() const;
};

/// A request to send now.
struct SendAction {
    std::uint64_t id = 0;
    std::string body;
    std::uint32_t attempt = 1;  ///< 1 for the first try
    TimePoint deadline{};
};

/// The outcome of one reported attempt (for logs and the latency histogram).
struct Completion {
    std::uint64_t id = 0;
    bool delivered = false;
    bool will_retry = false;
    std::optional<FailureReason> reason;
    Duration latency{};  ///< this attempt: send → result
    std::uint32_t attempt = 1;
    std::optional<TimePoint> retry_at;
};

/// Counters and gauges of one queue, for metrics.
struct QueueStats {
    std::uint64_t enqueued = 0;
    std::uint64_t sent = 0;       ///< delivered (2xx)
    std::uint64_t abandoned = 0;  ///< given up: final 4xx/3xx, or out of attempts
    std::uint64_t dropped = 0;    ///< dropped unsent because the queue was full
    std::uint64_t retries = 0;    ///< attempts after the first
    std::array<std::uint64_t, kFailureReasonCount> failures{};  ///< failed attempts by reason
    std::size_t queue_length = 0;                               ///< waiting + in flight
    std::uint64_t latency_count = 0;                            ///< attempts with a result
    double latency_sum_seconds = 0;
    double last_latency_seconds = 0;

    std::uint64_t failures_of(FailureReason r) const {
        return failures[static_cast<std::size_t>(r)];
    }
};

/// Uniform random numbers in [0, 1), injected (seeded in tests and simulations).
using Uniform01 = std::function<double()>;

class DeliveryQueue {
  public:
    /// `capacity` ≥ 1 waiting deliveries; `timeout` per attempt.
    DeliveryQueue(std::size_t capacity, Duration timeout, RetryPolicy policy, Uniform01 random);

    /// Queues a delivery; returns its id (ids grow from 1). Drops the oldest waiting one
    /// when `capacity` are already waiting.
    std::uint64_t enqueue(std::string body, TimePoint now);

    /// What to send now: at most one action, when nothing is in flight and the oldest
    /// delivery is due. Also expires a lost attempt (no result by deadline + 1 s).
    std::vector<SendAction> tick(TimePoint now);

    /// The result of attempt `id`. Ignored (nullopt) when `id` is not in flight: a late
    /// result after expiry, or a repeated report.
    std::optional<Completion> on_result(std::uint64_t id, const DeliveryResult& result,
                                        TimePoint now);

    /// When tick() has something to do next (a due delivery or an attempt's expiry);
    /// nullopt when the queue is empty.
    std::optional<TimePoint> next_wakeup() const;

    const QueueStats& stats() const { return stats_; }
    /// Waiting + in flight.
    std::size_t size() const { return items_.size(); }
    bool in_flight() const { return in_flight_; }

    /// A config reload: the new capacity (≥ 1) and per-attempt timeout. Waiting deliveries
    /// beyond the new capacity are dropped oldest first and counted as dropped; the one in
    /// flight keeps its deadline. Returns how many were dropped.
    std::size_t reconfigure(std::size_t capacity, Duration timeout);

    /// Makes every waiting delivery due at `now` (its backoff was earned against a
    /// destination that has since changed). Attempt counts stay.
    void retry_now(TimePoint now);

    /// The backoff before attempt `attempt + 1` after `attempt` failed (jitter included).
    Duration backoff(std::uint32_t attempt);

  private:
    struct Item {
        std::uint64_t id;
        std::string body;
        std::uint32_t attempts = 0;  ///< attempts made
        TimePoint not_before{};
        TimePoint sent_at{};
    };
    void finish_front(TimePoint now);
    void update_length() { stats_.queue_length = items_.size(); }

    std::size_t capacity_;
    Duration timeout_;
    RetryPolicy policy_;
    Uniform01 random_;
    std::deque<Item> items_;  ///< front is in flight when in_flight_
    bool in_flight_ = false;
    std::uint64_t next_id_ = 1;
    QueueStats stats_;
};

}  // namespace picket::alert
