#include <gtest/gtest.h>

#include "picket/alert/delivery_queue.h"

namespace picket::alert {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) {
    return TimePoint(d);
}

struct QueueTest : ::testing::Test {
    double next_random = 0.0;  // 0 = no jitter reduction
    RetryPolicy policy{500ms, 4s, 5, 0.5};
    DeliveryQueue make(std::size_t capacity = 4) {
        return DeliveryQueue(capacity, 1s, policy, [this] { return next_random; });
    }
};

TEST_F(QueueTest, DeliversOneAtATimeInOrder) {
    auto q = make();
    const auto a = q.enqueue("a", at(0s));
    const auto b = q.enqueue("b", at(0s));
    auto sends = q.tick(at(0s));
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0].id, a);
    EXPECT_EQ(sends[0].body, "a");
    EXPECT_EQ(sends[0].deadline, at(1s));
    EXPECT_TRUE(q.tick(at(0s)).empty());  // a in flight: b waits
    const auto c = q.on_result(a, DeliveryResult::http(204), at(100ms));
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->delivered);
    EXPECT_EQ(c->latency, 100ms);
    sends = q.tick(at(100ms));
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0].id, b);
    EXPECT_TRUE(q.on_result(b, DeliveryResult::http(200), at(150ms))->delivered);
    EXPECT_EQ(q.stats().sent, 2u);
    EXPECT_EQ(q.stats().queue_length, 0u);
    EXPECT_EQ(q.stats().latency_count, 2u);
    EXPECT_NEAR(q.stats().latency_sum_seconds, 0.15, 1e-9);
    EXPECT_FALSE(q.next_wakeup());
}

TEST_F(QueueTest, RetriesServerErrorsWithCappedExponentialBackoff) {
    auto q = make();
    const auto id = q.enqueue("x", at(0s));
    TimePoint now = at(0s);
    std::vector<Duration> delays;
    for (int attempt = 1; attempt <= 5; ++attempt) {
        auto sends = q.tick(now);
        ASSERT_EQ(sends.size(), 1u) << attempt;
        EXPECT_EQ(sends[0].attempt, static_cast<std::uint32_t>(attempt));
        const auto c = q.on_result(id, DeliveryResult::http(503), now);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->reason, FailureReason::kHttp5xx);
        if (attempt < 5) {
            ASSERT_TRUE(c->will_retry);
            delays.push_back(*c->retry_at - now);
            EXPECT_TRUE(q.tick(*c->retry_at - 1ns).empty());  // not before its time
            now = *c->retry_at;
        } else {
            EXPECT_FALSE(c->will_retry);  // max_attempts reached
        }
    }
    EXPECT_EQ(delays, (std::vector<Duration>{500ms, 1s, 2s, 4s}));
    EXPECT_EQ(q.stats().failures_of(FailureReason::kHttp5xx), 5u);
    EXPECT_EQ(q.stats().retries, 4u);
    EXPECT_EQ(q.stats().abandoned, 1u);
    EXPECT_EQ(q.size(), 0u);
}

TEST_F(QueueTest, JitterScalesTheDelayDown) {
    auto q = make();
    next_random = 0.999999;
    const auto d = q.backoff(1);  // 500ms × (1 − 0.5 × ~1)
    EXPECT_GE(d, 250ms);
    EXPECT_LT(d, 251ms);
    next_random = 0.5;
    EXPECT_EQ(q.backoff(10), 3s);  // capped at 4s, × 0.75
}

TEST_F(QueueTest, ClientErrorsAndRedirectsAreNotRetried) {
    auto q = make();
    const auto a = q.enqueue("a", at(0s));
    const auto b = q.enqueue("b", at(0s));
    (void)q.tick(at(0s));
    auto c = q.on_result(a, DeliveryResult::http(400), at(0s));
    EXPECT_EQ(c->reason, FailureReason::kHttp4xx);
    EXPECT_FALSE(c->will_retry);
    (void)q.tick(at(0s));
    c = q.on_result(b, DeliveryResult::http(302), at(0s));
    EXPECT_EQ(c->reason, FailureReason::kRedirect);
    EXPECT_FALSE(c->will_retry);
    EXPECT_EQ(q.stats().abandoned, 2u);
    EXPECT_EQ(q.stats().retries, 0u);
    EXPECT_EQ(q.size(), 0u);
}

TEST_F(QueueTest, TransportErrorsAndTimeoutsAreRetried) {
    auto q = make();
    const auto a = q.enqueue("a", at(0s));
    (void)q.tick(at(0s));
    EXPECT_TRUE(q.on_result(a, DeliveryResult::transport_error(), at(0s))->will_retry);
    (void)q.tick(at(1s));
    EXPECT_TRUE(q.on_result(a, DeliveryResult::timeout(), at(2s))->will_retry);
    EXPECT_EQ(q.stats().failures_of(FailureReason::kTransport), 1u);
    EXPECT_EQ(q.stats().failures_of(FailureReason::kTimeout), 1u);
    // Odd statuses are malformed responses.
    EXPECT_EQ(DeliveryResult::http(101).failure(), FailureReason::kTransport);
    EXPECT_EQ(DeliveryResult::http(600).failure(), FailureReason::kTransport);
    EXPECT_FALSE(DeliveryResult::http(299).failure());
}

TEST_F(QueueTest, FullQueueDropsTheOldestWaitingNotTheOneInFlight) {
    auto q = make(2);
    const auto a = q.enqueue("a", at(0s));
    (void)q.tick(at(0s));  // a in flight
    q.enqueue("b", at(0s));
    q.enqueue("c", at(0s));
    q.enqueue("d", at(0s));  // b dropped
    EXPECT_EQ(q.stats().dropped, 1u);
    EXPECT_EQ(q.size(), 3u);
    EXPECT_TRUE(q.on_result(a, DeliveryResult::http(200), at(0s))->delivered);
    auto s = q.tick(at(0s));
    EXPECT_EQ(s.at(0).body, "c");
    (void)q.on_result(s[0].id, DeliveryResult::http(200), at(0s));
    s = q.tick(at(0s));
    EXPECT_EQ(s.at(0).body, "d");
}

TEST_F(QueueTest, BoundedUnderAFlood) {
    auto q = make(8);
    for (int i = 0; i < 10000; ++i) {
        q.enqueue(std::to_string(i), at(0s));
        EXPECT_LE(q.size(), 8u);
    }
    EXPECT_EQ(q.stats().dropped, 10000u - 8u);
    EXPECT_EQ(q.tick(at(0s)).at(0).body, "9992");
}

TEST_F(QueueTest, LostResultExpiresAsTimeoutAndLateResultIsIgnored) {
    auto q = make();
    const auto a = q.enqueue("a", at(0s));
    (void)q.tick(at(0s));
    EXPECT_EQ(q.next_wakeup(), at(2s));  // deadline 1s + grace 1s
    EXPECT_TRUE(q.tick(at(1500ms)).empty());
    EXPECT_TRUE(q.tick(at(2s)).empty());  // expired; retry after backoff
    EXPECT_EQ(q.stats().failures_of(FailureReason::kTimeout), 1u);
    EXPECT_FALSE(q.on_result(a, DeliveryResult::http(200), at(2100ms)));  // late: ignored
    EXPECT_EQ(q.next_wakeup(), at(2500ms));
    const auto s = q.tick(at(2500ms));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].attempt, 2u);
    EXPECT_FALSE(q.on_result(999, DeliveryResult::http(200), at(2600ms)));
    EXPECT_TRUE(q.on_result(a, DeliveryResult::http(200), at(2600ms))->delivered);
}

TEST_F(QueueTest, ReconfigureShrinksFromTheOldestWaitingAndKeepsTheOneInFlight) {
    auto q = make(4);
    const auto a = q.enqueue("a", at(0s));
    (void)q.enqueue("b", at(0s));
    (void)q.enqueue("c", at(0s));
    const auto d = q.enqueue("d", at(0s));
    ASSERT_EQ(q.tick(at(0s)).size(), 1u);  // a in flight
    EXPECT_EQ(q.reconfigure(1, 3s), 2u);   // b and c dropped, d waits
    EXPECT_EQ(q.stats().dropped, 2u);
    EXPECT_EQ(q.size(), 2u);
    EXPECT_EQ(q.stats().queue_length, 2u);
    ASSERT_TRUE(q.on_result(a, DeliveryResult::http(200), at(1s)));
    auto sends = q.tick(at(1s));
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0].id, d);
    EXPECT_EQ(sends[0].deadline, at(4s));  // the new timeout
    EXPECT_EQ(q.reconfigure(0, 1s), 0u);   // capacity at least 1; d in flight stays
    EXPECT_EQ(q.size(), 1u);
}

TEST_F(QueueTest, RetryNowClearsTheBackoffNotTheAttemptCount) {
    auto q = make();
    const auto id = q.enqueue("x", at(0s));
    ASSERT_EQ(q.tick(at(0s)).size(), 1u);
    const auto c = q.on_result(id, DeliveryResult::http(502), at(0s));
    ASSERT_TRUE(c && c->will_retry);
    EXPECT_TRUE(q.tick(at(100ms)).empty());  // backing off
    q.retry_now(at(100ms));
    EXPECT_EQ(q.next_wakeup(), at(100ms));
    auto sends = q.tick(at(100ms));
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0].attempt, 2u);
}

}  // namespace
}  // namespace picket::alert
