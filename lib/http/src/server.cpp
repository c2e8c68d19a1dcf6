#include "picket/http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include "picket/io/listen.h"

namespace picket::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
}

Response Response::text(unsigned status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

Response Response::json(unsigned status, std::string body) {
    Response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    Impl(asio::any_io_executor ex, ServerLimits l, Handler h)
        : acceptor(ex), limits(l), handler(std::move(h)) {}

    awaitable<void> accept_loop();
    awaitable<void> serve(std::shared_ptr<beast::tcp_stream> stream);
    awaitable<void> reject(tcp::socket socket);

    tcp::acceptor acceptor;
    ServerLimits limits;
    Handler handler;
    ServerStats stats;
    bool stopped = false;
    /// Open connections, so stop() can close them.
    std::list<std::weak_ptr<beast::tcp_stream>> streams;
};

namespace {

bhttp::response<bhttp::string_body> to_beast(const Response& r, unsigned version, bool keep_alive,
                                             bool head) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
    res.set(bhttp::field::server, "picket");
    res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::cache_control, "no-store");
    for (const auto& [name, value] : r.headers) {
        res.set(name, value);
    }
    res.keep_alive(keep_alive);
    if (head) {
        res.content_length(r.body.size());
    } else {
        res.body() = r.body;
        res.prepare_payload();
    }
    return res;
}

std::string lower(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

}  // namespace

awaitable<void> Server::Impl::reject(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(limits.request_timeout);
    auto res = to_beast(Response::text(503, "too many connections\n"), 11, false, false);
    co_await bhttp::async_write(stream, res, kAsTuple);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> Server::Impl::serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    ++stats.open_connections;
    beast::flat_buffer buffer(limits.max_header_bytes + limits.max_body_bytes);
    beast::error_code ec;
    const auto remote = stream->socket().remote_endpoint(ec);
    const std::string peer =
        ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
    const bool loopback = !ec && remote.address().is_loopback();
    bool first = true;
    while (!stopped) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser.body_limit(limits.max_body_bytes);
        // The first request must arrive whole within request_timeout; between keep-alive
        // requests the connection may idle for idle_timeout.
        stream->expires_after(first ? limits.request_timeout : limits.idle_timeout);
        auto [rec, n] = co_await bhttp::async_read_header(*stream, buffer, parser, kAsTuple);
        if (!rec) {
            stream->expires_after(limits.request_timeout);
            std::tie(rec, n) = co_await bhttp::async_read(*stream, buffer, parser, kAsTuple);
        }
        first = false;
        if (rec) {
            if (rec == bhttp::error::end_of_stream || rec == asio::error::operation_aborted) {
                break;
            }
            unsigned status = 0;
            std::string why;
            if (rec == bhttp::error::header_limit) {
                status = 431;
                why = "request header fields too large";
            } else if (rec == bhttp::error::body_limit) {
                status = 413;
                why = "request body too large";
            } else if (rec != beast::error::timeout && rec != asio::error::eof &&
                       rec != asio::error::connection_reset) {
                status = 400;
                why = "bad request: " + rec.message();
            }
            ++stats.bad_requests;
            if (status != 0) {
                stream->expires_after(limits.request_timeout);
                auto res = to_beast(Response::text(status, why + "\n"), 11, false, false);
                co_await bhttp::async_write(*stream, res, kAsTuple);
            }
            break;
        }
        ++stats.requests;
        auto& req = parser.get();
        Request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        const auto q = r.target.find('?');
        r.path = r.target.substr(0, q);
        r.query = q == std::string::npos ? std::string() : r.target.substr(q + 1);
        for (const auto& field : req) {
            r.headers[lower(std::string(field.name_string()))] = std::string(field.value());
        }
        r.body = std::move(req.body());
        r.peer = peer;
        r.from_loopback = loopback;
        Response response;
        try {
            response = handler(r);
        } catch (const std::exception& e) {
            // A handler bug must not take the daemon down with it; it is still a bug.
            response = Response::text(500, std::string("internal error: ") + e.what() + "\n");
        }
        const bool keep_alive = req.keep_alive() && !stopped;
        auto res = to_beast(response, req.version(), keep_alive, req.method() == bhttp::verb::head);
        stream->expires_after(limits.request_timeout);
        auto [wec, wn] = co_await bhttp::async_write(*stream, res, kAsTuple);
        if (wec || !keep_alive) {
            break;
        }
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream->close();
    --stats.open_connections;
}

awaitable<void> Server::Impl::accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
        auto [ec, socket] = co_await acceptor.async_accept(kAsTuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || stopped) {
                break;
            }
            continue;  // e.g. EMFILE: keep serving the connections we have
        }
        if (stats.open_connections >= limits.max_connections) {
            ++stats.connections_rejected;
            asio::co_spawn(acceptor.get_executor(), reject(std::move(socket)), asio::detached);
            continue;
        }
        ++stats.connections_accepted;
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        streams.remove_if([](const auto& w) { return w.expired(); });
        streams.push_back(stream);
        asio::co_spawn(acceptor.get_executor(), serve(std::move(stream)), asio::detached);
    }
}

Expected<std::unique_ptr<Server>, std::string> Server::listen(asio::any_io_executor executor,
                                                              const std::string& host,
                                                              std::uint16_t port,
                                                              ServerLimits limits,
                                                              Handler handler) {
    auto impl = std::make_shared<Impl>(executor, limits, std::move(handler));
    if (auto ok = io::listen(impl->acceptor, host, port, "http"); !ok) {
        return unexpected(ok.error());
    }
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    stop();
}

void Server::start() {
    asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void Server::stop() {
    if (impl_->stopped) {
        return;
    }
    impl_->stopped = true;
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    for (auto& w : impl_->streams) {
        if (auto s = w.lock()) {
            s->socket().close(ignored);
        }
    }
}

tcp::endpoint Server::local_endpoint() const {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec);
}

const ServerStats& Server::stats() const {
    return impl_->stats;
}

}  // namespace picket::http
