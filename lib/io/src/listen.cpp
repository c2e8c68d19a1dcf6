#include "picket/io/listen.h"

namespace picket::io {

namespace asio = boost::asio;

Expected<void, std::string> listen(asio::ip::tcp::acceptor& acceptor, const std::string& host,
                                   std::uint16_t port, const std::string& what) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) {
        return unexpected(what + ": bad listen address '" + host + "': " + ec.message());
    }
    const asio::ip::tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return unexpected(what + ": cannot listen on " + host + ":" + std::to_string(port) + ": " +
                          ec.message());
    }
    return {};
}

}  // namespace picket::io
