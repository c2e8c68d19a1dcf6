// picket::resp::Client against scripted in-process servers on loopback: what a broken
// or hostile server can do to us (garbage, huge lengths, unsolicited replies, late
// replies, closing mid-command). Real-Redis behaviour is in tests/integration.

#include "picket/resp/client.h"

#include <gtest/gtest.h>

#include "picket/testing/run_async.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>

namespace picket::resp {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

using testing::await;
using testing::run_until;

/// A server that accepts connections one after another on one port and runs the script
/// on each (the script gets the connection's index: 0, 1, ...).
class ScriptedServer {
  public:
    using Script = std::function<asio::awaitable<void>(tcp::socket&, int)>;

    ScriptedServer(asio::io_context& io, std::function<asio::awaitable<void>(tcp::socket&)> script)
        : ScriptedServer(
              io, [script](tcp::socket& s, int) { return script(s); }, 0) {}
    ScriptedServer(asio::io_context& io, Script script, int /*indexed*/)
        : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          script_(std::move(script)) {
        asio::co_spawn(io, serve(), asio::detached);
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  private:
    asio::awaitable<void> serve() {
        for (int index = 0; index < 16; ++index) {
            auto [ec, socket] = co_await acceptor_.async_accept(kAsTuple);
            if (ec) {
                co_return;
            }
            sockets_.push_back(std::make_unique<tcp::socket>(std::move(socket)));
            asio::co_spawn(acceptor_.get_executor(), script_(*sockets_.back(), index),
                           asio::detached);
        }
    }

    tcp::acceptor acceptor_;
    std::vector<std::unique_ptr<tcp::socket>> sockets_;
    Script script_;
};

/// Reads until `n` complete commands (RESP arrays) have arrived; returns the raw bytes.
asio::awaitable<std::string> read_commands(tcp::socket& s, std::size_t n) {
    std::string got;
    std::array<char, 4096> buf{};
    while (true) {
        ReplyReader reader;
        (void)reader.feed(got);
        std::size_t complete = 0;
        while (true) {
            auto next = reader.next();
            if (!next || !next->has_value()) {
                break;
            }
            ++complete;
        }
        if (complete >= n) {
            co_return got;
        }
        auto [ec, len] = co_await s.async_read_some(asio::buffer(buf), kAsTuple);
        if (ec) {
            co_return got;
        }
        got.append(buf.data(), len);
    }
}

asio::awaitable<void> reply_after(tcp::socket& s, std::size_t commands, std::string bytes) {
    co_await read_commands(s, commands);
    co_await asio::async_write(s, asio::buffer(bytes), kAsTuple);
}

ClientOptions options_for(std::uint16_t port) {
    ClientOptions o;
    o.port = port;
    o.client_name.clear();  // no handshake: the scripts see only the test's commands
    return o;
}

TEST(Client, PipelinesAndMatchesRepliesInOrder) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 3, "+A\r\n:2\r\n$1\r\nc\r\n");
        co_await reply_after(s, 1, "+D\r\n");
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto replies =
        await(io, client.exec({Command{"ECHO", "a"}, Command{"INCR", "b"}, Command{"GET", "c"}}));
    ASSERT_TRUE(replies) << replies.error().message;
    ASSERT_EQ(replies->size(), 3u);
    EXPECT_EQ((*replies)[0], Reply::status("A"));
    EXPECT_EQ((*replies)[1], Reply::integer_reply(2));
    EXPECT_EQ((*replies)[2], Reply::string("c"));
    auto d = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, Reply::status("D"));
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(Client, LargeRepliesBetweenSmallOnesArriveWhole) {
    // The read buffer starts at 1 KiB, grows while reads fill it and shrinks again: a
    // CLUSTER NODES-sized reply between PINGs must come through whole, and so must the
    // small replies around it.
    const std::string big(300 * 1024 + 7, 'x');
    asio::io_context io;
    ScriptedServer server(io, [&](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 1, "+PONG\r\n");
        co_await reply_after(s, 1, "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n");
        co_await reply_after(s, 2,
                             "+PONG\r\n$" + std::to_string(big.size()) + "\r\n" + big + "\r\n");
        co_await reply_after(s, 1, "+PONG\r\n");
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto a = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(*a, Reply::status("PONG"));
    auto b = await(io, client.exec(Command{"GET", "big"}));
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(*b, Reply::string(big));
    auto c = await(io, client.exec({Command{"PING"}, Command{"GET", "big"}}));
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_EQ(c->size(), 2u);
    EXPECT_EQ((*c)[0], Reply::status("PONG"));
    EXPECT_EQ((*c)[1], Reply::string(big));
    auto d = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(*d, Reply::status("PONG"));
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(Client, SendsHandshakeWithAclUserAndName) {
    asio::io_context io;
    std::string seen;
    ScriptedServer server(io, [&](tcp::socket& s) -> asio::awaitable<void> {
        seen = co_await read_commands(s, 2);
        const std::string ok = "+OK\r\n+OK\r\n";
        co_await asio::async_write(s, asio::buffer(ok), kAsTuple);
    });
    auto opts = options_for(server.port());
    opts.username = "picket";
    opts.password = "s3cret";
    opts.client_name = "picket-test";
    Client client(io.get_executor(), opts);
    auto up = await(io, client.connect());
    ASSERT_TRUE(up) << up.error().message;
    EXPECT_EQ(seen, Command({"AUTH", "picket", "s3cret"}).encode() +
                        Command({"CLIENT", "SETNAME", "picket-test"}).encode());
}

TEST(Client, RefusedAuthIsAnAuthError) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 2, "-WRONGPASS invalid username-password pair\r\n+OK\r\n");
    });
    auto opts = options_for(server.port());
    opts.password = "nope";
    opts.client_name = "picket";
    Client client(io.get_executor(), opts);
    auto r = await(io, client.exec(Command{"PING"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kAuth);
    EXPECT_NE(r.error().message.find("AUTH refused: WRONGPASS"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(r.error().message.find("nope"), std::string::npos) << "password leaked";
    EXPECT_FALSE(client.connected());
}

TEST(Client, RedisErrorRepliesAreValuesNotFailures) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 1, "-LOADING Redis is loading the dataset in memory\r\n");
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto r = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->is_error());
    EXPECT_EQ(r->error_code(), "LOADING");
    EXPECT_TRUE(client.connected());
}

TEST(Client, GarbageIsAProtocolErrorAndClosesTheConnection) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 1, "HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto r = await(io, client.exec(Command{"PING"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kProtocol);
    EXPECT_NE(r.error().message.find("127.0.0.1:"), std::string::npos);
    EXPECT_FALSE(client.connected());
}

TEST(Client, HugeDeclaredArrayHitsTheElementLimit) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 1, "*2000000000\r\n:1\r\n");
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto r = await(io, client.exec(Command{"CLUSTER", "SHARDS"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kLimit);
    EXPECT_NE(r.error().message.find("exceeds limit"), std::string::npos) << r.error().message;
}

TEST(Client, EndlessBulkHitsTheBufferLimit) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await read_commands(s, 1);
        const std::string head = "$900000000\r\n";
        co_await asio::async_write(s, asio::buffer(head), kAsTuple);
        const std::string chunk(64 * 1024, 'x');
        for (int i = 0; i < 64; ++i) {  // 4 MiB at most, bounded
            auto [ec, n] = co_await asio::async_write(s, asio::buffer(chunk), kAsTuple);
            if (ec) {
                break;
            }
        }
    });
    auto opts = options_for(server.port());
    opts.limits.max_buffer_bytes = 1 << 20;
    Client client(io.get_executor(), opts);
    auto r = await(io, client.exec(Command{"GET", "k"}, 5s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kLimit);
    EXPECT_NE(r.error().message.find("unparsed bytes"), std::string::npos) << r.error().message;
}

TEST(Client, UnsolicitedReplyClosesTheConnection) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 1, "+PONG\r\n+SURPRISE\r\n");
        co_await read_commands(s, 100);  // hold the socket open until the client closes
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto r = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, Reply::status("PONG"));
    run_until(io, [&] { return !client.connected(); });
}

TEST(Client, LateReplyOfATimedOutRequestIsDroppedNotMisdelivered) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        // Answer nothing until the second command is in, then answer both.
        co_await reply_after(s, 2, "+FIRST\r\n+SECOND\r\n");
        co_await read_commands(s, 100);
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto first = await(io, client.exec(Command{"ECHO", "first"}, 50ms));
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().kind, ErrorKind::kTimeout);
    EXPECT_TRUE(client.connected()) << "a timeout must not close the connection";
    EXPECT_EQ(client.outstanding(), 1u);
    auto second = await(io, client.exec(Command{"ECHO", "second"}, 5s));
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(*second, Reply::status("SECOND"));
    EXPECT_EQ(client.outstanding(), 0u);
}

TEST(Client, TooManyUnansweredRequestsFailAtOnce) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await read_commands(s, 1000);  // a stalled server: reads, never answers
    });
    auto opts = options_for(server.port());
    opts.max_outstanding = 3;
    Client client(io.get_executor(), opts);
    for (int i = 0; i < 3; ++i) {
        auto r = await(io, client.exec(Command{"PING"}, 10ms));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
    }
    auto r = await(io, client.exec(Command{"PING"}, 10s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
    EXPECT_NE(r.error().message.find("3 requests unanswered"), std::string::npos);
}

TEST(Client, ServerClosingMidCommandFailsTheCommand) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await read_commands(s, 1);
        s.close();
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto r = await(io, client.exec(Command{"BLPOP", "q", "0"}, 5s));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().kind == ErrorKind::kClosed || r.error().kind == ErrorKind::kReset)
        << to_string(r.error().kind) << ": " << r.error().message;
}

std::uint16_t unused_port(asio::io_context& io) {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();  // closed again when `a` goes out of scope
}

TEST(Client, RefusedConnectionAndBackoff) {
    asio::io_context io;
    auto opts = options_for(unused_port(io));
    opts.reconnect_initial = 200ms;
    Client client(io.get_executor(), opts);
    auto r = await(io, client.exec(Command{"PING"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kRefused) << r.error().message;
    // Within the backoff window: same kind at once, saying when the next attempt is.
    auto again = await(io, client.exec(Command{"PING"}));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, ErrorKind::kRefused);
    EXPECT_NE(again.error().message.find("next attempt in"), std::string::npos);
    EXPECT_EQ(client.connections_made(), 0u);
}

TEST(Client, ReconnectsAfterTheServerClosesTheConnection) {
    asio::io_context io;
    ScriptedServer server(
        io,
        [](tcp::socket& s, int index) -> asio::awaitable<void> {
            if (index == 0) {
                co_await reply_after(s, 1, "+ONE\r\n");
                s.close();
            } else {
                co_await reply_after(s, 1, "+TWO\r\n");
                co_await read_commands(s, 100);
            }
        },
        0);
    Client client(io.get_executor(), options_for(server.port()));
    auto one = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(one);
    EXPECT_EQ(*one, Reply::status("ONE"));
    run_until(io, [&] { return !client.connected(); });
    auto two = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(two) << two.error().message;
    EXPECT_EQ(*two, Reply::status("TWO"));
    EXPECT_EQ(client.connections_made(), 2u);
}

TEST(Client, ConcurrentCallersShareOneConnectAndOneConnection) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 2, "+A\r\n+B\r\n");
        co_await read_commands(s, 100);
    });
    Client client(io.get_executor(), options_for(server.port()));
    auto a = testing::spawn(io, client.exec(Command{"ECHO", "a"}));
    auto b = testing::spawn(io, client.exec(Command{"ECHO", "b"}));
    run_until(io, [&] { return a->has_value() && b->has_value(); });
    ASSERT_TRUE(**a);
    ASSERT_TRUE(**b);
    EXPECT_EQ(***a, Reply::status("A"));
    EXPECT_EQ(***b, Reply::status("B"));
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(Client, DestroyingTheClientCompletesOutstandingCalls) {
    asio::io_context io;
    ScriptedServer server(
        io, [](tcp::socket& s) -> asio::awaitable<void> { co_await read_commands(s, 1000); });
    auto client = std::make_unique<Client>(io.get_executor(), options_for(server.port()));
    std::optional<Expected<Reply, ClientError>> out;
    const Command ping{
        "PING"};  // outside the coroutine: GCC 12 miscompiles braced temporaries there
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto result = co_await client->exec(ping, 30s);
            out.emplace(std::move(result));
        },
        asio::detached);
    run_until(io, [&] { return client->outstanding() == 1; });
    client.reset();
    run_until(io, [&] { return out.has_value(); });
    ASSERT_FALSE(*out);
    EXPECT_EQ(out->error().kind, ErrorKind::kClosed);
}

// ---- ping(): the callback path a failure detector uses (no coroutine, no timer per ping)

/// Records what on_ping reports, in order.
struct PingLog {
    struct Report {
        std::int64_t tag;
        Expected<Reply, ClientError> result;
        bool late;
    };
    std::vector<Report> reports;

    PingHandler handler() {
        return [this](std::int64_t tag, const Expected<Reply, ClientError>& result, bool late) {
            reports.push_back(Report{tag, result, late});
        };
    }
};

/// Waits (bounded) until `flag` is set, polling on a timer.
asio::awaitable<void> wait_for(tcp::socket& s, const bool& flag) {
    asio::steady_timer timer(s.get_executor());
    for (int i = 0; i < 4000 && !flag; ++i) {
        timer.expires_after(5ms);
        co_await timer.async_wait(kAsTuple);
    }
}

TEST(ClientPing, ReportsEachReplyWithItsTagNeverFromInsidePing) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 2, "+PONG\r\n-LOADING Redis is loading the dataset\r\n");
        co_await reply_after(s, 1, "+PONG\r\n");
        co_await read_commands(s, 100);
    });
    PingLog log;
    auto opts = options_for(server.port());
    opts.on_ping = log.handler();
    Client client(io.get_executor(), opts);
    client.ping(5s, 7);  // not connected: connects first
    client.ping(5s, 8);
    EXPECT_TRUE(log.reports.empty());
    run_until(io, [&] { return log.reports.size() == 2; });
    ASSERT_EQ(log.reports.size(), 2u);
    EXPECT_EQ(log.reports[0].tag, 7);
    ASSERT_TRUE(log.reports[0].result) << log.reports[0].result.error().message;
    EXPECT_EQ(*log.reports[0].result, Reply::status("PONG"));
    EXPECT_FALSE(log.reports[0].late);
    EXPECT_EQ(log.reports[1].tag, 8);
    ASSERT_TRUE(log.reports[1].result);
    EXPECT_EQ(log.reports[1].result->error_code(), "LOADING");

    client.ping(5s, 9);  // connected: straight onto the pipeline
    EXPECT_EQ(client.outstanding(), 1u);
    EXPECT_EQ(log.reports.size(), 2u);
    run_until(io, [&] { return log.reports.size() == 3; });
    EXPECT_EQ(log.reports[2].tag, 9);
    EXPECT_EQ(client.outstanding(), 0u);
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(ClientPing, ExpireReportsATimeoutOnceAndTheLateReplyAfterIt) {
    asio::io_context io;
    bool release = false;
    std::string seen;
    ScriptedServer server(io, [&](tcp::socket& s) -> asio::awaitable<void> {
        seen = co_await read_commands(s, 1);
        co_await wait_for(s, release);
        co_await asio::async_write(s, asio::buffer(std::string("+PONG\r\n")), kAsTuple);
        co_await read_commands(s, 100);
    });
    PingLog log;
    auto opts = options_for(server.port());
    opts.on_ping = log.handler();
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.connect()));
    client.ping(50ms, 1);
    run_until(io, [&] { return !seen.empty(); });
    EXPECT_EQ(seen, "*1\r\n$4\r\nPING\r\n");

    EXPECT_EQ(client.expire(Client::Clock::time_point{}), 0u) << "deadline not reached";
    EXPECT_TRUE(log.reports.empty());
    EXPECT_EQ(client.expire(Client::Clock::now() + 1s), 1u);
    ASSERT_EQ(log.reports.size(), 1u);
    EXPECT_EQ(log.reports[0].tag, 1);
    ASSERT_FALSE(log.reports[0].result);
    EXPECT_EQ(log.reports[0].result.error().kind, ErrorKind::kTimeout);
    EXPECT_NE(log.reports[0].result.error().message.find("PING timed out"), std::string::npos);
    EXPECT_FALSE(log.reports[0].late);
    EXPECT_EQ(client.expire(Client::Clock::now() + 1s), 0u) << "reported once";
    EXPECT_TRUE(client.connected()) << "a timeout must not close the connection";
    EXPECT_EQ(client.outstanding(), 1u) << "its reply is still expected";

    release = true;
    run_until(io, [&] { return log.reports.size() == 2; });
    ASSERT_EQ(log.reports.size(), 2u);
    EXPECT_EQ(log.reports[1].tag, 1);
    ASSERT_TRUE(log.reports[1].result);
    EXPECT_EQ(*log.reports[1].result, Reply::status("PONG"));
    EXPECT_TRUE(log.reports[1].late);
    EXPECT_EQ(client.outstanding(), 0u);
}

TEST(ClientPing, LostConnectionReportsEveryUnansweredPingBeforeOnLost) {
    asio::io_context io;
    bool release = false;
    ScriptedServer server(io, [&](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 4, "+PONG\r\n");  // answers the first of four
        co_await wait_for(s, release);
        s.close();
    });
    PingLog log;
    std::vector<std::string> order;
    auto opts = options_for(server.port());
    auto record = log.handler();
    opts.on_ping = [&](std::int64_t tag, const Expected<Reply, ClientError>& r, bool late) {
        order.push_back("ping " + std::to_string(tag));
        record(tag, r, late);
    };
    opts.on_connection_lost = [&](const ClientError&) { order.emplace_back("lost"); };
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.connect()));
    client.ping(1h, 1);   // answered
    client.ping(0ms, 2);  // expired before the loss: reported once, as a timeout
    client.ping(1h, 3);
    client.ping(1h, 4);
    run_until(io, [&] { return log.reports.size() == 1; });
    EXPECT_EQ(client.expire(Client::Clock::now()), 1u);
    ASSERT_EQ(log.reports.size(), 2u);
    EXPECT_EQ(log.reports[1].tag, 2);

    release = true;
    run_until(io, [&] { return !client.connected(); });
    ASSERT_EQ(log.reports.size(), 4u);
    for (std::size_t i = 2; i < 4; ++i) {
        EXPECT_EQ(log.reports[i].tag, static_cast<std::int64_t>(i + 1));
        ASSERT_FALSE(log.reports[i].result);
        const auto kind = log.reports[i].result.error().kind;
        EXPECT_TRUE(kind == ErrorKind::kClosed || kind == ErrorKind::kReset)
            << log.reports[i].result.error().message;
        EXPECT_FALSE(log.reports[i].late);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"ping 1", "ping 2", "ping 3", "ping 4", "lost"}));
    EXPECT_EQ(client.expire(Client::Clock::now() + 1h), 0u);
}

TEST(ClientPing, ManyOutstandingAnsweredInOneSegmentInOrder) {
    asio::io_context io;
    constexpr int kPings = 200;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        std::string pongs;
        for (int i = 0; i < kPings; ++i) {
            pongs += i % 2 == 0 ? "+PONG\r\n" : "$4\r\nPONG\r\n";
        }
        co_await reply_after(s, kPings, pongs);
        co_await read_commands(s, 1000);
    });
    PingLog log;
    auto opts = options_for(server.port());
    opts.on_ping = log.handler();
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.connect()));
    for (int i = 0; i < kPings; ++i) {
        client.ping(1h, i);
    }
    EXPECT_EQ(client.outstanding(), static_cast<std::size_t>(kPings));
    run_until(io, [&] { return log.reports.size() == kPings; });
    ASSERT_EQ(log.reports.size(), static_cast<std::size_t>(kPings));
    for (int i = 0; i < kPings; ++i) {
        EXPECT_EQ(log.reports[static_cast<std::size_t>(i)].tag, i);
        EXPECT_TRUE(log.reports[static_cast<std::size_t>(i)].result);
        EXPECT_FALSE(log.reports[static_cast<std::size_t>(i)].late);
    }
    EXPECT_EQ(client.outstanding(), 0u);
}

TEST(ClientPing, PastMaxOutstandingFailsAtOnceButNotFromInsidePing) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await read_commands(s, 1000);  // stalled: reads, never answers
    });
    PingLog log;
    auto opts = options_for(server.port());
    opts.max_outstanding = 3;
    opts.on_ping = log.handler();
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.connect()));
    for (int i = 0; i < 4; ++i) {
        client.ping(1h, i);
    }
    EXPECT_TRUE(log.reports.empty());
    run_until(io, [&] { return log.reports.size() == 1; });
    EXPECT_EQ(log.reports[0].tag, 3);
    ASSERT_FALSE(log.reports[0].result);
    EXPECT_EQ(log.reports[0].result.error().kind, ErrorKind::kTimeout);
    EXPECT_NE(log.reports[0].result.error().message.find("3 requests unanswered"),
              std::string::npos);
    EXPECT_EQ(client.outstanding(), 3u);
    EXPECT_TRUE(client.connected());
}

TEST(ClientPing, SharesThePipelineWithExecInOrder) {
    asio::io_context io;
    ScriptedServer server(io, [](tcp::socket& s) -> asio::awaitable<void> {
        co_await reply_after(s, 3, "+PONG\r\n$1\r\na\r\n+PONG\r\n");
        co_await read_commands(s, 100);
    });
    PingLog log;
    auto opts = options_for(server.port());
    opts.on_ping = log.handler();
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.connect()));
    client.ping(1h, 1);
    auto a = testing::spawn(io, client.exec(Command{"ECHO", "a"}, 5s));
    run_until(io, [&] { return client.outstanding() == 2; });
    client.ping(1h, 2);
    run_until(io, [&] { return a->has_value() && log.reports.size() == 2; });
    ASSERT_TRUE(**a);
    EXPECT_EQ(***a, Reply::string("a"));
    EXPECT_EQ(log.reports[0].tag, 1);
    EXPECT_EQ(log.reports[1].tag, 2);
    EXPECT_TRUE(log.reports[0].result && log.reports[1].result);
}

TEST(ClientPing, RefusedAndBackoffAreReported) {
    asio::io_context io;
    PingLog log;
    auto opts = options_for(unused_port(io));
    opts.reconnect_initial = 10s;
    opts.on_ping = log.handler();
    Client client(io.get_executor(), opts);
    client.ping(1s, 1);
    run_until(io, [&] { return log.reports.size() == 1; });
    ASSERT_FALSE(log.reports[0].result);
    EXPECT_EQ(log.reports[0].result.error().kind, ErrorKind::kRefused);
    client.ping(1s, 2);  // within the backoff: the same error, still not from inside ping()
    EXPECT_EQ(log.reports.size(), 1u);
    run_until(io, [&] { return log.reports.size() == 2; });
    ASSERT_FALSE(log.reports[1].result);
    EXPECT_EQ(log.reports[1].result.error().kind, ErrorKind::kRefused);
    EXPECT_NE(log.reports[1].result.error().message.find("next attempt in"), std::string::npos);
}

TEST(ClientPing, CloseReportsPendingPingsLaterAndDestructionNotAtAll) {
    asio::io_context io;
    ScriptedServer server(
        io, [](tcp::socket& s) -> asio::awaitable<void> { co_await read_commands(s, 1000); });
    PingLog log;
    bool lost = false;
    auto opts = options_for(server.port());
    opts.on_ping = log.handler();
    opts.on_connection_lost = [&](const ClientError&) { lost = true; };
    auto client = std::make_unique<Client>(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client->connect()));
    client->ping(1h, 1);
    client->close();
    EXPECT_TRUE(log.reports.empty()) << "close() must not re-enter its caller";
    run_until(io, [&] { return log.reports.size() == 1; });
    ASSERT_FALSE(log.reports[0].result);
    EXPECT_EQ(log.reports[0].result.error().kind, ErrorKind::kClosed);

    ASSERT_TRUE(await(io, client->connect()));
    client->ping(1h, 2);
    client->ping(1h, 3);
    run_until(io, [&] { return client->outstanding() == 2; });
    client.reset();
    for (int i = 0; i < 20; ++i) {  // run whatever the destruction queued
        io.restart();
        io.poll();
    }
    EXPECT_EQ(log.reports.size(), 1u) << "no report after the client is gone";
    EXPECT_FALSE(lost) << "our own close is no loss";
}

}  // namespace
}  // namespace picket::resp
