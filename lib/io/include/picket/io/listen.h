#pragma once
// Opening a listening TCP socket with errors an operator can act on.

#include <sys/types.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstdint>
#include <string>

#include "picket/base/expected.h"

namespace picket::io {

/// Opens, binds (SO_REUSEADDR) and listens `acceptor` on host:port. Errors name the
/// component (`what`: "http", "peer") and the address: "peer: cannot listen on
/// 0.0.0.0:7700: Address already in use".
Expected<void, std::string> listen(boost::asio::ip::tcp::acceptor& acceptor,
                                   const std::string& host, std::uint16_t port,
                                   const std::string& what);

/// A unix socket file this process created, so that it removes only its own file.
struct UnixSocketFile {
    std::string path;
    dev_t device = 0;
    ino_t inode = 0;
};

/// Listens `acceptor` on the unix socket `path` with file mode `mode` (e.g. 0600). A stale
/// socket file (nobody accepts on it: a crashed predecessor) is replaced; a live one, or a
/// path that is not a socket, is an error that says so. The file gets its mode before
/// listen(), so nobody connects through looser permissions. Errors name `what` and path.
Expected<UnixSocketFile, std::string> listen_unix(
    boost::asio::local::stream_protocol::acceptor& acceptor, const std::string& path, unsigned mode,
    const std::string& what);

/// Removes the socket file if it is still the one listen_unix() created.
void remove_unix_socket(const UnixSocketFile& file);

}  // namespace picket::io
