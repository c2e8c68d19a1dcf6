#include "picket/alert/http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <variant>

namespace picket::alert {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;

using Result = Expected<HttpResponse, HttpError>;

Result fail(HttpError::Kind kind, std::string message) {
    return unexpected(HttpError{kind, std::move(message)});
}

http::request<http::string_body> build_request(const HttpRequest& r) {
    http::request<http::string_body> req;
    req.method_string(r.method);
    req.target(r.url.target.empty() ? "/" : r.url.target);
    req.version(11);
    const bool default_port =
        (r.url.https && r.url.port == 443) || (!r.url.https && r.url.port == 80);
    const bool v6 = r.url.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + r.url.host + "]" : r.url.host;
    if (!default_port) {
        host += ":" + std::to_string(r.url.port);
    }
    req.set(http::field::host, host);
    req.set(http::field::connection, "close");
    for (const auto& [k, v] : r.headers) {
        req.set(k, v);
    }
    req.body() = r.body;
    req.prepare_payload();
    return req;
}

/// Writes the request and reads the response on any stream.
template <class Stream>
asio::awaitable<Result> exchange(Stream& stream, const HttpRequest& r) {
    auto req = build_request(r);
    auto [wec, written] = co_await http::async_write(stream, req, kAsTuple);
    (void)written;
    if (wec) {
        co_return fail(HttpError::Kind::kIo, "write: " + wec.message());
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(r.max_body_bytes);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kAsTuple);
    (void)hn;
    if (hec) {
        co_return fail(
            hec == http::error::header_limit ? HttpError::Kind::kProtocol : HttpError::Kind::kIo,
            "read header: " + hec.message());
    }
    HttpResponse resp;
    resp.status = parser.get().result_int();
    if (auto it = parser.get().find(http::field::location); it != parser.get().end()) {
        resp.location = std::string(it->value().substr(0, 512));
    }
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kAsTuple);
    (void)bn;
    if (bec == http::error::body_limit) {
        resp.body_truncated = true;
    } else if (bec && bec != http::error::end_of_stream &&
               bec != asio::ssl::error::stream_truncated) {
        // The status line arrived; a broken body does not change what the receiver said.
        resp.body_truncated = true;
    }
    resp.body = std::move(parser.get().body());
    if (resp.body.size() > r.max_body_bytes) {
        resp.body.resize(r.max_body_bytes);
        resp.body_truncated = true;
    }
    co_return resp;
}

asio::awaitable<Result> run(asio::any_io_executor executor, ssl::context* tls, HttpRequest r) {
    tcp::resolver resolver(executor);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(r.url.host, std::to_string(r.url.port), kAsTuple);
    if (rec) {
        co_return fail(HttpError::Kind::kResolve, "resolve " + r.url.host + ": " + rec.message());
    }
    if (!r.url.https) {
        beast::tcp_stream stream(executor);
        auto [cec, ep] = co_await stream.async_connect(endpoints, kAsTuple);
        (void)ep;
        if (cec) {
            co_return fail(HttpError::Kind::kConnect, "connect: " + cec.message());
        }
        auto result = co_await exchange(stream, r);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return result;
    }
    if (tls == nullptr) {
        co_return fail(HttpError::Kind::kTls, "https URL without a TLS context");
    }
    beast::ssl_stream<beast::tcp_stream> stream(executor, *tls);
    auto [cec, ep] = co_await beast::get_lowest_layer(stream).async_connect(endpoints, kAsTuple);
    (void)ep;
    if (cec) {
        co_return fail(HttpError::Kind::kConnect, "connect: " + cec.message());
    }
    const bool is_ip = config::is_ipv4_literal(r.url.host) || config::is_ipv6_literal(r.url.host);
    if (!is_ip && !SSL_set_tlsext_host_name(stream.native_handle(), r.url.host.c_str())) {
        co_return fail(HttpError::Kind::kTls, "cannot set SNI name");
    }
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(r.url.host));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kAsTuple);
    if (hec) {
        co_return fail(HttpError::Kind::kTls, "tls handshake: " + hec.message());
    }
    auto result = co_await exchange(stream, r);
    // No close_notify exchange: the request said Connection: close and the answer is in;
    // waiting for a peer's close_notify could only turn a delivered notification into a
    // timeout.
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return result;
}

}  // namespace

asio::awaitable<Expected<HttpResponse, HttpError>> http_request(asio::any_io_executor executor,
                                                                ssl::context* tls,
                                                                HttpRequest request) {
    asio::steady_timer deadline(executor);
    deadline.expires_after(request.timeout);
    const auto timeout_ms = request.timeout.count();
    std::variant<Result, std::monostate> outcome = co_await (
        run(executor, tls, std::move(request)) || deadline.async_wait(asio::use_awaitable));
    if (outcome.index() == 1) {
        co_return fail(HttpError::Kind::kTimeout,
                       "no response within " + std::to_string(timeout_ms) + " ms");
    }
    co_return std::get<0>(std::move(outcome));
}

}  // namespace picket::alert
