#pragma once
// Opening a listening TCP socket with errors an operator can act on.

#include <boost/asio/ip/tcp.hpp>

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

}  // namespace picket::io
