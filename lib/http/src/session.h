#pragma once
// The connection loop of picket::http, generic over the stream it reads from: a TCP or unix
// socket stream in the server, an in-memory beast::test::stream in serve_bytes() (fuzzing
// and tests). One body of code parses, limits, routes and answers in every case.
//
// Private to lib/http.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "picket/http/server.h"

namespace picket::http::detail {

/// Who is on the other end of a connection, for Request::peer and from_loopback.
struct PeerInfo {
    std::string address;
    bool loopback = false;
};

/// What the connection loop shares with its server. Lives as long as the server.
struct SessionContext {
    const ServerLimits& limits;
    const Handler& handler;
    ServerStats& stats;
    /// Set by Server::stop(); the loop answers the request in hand and closes.
    const bool& stopped;
};

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

/// Renders `r` for the wire (HEAD: headers only).
BeastResponse to_beast(const Response& r, unsigned version, bool keep_alive, bool head);

/// The answer to a request that failed to parse: 431, 413 or 400 with the reason; nothing
/// (just close) for a clean end of stream, a timeout or a reset.
std::optional<Response> read_error_response(const boost::beast::error_code& ec);

/// Runs the handler on a parsed request (an exception becomes a 500) and renders the reply;
/// it keeps the connection alive when the request asks so and the server is not stopping.
BeastResponse answer(BeastRequest& req, const PeerInfo& peer, const SessionContext& ctx);

/// Arms the stream's deadline where the stream has one (the in-memory stream has none:
/// its reads end at the end of the input).
template <class Stream>
void set_deadline(Stream& stream, std::chrono::milliseconds d) {
    auto& lowest = boost::beast::get_lowest_layer(stream);
    if constexpr (requires { lowest.expires_after(d); }) {
        lowest.expires_after(d);
    }
}

/// Half-closes (so the peer reads our last response) and closes the stream (for TLS, the
/// socket under it: no close_notify; every response has its length, so the client does
/// not need one to know it read all).
template <class Stream>
void close_stream(Stream& stream) {
    boost::beast::error_code ignored;
    auto& lowest = boost::beast::get_lowest_layer(stream);
    if constexpr (requires { lowest.socket(); }) {
        lowest.socket().shutdown(boost::asio::socket_base::shutdown_send, ignored);
    }
    lowest.close();
}

/// Serves requests on `stream` until the peer closes, an error, a request without
/// keep-alive, or stop. Every request passes the header and body limits and the deadlines
/// of ctx.limits; a malformed or oversized one gets read_error_response() and a close.
template <class Stream>
boost::asio::awaitable<void> serve_connection(Stream& stream, PeerInfo peer, SessionContext ctx) {
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    namespace bhttp = beast::http;
    constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);
    const ServerLimits& limits = ctx.limits;
    beast::flat_buffer buffer(limits.max_header_bytes + limits.max_body_bytes);
    bool first = true;
    while (!ctx.stopped) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser.body_limit(limits.max_body_bytes);
        // The first request must arrive whole within request_timeout; between keep-alive
        // requests the connection may idle for idle_timeout.
        set_deadline(stream, first ? limits.request_timeout : limits.idle_timeout);
        auto [rec, n] = co_await bhttp::async_read_header(stream, buffer, parser, as_tuple);
        if (!rec) {
            set_deadline(stream, limits.request_timeout);
            std::tie(rec, n) = co_await bhttp::async_read(stream, buffer, parser, as_tuple);
        }
        first = false;
        if (rec) {
            if (rec == bhttp::error::end_of_stream || rec == asio::error::operation_aborted) {
                break;
            }
            ++ctx.stats.bad_requests;
            if (auto response = read_error_response(rec)) {
                set_deadline(stream, limits.request_timeout);
                auto res = to_beast(*response, 11, false, false);
                co_await bhttp::async_write(stream, res, as_tuple);
            }
            break;
        }
        ++ctx.stats.requests;
        auto res = answer(parser.get(), peer, ctx);
        set_deadline(stream, limits.request_timeout);
        auto [wec, wn] = co_await bhttp::async_write(stream, res, as_tuple);
        if (wec || !res.keep_alive()) {
            break;
        }
    }
    close_stream(stream);
}

}  // namespace picket::http::detail
