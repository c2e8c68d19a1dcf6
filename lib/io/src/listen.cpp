#include "picket/io/listen.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

namespace {

/// True when something accepts connections on the unix socket at `path`.
bool someone_listens(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
    const bool connected =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return connected;
}

}  // namespace

Expected<UnixSocketFile, std::string> listen_unix(asio::local::stream_protocol::acceptor& acceptor,
                                                  const std::string& path, unsigned mode,
                                                  const std::string& what) {
    const std::string where = what + ": cannot listen on unix:" + path + ": ";
    sockaddr_un probe{};
    if (path.empty() || path.size() >= sizeof(probe.sun_path)) {
        return unexpected(where + "the path must have 1 to " +
                          std::to_string(sizeof(probe.sun_path) - 1) + " bytes");
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return unexpected(where + "the path exists and is not a socket");
        }
        if (someone_listens(path)) {
            return unexpected(where + "another process accepts connections on it");
        }
        // A stale socket of a process that is gone: nobody can use it any more.
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            return unexpected(where + "cannot remove the stale socket: " + std::strerror(errno));
        }
    } else if (errno != ENOENT) {
        return unexpected(where + std::strerror(errno));
    }
    boost::system::error_code ec;
    const asio::local::stream_protocol::endpoint endpoint(path);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor.bind(endpoint, ec);
    }
    if (ec) {
        return unexpected(where + ec.message());
    }
    UnixSocketFile file{path, 0, 0};
    // Bound but not listening yet: a connect is refused until the mode is right.
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0 || ::lstat(path.c_str(), &st) != 0) {
        const std::string why = std::strerror(errno);
        acceptor.close(ec);
        ::unlink(path.c_str());
        return unexpected(where + "cannot set its mode: " + why);
    }
    file.device = st.st_dev;
    file.inode = st.st_ino;
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        const std::string why = ec.message();
        acceptor.close(ec);
        remove_unix_socket(file);
        return unexpected(where + why);
    }
    return file;
}

void remove_unix_socket(const UnixSocketFile& file) {
    struct stat st {};
    if (!file.path.empty() && ::lstat(file.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_dev == file.device && st.st_ino == file.inode) {
        ::unlink(file.path.c_str());
    }
}

}  // namespace picket::io
