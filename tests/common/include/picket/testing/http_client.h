#pragma once
// A blocking HTTP/1.1 GET for tests (Beast on a private io_context with a hard deadline),
// for asserting on picketd's endpoints.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace picket::testing {

struct HttpResult {
    unsigned status = 0;  ///< 0 when no response arrived
    std::string body;
    std::string content_type;
    std::string error;
};

/// GET http://127.0.0.1:port/target, at most `timeout` for the whole exchange.
inline HttpResult http_get(std::uint16_t port, const std::string& target,
                           std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    HttpResult out;
    beast::flat_buffer buffer;
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream.expires_after(timeout);
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    stream.async_connect(ep, [&](beast::error_code ec) {
        if (ec) {
            out.error = "connect: " + ec.message();
            return;
        }
        http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
            if (wec) {
                out.error = "write: " + wec.message();
                return;
            }
            http::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) {
                if (rec) {
                    out.error = "read: " + rec.message();
                    return;
                }
                out.status = parser.get().result_int();
                out.body = parser.get().body();
                out.content_type = std::string(parser.get()[http::field::content_type]);
            });
        });
    });
    io.run_for(timeout + std::chrono::milliseconds(100));
    return out;
}

}  // namespace picket::testing
