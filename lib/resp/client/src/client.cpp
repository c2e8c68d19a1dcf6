#include "picket/resp/client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <utility>

namespace picket::resp {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using Clock = Client::Clock;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string_view kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::kTimeout:
            return "timeout";
        case ErrorKind::kRefused:
            return "refused";
        case ErrorKind::kReset:
            return "reset";
        case ErrorKind::kClosed:
            return "closed";
        case ErrorKind::kUnreachable:
            return "unreachable";
        case ErrorKind::kResolve:
            return "resolve";
        case ErrorKind::kTls:
            return "tls";
        case ErrorKind::kAuth:
            return "auth";
        case ErrorKind::kProtocol:
            return "protocol";
        case ErrorKind::kLimit:
            return "limit";
        case ErrorKind::kCancelled:
            return "cancelled";
        case ErrorKind::kIo:
            return "io";
    }
    return "unknown";
}

/// Maps a socket or TLS error to the kinds failure detection cares about.
ClientError classify(const error_code& ec, std::string_view what, std::string_view endpoint) {
    ErrorKind kind = ErrorKind::kIo;
    if (ec == asio::error::connection_refused) {
        kind = ErrorKind::kRefused;
    } else if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
               ec == asio::error::connection_aborted) {
        kind = ErrorKind::kReset;
    } else if (ec == asio::error::eof || ec == asio::error::operation_aborted ||
               ec == asio::error::bad_descriptor || ec == asio::ssl::error::stream_truncated) {
        kind = ErrorKind::kClosed;
    } else if (ec == asio::error::timed_out) {
        kind = ErrorKind::kTimeout;
    } else if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) {
        kind = ErrorKind::kUnreachable;
    } else if (ec.category() == asio::error::get_ssl_category()) {
        kind = ErrorKind::kTls;
    }
    std::string message = std::string(endpoint) + ": " + std::string(what) + ": ";
    message += ec == asio::error::eof ? std::string("connection closed by server") : ec.message();
    return ClientError{kind, std::move(message)};
}

/// A one-shot wake-up between the reader (producer) and one awaiting coroutine, on one
/// thread: the waiter sleeps on `timer` until its deadline; fire() cancels the sleep.
struct Signal {
    explicit Signal(const asio::any_io_executor& ex) : timer(ex) {}

    void fire() {
        fired = true;
        timer.cancel();
    }

    /// True when fired; false when the deadline passed or the waiter was cancelled.
    awaitable<bool> wait(Clock::time_point deadline) {
        if (fired) {
            co_return true;
        }
        timer.expires_at(deadline);
        co_await timer.async_wait(kAsTuple);
        co_return fired;
    }

    asio::steady_timer timer;
    bool fired = false;
};

/// An exec() in flight: how many replies it expects and what came back.
struct Pending {
    Pending(const asio::any_io_executor& ex, std::size_t n) : signal(ex), expected(n) {}
    Signal signal;
    std::size_t expected;
    std::vector<Reply> replies;
    std::optional<ClientError> error;
    /// Set when the waiter gave up (deadline) and wants a late reply anyway.
    std::function<void(Reply)> on_late;
};

/// The byte stream: a plain TCP socket, or TLS over it after the handshake.
class Transport {
  public:
    explicit Transport(const asio::any_io_executor& ex) : socket_(ex) {}

    tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
    ssl::stream<tcp::socket>& start_tls(ssl::context& ctx) {
        tls_.emplace(std::move(socket_), ctx);
        return *tls_;
    }

    awaitable<std::tuple<error_code, std::size_t>> read_some(asio::mutable_buffer buf) {
        if (tls_) {
            co_return co_await tls_->async_read_some(buf, kAsTuple);
        }
        co_return co_await socket_.async_read_some(buf, kAsTuple);
    }
    awaitable<std::tuple<error_code, std::size_t>> write(asio::const_buffer buf) {
        if (tls_) {
            co_return co_await asio::async_write(*tls_, buf, kAsTuple);
        }
        co_return co_await asio::async_write(socket_, buf, kAsTuple);
    }
    void close() {
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

  private:
    tcp::socket socket_;
    std::optional<ssl::stream<tcp::socket>> tls_;
};

/// One TCP/TLS connection and its FIFO of outstanding requests. Owned jointly by the
/// client and its reader/writer coroutines, so either may outlive the other.
struct Connection : std::enable_shared_from_this<Connection> {
    Connection(const asio::any_io_executor& ex, const ReaderLimits& limits, std::string ep)
        : executor(ex), transport(ex), reader(limits), endpoint(std::move(ep)) {}

    /// Closes the connection and completes every outstanding request with `error`.
    void fail(ClientError error) {
        if (!open) {
            return;
        }
        open = false;
        transport.close();
        auto failed = std::move(pending);
        pending.clear();
        for (auto& p : failed) {
            p->error = error;
            p->signal.fire();
        }
    }

    /// fail() for a loss we did not ask for: also tells the owner's on_lost at once.
    void lost(ClientError error) {
        if (!open) {
            return;  // closed by us (or already failed): nothing was lost
        }
        fail(error);
        if (on_lost) {
            on_lost(error);
        }
    }

    /// Queues a request's bytes and starts the writer if it is idle.
    void send(std::shared_ptr<Pending> p, std::string bytes);

    asio::any_io_executor executor;
    Transport transport;
    ReplyReader reader;
    std::string endpoint;
    std::deque<std::shared_ptr<Pending>> pending;
    std::string outbox;
    bool writing = false;
    bool open = true;
    std::function<void(const ClientError&)> on_lost;
};

awaitable<void> write_loop(std::shared_ptr<Connection> c) {
    std::string inflight;
    while (c->open && !c->outbox.empty()) {
        inflight.clear();
        std::swap(inflight, c->outbox);
        auto [ec, n] = co_await c->transport.write(asio::buffer(inflight));
        if (ec) {
            c->lost(classify(ec, "write", c->endpoint));
            break;
        }
    }
    c->writing = false;
}

void Connection::send(std::shared_ptr<Pending> p, std::string bytes) {
    pending.push_back(std::move(p));
    outbox += bytes;
    if (!writing) {
        writing = true;
        asio::co_spawn(executor, write_loop(shared_from_this()), asio::detached);
    }
}

awaitable<void> read_loop(std::shared_ptr<Connection> c) {
    std::array<char, 16 * 1024> buf{};
    while (c->open) {
        auto [ec, n] = co_await c->transport.read_some(asio::buffer(buf));
        if (ec) {
            c->lost(classify(ec, "read", c->endpoint));
            co_return;
        }
        if (auto fed = c->reader.feed(std::string_view(buf.data(), n)); !fed) {
            c->fail(ClientError{ErrorKind::kLimit, c->endpoint + ": " + fed.error().message});
            co_return;
        }
        while (c->open) {
            auto next = c->reader.next();
            if (!next) {
                const auto kind = next.error().kind == ReaderError::Kind::kLimit
                                      ? ErrorKind::kLimit
                                      : ErrorKind::kProtocol;
                c->fail(ClientError{kind, c->endpoint + ": " + next.error().message});
                co_return;
            }
            if (!next->has_value()) {
                break;
            }
            if (c->pending.empty()) {
                c->fail(ClientError{ErrorKind::kProtocol, c->endpoint + ": unsolicited reply " +
                                                              (*next)->debug_string(80)});
                co_return;
            }
            auto& front = c->pending.front();
            front->replies.push_back(std::move(**next));
            if (front->replies.size() == front->expected) {
                auto done = std::move(front);
                c->pending.pop_front();
                done->signal.fire();  // a timed-out request has no waiter: a no-op
                if (done->on_late && done->replies.size() == 1) {
                    done->on_late(std::move(done->replies.front()));
                }
            }
        }
    }
}

/// A connect in progress that other callers wait on instead of dialling again.
struct ConnectAttempt {
    std::vector<std::shared_ptr<Signal>> waiters;
    std::optional<Expected<void, ClientError>> result;
};

bool is_ip_address(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

std::string_view to_string(ErrorKind kind) {
    return kind_name(kind);
}

std::string ClientOptions::endpoint() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
    Impl(asio::any_io_executor ex, ClientOptions o) : executor(std::move(ex)), opt(std::move(o)) {
        if (opt.tls.enabled) {
            auto ctx = io::make_client_context(opt.tls);
            if (ctx) {
                tls_context.emplace(std::move(*ctx));
            } else {
                tls_context_error = ctx.error();
            }
        }
    }

    ClientError error(ErrorKind kind, std::string_view what) const {
        return ClientError{kind, opt.endpoint() + ": " + std::string(what)};
    }

    awaitable<Expected<void, ClientError>> ensure_connected(Clock::time_point deadline);
    awaitable<Expected<void, ClientError>> dial(Clock::time_point deadline);
    awaitable<Expected<std::vector<Reply>, ClientError>> roundtrip(
        const std::shared_ptr<Connection>& c, const std::vector<Command>& commands,
        Clock::time_point deadline, std::function<void(Reply)> on_late = {});
    awaitable<Expected<std::vector<Reply>, ClientError>> exec(std::vector<Command> commands,
                                                              Clock::time_point deadline,
                                                              std::function<void(Reply)> on_late);

    asio::any_io_executor executor;
    ClientOptions opt;
    std::optional<ssl::context> tls_context;
    std::string tls_context_error;

    std::shared_ptr<Connection> conn;
    std::shared_ptr<ConnectAttempt> attempt;
    std::chrono::milliseconds backoff{0};
    Clock::time_point next_dial_at{};
    std::optional<ClientError> last_dial_error;
    std::uint64_t connections = 0;
    bool destroyed = false;
};

awaitable<Expected<std::vector<Reply>, ClientError>> Client::Impl::roundtrip(
    const std::shared_ptr<Connection>& c, const std::vector<Command>& commands,
    Clock::time_point deadline, std::function<void(Reply)> on_late) {
    if (!c->open) {
        co_return unexpected(error(ErrorKind::kClosed, "connection closed"));
    }
    if (c->pending.size() >= opt.max_outstanding) {
        co_return unexpected(
            error(ErrorKind::kTimeout,
                  std::to_string(c->pending.size()) + " requests unanswered: server stalled"));
    }
    auto p = std::make_shared<Pending>(executor, commands.size());
    std::string bytes;
    for (const auto& cmd : commands) {
        cmd.encode_to(bytes);
    }
    c->send(p, std::move(bytes));
    if (!co_await p->signal.wait(deadline)) {
        if (Clock::now() < deadline) {
            co_return unexpected(error(ErrorKind::kCancelled, "cancelled"));
        }
        p->on_late = std::move(on_late);  // still pending: its reply may come yet
        co_return unexpected(error(ErrorKind::kTimeout, commands.front().name() + " timed out"));
    }
    if (p->error) {
        co_return unexpected(*p->error);
    }
    co_return std::move(p->replies);
}

awaitable<Expected<void, ClientError>> Client::Impl::dial(Clock::time_point deadline) {
    if (opt.tls.enabled && !tls_context) {
        co_return unexpected(error(ErrorKind::kTls, tls_context_error));
    }
    auto c = std::make_shared<Connection>(executor, opt.limits, opt.endpoint());
    asio::steady_timer timer(executor);
    timer.expires_at(deadline);

    tcp::resolver resolver(executor);
    auto resolved =
        co_await (resolver.async_resolve(opt.host, std::to_string(opt.port), kAsTuple) ||
                  timer.async_wait(kAsTuple));
    if (resolved.index() == 1) {
        co_return unexpected(error(ErrorKind::kTimeout, "resolve timed out"));
    }
    auto [rec, endpoints] = std::get<0>(resolved);
    if (rec) {
        co_return unexpected(error(ErrorKind::kResolve, "resolve: " + rec.message()));
    }

    auto connected = co_await (asio::async_connect(c->transport.socket(), endpoints, kAsTuple) ||
                               timer.async_wait(kAsTuple));
    if (connected.index() == 1) {
        c->transport.close();
        co_return unexpected(error(ErrorKind::kTimeout, "connect timed out"));
    }
    if (auto ec = std::get<0>(std::get<0>(connected)); ec) {
        co_return unexpected(classify(ec, "connect", opt.endpoint()));
    }
    error_code ignored;
    c->transport.socket().set_option(tcp::no_delay(true), ignored);
    c->transport.socket().set_option(asio::socket_base::keep_alive(true), ignored);
    const auto user_timeout = static_cast<unsigned>(opt.tcp_user_timeout.count());
    ::setsockopt(c->transport.socket().native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT,
                 &user_timeout, sizeof user_timeout);

    if (opt.tls.enabled) {
        auto& stream = c->transport.start_tls(*tls_context);
        const std::string& name = opt.tls.server_name.empty() ? opt.host : opt.tls.server_name;
        if (!is_ip_address(name)) {
            // SNI carries host names only (RFC 6066 §3).
            SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
        }
        if (opt.tls.verify_peer && opt.tls.verify_hostname) {
            stream.set_verify_callback(ssl::host_name_verification(name));
        }
        auto shaken = co_await (stream.async_handshake(ssl::stream_base::client, kAsTuple) ||
                                timer.async_wait(kAsTuple));
        if (shaken.index() == 1) {
            c->transport.close();
            co_return unexpected(error(ErrorKind::kTimeout, "TLS handshake timed out"));
        }
        if (auto ec = std::get<0>(std::get<0>(shaken)); ec) {
            c->transport.close();
            auto e = classify(ec, "TLS handshake", opt.endpoint());
            // A server that closes on us mid-handshake is a TLS problem as far as the
            // operator is concerned (wrong port, plain-text server, client cert demanded).
            if (e.kind == ErrorKind::kClosed || e.kind == ErrorKind::kIo) {
                e.kind = ErrorKind::kTls;
            }
            co_return unexpected(std::move(e));
        }
    }

    c->on_lost = opt.on_connection_lost;
    asio::co_spawn(executor, read_loop(c), asio::detached);

    std::vector<Command> hello;
    if (!opt.password.empty()) {
        hello.push_back(opt.username.empty() ? Command{"AUTH", opt.password}
                                             : Command{"AUTH", opt.username, opt.password});
    }
    if (!opt.client_name.empty()) {
        hello.push_back(Command{"CLIENT", "SETNAME", opt.client_name});
    }
    if (!hello.empty()) {
        auto replies = co_await roundtrip(c, hello, deadline);
        if (!replies) {
            c->fail(replies.error());
            auto e = replies.error();
            if (e.kind == ErrorKind::kTimeout) {
                e.message = opt.endpoint() + ": handshake (AUTH/CLIENT SETNAME) timed out";
            }
            co_return unexpected(std::move(e));
        }
        for (std::size_t i = 0; i < replies->size(); ++i) {
            if ((*replies)[i].is_error()) {
                const std::string what = hello[i].name() + " refused: " + (*replies)[i].str;
                c->fail(error(ErrorKind::kAuth, what));
                co_return unexpected(error(ErrorKind::kAuth, what));
            }
        }
    }
    conn = std::move(c);
    ++connections;
    co_return Expected<void, ClientError>{};
}

awaitable<Expected<void, ClientError>> Client::Impl::ensure_connected(Clock::time_point deadline) {
    if (conn && conn->open) {
        co_return Expected<void, ClientError>{};
    }
    if (destroyed) {
        co_return unexpected(error(ErrorKind::kClosed, "client destroyed"));
    }
    if (attempt) {
        // Someone is already dialling: wait for their outcome (bounded by our deadline).
        auto a = attempt;
        auto s = std::make_shared<Signal>(executor);
        a->waiters.push_back(s);
        if (!co_await s->wait(deadline)) {
            co_return unexpected(error(ErrorKind::kTimeout, "connect timed out"));
        }
        co_return *a->result;
    }
    const auto now = Clock::now();
    if (last_dial_error && now < next_dial_at) {
        const auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_dial_at - now).count();
        auto e = *last_dial_error;
        e.message += " (next attempt in " + std::to_string(wait) + " ms)";
        co_return unexpected(std::move(e));
    }
    auto a = std::make_shared<ConnectAttempt>();
    attempt = a;
    auto self = shared_from_this();  // keeps us alive if the Client goes away meanwhile
    auto result = co_await dial(std::min(deadline, now + opt.connect_timeout));
    attempt.reset();
    if (destroyed && conn) {
        conn->fail(error(ErrorKind::kClosed, "client destroyed"));
        result = unexpected(error(ErrorKind::kClosed, "client destroyed"));
    }
    if (result) {
        backoff = std::chrono::milliseconds{0};
        last_dial_error.reset();
    } else {
        backoff =
            backoff.count() == 0 ? opt.reconnect_initial : std::min(backoff * 2, opt.reconnect_max);
        next_dial_at = Clock::now() + backoff;
        last_dial_error = result.error();
    }
    a->result = result;
    for (auto& w : a->waiters) {
        w->fire();
    }
    co_return result;
}

Client::Client(asio::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

Client::~Client() {
    impl_->destroyed = true;
    close();
}

awaitable<Expected<void, ClientError>> Client::connect(
    std::optional<std::chrono::milliseconds> timeout) {
    auto self = impl_;
    co_return co_await self->ensure_connected(Clock::now() +
                                              timeout.value_or(self->opt.connect_timeout));
}

awaitable<Expected<Reply, ClientError>> Client::exec(
    Command command, std::optional<std::chrono::milliseconds> timeout) {
    std::vector<Command> one;
    one.push_back(std::move(command));
    auto replies = co_await exec(std::move(one), timeout);
    if (!replies) {
        co_return unexpected(std::move(replies).error());
    }
    co_return std::move(replies->front());
}

awaitable<Expected<std::vector<Reply>, ClientError>> Client::Impl::exec(
    std::vector<Command> commands, Clock::time_point deadline, std::function<void(Reply)> on_late) {
    if (commands.empty()) {
        co_return std::vector<Reply>{};
    }
    if (auto up = co_await ensure_connected(deadline); !up) {
        co_return unexpected(up.error());
    }
    auto c = conn;
    co_return co_await roundtrip(c, commands, deadline, std::move(on_late));
}

awaitable<Expected<std::vector<Reply>, ClientError>> Client::exec(
    std::vector<Command> commands, std::optional<std::chrono::milliseconds> timeout) {
    auto self = impl_;  // the Impl outlives this coroutine even if the Client does not
    const auto deadline = Clock::now() + timeout.value_or(self->opt.command_timeout);
    co_return co_await self->exec(std::move(commands), deadline, {});
}

awaitable<Expected<Reply, ClientError>> Client::exec(Command command,
                                                     std::chrono::milliseconds timeout,
                                                     std::function<void(Reply)> on_late) {
    auto self = impl_;
    const auto deadline = Clock::now() + timeout;
    std::vector<Command> one;
    one.push_back(std::move(command));
    auto replies = co_await self->exec(std::move(one), deadline, std::move(on_late));
    if (!replies) {
        co_return unexpected(std::move(replies).error());
    }
    co_return std::move(replies->front());
}

void Client::close() {
    if (impl_->conn) {
        impl_->conn->fail(impl_->error(ErrorKind::kClosed, "closed by client"));
        impl_->conn.reset();
    }
    // An explicit close is not a failure: the next call may dial at once.
    impl_->last_dial_error.reset();
    impl_->backoff = std::chrono::milliseconds{0};
}

bool Client::connected() const {
    return impl_->conn && impl_->conn->open;
}
std::uint64_t Client::connections_made() const {
    return impl_->connections;
}
std::size_t Client::outstanding() const {
    return impl_->conn && impl_->conn->open ? impl_->conn->pending.size() : 0;
}
const ClientOptions& Client::options() const {
    return impl_->opt;
}

}  // namespace picket::resp
