#include "picket/http/server.h"

#include <sys/socket.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <list>
#include <optional>
#include <type_traits>

#include "picket/io/listen.h"
#include "session.h"

namespace picket::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
namespace local = asio::local;
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

/// What Server owns: a listener of one protocol (TCP or unix socket), its connections and
/// counters. Lives as long as its server and its last connection (shared_from_this).
struct Server::Impl {
    Impl(ServerLimits l, Handler h) : limits(l), handler(std::move(h)) {}
    virtual ~Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    virtual void start() = 0;
    /// Closes the acceptor and every open connection.
    virtual void close_all() = 0;
    virtual tcp::endpoint tcp_endpoint() const = 0;

    detail::SessionContext context() { return {limits, handler, stats, stopped}; }

    ServerLimits limits;
    Handler handler;
    ServerStats stats;
    bool stopped = false;
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

namespace {

/// Who is connected, for logs: "ip:port" (loopback or not).
detail::PeerInfo peer_of(tcp::socket& socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    detail::PeerInfo peer;
    peer.address =
        ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
    peer.loopback = !ec && remote.address().is_loopback();
    return peer;
}

/// Who is connected on a unix socket: the peer's uid and pid (SO_PEERCRED), for the audit
/// log. Local by definition.
detail::PeerInfo peer_of(local::stream_protocol::socket& socket) {
    detail::PeerInfo peer;
    peer.loopback = true;
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        peer.address =
            "unix(uid " + std::to_string(cred.uid) + ", pid " + std::to_string(cred.pid) + ")";
    } else {
        peer.address = "unix";
    }
    return peer;
}

/// A listener of one protocol: the accept loop, the connection cap, and the connections.
template <class Protocol>
struct Listener final : Server::Impl, std::enable_shared_from_this<Listener<Protocol>> {
    using Stream = beast::basic_stream<Protocol>;
    using Socket = typename Protocol::socket;
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;

    Listener(asio::any_io_executor ex, ServerLimits l, Handler h)
        : Impl(l, std::move(h)), acceptor(ex) {}

    void start() override {
        asio::co_spawn(acceptor.get_executor(), accept_loop(), asio::detached);
    }

    void close_all() override {
        beast::error_code ignored;
        acceptor.close(ignored);
        for (auto& w : streams) {
            if (auto s = w.lock()) {
                s->socket().close(ignored);
            }
        }
        for (auto& w : tls_streams) {
            if (auto s = w.lock()) {
                beast::get_lowest_layer(*s).socket().close(ignored);
            }
        }
        if constexpr (std::is_same_v<Protocol, local::stream_protocol>) {
            io::remove_unix_socket(socket_file);
        }
    }

    tcp::endpoint tcp_endpoint() const override {
        if constexpr (std::is_same_v<Protocol, tcp>) {
            beast::error_code ec;
            return acceptor.local_endpoint(ec);
        } else {
            return {};
        }
    }

    awaitable<void> reject(Socket socket) {
        Stream stream(std::move(socket));
        stream.expires_after(limits.request_timeout);
        auto res =
            detail::to_beast(Response::text(503, "too many connections\n"), 11, false, false);
        co_await bhttp::async_write(stream, res, kAsTuple);
        beast::error_code ignored;
        stream.socket().shutdown(Socket::shutdown_send, ignored);
    }

    awaitable<void> serve(std::shared_ptr<Stream> stream) {
        auto self = this->shared_from_this();
        ++stats.open_connections;
        auto peer = peer_of(stream->socket());
        co_await detail::serve_connection(*stream, std::move(peer), context());
        --stats.open_connections;
    }

    /// A TLS connection: the handshake within request_timeout, then the same loop.
    awaitable<void> serve_tls(std::shared_ptr<TlsStream> stream) {
        auto self = this->shared_from_this();
        ++stats.open_connections;
        auto& lowest = beast::get_lowest_layer(*stream);
        auto peer = peer_of(lowest.socket());
        lowest.expires_after(limits.request_timeout);
        auto [ec] = co_await stream->async_handshake(ssl::stream_base::server, kAsTuple);
        if (ec) {
            // Not TLS, a wrong or missing client certificate, or too slow: nothing to answer.
            ++stats.bad_requests;
            beast::error_code ignored;
            lowest.socket().close(ignored);
        } else {
            co_await detail::serve_connection(*stream, std::move(peer), context());
        }
        --stats.open_connections;
    }

    awaitable<void> accept_loop() {
        auto self = this->shared_from_this();
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
            if constexpr (std::is_same_v<Protocol, tcp>) {
                if (tls) {
                    auto s = std::make_shared<TlsStream>(std::move(socket), *tls);
                    tls_streams.remove_if([](const auto& w) { return w.expired(); });
                    tls_streams.push_back(s);
                    asio::co_spawn(acceptor.get_executor(), serve_tls(std::move(s)),
                                   asio::detached);
                    continue;
                }
            }
            auto stream = std::make_shared<Stream>(std::move(socket));
            streams.remove_if([](const auto& w) { return w.expired(); });
            streams.push_back(stream);
            asio::co_spawn(acceptor.get_executor(), serve(std::move(stream)), asio::detached);
        }
    }

    typename Protocol::acceptor acceptor;
    /// Open connections, so stop() can close them.
    std::list<std::weak_ptr<Stream>> streams;
    /// The socket file of a unix listener, removed at stop.
    io::UnixSocketFile socket_file;
    /// Set for a TLS listener (TCP only): connections shake hands first.
    std::optional<ssl::context> tls;
    std::list<std::weak_ptr<TlsStream>> tls_streams;
};

}  // namespace

Expected<std::unique_ptr<Server>, std::string> Server::listen(asio::any_io_executor executor,
                                                              const std::string& host,
                                                              std::uint16_t port,
                                                              ServerLimits limits,
                                                              Handler handler) {
    auto impl = std::make_shared<Listener<tcp>>(executor, limits, std::move(handler));
    if (auto ok = io::listen(impl->acceptor, host, port, "http"); !ok) {
        return unexpected(ok.error());
    }
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Expected<std::unique_ptr<Server>, std::string> Server::listen_tls(
    asio::any_io_executor executor, const std::string& host, std::uint16_t port, ssl::context tls,
    ServerLimits limits, Handler handler) {
    auto impl = std::make_shared<Listener<tcp>>(executor, limits, std::move(handler));
    impl->tls.emplace(std::move(tls));
    if (auto ok = io::listen(impl->acceptor, host, port, "http"); !ok) {
        return unexpected(ok.error());
    }
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Expected<std::unique_ptr<Server>, std::string> Server::listen_unix(asio::any_io_executor executor,
                                                                   const std::string& path,
                                                                   unsigned mode,
                                                                   ServerLimits limits,
                                                                   Handler handler) {
    auto impl =
        std::make_shared<Listener<local::stream_protocol>>(executor, limits, std::move(handler));
    auto file = io::listen_unix(impl->acceptor, path, mode, "http");
    if (!file) {
        return unexpected(file.error());
    }
    impl->socket_file = std::move(*file);
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    stop();
}

void Server::start() {
    impl_->start();
}

void Server::stop() {
    if (impl_->stopped) {
        return;
    }
    impl_->stopped = true;
    impl_->close_all();
}

tcp::endpoint Server::local_endpoint() const {
    return impl_->tcp_endpoint();
}

const ServerStats& Server::stats() const {
    return impl_->stats;
}

}  // namespace picket::http
