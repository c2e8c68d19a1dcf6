#include "picket/watch/watcher.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/info.h"

namespace picket::watch {

namespace asio = boost::asio;
using asio::awaitable;
using resp::Command;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::chrono::milliseconds to_millis(Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

/// Splits "host:port" / "[v6]:port".
std::pair<std::string, std::uint16_t> split_address(const std::string& address) {
    const auto colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    const auto port = colon == std::string::npos
                          ? 0
                          : std::stoi(address.substr(colon + 1));  // validated by config
    return {host, static_cast<std::uint16_t>(port)};
}
// Commands are built outside the coroutines: GCC 12 miscompiles braced initializer
// lists of Command inside coroutine bodies ("array used as initializer").
Command info_replication_command() {
    return Command{"INFO", "replication"};
}
std::vector<Command> cluster_commands() {
    return {Command{"CLUSTER", "NODES"}, Command{"CLUSTER", "INFO"}};
}
}  // namespace

/// One Redis node's connection and what is in flight on it.
struct Watcher::NodeConn {
    std::unique_ptr<resp::Client> client;
    std::optional<TimePoint> last_ping;
    std::size_t pings_in_flight = 0;
    /// The last probe sent because the connection was lost (rate limit: a server that
    /// accepts and closes at once must not turn the watcher into a reconnect loop).
    std::optional<TimePoint> last_loss_probe;
    TimePoint next_info{};
    bool info_in_flight = false;
    bool cluster_in_flight = false;
};

detect::ProbeOutcome probe_outcome(const Expected<resp::Reply, resp::ClientError>& result) {
    using detect::ProbeOutcome;
    if (result) {
        return result->is_error() ? detect::probe_outcome_for_error_code(result->error_code())
                                  : ProbeOutcome::kPong;
    }
    switch (result.error().kind) {
        case resp::ErrorKind::kTimeout:
            return ProbeOutcome::kTimeout;
        case resp::ErrorKind::kRefused:
            return ProbeOutcome::kRefused;
        case resp::ErrorKind::kReset:
            return ProbeOutcome::kReset;
        case resp::ErrorKind::kClosed:
            return ProbeOutcome::kClosed;
        case resp::ErrorKind::kUnreachable:
            return ProbeOutcome::kUnreachable;
        default:
            return ProbeOutcome::kIndeterminate;
    }
}

Watcher::Watcher(asio::any_io_executor executor, WatchOptions options, WatchHooks hooks,
                 Clock clock)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      clock_(std::move(clock)),
      detector_(options_.detector),
      timer_(executor_),
      rebuild_timer_(executor_),
      alive_(std::make_shared<bool>(true)) {}

Watcher::~Watcher() {
    *alive_ = false;
    stop();
}

void Watcher::start() {
    if (running_) {
        return;
    }
    running_ = true;
    const TimePoint now = clock_();
    std::vector<detect::KnownNode> seeds;
    for (const auto& s : options_.seeds) {
        seeds.push_back(detect::KnownNode{s, {}, false, {}});
        conn(s);
    }
    detector_.set_nodes(seeds, now);
    drain();
    asio::co_spawn(executor_, timer_loop(), asio::detached);
}

void Watcher::stop() {
    running_ = false;
    timer_.cancel();
    rebuild_timer_.cancel();
    for (auto& [addr, c] : conns_) {
        c->client->close();
    }
}

void Watcher::reconfigure(const WatchOptions& options) {
    options_.ping_interval = options.ping_interval;
    options_.ping_timeout = options.ping_timeout;
    options_.info_interval = options.info_interval;
    options_.nodes_interval = options.nodes_interval;
    options_.nodes_sample = options.nodes_sample;
    options_.detector = options.detector;
    options_.seeds = options.seeds;
    options_.client = options.client;
    detector_.set_config(options.detector);
}

Watcher::NodeConn& Watcher::conn(const std::string& address) {
    auto it = conns_.find(address);
    if (it != conns_.end()) {
        return *it->second;
    }
    auto c = std::make_unique<NodeConn>();
    resp::ClientOptions o = options_.client;
    std::tie(o.host, o.port) = split_address(address);
    // Probes are frequent: retry connecting at the probe cadence, not slower.
    o.reconnect_max = std::max(o.reconnect_initial, to_millis(options_.ping_interval));
    // A lost connection is probed again at once: a killed Redis closes its sockets, and
    // detection that waits for the next tick starts up to a ping interval late.
    o.on_connection_lost = [this, alive = alive_, address](const resp::ClientError&) {
        if (*alive && running_) {
            on_connection_lost(address);
        }
    };
    // Every ping's outcome, and the late reply of a timed-out one: a reply after the
    // deadline still proves the node alive when it answered, so it is reported as a (slow)
    // probe. Without it a live master behind a path slower than ping_timeout looked
    // unresponsive and was failed over (chaos scenario i). The tag is the send time.
    o.on_ping = [this, alive = alive_, address](std::int64_t tag,
                                                const Expected<resp::Reply, resp::ClientError>& r,
                                                bool late) {
        if (*alive && running_) {
            on_ping_result(address, TimePoint(Duration(tag)), r, late);
        }
    };
    c->client = std::make_unique<resp::Client>(executor_, std::move(o));
    return *conns_.emplace(address, std::move(c)).first->second;
}

void Watcher::on_connection_lost(const std::string& address) {
    auto it = conns_.find(address);
    if (it == conns_.end()) {
        return;
    }
    auto& c = *it->second;
    const TimePoint now = clock_();
    if (c.last_loss_probe && now - *c.last_loss_probe < options_.ping_interval) {
        return;
    }
    c.last_loss_probe = now;
    send_ping(c, now);
}

void Watcher::send_ping(NodeConn& c, TimePoint now) {
    c.last_ping = now;
    ++c.pings_in_flight;
    c.client->ping(to_millis(options_.ping_timeout), now.time_since_epoch().count());
}

awaitable<void> Watcher::timer_loop() {
    auto alive = alive_;
    const auto interval =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.ping_interval);
    auto next = std::chrono::steady_clock::now();
    std::optional<TimePoint> deadline_done;
    while (*alive && running_) {
        next += interval;
        // Between ticks the timer also wakes for the detector's next deadline (a failing
        // node's threshold), so SDOWN is declared when the threshold passes rather than at
        // the tick after it. Each deadline is served once: a deadline that does not change
        // the node's state (e.g. safe mode) cannot spin the loop.
        for (;;) {
            auto wake = next;
            std::optional<TimePoint> deadline = detector_.next_deadline();
            if (deadline && deadline_done && *deadline <= *deadline_done) {
                deadline.reset();
            }
            if (deadline) {
                const auto in = *deadline - clock_();
                const auto at = std::chrono::steady_clock::now() +
                                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::max(in, Duration{}));
                if (at < wake) {
                    wake = at;
                } else {
                    deadline.reset();
                }
            }
            timer_.expires_at(wake);
            co_await timer_.async_wait(kAsTuple);
            if (!*alive || !running_) {
                co_return;
            }
            if (!deadline) {
                break;
            }
            deadline_done = deadline;
            detector_.tick(clock_());
            drain();
        }
        const auto real = std::chrono::steady_clock::now();
        const Duration late = real > next ? real - next : Duration{};
        if (late > 10 * interval) {
            next = real;  // do not replay missed ticks after a stall
        }
        const TimePoint now = clock_();
        if (hooks_.on_tick) {
            hooks_.on_tick(now, late);
        }
        on_tick(now);
    }
}

void Watcher::on_tick(TimePoint now) {
    ++ticks_;
    detector_.tick(now);
    drain();
    const auto max_pings = static_cast<std::size_t>(
        options_.ping_timeout / std::max(options_.ping_interval, Duration{1}) + 2);
    const auto expire_at = std::chrono::steady_clock::now();
    for (auto& [address, c] : conns_) {
        // Ping deadlines are served here, not by a timer per ping: a timeout is reported at
        // most one tick late, and the detector counts from the probe's send time anyway.
        // Only a node with a ping not yet reported can have one to expire (most have none:
        // their PONG came within microseconds).
        if (c->pings_in_flight > 0) {
            c->client->expire(expire_at);
        }
        // Ticks come every ping_interval; the half-interval slack keeps timer jitter from
        // skipping a beat (a tick 99.9 ms after the last ping must still ping).
        if ((!c->last_ping || now - *c->last_ping >= options_.ping_interval / 2) &&
            c->pings_in_flight < max_pings) {
            send_ping(*c, now);
        }
        if (now >= c->next_info && !c->info_in_flight) {
            c->next_info = now + options_.info_interval;
            c->info_in_flight = true;
            asio::co_spawn(executor_, read_replication(address), asio::detached);
        }
    }
    if (now >= next_nodes_refresh_) {
        next_nodes_refresh_ = now + options_.nodes_interval;
        std::vector<std::string> targets;
        if (refresh_all_ || !topology_known_) {
            for (const auto& [address, c] : conns_) {
                targets.push_back(address);
            }
            refresh_all_ = false;
            last_full_refresh_ = now;
        } else {
            // Rotate over the nodes that answer; a down node's view is not worth asking.
            std::vector<std::string> candidates;
            for (const auto& [address, c] : conns_) {
                const auto* n = detector_.node(address);
                if (n == nullptr || n->state == detect::NodeState::kUp) {
                    candidates.push_back(address);
                }
            }
            for (std::size_t i = 0; i < std::min(options_.nodes_sample, candidates.size()); ++i) {
                targets.push_back(candidates[(rotation_ + i) % candidates.size()]);
            }
            rotation_ += options_.nodes_sample;
        }
        for (const auto& address : targets) {
            auto& c = conn(address);
            if (!c.cluster_in_flight) {
                c.cluster_in_flight = true;
                asio::co_spawn(executor_, read_cluster(address), asio::detached);
            }
        }
    }
}

void Watcher::report_probe(const std::string& address, const detect::Probe& probe) {
    detector_.on_probe(address, probe);
    if (hooks_.on_probe) {
        hooks_.on_probe(address, probe);
    }
    drain();
}

void Watcher::on_ping_result(const std::string& address, TimePoint sent,
                             const Expected<resp::Reply, resp::ClientError>& result, bool late) {
    auto it = conns_.find(address);
    if (it == conns_.end()) {
        return;  // removed from the cluster meanwhile
    }
    if (!late) {
        --it->second->pings_in_flight;
    }
    std::string detail;
    if (!result) {
        detail = result.error().message;
    } else if (result->is_error()) {
        detail = result->str;
    }
    report_probe(address, detect::Probe{probe_outcome(result), sent, clock_(), std::move(detail)});
}

awaitable<void> Watcher::read_replication(std::string address) {
    auto alive = alive_;
    auto* client = conns_.at(address)->client.get();
    auto result = co_await client->exec(info_replication_command());
    if (!*alive || !running_) {
        co_return;
    }
    auto it = conns_.find(address);
    if (it == conns_.end()) {
        co_return;
    }
    it->second->info_in_flight = false;
    if (!result || !result->is_text()) {
        co_return;  // the pings tell the story of an unreachable or loading node
    }
    auto info = cluster::parse_info(result->str);
    if (!info) {
        problem(address, "INFO replication: " + info.error().to_string());
        co_return;
    }
    auto repl = cluster::parse_replication(*info);
    if (!repl) {
        problem(address, "INFO replication: " + repl.error().to_string());
        co_return;
    }
    problems_.erase(address);
    detector_.on_replication(address, *repl, clock_());
    if (const auto* n = detector_.node(address); n != nullptr && !n->node_id.empty()) {
        replication_by_id_[n->node_id] = *repl;
    }
    drain();
}

awaitable<void> Watcher::read_cluster(std::string address) {
    auto alive = alive_;
    auto* client = conns_.at(address)->client.get();
    auto result = co_await client->exec(cluster_commands());
    if (!*alive || !running_) {
        co_return;
    }
    auto it = conns_.find(address);
    if (it == conns_.end()) {
        co_return;
    }
    it->second->cluster_in_flight = false;
    if (!result) {
        co_return;
    }
    const auto& nodes_reply = (*result)[0];
    const auto& info_reply = (*result)[1];
    if (!nodes_reply.is_text()) {
        if (nodes_reply.is_error()) {
            problem(address, "CLUSTER NODES: " + nodes_reply.str);
        }
        co_return;
    }
    auto nodes = cluster::parse_cluster_nodes(nodes_reply.str);
    if (!nodes) {
        problem(address, "CLUSTER NODES: " + nodes.error().to_string());
        co_return;
    }
    auto view = cluster::make_view(std::move(*nodes));
    if (!view) {
        problem(address, "CLUSTER NODES: " + view.error().to_string());
        co_return;
    }
    const TimePoint now = clock_();
    if (info_reply.is_text()) {
        if (auto ci = cluster::parse_cluster_info(info_reply.str); ci) {
            if (current_epoch_ != 0 && ci->current_epoch > current_epoch_) {
                refresh_all_ = true;  // a failover or reshard happened: look everywhere
            }
            current_epoch_ = std::max(current_epoch_, ci->current_epoch);
            cluster_info_ = *ci;
            cluster_info_from_ = address;
        } else {
            problem(address, "CLUSTER INFO: " + ci.error().to_string());
        }
    }
    detector_.on_cluster_view(address, view->nodes, now);
    views_changed_ = views_.put(address, std::move(*view), now) || views_changed_;
    rebuild_topology(now);
    drain();
}

void Watcher::rebuild_topology(TimePoint now) {
    // A view is used while fresh: each node is asked every ceil(n / sample) refreshes.
    const auto n = std::max<std::size_t>(conns_.size(), 1);
    const auto sample = std::max<std::size_t>(options_.nodes_sample, 1);
    const auto rounds = static_cast<long>((n + sample - 1) / sample);
    const Duration max_age = options_.nodes_interval * (2 * rounds + 1);
    const auto fresh = views_.fresh(now - max_age);
    if (fresh.empty()) {
        return;  // keep the last model and node set rather than forget everything
    }
    bool same_views = topology_known_ && !views_changed_ && fresh.size() == built_from_.size();
    for (std::size_t i = 0; same_views && i < fresh.size(); ++i) {
        same_views = *fresh[i].address == built_from_[i];
    }
    if (same_views) {
        // Nothing a view says changed: the model only takes the latest INFO replication
        // (the same model a full build would give, at O(nodes) instead of O(views × nodes)).
        topology_.refresh_replication(replication_by_id_);
    } else {
        // Full builds at most once per 20 times the last one took (so they cost at most ~5 %
        // of the loop: a build from 1,000 views of 1,000 nodes takes ~50 ms), capped at
        // nodes_interval: a changed view is in the model within one refresh. When every
        // node is re-read at once (after a failover) the replies come in a burst and one
        // build covers them; a small cluster (builds of microseconds) is never deferred.
        const Duration gap = std::min(options_.nodes_interval, 20 * last_build_cost_);
        if (topology_known_ && last_build_ && now - *last_build_ < gap) {
            schedule_rebuild(*last_build_ + gap);
            return;
        }
        std::vector<cluster::ViewRef> refs;
        refs.reserve(fresh.size());
        built_from_.clear();
        for (const auto& f : fresh) {
            refs.push_back(f.view);
            built_from_.push_back(*f.address);
        }
        const TimePoint started = clock_();
        topology_ = cluster::Topology::build(refs, replication_by_id_);
        last_build_cost_ = clock_() - started;
#if defined(__GLIBC__)
        // A large build frees as much as it keeps (one record per view per node, the old
        // model); glibc keeps freed heap pages resident unless asked. Once per full build,
        // which is rare once every view is held.
        if (last_build_cost_ > std::chrono::milliseconds(5)) {
            malloc_trim(0);
        }
#endif
        topology_known_ = true;
        views_changed_ = false;
        last_build_ = now;
        apply_node_set(now);
    }
    // Views of different ages disagree while the cluster changes: re-read every node,
    // but no more often than a rotation would anyway (same cost, sooner convergence).
    if (!topology_.disagreements().empty() &&
        now - last_full_refresh_ >= options_.nodes_interval * rounds) {
        refresh_all_ = true;
    }
}

void Watcher::schedule_rebuild(TimePoint when) {
    if (rebuild_pending_ || !running_) {
        return;
    }
    rebuild_pending_ = true;
    const auto delay = std::max(Duration{}, when - clock_());
    rebuild_timer_.expires_after(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
    rebuild_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (!*alive) {
            return;
        }
        rebuild_pending_ = false;
        if (ec || !running_) {
            return;
        }
        rebuild_topology(clock_());
        drain();
    });
}

void Watcher::apply_node_set(TimePoint now) {
    std::vector<detect::KnownNode> known;
    for (const auto& node : topology_.nodes()) {
        if (node.address.port == 0 || node.handshake || node.noaddr) {
            continue;
        }
        detect::KnownNode k;
        k.address = node.address.endpoint();
        k.node_id = node.id;
        k.cluster_says_master = node.role == cluster::NodeRole::kMaster;
        if (node.master_id) {
            if (const auto* m = topology_.node(*node.master_id); m != nullptr) {
                k.master_address = m->address.endpoint();
            }
        }
        known.push_back(std::move(k));
    }
    if (known.empty()) {
        return;
    }
    detector_.set_nodes(known, now);
    std::set<std::string> wanted;
    for (const auto& k : known) {
        wanted.insert(k.address);
        conn(k.address);
    }
    for (auto it = conns_.begin(); it != conns_.end();) {
        if (wanted.count(it->first) == 0) {
            it->second->client->close();
            views_changed_ = views_.erase(it->first) || views_changed_;
            problems_.erase(it->first);
            it = conns_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = replication_by_id_.begin(); it != replication_by_id_.end();) {
        it = topology_.node(it->first) == nullptr ? replication_by_id_.erase(it) : std::next(it);
    }
}

void Watcher::drain() {
    auto out = detector_.take_output();
    for (const auto& e : out.events) {
        if (e.kind == detect::Event::Kind::kRoleChanged) {
            refresh_all_ = true;
            next_nodes_refresh_ = TimePoint{};
        }
        if (hooks_.on_event) {
            hooks_.on_event(e);
        }
    }
    for (const auto& a : out.actions) {
        if (a.kind == detect::Action::Kind::kRefreshReplication) {
            auto it = conns_.find(a.address);
            if (it != conns_.end() && !it->second->info_in_flight && running_) {
                it->second->info_in_flight = true;
                it->second->next_info = clock_() + options_.info_interval;
                asio::co_spawn(executor_, read_replication(a.address), asio::detached);
            }
        }
    }
}

void Watcher::problem(const std::string& address, std::string what) {
    problems_[address] = NodeProblem{std::move(what), clock_()};
}

}  // namespace picket::watch
