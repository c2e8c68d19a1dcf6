#pragma once
// Driving coroutines from a test body: run the io_context until a condition holds, with a
// hard bound so a hung operation fails the test instead of hanging CI.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <utility>

namespace picket::testing {

/// Runs `io` until `done()` or `limit` passes (a bound, not a timing assertion).
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
        if (io.stopped()) {
            io.restart();  // it ran out of work earlier; nothing pending is lost
        }
        io.run_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(done()) << "condition not reached within " << limit.count() << " ms";
    return done();
}

/// Spawns `op` on `io` and runs until it completes; returns its result.
template <class T>
T await(boost::asio::io_context& io, boost::asio::awaitable<T> op,
        std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::optional<T> out;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            auto result = co_await std::move(op);
            out.emplace(std::move(result));
        },
        boost::asio::detached);
    if (!run_until(io, [&] { return out.has_value(); }, limit)) {
        throw std::runtime_error("coroutine did not complete");
    }
    return std::move(*out);
}

/// Spawns `op` on `io` and returns a slot that holds its result once done (for tests
/// that act on the world while the operation is in flight).
template <class T>
std::shared_ptr<std::optional<T>> spawn(boost::asio::io_context& io,
                                        boost::asio::awaitable<T> op) {
    auto out = std::make_shared<std::optional<T>>();
    boost::asio::co_spawn(
        io,
        [out, op = std::move(op)]() mutable -> boost::asio::awaitable<void> {
            auto result = co_await std::move(op);
            out->emplace(std::move(result));
        },
        boost::asio::detached);
    return out;
}

}  // namespace picket::testing
