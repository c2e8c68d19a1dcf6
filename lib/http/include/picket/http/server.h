#pragma once
// A small HTTP/1.1 server on Boost.Beast for picketd's read-only endpoints (/metrics,
// /livez, /readyz, /v1/status) and later its admin API.
//
// Every connection has hard limits (Beast example style): a deadline on every read and
// write, a header and a body size limit, an idle timeout between keep-alive requests, and
// a cap on concurrent connections. Oversized or slow requests get a clean 4xx or a close,
// never a crash or an unbounded buffer. Handlers are synchronous: they read in-memory
// state on the io_context thread and return the whole response.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "picket/base/expected.h"

namespace picket::http {

/// What a handler sees of a request.
struct Request {
    std::string method;                          ///< "GET", "HEAD", "POST", ...
    std::string target;                          ///< path and query as sent: "/readyz?verbose"
    std::string path;                            ///< target without the query
    std::string query;                           ///< after '?', may be empty
    std::map<std::string, std::string> headers;  ///< lower-cased names
    std::string body;
    /// Peer address, for logs ("127.0.0.1:51234").
    std::string peer;
    /// True when the request arrived on a loopback address.
    bool from_loopback = false;
};

/// What a handler returns. For HEAD requests the server sends the headers only.
struct Response {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::map<std::string, std::string> headers;  ///< extra headers

    static Response text(unsigned status, std::string body);
    static Response json(unsigned status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

/// Limits of one server; the defaults suit a metrics/status endpoint.
struct ServerLimits {
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    /// Whole-request read deadline (slowloris bound) and write deadline.
    std::chrono::milliseconds request_timeout{5000};
    /// Keep-alive connections with no new request are closed after this.
    std::chrono::milliseconds idle_timeout{30000};
    /// Connections past this are answered 503 and closed.
    std::size_t max_connections = 64;
};

/// Counters for metrics.
struct ServerStats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_rejected = 0;  ///< over max_connections
    std::uint64_t requests = 0;
    std::uint64_t bad_requests = 0;  ///< malformed, oversized or timed out
    std::size_t open_connections = 0;
};

/// Answers one connection's bytes without a socket, through the same connection loop the
/// server runs: `bytes` are parsed as one or more (pipelined) HTTP/1.1 requests under
/// `limits`, each answered by `handler`, until the bytes end, a request asks to close, or
/// one is malformed or oversized (answered 400/413/431 and the connection closed). Returns
/// everything the server would have written back. For fuzzing and tests; `stats`, when
/// given, counts as the server's would.
std::string serve_bytes(std::string_view bytes, const ServerLimits& limits, const Handler& handler,
                        ServerStats* stats = nullptr);

/// Listens on one address and serves requests with `handler` until stop().
class Server {
  public:
    /// Binds and listens at once (errors such as "address in use" are returned, with the
    /// address in the message); serving starts with start().
    static Expected<std::unique_ptr<Server>, std::string> listen(
        boost::asio::any_io_executor executor, const std::string& host, std::uint16_t port,
        ServerLimits limits, Handler handler);
    /// Listens on host:port with TLS (`tls`: a server context, e.g. io::make_server_context);
    /// every connection shakes hands within request_timeout, then is served as plain ones.
    static Expected<std::unique_ptr<Server>, std::string> listen_tls(
        boost::asio::any_io_executor executor, const std::string& host, std::uint16_t port,
        boost::asio::ssl::context tls, ServerLimits limits, Handler handler);
    /// Listens on the unix socket `path` (file mode `mode`, e.g. 0600; a stale socket file
    /// is replaced, a live one or a non-socket is an error). The file is removed at stop().
    /// Requests from it have from_loopback set and peer "unix(uid U, pid P)".
    static Expected<std::unique_ptr<Server>, std::string> listen_unix(
        boost::asio::any_io_executor executor, const std::string& path, unsigned mode,
        ServerLimits limits, Handler handler);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void start();
    /// Stops accepting and closes every open connection.
    void stop();

    /// The bound address (the real port when 0 was asked for); empty for a unix socket.
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    const ServerStats& stats() const;

    struct Impl;

  private:
    explicit Server(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace picket::http
