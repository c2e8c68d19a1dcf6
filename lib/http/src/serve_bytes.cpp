// serve_bytes(): the server's connection loop over an in-memory stream.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include "picket/http/server.h"
#include "session.h"

namespace picket::http {

std::string serve_bytes(std::string_view bytes, const ServerLimits& limits, const Handler& handler,
                        ServerStats* stats) {
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    asio::io_context io;
    beast::test::stream server(io);
    beast::test::stream client(io);
    server.connect(client);
    server.append(bytes);
    // The server reads `bytes`, then end of stream (a client that sent all and waits).
    server.close_remote();
    ServerStats local;
    const bool stopped = false;
    const detail::SessionContext ctx{limits, handler, stats != nullptr ? *stats : local, stopped};
    asio::co_spawn(io, detail::serve_connection(server, detail::PeerInfo{"memory", false}, ctx),
                   asio::detached);
    // Bounded: every read ends at the end of the input, every write completes at once.
    io.run();
    return std::string(client.str());
}

}  // namespace picket::http
