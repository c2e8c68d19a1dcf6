// picket::http::Server over loopback with raw sockets, so every hostile case is exact:
// oversized headers and bodies, a slowloris client, too many connections, garbage,
// HEAD, keep-alive, and a throwing handler.

#include "picket/http/server.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "picket/testing/run_async.h"

namespace picket::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

class HttpServerTest : public ::testing::Test {
  protected:
    void start(ServerLimits limits = {}) {
        auto s = Server::listen(io_.get_executor(), "127.0.0.1", 0, limits,
                                [this](const Request& r) { return handle(r); });
        ASSERT_TRUE(s) << s.error();
        server_ = std::move(*s);
        server_->start();
    }

    Response handle(const Request& r) {
        last_ = r;
        if (r.path == "/hello") {
            return Response::text(200, "hello\n");
        }
        if (r.path == "/echo") {
            return Response::text(200, r.body);
        }
        if (r.path == "/throw") {
            throw std::runtime_error("boom");
        }
        return Response::text(404, "not found\n");
    }

    /// Sends raw bytes on a new connection and reads until the server closes it (or
    /// `limit`); returns what came back.
    std::string exchange(const std::string& bytes, std::chrono::milliseconds limit = 5s,
                         bool close_write = false) {
        auto op = [&]() -> asio::awaitable<std::string> {
            tcp::socket s(io_);
            co_await s.async_connect(server_->local_endpoint(), kAsTuple);
            co_await asio::async_write(s, asio::buffer(bytes), kAsTuple);
            if (close_write) {
                s.shutdown(tcp::socket::shutdown_send);
            }
            std::string got;
            std::array<char, 4096> buf{};
            while (true) {
                auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kAsTuple);
                if (ec) {
                    break;
                }
                got.append(buf.data(), n);
            }
            co_return got;
        };
        return testing::await(io_, op(), limit);
    }

    asio::io_context io_;
    std::unique_ptr<Server> server_;
    Request last_;
};

TEST_F(HttpServerTest, ServesGetWithNoStoreAndClosesWhenAsked) {
    start();
    auto got = exchange("GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    EXPECT_NE(got.find("Cache-Control: no-store\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("Content-Length: 6\r\n"), std::string::npos) << got;
    EXPECT_EQ(got.substr(got.size() - 6), "hello\n");
    EXPECT_EQ(last_.path, "/hello");
    EXPECT_EQ(last_.query, "x=1");
    EXPECT_EQ(last_.headers.at("host"), "a");
    EXPECT_TRUE(last_.from_loopback);
}

TEST_F(HttpServerTest, HeadSendsHeadersOnly) {
    start();
    auto got = exchange("HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    EXPECT_NE(got.find("Content-Length: 6\r\n"), std::string::npos) << got;
    EXPECT_EQ(got.substr(got.size() - 4), "\r\n\r\n") << "no body after the headers";
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequests) {
    start();
    auto got = exchange(
        "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos);
    EXPECT_NE(got.find("HTTP/1.1 404 Not Found"), std::string::npos) << got;
    EXPECT_EQ(server_->stats().requests, 2u);
}

TEST_F(HttpServerTest, OversizedHeaderGets431) {
    ServerLimits limits;
    limits.max_header_bytes = 1024;
    start(limits);
    auto got =
        exchange("GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4096, 'x') + "\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 431", 0), 0u) << got.substr(0, 100);
    EXPECT_EQ(server_->stats().bad_requests, 1u);
}

TEST_F(HttpServerTest, OversizedBodyGets413) {
    ServerLimits limits;
    limits.max_body_bytes = 100;
    start(limits);
    auto got = exchange("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" +
                        std::string(1000, 'b'));
    EXPECT_EQ(got.rfind("HTTP/1.1 413", 0), 0u) << got.substr(0, 100);
}

TEST_F(HttpServerTest, BodyWithinLimitIsDelivered) {
    start();
    auto got = exchange(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde");
    EXPECT_EQ(got.substr(got.size() - 5), "abcde");
}

TEST_F(HttpServerTest, GarbageGets400) {
    start();
    auto got = exchange("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
}

TEST_F(HttpServerTest, SlowClientIsDisconnectedAtTheDeadline) {
    ServerLimits limits;
    limits.request_timeout = 200ms;
    start(limits);
    // Half a request line, then nothing: the server must hang up on its own.
    auto got = exchange("GET /hel", 5s);
    EXPECT_EQ(got, "") << "closed without a response";
    EXPECT_EQ(server_->stats().bad_requests, 1u);
    EXPECT_EQ(server_->stats().open_connections, 0u);
}

TEST_F(HttpServerTest, ConnectionsPastTheCapGet503) {
    ServerLimits limits;
    limits.max_connections = 1;
    limits.request_timeout = 2s;
    start(limits);
    // Hold one connection open with half a request.
    tcp::socket holder(io_);
    holder.connect(server_->local_endpoint());
    asio::write(holder, asio::buffer(std::string("GET /hel")));
    testing::run_until(io_, [&] { return server_->stats().open_connections == 1; });
    auto got = exchange("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 503", 0), 0u) << got;
    EXPECT_EQ(server_->stats().connections_rejected, 1u);
}

TEST_F(HttpServerTest, ThrowingHandlerGets500AndServerLives) {
    start();
    auto got = exchange("GET /throw HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 500", 0), 0u) << got;
    auto again = exchange("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(again.rfind("HTTP/1.1 200", 0), 0u) << again;
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
    start();
    tcp::socket idle(io_);
    idle.connect(server_->local_endpoint());
    testing::run_until(io_, [&] { return server_->stats().open_connections == 1; });
    server_->stop();
    testing::run_until(io_, [&] { return server_->stats().open_connections == 0; });
}

TEST(HttpServerListen, AddressInUseIsAClearError) {
    asio::io_context io;
    auto first = Server::listen(io.get_executor(), "127.0.0.1", 0, {},
                                [](const Request&) { return Response::text(200, ""); });
    ASSERT_TRUE(first);
    const auto port = (*first)->local_endpoint().port();
    auto second = Server::listen(io.get_executor(), "127.0.0.1", port, {},
                                 [](const Request&) { return Response::text(200, ""); });
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << second.error();
    auto bad = Server::listen(io.get_executor(), "not-an-ip", 0, {},
                              [](const Request&) { return Response::text(200, ""); });
    ASSERT_FALSE(bad);
}

}  // namespace
}  // namespace picket::http
