#include "vote.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <random>

#include "picket/consensus/state_file.h"
#include "picket/io/clock.h"

namespace picket::daemon {

namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

proto::Evidence to_proto(detect::Evidence e) {
    switch (e) {
        case detect::Evidence::kDead:
            return proto::Evidence::kDead;
        case detect::Evidence::kUnresponsive:
            return proto::Evidence::kUnresponsive;
        case detect::Evidence::kNone:
            break;
    }
    return proto::Evidence::kNone;
}

std::int64_t ms(Duration d) {
    return to_ms(d);
}
}  // namespace

consensus::Config consensus_config(const config::Config& c) {
    consensus::Config k;
    k.self = c.watcher.id;
    k.voters = c.voter_ids();
    k.quorum = c.effective_quorum();
    k.heartbeat_interval = c.election.heartbeat_interval;
    k.election_timeout_min = c.election.timeout_min;
    k.election_timeout_max = c.election.timeout_max;
    k.max_drift_ppm = static_cast<std::uint32_t>(c.election.lease_drift * 1e6);
    k.lease_margin = c.election.lease_margin;
    k.opinion_validity = c.election.opinion_max_age;
    return k;
}

VoteService::VoteService(
    asio::any_io_executor executor, const config::Config& config, const watch::Watcher& watcher,
    std::function<void(const std::string&, const std::string&, const std::string&)> report,
    std::function<void(const std::string&)> fatal)
    : executor_(std::move(executor)),
      config_(config),
      watcher_(watcher),
      report_(std::move(report)),
      fatal_(std::move(fatal)),
      timer_(executor_),
      alive_(std::make_shared<bool>(true)) {}

VoteService::~VoteService() {
    *alive_ = false;
    stop();
}

std::string VoteService::state_path() const {
    return config_.watcher.state_dir + "/vote.state";
}

Expected<void, std::string> VoteService::start() {
    auto kconfig = consensus_config(config_);
    if (auto ok = consensus::validate(kconfig); !ok) {
        return unexpected("vote configuration: " + ok.error());
    }
    std::error_code mkdir_error;
    std::filesystem::create_directories(config_.watcher.state_dir, mkdir_error);
    if (mkdir_error) {
        return unexpected("cannot create state_dir " + config_.watcher.state_dir + ": " +
                          mkdir_error.message());
    }
    auto loaded = consensus::load_state(state_path());
    if (!loaded) {
        return unexpected(loaded.error());
    }
    consensus::PersistentState state = *loaded;
    // A new incarnation per start: our sequence numbers never repeat, so peers accept a
    // restarted watcher at once. Persisted before anything leaves.
    state.incarnation += 1;
    if (auto saved = consensus::save_state(state_path(), state); !saved) {
        return unexpected("cannot persist the vote state: " + saved.error());
    }
    std::random_device rd;  // the shell may use entropy; the pure core gets a seed
    const std::uint64_t seed = (std::uint64_t{rd()} << 32) ^ rd();
    const TimePoint now = io::mono_now();
    consensus_ = std::make_unique<consensus::Consensus>(kconfig, state, seed, now);

    if (!config_.peers.members.empty()) {
        peer::NetworkOptions o;
        o.listen_host = config_.watcher.peer_listen.host;
        o.listen_port = config_.watcher.peer_listen.port;
        for (const auto& p : config_.peers.members) {
            o.peers.push_back({p.id, p.address.host, p.address.port});
        }
        o.auth = proto::AuthConfig{config_.peers.secret.reveal(), config_.cluster.name,
                                   config_.voter_ids(), config_.watcher.id};
        o.incarnation = state.incarnation;
        o.info = [this] { return info_text(); };
        auto net = peer::Network::listen(executor_, std::move(o),
                                         [this](const std::string& from, const proto::Message& m) {
                                             if (!running_ || failed_) {
                                                 return;
                                             }
                                             const TimePoint t = io::mono_now();
                                             consensus_->step(from, m, t);
                                             process(t);
                                         });
        if (!net) {
            return unexpected(net.error());
        }
        network_ = std::move(*net);
        network_->start();
    }
    running_ = true;
    spdlog::info("vote: term {}, incarnation {}, {} voter(s), quorum {}, state {}",
                 consensus_->term(), state.incarnation, kconfig.voters.size(),
                 kconfig.effective_quorum(), state_path());
    asio::co_spawn(executor_, timer_loop(), asio::detached);
    return {};
}

void VoteService::stop() {
    running_ = false;
    timer_.cancel();
    if (network_) {
        network_->stop();
    }
}

asio::awaitable<void> VoteService::timer_loop() {
    auto alive = alive_;
    const auto period =
        std::max<Duration>(config_.election.heartbeat_interval / 4, std::chrono::milliseconds(5));
    while (*alive && running_ && !failed_) {
        timer_.expires_after(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(period));
        co_await timer_.async_wait(kAsTuple);
        if (!*alive || !running_ || failed_) {
            co_return;
        }
        const TimePoint now = io::mono_now();
        feed_local(now);
        // A watcher that has not read the cluster's layout yet (its seeds are down) does not
        // stand for election: as leader it could declare ODOWN but never plan a failover
        // (no slots, no replicas known), and its lease would keep the others from acting.
        // It still votes, follows and reports its opinions. Only a follower's tick starts
        // elections; a campaign already running finishes.
        if (watcher_.topology_known() || consensus_->role() != consensus::Role::kFollower) {
            consensus_->tick(now);
        }
        process(now);
    }
}

void VoteService::opinions_changed() {
    if (!running_ || failed_ || !consensus_) {
        return;
    }
    const TimePoint now = io::mono_now();
    feed_local(now);
    process(now);
}

void VoteService::feed_local(TimePoint now) {
    const auto& det = watcher_.detector();
    consensus_->set_safe_mode(det.in_safe_mode(now), now);
    // Only SDOWN opinions are kept by the vote; a node that left SDOWN (or safe mode
    // withholding it) is cleared with one sdown=false opinion. Feeding all N opinions every
    // tick cost ~6 % of a core at 1,000 nodes (issue #8, scale).
    const auto current = det.opinions(now, /*sdown_only=*/true);
    std::set<std::string> keys;
    for (const auto& o : current) {
        keys.insert(o.node_id.empty() ? o.address : o.node_id);
    }
    for (const auto& node : fed_sdown_) {
        if (keys.count(node) == 0) {
            proto::Opinion p;
            p.node = node;
            p.sdown = false;
            consensus_->set_opinion(p, now);
        }
    }
    fed_sdown_ = std::move(keys);
    for (const auto& o : current) {
        proto::Opinion p;
        p.node = o.node_id.empty() ? o.address : o.node_id;
        p.sdown = o.sdown;
        p.evidence = to_proto(o.evidence);
        p.down_for = o.down_for;
        p.pfail_reports = o.cluster_flags_pfail ? 1 : 0;
        p.fail_reports = o.cluster_flags_fail ? 1 : 0;
        p.replicas_link_down = o.replicas_report_link_down ? 1 : 0;
        consensus_->set_opinion(p, now);
    }
}

void VoteService::process(TimePoint now) {
    (void)now;
    while (consensus_->has_output()) {
        auto out = consensus_->get_output();
        if (out.persist) {
            // The rule: what the messages depend on is durable before they leave.
            if (auto saved = consensus::save_state(state_path(), *out.persist); !saved) {
                failed_ = true;
                fatal_("cannot persist the vote state (" + saved.error() +
                       "); refusing to vote without it");
                return;
            }
        }
        if (network_) {
            for (const auto& m : out.messages) {
                network_->send(m.to, m.message);
            }
        }
        for (const auto& e : out.events) {
            std::string detail = "term " + std::to_string(e.term);
            if (!e.leader.empty()) {
                detail += ", leader " + e.leader;
            }
            if (!e.node.empty()) {
                detail += ", node " + e.node;
            }
            if (!e.watchers.empty()) {
                detail += ", watchers";
                for (const auto& w : e.watchers) {
                    detail += " " + w;
                }
            }
            if (!e.detail.empty()) {
                detail += ": " + e.detail;
            }
            report_(std::string(consensus::to_string(e.kind)), detail, e.node);
        }
        for (const auto& a : out.actions) {
            if (on_action_) {
                on_action_(a);
            } else {
                report_("failover_committed",
                        "record for shard " + a.record.key.shard + " (failed master " +
                            a.record.key.failed_master + ") committed; no executor",
                        a.record.key.failed_master);
            }
        }
    }
}

Expected<proto::FailoverRecord, consensus::ProposeError> VoteService::propose(
    proto::FailoverRecord record) {
    const TimePoint now = io::mono_now();
    auto r = consensus_->propose(std::move(record), now);
    process(now);
    return r;
}

Expected<proto::FailoverRecord, consensus::ProposeError> VoteService::propose_attempt(
    proto::FailoverRecord record) {
    const TimePoint now = io::mono_now();
    auto r = consensus_->propose_attempt(std::move(record), now);
    process(now);
    return r;
}

Expected<void, consensus::ProposeError> VoteService::set_maintenance(proto::MaintenanceEntry entry,
                                                                     bool on) {
    const TimePoint now = io::mono_now();
    auto r = consensus_->set_maintenance(std::move(entry), on, now);
    process(now);
    return r;
}

bool VoteService::report_progress(const proto::RecordKey& key, proto::RecordPhase phase,
                                  std::optional<std::uint32_t> attempt) {
    const TimePoint now = io::mono_now();
    const bool applied = consensus_->report_progress(key, phase, now, attempt);
    process(now);
    return applied;
}

json VoteService::status(TimePoint now) const {
    json v;
    if (!consensus_) {
        return v;
    }
    const auto& c = *consensus_;
    v["term"] = c.term();
    v["role"] = std::string(consensus::to_string(c.role()));
    v["leader"] = c.leader() ? json(*c.leader()) : json(nullptr);
    v["voted_for"] = c.voted_for() ? json(*c.voted_for()) : json(nullptr);
    v["incarnation"] = c.incarnation();
    v["lease_valid"] = c.lease_valid(now);
    v["lease_remaining_ms"] = c.lease_valid(now) ? json(ms(c.lease_until() - now)) : json(nullptr);
    v["quorum"] = c.config().effective_quorum();
    v["voters"] = c.config().voters;
    json odown = json::object();
    for (const auto& [node, st] : c.odown()) {
        odown[node] = {{"watchers", st.sdown_watchers},
                       {"min_down_for_ms", ms(st.min_down_for)},
                       {"evidence", std::string(proto::to_string(st.evidence))}};
    }
    v["odown"] = odown;
    v["records"] = c.records().size();
    v["maintenance_committed"] = c.maintenance_committed();
    json peers = json::object();
    if (network_) {
        for (const auto& p : config_.peers.members) {
            peers[p.id] = network_->connected(p.id);
        }
    }
    v["peers_connected"] = peers;
    return v;
}

std::string VoteService::info_text() const {
    if (!consensus_) {
        return "vote: not started\n";
    }
    const auto& c = *consensus_;
    std::string s = "watcher:" + config_.watcher.id + "\r\n";
    s += "cluster:" + config_.cluster.name + "\r\n";
    s += "protocol_version:" + std::to_string(proto::kProtocolVersion) + "\r\n";
    s += "term:" + std::to_string(c.term()) + "\r\n";
    s += "role:" + std::string(consensus::to_string(c.role())) + "\r\n";
    s += "leader:" + (c.leader() ? *c.leader() : std::string("-")) + "\r\n";
    s += "incarnation:" + std::to_string(c.incarnation()) + "\r\n";
    return s;
}

}  // namespace picket::daemon
