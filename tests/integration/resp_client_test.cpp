// picket::resp::Client against real redis-server processes: plain TCP, ACL users and
// legacy passwords, TLS (good CA, wrong CA, host names, client certificates), a server
// killed mid-command, a paused server, and reconnecting after a restart.

#include "picket/resp/client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "picket/testing/redis_node.h"
#include "picket/testing/run_async.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/tls_material.h"

namespace picket::resp {
namespace {

using namespace std::chrono_literals;
using picket::testing::await;
using picket::testing::NodeOptions;
using picket::testing::RedisNode;
using picket::testing::run_until;

NodeOptions standalone() {
    NodeOptions o;
    o.cluster_enabled = false;
    o.appendonly = false;
    return o;
}

ClientOptions options_for(const RedisNode& node) {
    ClientOptions o;
    o.port = static_cast<std::uint16_t>(node.port());
    return o;
}

std::string describe(const Expected<Reply, ClientError>& r) {
    return r ? r->debug_string()
             : std::string(to_string(r.error().kind)) + ": " + r.error().message;
}

TEST(RespClientRedis, PingSetGetPipelineAndName) {
    auto node = RedisNode::start(standalone(), "plain");
    boost::asio::io_context io;
    Client client(io.get_executor(), options_for(*node));

    auto pong = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(pong) << describe(pong);
    EXPECT_EQ(*pong, Reply::status("PONG"));

    const std::string binary("v\r\n\0x", 5);
    auto set = await(io, client.exec(Command{"SET", "k", binary}));
    ASSERT_TRUE(set) << describe(set);
    auto get = await(io, client.exec(Command{"GET", "k"}));
    ASSERT_TRUE(get) << describe(get);
    EXPECT_EQ(*get, Reply::string(binary));

    std::vector<Command> incrs(100, Command{"INCR", "n"});
    auto replies = await(io, client.exec(incrs));
    ASSERT_TRUE(replies) << replies.error().message;
    ASSERT_EQ(replies->size(), 100u);
    for (std::size_t i = 0; i < replies->size(); ++i) {
        EXPECT_EQ((*replies)[i], Reply::integer_reply(static_cast<std::int64_t>(i + 1)));
    }

    // CLIENT SETNAME ran during the handshake.
    auto name = await(io, client.exec(Command{"CLIENT", "GETNAME"}));
    ASSERT_TRUE(name) << describe(name);
    EXPECT_EQ(*name, Reply::string("picket"));

    // An error reply is a value, and the connection stays usable.
    auto bad = await(io, client.exec(Command{"NOSUCHCOMMAND"}));
    ASSERT_TRUE(bad);
    EXPECT_TRUE(bad->is_error());
    EXPECT_EQ(bad->error_code(), "ERR");
    EXPECT_TRUE(await(io, client.exec(Command{"PING"})));
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(RespClientRedis, AclUserAndWrongPassword) {
    auto node = RedisNode::start(standalone(), "acl");
    node->cli_ok({"ACL", "SETUSER", "watcher", "on", ">right-pass", "~*", "+@all"});
    boost::asio::io_context io;

    auto opts = options_for(*node);
    opts.username = "watcher";
    opts.password = "right-pass";
    Client good(io.get_executor(), opts);
    auto who = await(io, good.exec(Command{"ACL", "WHOAMI"}));
    ASSERT_TRUE(who) << describe(who);
    EXPECT_EQ(*who, Reply::string("watcher"));

    opts.password = "wrong-pass";
    Client bad(io.get_executor(), opts);
    auto refused = await(io, bad.exec(Command{"PING"}));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ErrorKind::kAuth);
    EXPECT_NE(refused.error().message.find("WRONGPASS"), std::string::npos)
        << refused.error().message;
    EXPECT_EQ(refused.error().message.find("wrong-pass"), std::string::npos) << "secret leaked";
}

TEST(RespClientRedis, AclUserWithoutClientSetnameIsAClearError) {
    auto node = RedisNode::start(standalone(), "acl-noname");
    node->cli_ok({"ACL", "SETUSER", "narrow", "on", ">pw", "+ping"});
    boost::asio::io_context io;
    auto opts = options_for(*node);
    opts.username = "narrow";
    opts.password = "pw";
    Client client(io.get_executor(), opts);
    auto r = await(io, client.exec(Command{"PING"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kAuth);
    EXPECT_NE(r.error().message.find("CLIENT SETNAME refused: NOPERM"), std::string::npos)
        << r.error().message;
    // Without a client name the narrow user is enough.
    opts.client_name.clear();
    Client unnamed(io.get_executor(), opts);
    auto pong = await(io, unnamed.exec(Command{"PING"}));
    ASSERT_TRUE(pong) << describe(pong);
}

TEST(RespClientRedis, LegacyRequirepass) {
    auto options = standalone();
    options.password = "legacy-secret";
    auto node = RedisNode::start(options, "legacy");
    boost::asio::io_context io;
    auto opts = options_for(*node);
    Client anonymous(io.get_executor(), opts);
    opts.client_name.clear();
    Client anonymous_unnamed(io.get_executor(), opts);
    auto noauth = await(io, anonymous_unnamed.exec(Command{"PING"}));
    ASSERT_TRUE(noauth);
    EXPECT_EQ(noauth->error_code(), "NOAUTH");
    auto named = await(io, anonymous.exec(Command{"PING"}));
    ASSERT_FALSE(named) << "CLIENT SETNAME must be refused without AUTH";
    EXPECT_EQ(named.error().kind, ErrorKind::kAuth);

    opts.password = "legacy-secret";
    Client client(io.get_executor(), opts);
    auto pong = await(io, client.exec(Command{"PING"}));
    ASSERT_TRUE(pong) << describe(pong);
    EXPECT_EQ(*pong, Reply::status("PONG"));
}

class RespClientTls : public ::testing::Test {
  protected:
    void SetUp() override {
        pki_ = std::make_unique<testing::TlsMaterial>(testing::TlsMaterial::generate(dir_.path()));
        auto options = standalone();
        options.tls = pki_->server_files();
        node_ = RedisNode::start(options, "tls");
    }

    ClientOptions tls_options() const {
        auto o = options_for(*node_);
        o.tls.enabled = true;
        o.tls.ca_file = pki_->ca_cert();
        return o;
    }

    testing::TempDir dir_;
    std::unique_ptr<testing::TlsMaterial> pki_;
    std::unique_ptr<RedisNode> node_;
    boost::asio::io_context io_;
};

TEST_F(RespClientTls, GoodCaVerifiesIpAndHostName) {
    Client by_ip(io_.get_executor(), tls_options());
    auto pong = await(io_, by_ip.exec(Command{"PING"}));
    ASSERT_TRUE(pong) << describe(pong);
    EXPECT_EQ(*pong, Reply::status("PONG"));

    auto named = tls_options();
    named.tls.server_name = "localhost";  // SNI + name check against DNS:localhost
    Client by_name(io_.get_executor(), named);
    auto pong2 = await(io_, by_name.exec(Command{"PING"}));
    ASSERT_TRUE(pong2) << describe(pong2);
}

TEST_F(RespClientTls, WrongCaIsRefused) {
    auto opts = tls_options();
    opts.tls.ca_file = pki_->other_ca_cert();
    Client client(io_.get_executor(), opts);
    auto r = await(io_, client.exec(Command{"PING"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kTls) << r.error().message;
    EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
        << r.error().message;
}

TEST_F(RespClientTls, WrongHostNameIsRefusedUnlessNameCheckIsOff) {
    auto opts = tls_options();
    opts.tls.server_name = "not-this-host.example";
    Client strict(io_.get_executor(), opts);
    auto r = await(io_, strict.exec(Command{"PING"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kTls) << r.error().message;

    opts.tls.verify_hostname = false;
    Client relaxed(io_.get_executor(), opts);
    auto pong = await(io_, relaxed.exec(Command{"PING"}));
    ASSERT_TRUE(pong) << describe(pong);
}

TEST_F(RespClientTls, MissingCaFileIsAClearError) {
    auto opts = tls_options();
    opts.tls.ca_file = dir_.path() + "/no-such-ca.pem";
    Client client(io_.get_executor(), opts);
    auto r = await(io_, client.exec(Command{"PING"}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kTls);
    EXPECT_NE(r.error().message.find("no-such-ca.pem"), std::string::npos) << r.error().message;
}

TEST_F(RespClientTls, PlainClientOnTlsPortFails) {
    Client plain(io_.get_executor(), options_for(*node_));
    auto r = await(io_, plain.exec(Command{"PING"}, 2s));
    ASSERT_FALSE(r) << "a plain-text PING must not succeed on a TLS port";
}

TEST(RespClientTlsClientCert, RequiredClientCertificate) {
    testing::TempDir dir;
    auto pki = testing::TlsMaterial::generate(dir.path());
    auto options = standalone();
    options.tls = pki.server_files();
    options.extra_config.emplace_back("tls-auth-clients", "yes");
    auto node = RedisNode::start(options, "tls-mtls");
    boost::asio::io_context io;

    auto opts = options_for(*node);
    opts.tls.enabled = true;
    opts.tls.ca_file = pki.ca_cert();
    Client without(io.get_executor(), opts);
    auto refused = await(io, without.exec(Command{"PING"}, 2s));
    ASSERT_FALSE(refused) << "server demands a client certificate";

    opts.tls.cert_file = pki.client_cert();
    opts.tls.key_file = pki.client_key();
    Client with(io.get_executor(), opts);
    auto pong = await(io, with.exec(Command{"PING"}));
    ASSERT_TRUE(pong) << describe(pong);
}

TEST(RespClientRedis, ServerKilledMidCommand) {
    auto node = RedisNode::start(standalone(), "killed");
    boost::asio::io_context io;
    Client client(io.get_executor(), options_for(*node));
    ASSERT_TRUE(await(io, client.exec(Command{"PING"})));

    auto blpop = testing::spawn(io, client.exec(Command{"BLPOP", "queue", "0"}, 30s));
    // Wait (bounded) until Redis has our client blocked, then kill it.
    bool blocked = false;
    for (int i = 0; i < 100 && !blocked; ++i) {
        io.run_for(20ms);
        blocked = node->info_field("clients", "blocked_clients").value_or("0") == "1";
    }
    ASSERT_TRUE(blocked);
    node->kill();
    ASSERT_TRUE(run_until(
        io, [&] { return blpop->has_value(); }, 10s));
    ASSERT_FALSE(**blpop);
    const auto kind = (*blpop)->error().kind;
    EXPECT_TRUE(kind == ErrorKind::kClosed || kind == ErrorKind::kReset)
        << (*blpop)->error().message;

    // The host is up, Redis is not: refused, which failure detection reads as "dead".
    auto after = await(io, client.exec(Command{"PING"}));
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().kind, ErrorKind::kRefused) << after.error().message;
}

TEST(RespClientRedis, IdleConnectionLossIsReportedAtOnceButNotOurOwnClose) {
    auto node = RedisNode::start(standalone(), "lost");
    boost::asio::io_context io;
    auto opts = options_for(*node);
    std::vector<ClientError> lost;
    opts.on_connection_lost = [&lost](const ClientError& e) { lost.push_back(e); };
    {
        // Closing the connection ourselves is no loss.
        Client own(io.get_executor(), opts);
        ASSERT_TRUE(await(io, own.exec(Command{"PING"})));
        own.close();
        io.run_for(50ms);
        EXPECT_TRUE(lost.empty());
    }
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.exec(Command{"PING"})));
    ASSERT_TRUE(lost.empty());
    // Nothing in flight: only the always-pending read notices the server going away.
    node->kill();
    ASSERT_TRUE(run_until(
        io, [&] { return !lost.empty(); }, 5s));
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_TRUE(lost[0].kind == ErrorKind::kClosed || lost[0].kind == ErrorKind::kReset)
        << lost[0].message;
    EXPECT_FALSE(client.connected());
}

TEST(RespClientRedis, PausedServerHitsTheDeadlineAndRecovers) {
    auto node = RedisNode::start(standalone(), "paused");
    boost::asio::io_context io;
    Client client(io.get_executor(), options_for(*node));
    ASSERT_TRUE(await(io, client.exec(Command{"PING"})));

    node->pause();
    auto r = await(io, client.exec(Command{"PING"}, 200ms));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kTimeout) << r.error().message;
    EXPECT_TRUE(client.connected()) << "a timeout keeps the connection";

    // A fresh connection to a paused server: TCP connects (the kernel accepts), the
    // handshake gets no answer.
    Client fresh(io.get_executor(), options_for(*node));
    auto f = await(io, fresh.exec(Command{"PING"}, 200ms));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().kind, ErrorKind::kTimeout) << f.error().message;

    node->resume();
    // The late PONG of the timed-out PING is dropped; this PING gets its own reply.
    auto echo = await(io, client.exec(Command{"ECHO", "after-resume"}, 5s));
    ASSERT_TRUE(echo) << describe(echo);
    EXPECT_EQ(*echo, Reply::string("after-resume"));
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(RespClientRedis, ALateReplyGoesToOnLateInsteadOfBeingDropped) {
    auto node = RedisNode::start(standalone(), "late");
    boost::asio::io_context io;
    Client client(io.get_executor(), options_for(*node));
    ASSERT_TRUE(await(io, client.exec(Command{"PING"})));

    node->pause();
    std::vector<Reply> late;
    auto r = await(io, client.exec(Command{"ECHO", "slow"}, 200ms,
                                   [&late](Reply reply) { late.push_back(std::move(reply)); }));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kTimeout) << r.error().message;
    // Timed out without on_late: dropped as before.
    auto dropped = await(io, client.exec(Command{"ECHO", "dropped"}, 200ms));
    ASSERT_FALSE(dropped);
    EXPECT_TRUE(late.empty());

    node->resume();
    ASSERT_TRUE(run_until(
        io, [&] { return !late.empty(); }, 5s));
    io.run_for(100ms);
    ASSERT_EQ(late.size(), 1u) << "only the call that asked for it";
    EXPECT_EQ(late[0], Reply::string("slow"));
    // The pipeline stays in order: the next call gets its own reply.
    auto next = await(io, client.exec(Command{"ECHO", "next"}, 5s));
    ASSERT_TRUE(next) << describe(next);
    EXPECT_EQ(*next, Reply::string("next"));
}

TEST(RespClientRedis, ReconnectsAfterRestart) {
    auto node = RedisNode::start(standalone(), "restarted");
    boost::asio::io_context io;
    auto opts = options_for(*node);
    opts.reconnect_initial = 20ms;
    opts.reconnect_max = 100ms;
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.exec(Command{"PING"})));
    node->restart();
    Expected<Reply, ClientError> r = unexpected(ClientError{});
    for (int i = 0; i < 100; ++i) {  // bounded: backoff is at most 100 ms
        r = await(io, client.exec(Command{"PING"}));
        if (r) {
            break;
        }
        io.run_for(50ms);
    }
    ASSERT_TRUE(r) << describe(r);
    EXPECT_EQ(*r, Reply::status("PONG"));
    EXPECT_EQ(client.connections_made(), 2u);
}

// ---- ping(): the detector's callback path against a real Redis

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

TEST_F(RespClientTls, PingOverTls) {
    PingLog log;
    auto opts = tls_options();
    opts.on_ping = log.handler();
    Client client(io_.get_executor(), opts);
    client.ping(5000ms, 1);
    ASSERT_TRUE(run_until(io_, [&] { return log.reports.size() == 1; }));
    ASSERT_TRUE(log.reports[0].result) << describe(log.reports[0].result);
    for (int i = 2; i <= 50; ++i) {
        client.ping(5000ms, i);
    }
    ASSERT_TRUE(run_until(io_, [&] { return log.reports.size() == 50; }));
    for (std::size_t i = 0; i < 50; ++i) {
        EXPECT_EQ(log.reports[i].tag, static_cast<std::int64_t>(i + 1));
        ASSERT_TRUE(log.reports[i].result) << describe(log.reports[i].result);
        EXPECT_EQ(*log.reports[i].result, Reply::status("PONG"));
    }
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(RespClientRedis, PingOfAPausedServerExpiresThenReportsTheLatePong) {
    auto node = RedisNode::start(standalone(), "ping-paused");
    boost::asio::io_context io;
    PingLog log;
    auto opts = options_for(*node);
    opts.on_ping = log.handler();
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.connect()));

    node->pause();
    client.ping(200ms, 1);
    EXPECT_EQ(client.expire(Client::Clock::now() + 1s), 1u);
    ASSERT_EQ(log.reports.size(), 1u);
    ASSERT_FALSE(log.reports[0].result);
    EXPECT_EQ(log.reports[0].result.error().kind, ErrorKind::kTimeout);
    EXPECT_TRUE(client.connected()) << "a timeout keeps the connection";

    node->resume();
    ASSERT_TRUE(run_until(
        io, [&] { return log.reports.size() == 2; }, 5s));
    EXPECT_TRUE(log.reports[1].late);
    ASSERT_TRUE(log.reports[1].result) << describe(log.reports[1].result);
    EXPECT_EQ(*log.reports[1].result, Reply::status("PONG"));
    EXPECT_EQ(client.connections_made(), 1u);
}

TEST(RespClientRedis, PingsOfAKilledServerAreReportedLostThenRefused) {
    auto node = RedisNode::start(standalone(), "ping-killed");
    boost::asio::io_context io;
    PingLog log;
    int lost = 0;
    auto opts = options_for(*node);
    opts.on_ping = log.handler();
    opts.on_connection_lost = [&lost](const ClientError&) { ++lost; };
    Client client(io.get_executor(), opts);
    ASSERT_TRUE(await(io, client.connect()));
    node->pause();  // so the pings are still unanswered when it dies
    client.ping(30000ms, 1);
    client.ping(30000ms, 2);
    node->kill();
    ASSERT_TRUE(run_until(
        io, [&] { return log.reports.size() == 2 && lost == 1; }, 10s));
    for (const auto& r : log.reports) {
        ASSERT_FALSE(r.result);
        const auto kind = r.result.error().kind;
        EXPECT_TRUE(kind == ErrorKind::kClosed || kind == ErrorKind::kReset)
            << r.result.error().message;
    }
    client.ping(1000ms, 3);
    ASSERT_TRUE(run_until(
        io, [&] { return log.reports.size() == 3; }, 5s));
    ASSERT_FALSE(log.reports[2].result);
    EXPECT_EQ(log.reports[2].result.error().kind, ErrorKind::kRefused)
        << log.reports[2].result.error().message;
}

}  // namespace
}  // namespace picket::resp
