// picket::http::Server on a unix socket (the admin API's unix: listen address): file mode,
// peer credentials, removal at stop, a stale socket file replaced, a live one or a
// non-socket refused with a clear error.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "picket/http/server.h"
#include "picket/testing/run_async.h"

namespace picket::http {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using namespace std::chrono_literals;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

class UnixSocketServerTest : public ::testing::Test {
  protected:
    UnixSocketServerTest() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "picket-http-XXXXXX").string();
        const char* made = ::mkdtemp(tmpl.data());
        EXPECT_NE(made, nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/admin.sock";
    }
    ~UnixSocketServerTest() override {
        server_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    Expected<std::unique_ptr<Server>, std::string> listen(unsigned mode = 0600) {
        return Server::listen_unix(io_.get_executor(), path_, mode, {}, [this](const Request& r) {
            last_ = r;
            return Response::text(200, "hello " + r.path + "\n");
        });
    }

    /// One request on a new connection to the socket; what came back.
    std::string exchange(const std::string& bytes) {
        auto op = [&]() -> asio::awaitable<std::string> {
            local::socket s(io_);
            auto [cec] = co_await s.async_connect(local::endpoint(path_), kAsTuple);
            if (cec) {
                co_return "connect: " + cec.message();
            }
            co_await asio::async_write(s, asio::buffer(bytes), kAsTuple);
            std::string got;
            std::array<char, 4096> buf{};
            while (true) {
                auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kAsTuple);
                if (ec) {
                    break;
                }
                got.append(buf.data(), n);
            }
            co_return got;
        };
        return testing::await(io_, op(), 5s);
    }

    static unsigned mode_of(const std::string& path) {
        struct stat st {};
        EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
        return st.st_mode & 07777;
    }

    asio::io_context io_;
    std::string dir_;
    std::string path_;
    std::unique_ptr<Server> server_;
    Request last_;
};

TEST_F(UnixSocketServerTest, ServesWithItsModeAndThePeersCredentialsAndIsRemovedAtStop) {
    auto s = listen(0600);
    ASSERT_TRUE(s) << s.error();
    server_ = std::move(*s);
    server_->start();
    EXPECT_EQ(mode_of(path_), 0600U);
    const auto out = exchange("GET /v1/x HTTP/1.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK", 0), 0U) << out;
    EXPECT_NE(out.find("hello /v1/x"), std::string::npos) << out;
    EXPECT_TRUE(last_.from_loopback);
    EXPECT_EQ(last_.peer, "unix(uid " + std::to_string(::getuid()) + ", pid " +
                              std::to_string(::getpid()) + ")");
    server_->stop();
    EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(UnixSocketServerTest, GroupModeOnRequest) {
    auto s = listen(0660);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(mode_of(path_), 0660U);
}

TEST_F(UnixSocketServerTest, StaleSocketFileIsReplaced) {
    // A socket file nobody accepts on: what a crashed picketd leaves behind.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
    ASSERT_TRUE(std::filesystem::is_socket(path_));
    auto s = listen();
    ASSERT_TRUE(s) << s.error();
    server_ = std::move(*s);
    server_->start();
    EXPECT_EQ(exchange("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0),
              0U);
}

TEST_F(UnixSocketServerTest, LiveSocketIsNotTakenOver) {
    auto first = listen();
    ASSERT_TRUE(first) << first.error();
    server_ = std::move(*first);
    server_->start();
    auto second = listen();
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("unix:" + path_), std::string::npos) << second.error();
    EXPECT_NE(second.error().find("another process accepts connections on it"), std::string::npos)
        << second.error();
    // The first still serves, on its own file.
    EXPECT_EQ(exchange("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0),
              0U);
}

TEST_F(UnixSocketServerTest, PathThatIsNotASocketIsRefusedAndKept) {
    {
        std::ofstream f(path_);
        f << "important\n";
    }
    auto s = listen();
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("exists and is not a socket"), std::string::npos) << s.error();
    std::ifstream in(path_);
    std::string content;
    std::getline(in, content);
    EXPECT_EQ(content, "important");
}

TEST_F(UnixSocketServerTest, MissingDirectoryIsAClearError) {
    path_ = dir_ + "/no-such-dir/admin.sock";
    auto s = listen();
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("cannot listen on unix:" + path_), std::string::npos) << s.error();
}

}  // namespace
}  // namespace picket::http
