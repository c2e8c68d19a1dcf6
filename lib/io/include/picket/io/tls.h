#pragma once
// TLS client settings and the asio::ssl::context built from them.

#include <boost/asio/ssl/context.hpp>

#include <string>

#include "picket/base/expected.h"

namespace picket::io {

/// How to reach a TLS server. Files are PEM. Empty ca_file means the system store.
struct TlsClientOptions {
    bool enabled = false;
    std::string ca_file;
    std::string cert_file;  ///< client certificate (optional, for tls-auth-clients yes)
    std::string key_file;   ///< its key
    /// Server name for SNI and certificate name checks; empty means the host we dial.
    std::string server_name;
    /// Check the certificate chain against the CA. Off only for tests and emergencies.
    bool verify_peer = true;
    /// Check that the certificate names server_name (or the host). Redis nodes are often
    /// dialled by IP with certificates that name hosts; the switch lets operators choose.
    bool verify_hostname = true;
};

/// Builds a client context: TLS 1.2+, CA (or default paths), optional client cert/key.
/// Errors (unreadable file, bad PEM) are values with a message naming the file.
Expected<boost::asio::ssl::context, std::string> make_client_context(
    const TlsClientOptions& options);

/// A TLS server's files (PEM). With client_ca_file set, clients must present a certificate
/// signed by that CA.
struct TlsServerOptions {
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;
};

/// Builds a server context: TLS 1.2+, certificate chain and key, optional client
/// verification. Errors name the file.
Expected<boost::asio::ssl::context, std::string> make_server_context(
    const TlsServerOptions& options);

}  // namespace picket::io
