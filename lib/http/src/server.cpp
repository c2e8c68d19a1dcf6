#include "picket/http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>

#include "picket/io/listen.h"
#include "session.h"

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

    detail::SessionContext context() { return {limits, handler, stats, stopped}; }

    tcp::acceptor acceptor;
    ServerLimits limits;
    Handler handler;
    ServerStats stats;
    bool stopped = false;
    /// Open connections, so stop() can close them.
    std::list<std::weak_ptr<beast::tcp_stream>> streams;
};

namespace detail {

namespace {
std::string lower(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}
}  // namespace

BeastResponse to_beast(const Response& r, unsigned version, bool keep_alive, bool head) {
    BeastResponse res{static_cast<bhttp::status>(r.status), version};
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

std::optional<Response> read_error_response(const beast::error_code& ec) {
    if (ec == bhttp::error::header_limit) {
        return Response::text(431, "request header fields too large\n");
    }
    if (ec == bhttp::error::body_limit) {
        return Response::text(413, "request body too large\n");
    }
    if (ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
        return std::nullopt;
    }
    return Response::text(400, "bad request: " + ec.message() + "\n");
}

BeastResponse answer(BeastRequest& req, const PeerInfo& peer, const SessionContext& ctx) {
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
    r.peer = peer.address;
    r.from_loopback = peer.loopback;
    Response response;
    try {
        response = ctx.handler(r);
    } catch (const std::exception& e) {
        // A handler bug must not take the daemon down with it; it is still a bug.
        response = Response::text(500, std::string("internal error: ") + e.what() + "\n");
    }
    return to_beast(response, req.version(), req.keep_alive() && !ctx.stopped,
                    req.method() == bhttp::verb::head);
}

}  // namespace detail

awaitable<void> Server::Impl::reject(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(limits.request_timeout);
    auto res = detail::to_beast(Response::text(503, "too many connections\n"), 11, false, false);
    co_await bhttp::async_write(stream, res, kAsTuple);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> Server::Impl::serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    ++stats.open_connections;
    beast::error_code ec;
    const auto remote = stream->socket().remote_endpoint(ec);
    detail::PeerInfo peer;
    peer.address =
        ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
    peer.loopback = !ec && remote.address().is_loopback();
    co_await detail::serve_connection(*stream, std::move(peer), context());
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
