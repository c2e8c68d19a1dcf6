#include "picket/resp/client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
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

/// PING, encoded once: the bytes ping() puts on the pipeline.
constexpr std::string_view kPingBytes = "*1\r\n$4\r\nPING\r\n";

/// Where ping() outcomes go. Shared by the client and its connections; disabled when the
/// Client is destroyed, so no report reaches an owner that is gone.
struct PingSink {
    PingHandler handler;
    bool enabled = true;

    void report(std::int64_t tag, const Expected<Reply, ClientError>& result, bool late) const {
        if (enabled && handler) {
            handler(tag, result, late);
        }
    }
};

/// One request on the pipeline: an exec() (`waiter` set) or a ping() (`waiter` null).
struct Entry {
    std::shared_ptr<Pending> waiter;
    /// ping() only: when expire() reports it timed out, what to hand back, and whether
    /// that happened already (its reply, if any, is then late).
    Clock::time_point deadline{};
    std::int64_t tag = 0;
    bool expired = false;
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

    template <class Handler>
    void async_read_some(asio::mutable_buffer buf, Handler&& handler) {
        if (tls_) {
            tls_->async_read_some(buf, std::forward<Handler>(handler));
        } else {
            socket_.async_read_some(buf, std::forward<Handler>(handler));
        }
    }
    template <class Handler>
    void async_write(asio::const_buffer buf, Handler&& handler) {
        if (tls_) {
            asio::async_write(*tls_, buf, std::forward<Handler>(handler));
        } else {
            asio::async_write(socket_, buf, std::forward<Handler>(handler));
        }
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

/// One TCP/TLS connection and its FIFO of outstanding requests. One read and at most one
/// write are in flight at any time, as plain completion handlers (no coroutine, no timer):
/// each holds the connection, so it outlives the client if need be.
struct Connection : std::enable_shared_from_this<Connection> {
    /// The read buffer starts small — a PING's reply is 7 bytes, and a watcher holds one
    /// connection per node (1,000 × 16 KiB was the largest single part of picketd's heap
    /// at 1,000 nodes) — doubles while reads fill it (CLUSTER NODES), up to the maximum,
    /// and goes back to the minimum once a read is small again.
    static constexpr std::size_t kReadBufferMin = 1024;
    static constexpr std::size_t kReadBufferMax = 16 * 1024;

    Connection(const asio::any_io_executor& ex, const ReaderLimits& limits, std::string ep,
               std::shared_ptr<const PingSink> ping_sink)
        : executor(ex),
          transport(ex),
          reader(limits),
          endpoint(std::move(ep)),
          sink(std::move(ping_sink)) {}

    /// Closes the connection and completes every outstanding request with `error`. Pings
    /// not yet reported are reported with it: here and now, or, when `defer` (a close the
    /// owner asked for, who must not be re-entered), from the executor.
    void fail(const ClientError& error, bool defer = false);

    /// fail() for a loss we did not ask for: also tells the owner's on_lost at once.
    void lost(const ClientError& error) {
        if (!open) {
            return;  // closed by us (or already failed): nothing was lost
        }
        fail(error);
        if (on_lost) {
            on_lost(error);
        }
    }

    /// Queues an exec()'s bytes.
    void send(std::shared_ptr<Pending> p, std::string_view bytes) {
        pending.push_back(Entry{std::move(p), {}, 0, false});
        queue(bytes);
    }
    /// Queues a ping().
    void send_ping(Clock::time_point deadline, std::int64_t tag) {
        pending.push_back(Entry{nullptr, deadline, tag, false});
        queue(kPingBytes);
    }
    /// Reports the pings whose deadline passed; see Client::expire.
    std::size_t expire(Clock::time_point now);

    /// Starts the read that runs for the life of the connection (each completion starts
    /// the next).
    void start_read();

    asio::any_io_executor executor;
    Transport transport;
    ReplyReader reader;
    std::string endpoint;
    std::shared_ptr<const PingSink> sink;
    std::deque<Entry> pending;
    std::string outbox;
    bool open = true;
    std::function<void(const ClientError&)> on_lost;

  private:
    void queue(std::string_view bytes) {
        outbox.append(bytes);
        if (!writing) {
            start_write();
        }
    }
    void start_write();
    void on_written(const error_code& ec);
    void on_read(const error_code& ec, std::size_t n);
    /// Hands one reply to the request at the head of the pipeline.
    void complete_front(Reply reply);

    std::string inflight;
    bool writing = false;
    std::unique_ptr<char[]> read_buffer;
    std::size_t read_buffer_bytes = 0;              ///< allocated size of read_buffer
    std::size_t read_buffer_want = kReadBufferMin;  ///< size of the next read
};

void Connection::fail(const ClientError& error, bool defer) {
    if (!open) {
        return;
    }
    open = false;
    transport.close();
    auto failed = std::move(pending);
    pending.clear();
    std::vector<std::int64_t> pings;
    for (auto& e : failed) {
        if (e.waiter) {
            e.waiter->error = error;
            e.waiter->signal.fire();
        } else if (!e.expired) {
            pings.push_back(e.tag);
        }
    }
    if (pings.empty()) {
        return;
    }
    auto report = [sink = sink, pings = std::move(pings),
                   result = Expected<Reply, ClientError>(unexpected(error))] {
        for (const auto tag : pings) {
            sink->report(tag, result, false);
        }
    };
    if (defer) {
        asio::post(executor, std::move(report));
    } else {
        report();
    }
}

std::size_t Connection::expire(Clock::time_point now) {
    std::size_t count = 0;
    std::optional<Expected<Reply, ClientError>> timed_out;
    // By index: a report may queue another ping (push_back keeps indices valid).
    for (std::size_t i = 0; open && i < pending.size(); ++i) {
        Entry& e = pending[i];
        if (e.waiter || e.expired || e.deadline > now) {
            continue;
        }
        e.expired = true;
        ++count;
        if (!timed_out) {
            timed_out.emplace(
                unexpected(ClientError{ErrorKind::kTimeout, endpoint + ": PING timed out"}));
        }
        sink->report(e.tag, *timed_out, false);
    }
    return count;
}

void Connection::start_write() {
    writing = true;
    inflight.clear();
    std::swap(inflight, outbox);
    transport.async_write(
        asio::buffer(inflight),
        [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_written(ec); });
}

void Connection::on_written(const error_code& ec) {
    writing = false;
    if (!open) {
        return;
    }
    if (ec) {
        lost(classify(ec, "write", endpoint));
        return;
    }
    if (!outbox.empty()) {
        start_write();
    }
}

void Connection::start_read() {
    if (!read_buffer || read_buffer_bytes != read_buffer_want) {
        read_buffer = std::make_unique_for_overwrite<char[]>(read_buffer_want);
        read_buffer_bytes = read_buffer_want;
    }
    transport.async_read_some(
        asio::buffer(read_buffer.get(), read_buffer_bytes),
        [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void Connection::on_read(const error_code& ec, std::size_t n) {
    if (!open) {
        return;
    }
    if (ec) {
        lost(classify(ec, "read", endpoint));
        return;
    }
    if (auto fed = reader.feed(std::string_view(read_buffer.get(), n)); !fed) {
        fail(ClientError{ErrorKind::kLimit, endpoint + ": " + fed.error().message});
        return;
    }
    // The reader copied the bytes: the next read may use a buffer of another size.
    if (n == read_buffer_bytes && read_buffer_bytes < kReadBufferMax) {
        read_buffer_want = std::min(2 * read_buffer_bytes, kReadBufferMax);
    } else if (n <= kReadBufferMin / 2) {
        read_buffer_want = kReadBufferMin;
    }
    while (open) {
        auto next = reader.next();
        if (!next) {
            const auto kind = next.error().kind == ReaderError::Kind::kLimit ? ErrorKind::kLimit
                                                                             : ErrorKind::kProtocol;
            fail(ClientError{kind, endpoint + ": " + next.error().message});
            return;
        }
        if (!next->has_value()) {
            break;
        }
        if (pending.empty()) {
            fail(ClientError{ErrorKind::kProtocol,
                             endpoint + ": unsolicited reply " + (*next)->debug_string(80)});
            return;
        }
        complete_front(std::move(**next));
    }
    if (open) {
        start_read();
    }
}

void Connection::complete_front(Reply reply) {
    Entry& front = pending.front();
    if (!front.waiter) {
        const std::int64_t tag = front.tag;
        const bool late = front.expired;
        pending.pop_front();
        sink->report(tag, Expected<Reply, ClientError>(std::move(reply)), late);
        return;
    }
    front.waiter->replies.push_back(std::move(reply));
    if (front.waiter->replies.size() == front.waiter->expected) {
        auto done = std::move(front.waiter);
        pending.pop_front();
        done->signal.fire();  // a timed-out request has no waiter: a no-op
        if (done->on_late && done->replies.size() == 1) {
            done->on_late(std::move(done->replies.front()));
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
    Impl(asio::any_io_executor ex, ClientOptions o)
        : executor(std::move(ex)),
          opt(std::move(o)),
          ping_sink(std::make_shared<PingSink>(PingSink{opt.on_ping, true})) {
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
    /// Puts a ping on an open connection's pipeline, or reports it refused (too many
    /// unanswered) from the executor.
    void send_ping(Connection& c, Clock::time_point deadline, std::int64_t tag);

    asio::any_io_executor executor;
    ClientOptions opt;
    std::optional<ssl::context> tls_context;
    std::string tls_context_error;
    std::shared_ptr<PingSink> ping_sink;

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
    c->send(p, bytes);
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
    auto c = std::make_shared<Connection>(executor, opt.limits, opt.endpoint(), ping_sink);
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
    c->start_read();

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

void Client::Impl::send_ping(Connection& c, Clock::time_point deadline, std::int64_t tag) {
    if (c.pending.size() >= opt.max_outstanding) {
        auto e = error(ErrorKind::kTimeout,
                       std::to_string(c.pending.size()) + " requests unanswered: server stalled");
        asio::post(executor, [sink = ping_sink, tag, e = std::move(e)] {
            sink->report(tag, unexpected(e), false);
        });
        return;
    }
    c.send_ping(deadline, tag);
}

namespace {

/// ping() on a connection that is not open: connect (or learn the backoff's error), then
/// send. Rare (a down server, or the first ping), so a coroutine is fine here.
awaitable<void> ping_after_connect(std::shared_ptr<Client::Impl> self, Clock::time_point deadline,
                                   std::int64_t tag) {
    // co_spawn starts us inline: leave ping() before anything can be reported.
    co_await asio::post(self->executor, asio::use_awaitable);
    auto up = co_await self->ensure_connected(deadline);
    if (!up) {
        self->ping_sink->report(tag, unexpected(up.error()), false);
        co_return;
    }
    if (!self->conn || !self->conn->open) {  // lost again before we ran
        self->ping_sink->report(
            tag, unexpected(self->error(ErrorKind::kClosed, "connection closed")), false);
        co_return;
    }
    self->send_ping(*self->conn, deadline, tag);
}

}  // namespace

Client::Client(asio::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

Client::~Client() {
    impl_->destroyed = true;
    impl_->ping_sink->enabled = false;
    close();
}

void Client::ping(std::chrono::milliseconds timeout, std::int64_t tag) {
    const auto deadline = Clock::now() + timeout;
    if (impl_->conn && impl_->conn->open) {
        impl_->send_ping(*impl_->conn, deadline, tag);
        return;
    }
    asio::co_spawn(impl_->executor, ping_after_connect(impl_, deadline, tag), asio::detached);
}

std::size_t Client::expire(Clock::time_point now) {
    if (!impl_->conn || impl_->conn->pending.empty()) {
        return 0;  // the common case, every tick for every server: nothing to look at
    }
    auto c = impl_->conn;  // a report may close the client: keep the connection meanwhile
    return c->open ? c->expire(now) : 0;
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
        impl_->conn->fail(impl_->error(ErrorKind::kClosed, "closed by client"), /*defer=*/true);
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
