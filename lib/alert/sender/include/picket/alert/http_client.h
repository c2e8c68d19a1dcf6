#pragma once
// A minimal HTTP/1.1 client for webhooks (Beast, awaitable coroutines).
//
// One connection per request (Connection: close): notifications are rare and a fresh
// connection cannot carry a stale state. The deadline covers everything (resolve, connect,
// TLS handshake, write, read). Redirects are never followed: a 3xx is returned as it is and
// the caller counts it a failure. The response header is capped at 8 KiB and the body at
// `max_body_bytes` (more is discarded; the status still counts). HTTPS verifies the chain
// against the CA file (or the system store) and the host name (or IP SAN), and sends SNI
// for host names.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "picket/base/expected.h"
#include "picket/config/values.h"

namespace picket::alert {

struct HttpRequest {
    config::Url url;
    std::string method = "POST";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds timeout{5000};
    std::size_t max_body_bytes = 64 * 1024;
};

struct HttpResponse {
    unsigned status = 0;
    std::string body;  ///< at most max_body_bytes
    bool body_truncated = false;
    std::string location;  ///< the Location header of a 3xx, for the log
};

struct HttpError {
    enum class Kind : std::uint8_t { kTimeout, kResolve, kConnect, kTls, kIo, kProtocol };
    Kind kind = Kind::kIo;
    std::string message;
};

/// Sends `request` and reads the response. `tls` must be non-null for https URLs (a client
/// context, e.g. from picket::io::make_client_context, with verify_peer on).
boost::asio::awaitable<Expected<HttpResponse, HttpError>> http_request(
    boost::asio::any_io_executor executor, boost::asio::ssl::context* tls, HttpRequest request);

}  // namespace picket::alert
