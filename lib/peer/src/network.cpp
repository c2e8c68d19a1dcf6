#include "picket/peer/network.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <deque>
#include <list>
#include "picket/io/listen.h"

#include "picket/proto/codec.h"
#include "picket/resp/reader.h"

namespace picket::peer {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string status_reply(std::string_view s) {
    return "+" + std::string(s) + "\r\n";
}
std::string error_reply(std::string_view s) {
    return "-" + std::string(s) + "\r\n";
}
std::string bulk_reply(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
}  // namespace

/// Our connection to one peer and the frames waiting for it.
struct Outbound {
    PeerEndpoint endpoint;
    std::deque<std::string> queue;
    std::shared_ptr<beast::tcp_stream> stream;
    bool connecting = false;
    bool writing = false;
    std::chrono::steady_clock::time_point next_dial{};
    std::chrono::milliseconds backoff{0};
};

struct Network::Impl : std::enable_shared_from_this<Network::Impl> {
    Impl(asio::any_io_executor ex, NetworkOptions o, Handler h)
        : executor(ex),
          acceptor(ex),
          options(std::move(o)),
          handler(std::move(h)),
          auth(options.auth, options.incarnation) {
        for (const auto& p : options.peers) {
            outbound[p.id].endpoint = p;
        }
    }

    awaitable<void> accept_loop();
    awaitable<void> serve(std::shared_ptr<beast::tcp_stream> stream);
    awaitable<void> dial(std::string id);
    awaitable<void> write_loop(std::string id);
    awaitable<void> drain_reads(std::string id, std::shared_ptr<beast::tcp_stream> stream);
    void kick(const std::string& id);
    void drop_connection(Outbound& o);

    asio::any_io_executor executor;
    tcp::acceptor acceptor;
    NetworkOptions options;
    Handler handler;
    proto::Authenticator auth;
    std::map<std::string, Outbound> outbound;
    std::list<std::weak_ptr<beast::tcp_stream>> inbound;
    NetworkStats stats;
    bool stopped = false;
};

awaitable<void> Network::Impl::accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
        auto [ec, socket] = co_await acceptor.async_accept(kAsTuple);
        if (ec) {
            if (stopped || ec == asio::error::operation_aborted) {
                break;
            }
            continue;
        }
        if (stats.inbound >= options.max_inbound) {
            beast::error_code ignored;
            socket.close(ignored);  // over the cap: a flood, not a peer
            continue;
        }
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        inbound.remove_if([](const auto& w) { return w.expired(); });
        inbound.push_back(stream);
        asio::co_spawn(executor, serve(stream), asio::detached);
    }
}

awaitable<void> Network::Impl::serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    ++stats.inbound;
    resp::ReplyReader reader(proto::peer_reader_limits());
    std::array<char, 16 * 1024> buf{};
    bool open = true;
    while (open && !stopped) {
        stream->expires_after(options.idle_timeout);
        auto [ec, n] = co_await stream->async_read_some(asio::buffer(buf), kAsTuple);
        if (ec) {
            break;
        }
        if (!reader.feed(std::string_view(buf.data(), n))) {
            ++stats.dropped[static_cast<std::size_t>(proto::DropReason::kMalformed)];
            break;
        }
        std::string answer;
        while (open) {
            auto next = reader.next();
            if (!next) {
                ++stats.dropped[static_cast<std::size_t>(proto::DropReason::kMalformed)];
                open = false;
                break;
            }
            if (!next->has_value()) {
                break;
            }
            const resp::Reply& reply = **next;
            switch (proto::classify(reply)) {
                case proto::FrameKind::kPing:
                    answer += status_reply("PONG");
                    break;
                case proto::FrameKind::kInfo:
                    answer += bulk_reply(options.info ? options.info() : std::string());
                    break;
                case proto::FrameKind::kPeer: {
                    auto env = auth.open(reply);
                    if (!env) {
                        ++stats.dropped[static_cast<std::size_t>(env.error())];
                        if (env.error() == proto::DropReason::kMalformed) {
                            open = false;  // out of sync or hostile: hang up
                        }
                        break;
                    }
                    ++stats.received;
                    handler(env->sender, env->message);
                    break;
                }
                case proto::FrameKind::kUnknown:
                    answer += error_reply("ERR picket peer port: only PING and PICKET INFO");
                    break;
            }
        }
        if (!answer.empty()) {
            stream->expires_after(options.write_timeout);
            auto [wec, wn] = co_await asio::async_write(*stream, asio::buffer(answer), kAsTuple);
            if (wec) {
                break;
            }
        }
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream->close();
    --stats.inbound;
}

void Network::Impl::drop_connection(Outbound& o) {
    if (o.stream) {
        beast::error_code ignored;
        o.stream->socket().close(ignored);
        o.stream.reset();
    }
}

void Network::Impl::kick(const std::string& id) {
    auto& o = outbound.at(id);
    if (stopped) {
        return;
    }
    if (!o.stream) {
        if (!o.connecting && std::chrono::steady_clock::now() >= o.next_dial) {
            o.connecting = true;
            asio::co_spawn(executor, dial(id), asio::detached);
        }
        return;
    }
    if (!o.writing && !o.queue.empty()) {
        o.writing = true;
        asio::co_spawn(executor, write_loop(id), asio::detached);
    }
}

awaitable<void> Network::Impl::dial(std::string id) {
    auto self = shared_from_this();
    auto& o = outbound.at(id);
    auto stream = std::make_shared<beast::tcp_stream>(executor);
    tcp::resolver resolver(executor);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(o.endpoint.host, std::to_string(o.endpoint.port), kAsTuple);
    beast::error_code ec = rec;
    if (!ec) {
        stream->expires_after(options.connect_timeout);
        auto [cec, ep] = co_await stream->async_connect(endpoints, kAsTuple);
        ec = cec;
    }
    o.connecting = false;
    if (stopped) {
        co_return;
    }
    if (ec) {
        ++stats.connect_failures;
        o.backoff = o.backoff.count() == 0 ? std::chrono::milliseconds(50)
                                           : std::min(o.backoff * 2, options.reconnect_max);
        o.next_dial = std::chrono::steady_clock::now() + o.backoff;
        co_return;  // the next send() dials again once the backoff has passed
    }
    ++stats.connects;
    o.backoff = std::chrono::milliseconds(0);
    beast::error_code ignored;
    stream->socket().set_option(tcp::no_delay(true), ignored);
    o.stream = stream;
    asio::co_spawn(executor, drain_reads(id, stream), asio::detached);
    kick(id);
}

awaitable<void> Network::Impl::drain_reads(std::string id,
                                           std::shared_ptr<beast::tcp_stream> stream) {
    // Peers never write on our outbound connection; a read completes only when it closes.
    auto self = shared_from_this();
    std::array<char, 512> buf{};
    while (!stopped) {
        stream->expires_never();
        auto [ec, n] = co_await stream->socket().async_read_some(asio::buffer(buf), kAsTuple);
        if (ec) {
            break;
        }
    }
    auto it = outbound.find(id);
    if (it != outbound.end() && it->second.stream == stream) {
        drop_connection(it->second);
    }
}

awaitable<void> Network::Impl::write_loop(std::string id) {
    auto self = shared_from_this();
    auto& o = outbound.at(id);
    while (!stopped && o.stream && !o.queue.empty()) {
        std::string batch;
        while (!o.queue.empty()) {
            batch += o.queue.front();
            o.queue.pop_front();
        }
        auto stream = o.stream;
        stream->expires_after(options.write_timeout);
        auto [ec, n] = co_await asio::async_write(*stream, asio::buffer(batch), kAsTuple);
        if (ec) {
            if (o.stream == stream) {
                drop_connection(o);  // the frames in `batch` are lost; the vote retries
            }
            break;
        }
        stats.sent += 1;
    }
    o.writing = false;
    if (!o.queue.empty()) {
        kick(id);
    }
}

Expected<std::unique_ptr<Network>, std::string> Network::listen(asio::any_io_executor executor,
                                                                NetworkOptions options,
                                                                Handler handler) {
    auto impl = std::make_shared<Impl>(executor, std::move(options), std::move(handler));
    const auto& o = impl->options;
    if (auto ok = io::listen(impl->acceptor, o.listen_host, o.listen_port, "peer"); !ok) {
        return unexpected(ok.error());
    }
    return std::unique_ptr<Network>(new Network(std::move(impl)));
}

Network::Network(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Network::~Network() {
    stop();
}

void Network::start() {
    asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
}

void Network::stop() {
    if (impl_->stopped) {
        return;
    }
    impl_->stopped = true;
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    for (auto& w : impl_->inbound) {
        if (auto s = w.lock()) {
            s->socket().close(ignored);
        }
    }
    for (auto& [id, o] : impl_->outbound) {
        impl_->drop_connection(o);
    }
}

void Network::send(const std::string& to, const proto::Message& message) {
    auto it = impl_->outbound.find(to);
    if (it == impl_->outbound.end() || impl_->stopped) {
        return;
    }
    auto& o = it->second;
    o.queue.push_back(impl_->auth.seal(to, message));
    while (o.queue.size() > impl_->options.max_queued_frames) {
        o.queue.pop_front();
        ++impl_->stats.send_dropped;
    }
    impl_->kick(to);
}

bool Network::connected(const std::string& id) const {
    auto it = impl_->outbound.find(id);
    return it != impl_->outbound.end() && it->second.stream != nullptr;
}

const NetworkStats& Network::stats() const {
    return impl_->stats;
}

std::uint16_t Network::local_port() const {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace picket::peer
