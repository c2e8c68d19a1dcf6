#include "picket/alert/delivery_queue.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace picket::alert {

namespace {
/// Grace after an attempt's deadline before tick() gives up waiting for the shell.
constexpr Duration kLostResultGrace = std::chrono::seconds(1);
}  // namespace

std::string_view to_string(FailureReason r) {
    switch (r) {
        case FailureReason::kHttp4xx:
            return "http_4xx";
        case FailureReason::kRedirect:
            return "redirect";
        case FailureReason::kHttp5xx:
            return "http_5xx";
        case FailureReason::kTransport:
            return "transport";
        case FailureReason::kTimeout:
            return "timeout";
    }
    return "unknown";
}

std::optional<FailureReason> DeliveryResult::failure() const {
    switch (kind) {
        case Kind::kTimeout:
            return FailureReason::kTimeout;
        case Kind::kTransportError:
            return FailureReason::kTransport;
        case Kind::kHttpStatus:
            break;
    }
    if (status >= 200 && status < 300) {
        return std::nullopt;
    }
    if (status >= 300 && status < 400) {
        return FailureReason::kRedirect;
    }
    if (status >= 400 && status < 500) {
        return FailureReason::kHttp4xx;
    }
    if (status >= 500 && status < 600) {
        return FailureReason::kHttp5xx;
    }
    return FailureReason::kTransport;
}

DeliveryQueue::DeliveryQueue(std::size_t capacity, Duration timeout, RetryPolicy policy,
                             Uniform01 random)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      timeout_(timeout),
      policy_(policy),
      random_(std::move(random)) {
    assert(policy_.max_attempts >= 1);
    assert(random_);
}

std::uint64_t DeliveryQueue::enqueue(std::string body, TimePoint now) {
    const std::size_t waiting = items_.size() - (in_flight_ ? 1 : 0);
    if (waiting >= capacity_) {
        // Drop the oldest waiting delivery (never the one in flight: its result will come).
        items_.erase(items_.begin() + (in_flight_ ? 1 : 0));
        ++stats_.dropped;
    }
    const std::uint64_t id = next_id_++;
    items_.push_back(Item{id, std::move(body), 0, now, {}});
    ++stats_.enqueued;
    update_length();
    return id;
}

Duration DeliveryQueue::backoff(std::uint32_t attempt) {
    assert(attempt >= 1);
    const double base = std::chrono::duration<double>(policy_.initial_backoff).count();
    const double cap = std::chrono::duration<double>(policy_.max_backoff).count();
    const double exp = std::min(attempt - 1, 62u);
    double delay = std::min(cap, base * std::pow(2.0, exp));
    const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
    const double r = std::clamp(random_(), 0.0, 1.0);
    delay *= 1.0 - jitter * r;
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(delay));
}

std::vector<SendAction> DeliveryQueue::tick(TimePoint now) {
    std::vector<SendAction> out;
    if (in_flight_) {
        if (now >= items_.front().sent_at + timeout_ + kLostResultGrace) {
            (void)on_result(items_.front().id, DeliveryResult::timeout(), now);
        }
        if (in_flight_) {
            return out;
        }
    }
    if (items_.empty() || items_.front().not_before > now) {
        return out;
    }
    Item& item = items_.front();
    ++item.attempts;
    if (item.attempts > 1) {
        ++stats_.retries;
    }
    item.sent_at = now;
    in_flight_ = true;
    out.push_back(SendAction{item.id, item.body, item.attempts, now + timeout_});
    return out;
}

void DeliveryQueue::finish_front(TimePoint) {
    items_.pop_front();
    in_flight_ = false;
    update_length();
}

std::optional<Completion> DeliveryQueue::on_result(std::uint64_t id, const DeliveryResult& result,
                                                   TimePoint now) {
    if (!in_flight_ || items_.front().id != id) {
        return std::nullopt;
    }
    Item& item = items_.front();
    Completion c;
    c.id = id;
    c.attempt = item.attempts;
    c.latency = std::max(Duration::zero(), now - item.sent_at);
    const double seconds = std::chrono::duration<double>(c.latency).count();
    ++stats_.latency_count;
    stats_.latency_sum_seconds += seconds;
    stats_.last_latency_seconds = seconds;
    c.reason = result.failure();
    if (!c.reason) {
        c.delivered = true;
        ++stats_.sent;
        finish_front(now);
        return c;
    }
    ++stats_.failures[static_cast<std::size_t>(*c.reason)];
    const bool retryable = *c.reason == FailureReason::kHttp5xx ||
                           *c.reason == FailureReason::kTransport ||
                           *c.reason == FailureReason::kTimeout;
    if (retryable && item.attempts < policy_.max_attempts) {
        c.will_retry = true;
        item.not_before = now + backoff(item.attempts);
        c.retry_at = item.not_before;
        in_flight_ = false;
        return c;
    }
    ++stats_.abandoned;
    finish_front(now);
    return c;
}

std::size_t DeliveryQueue::reconfigure(std::size_t capacity, Duration timeout) {
    capacity_ = std::max<std::size_t>(capacity, 1);
    timeout_ = timeout;
    std::size_t dropped = 0;
    const std::size_t first_waiting = in_flight_ ? 1 : 0;
    while (items_.size() - first_waiting > capacity_) {
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(first_waiting));
        ++stats_.dropped;
        ++dropped;
    }
    update_length();
    return dropped;
}

void DeliveryQueue::retry_now(TimePoint now) {
    for (std::size_t i = in_flight_ ? 1 : 0; i < items_.size(); ++i) {
        items_[i].not_before = std::min(items_[i].not_before, now);
    }
}

std::optional<TimePoint> DeliveryQueue::next_wakeup() const {
    if (items_.empty()) {
        return std::nullopt;
    }
    if (in_flight_) {
        return items_.front().sent_at + timeout_ + kLostResultGrace;
    }
    return items_.front().not_before;
}

}  // namespace picket::alert
