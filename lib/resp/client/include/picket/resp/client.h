#pragma once
// Async RESP client on Boost.Asio C++20 coroutines, over TCP or TLS.
//
// Errors are values: every operation returns Expected<..., ClientError>; nothing throws
// across a handler. A Redis error reply (-ERR, -LOADING, ...) is not a ClientError but a
// Reply of type kError: the transport worked, the server said no.
//
// Threading: not thread-safe. All calls must come from the thread running the executor
// (picketd runs one io_context thread). The object may be destroyed while operations
// are suspended: they then complete with kClosed.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/expected.h"
#include "picket/io/tls.h"
#include "picket/resp/command.h"
#include "picket/resp/reader.h"
#include "picket/resp/reply.h"

namespace picket::resp {

/// What went wrong, classified for failure detection: kRefused and kReset say "the host
/// answered, Redis did not" (dead); kTimeout says nothing but "no answer in time".
enum class ErrorKind : std::uint8_t {
    kTimeout,      ///< deadline passed (connect, handshake or command), or too many unanswered
    kRefused,      ///< TCP connection refused
    kReset,        ///< connection reset / broken pipe
    kClosed,       ///< closed by the server (EOF) or by us (close(), destruction)
    kUnreachable,  ///< no route to host / network unreachable
    kResolve,      ///< host name did not resolve
    kTls,          ///< TLS context, handshake or certificate verification failed
    kAuth,         ///< AUTH or CLIENT SETNAME refused during the handshake
    kProtocol,     ///< the server sent something that is not RESP, or an unsolicited reply
    kLimit,        ///< a reader limit was exceeded (ReaderLimits)
    kCancelled,    ///< the awaiting coroutine was cancelled
    kIo,           ///< any other socket error
};

std::string_view to_string(ErrorKind kind);

/// A transport-level failure. `message` names the server and the cause.
struct ClientError {
    ErrorKind kind = ErrorKind::kIo;
    std::string message;
};

/// Where the answer to one Client::ping() goes (see ClientOptions::on_ping).
///   tag     what the caller passed to ping(), returned untouched;
///   result  the reply (PONG, or a Redis error such as -LOADING) or what failed;
///   late    true for a reply that came after expire() had already reported this ping
///           as a kTimeout: it proves the server alive when it answered.
using PingHandler =
    std::function<void(std::int64_t tag, const Expected<Reply, ClientError>& result, bool late)>;

/// Everything a connection needs; all fields have working defaults for a local Redis.
struct ClientOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    /// ACL user for `AUTH user password`; empty means legacy `AUTH password`.
    std::string username;
    /// Empty means no AUTH at all.
    std::string password;
    /// Sent with CLIENT SETNAME after AUTH; empty skips it.
    std::string client_name = "picket";
    io::TlsClientOptions tls;

    /// Bound on resolve + TCP connect + TLS handshake + AUTH/SETNAME together.
    std::chrono::milliseconds connect_timeout{1000};
    /// Deadline of exec() when the call gives none.
    std::chrono::milliseconds command_timeout{1000};
    /// After a failed connect, the next is attempted no sooner than this, doubling per
    /// failure up to reconnect_max; calls meanwhile fail at once with the last error.
    std::chrono::milliseconds reconnect_initial{50};
    std::chrono::milliseconds reconnect_max{1000};
    /// Requests sent but unanswered (timed-out ones included: their late replies are
    /// read and dropped). Past this the server is stalled and exec fails at once.
    std::size_t max_outstanding = 256;
    /// TCP_USER_TIMEOUT: the kernel drops a connection whose sent data stays unacked this
    /// long (a dead host behind a black hole). A paused Redis still acks, so it is kept.
    std::chrono::milliseconds tcp_user_timeout{10000};

    ReaderLimits limits;

    /// Called when an open connection is lost without our asking (the server closed or
    /// reset it, or a read/write failed) — at once, not at the next request. A failure
    /// detector uses it to probe again immediately: a killed Redis closes its sockets, so
    /// the loss is the earliest evidence there is. Runs on the client's executor.
    std::function<void(const ClientError&)> on_connection_lost;

    /// Receives the outcome of every ping() (and the late replies of timed-out ones), on
    /// the client's executor. Never called from inside ping() itself, and never after the
    /// Client is destroyed (so it may capture its owner by reference).
    PingHandler on_ping;

    /// "host:port" for messages.
    std::string endpoint() const;
};

/// One logical connection to one Redis server, reconnected on demand.
///
/// Requests are pipelined: several exec() calls may be outstanding at once (from
/// different coroutines), and one exec() may carry several commands; replies are matched
/// in order. A timed-out request does not close the connection (closing would flood a
/// paused server's accept queue with reconnects); its reply is dropped when it comes.
class Client {
  public:
    using Clock = std::chrono::steady_clock;

    Client(boost::asio::any_io_executor executor, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Connects now if not connected (resolve, TCP, TLS, AUTH, CLIENT SETNAME).
    boost::asio::awaitable<Expected<void, ClientError>> connect(
        std::optional<std::chrono::milliseconds> timeout = {});

    /// Sends one command and awaits its reply, connecting first if needed. The timeout
    /// (default options.command_timeout) covers any connecting too.
    boost::asio::awaitable<Expected<Reply, ClientError>> exec(
        Command command, std::optional<std::chrono::milliseconds> timeout = {});

    /// As exec(command, timeout); when the call times out, a reply that still comes later
    /// is handed to `on_late` (on the client's executor) instead of being dropped. A
    /// failure detector uses it: a late reply proves the server alive when it answered.
    boost::asio::awaitable<Expected<Reply, ClientError>> exec(Command command,
                                                              std::chrono::milliseconds timeout,
                                                              std::function<void(Reply)> on_late);

    /// Sends several commands in one write and awaits all replies (in order).
    boost::asio::awaitable<Expected<std::vector<Reply>, ClientError>> exec(
        std::vector<Command> commands, std::optional<std::chrono::milliseconds> timeout = {});

    /// Sends PING without a coroutine or timer of its own: the cheap path for a failure
    /// detector that pings many servers every few milliseconds. Pre-encoded bytes go on
    /// the pipeline; the connection's one reader matches the reply and hands it to
    /// options.on_ping with `tag`. On a connection that is not open the ping waits for a
    /// connect (or fails at once during the reconnect backoff), as exec() does.
    ///
    /// The deadline (now + timeout) is enforced by expire(), which the caller's own timer
    /// calls: there is no timer per ping. A ping that expire() reports as timed out stays
    /// on the pipeline (as exec()'s timed-out requests do: the connection is not closed)
    /// and its reply, if it comes, is reported again with late = true. A lost connection
    /// reports every ping not yet answered or expired with the loss (kClosed, kReset, ...)
    /// before on_connection_lost runs. Exactly one non-late report per ping.
    void ping(std::chrono::milliseconds timeout, std::int64_t tag);

    /// Reports (kTimeout, via options.on_ping) every ping() whose deadline is at or before
    /// `now` and that is still unanswered. Returns how many it reported.
    std::size_t expire(Clock::time_point now);

    /// Closes the connection; outstanding calls complete with kClosed (pings are reported
    /// from the executor after close() returns). The next exec() or ping() reconnects (no
    /// backoff applies to a close we asked for).
    void close();

    bool connected() const;
    /// Successful connections so far; a change means a reconnect happened.
    std::uint64_t connections_made() const;
    /// Requests sent on the current connection and not yet answered.
    std::size_t outstanding() const;
    const ClientOptions& options() const;

    struct Impl;

  private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace picket::resp
