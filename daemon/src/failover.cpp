#include "failover.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "daemon.h"
#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/info.h"
#include "picket/cluster/topology.h"
#include "picket/failover/plan.h"
#include "picket/io/clock.h"
#include "picket/resp/client.h"

namespace picket::daemon {

namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string ms(Duration d) {
    return std::to_string(to_ms(d)) + " ms";
}

// Commands are built outside coroutines (GCC 12 and braced initializer lists).
resp::Command cluster_nodes_command() {
    return resp::Command{"CLUSTER", "NODES"};
}
resp::Command info_replication_command() {
    return resp::Command{"INFO", "replication"};
}
resp::Command failover_command(proto::FailoverMode mode) {
    return resp::Command{"CLUSTER", "FAILOVER",
                         mode == proto::FailoverMode::kTakeover ? "TAKEOVER" : "FORCE"};
}

std::pair<std::string, std::uint16_t> split(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    std::string host = endpoint.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') {
        host = host.substr(1, host.size() - 2);
    }
    return {host, static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1)))};
}
}  // namespace

FailoverService::FailoverService(asio::any_io_executor executor, const config::Config& config,
                                 const watch::Watcher& watcher, VoteService& vote, Report report)
    : executor_(std::move(executor)),
      config_(config),
      watcher_(watcher),
      vote_(vote),
      report_(std::move(report)) {}

void FailoverService::set_state(Attempt& a, const std::string& state, const std::string& reason,
                                const std::string& event) {
    const bool changed = a.state != state || a.reason != reason;
    const bool new_state = a.state != state;
    a.state = state;
    a.reason = reason;
    if (new_state) {
        static const std::map<std::string, std::string, std::less<>> kResult = {
            {"promoted", "succeeded"},
            {"failed", "failed"},
            {"aborted", "failed"},
            {"vetoed", "vetoed"},
            {"refused", "blocked"}};
        if (auto r = kResult.find(state); r != kResult.end()) {
            ++results_[{a.record.key.shard, r->second}];
        }
        if (state == "promoted" && on_phase_ && a.decided_at && a.sent_at && a.promoted_at) {
            on_phase_("decided", std::chrono::duration<double>(a.down_for_at_decision).count());
            on_phase_("command_sent",
                      std::chrono::duration<double>(*a.sent_at - *a.decided_at).count());
            on_phase_("promoted",
                      std::chrono::duration<double>(*a.promoted_at - *a.sent_at).count());
        }
    }
    if (changed && !event.empty()) {
        report_(event,
                "shard " + a.record.key.shard.substr(0, 8) + " (master " +
                    a.record.key.failed_master + "): " + reason,
                a.record.key.failed_master, a.record.key.shard);
    }
}

failover::Policy FailoverService::policy() const {
    failover::Policy p;
    const auto& f = config_.failover;
    p.fast_on_timeouts = f.fast_on_timeouts;
    p.allow_takeover = f.allow_takeover;
    p.takeover_when_unreachable = f.takeover_when_unreachable;
    p.cluster_node_timeout = f.cluster_node_timeout;
    p.down_after_unresponsive = config_.detection.down_after_unresponsive;
    p.max_lag_on_failover = f.max_lag_on_failover;
    p.replica_max_link_down = f.replica_max_link_down;
    for (const auto& ref : f.never_promote) {
        p.never_promote.push_back(ref.node_id.empty() ? ref.address.to_string() : ref.node_id);
    }
    return p;
}

void FailoverService::on_tick(TimePoint now) {
    const auto* c = vote_.consensus();
    if (c == nullptr || !c->is_leader() || !c->lease_valid(now) || !config_.failover.enabled) {
        return;
    }
    const auto& topology = watcher_.topology();
    const auto& nodes = watcher_.detector().nodes();
    for (const auto& [node_id, odown] : c->odown()) {
        auto master = failover::failed_master_from(topology, node_id);
        if (!master) {
            continue;  // not a slot-owning master (a replica, or unknown): nothing to promote
        }
        const auto key = failover::record_key(*master);
        if (c->records().count(key) != 0) {
            continue;  // decided already: the vote replicates it and hands it back to execute
        }
        failover::PlanInput in;
        in.master = *master;
        in.evidence = odown.evidence;
        in.since_last_contact = odown.min_down_for;
        in.now = now;
        in.topology = &topology;
        in.nodes = &nodes;
        in.masters = failover::master_liveness(topology, nodes);
        if (const auto* st = failover::find_status(nodes, master->id, master->address);
            st != nullptr && st->replication) {
            in.master_offset = st->replication->master_repl_offset;
        }
        in.policy = policy();
        in.facts.slots_migrating = failover::shard_migrating(topology, *master);
        in.facts.promoted_by_cluster = failover::cluster_promotion(topology, *master);
        if (auto last = last_success_.find(key.shard); last != last_success_.end()) {
            const auto since = now - last->second;
            if (since < config_.failover.cooldown) {
                in.facts.in_cooldown = true;
                in.facts.cooldown_remaining = config_.failover.cooldown - since;
            }
        }
        const auto plan = failover::plan_failover(in);
        auto& a = attempts_[key];
        a.record.key = key;
        if (const auto* w = plan.get<failover::Wait>()) {
            set_state(a, "waiting", w->reason, "failover_waiting");
        } else if (const auto* v = plan.get<failover::Veto>()) {
            set_state(a, "vetoed", v->reason, "failover_blocked");
        } else if (const auto* d = plan.get<failover::AlreadyDone>()) {
            set_state(a, "promoted_by_cluster", d->reason, "failover_already_done");
        } else if (const auto* act = plan.get<failover::Act>()) {
            if (act->fence_remaining.count() > 0) {
                set_state(a, "fencing", act->reason, "failover_fencing");
                continue;
            }
            proto::FailoverRecord record;
            record.key = key;
            record.replica = act->replica;
            record.mode = act->mode;
            auto proposed = vote_.propose(record);
            if (!proposed) {
                set_state(a, "refused",
                          "the vote refused the record: " +
                              std::string(consensus::to_string(proposed.error())),
                          "failover_refused");
                continue;
            }
            a.record = *proposed;
            a.decided_at = now;
            a.down_for_at_decision = odown.min_down_for;
            set_state(a, "proposed", act->reason + "; " + plan.choice.reason, "failover_started");
        }
    }
}

void FailoverService::on_action(const consensus::Action& action) {
    if (executing_.count(action.record.key) != 0) {
        return;
    }
    executing_.insert(action.record.key);
    asio::co_spawn(executor_, execute(action), asio::detached);
}

asio::awaitable<void> FailoverService::execute(consensus::Action action) {
    const auto& record = action.record;
    auto& a = attempts_[record.key];
    a.record = record;
    const auto* target = watcher_.topology().node(record.replica);
    if (target == nullptr) {
        set_state(a, "failed", "chosen replica " + record.replica + " is not in the topology",
                  "failover_failed");
        executing_.erase(record.key);
        co_return;
    }
    a.replica_address = target->address.endpoint();
    resp::ClientOptions o = watch_options(config_).client;
    std::tie(o.host, o.port) = split(a.replica_address);
    resp::Client client(executor_, o);

    // Compare-and-set against Redis itself: a lease cannot fence a pause between the
    // check and the command, so the target's own fresh view must still show the failure.
    auto nodes = co_await client.exec(cluster_nodes_command(), std::chrono::milliseconds(1000));
    if (!nodes || !nodes->is_text()) {
        set_state(a, "retrying",
                  "cannot read CLUSTER NODES from " + a.replica_address + ": " +
                      (nodes ? nodes->str : nodes.error().message),
                  "failover_retrying");
        executing_.erase(record.key);
        co_return;
    }
    auto parsed = cluster::parse_cluster_nodes(nodes->str);
    auto view = parsed ? cluster::make_view(std::move(*parsed))
                       : picket::ParseResult<cluster::ClusterView>(unexpected(parsed.error()));
    if (!view) {
        set_state(a, "retrying", "CLUSTER NODES from the target: " + view.error().to_string(),
                  "failover_retrying");
        executing_.erase(record.key);
        co_return;
    }
    const auto fresh = cluster::Topology::build(std::vector<cluster::ClusterView>{*view});
    if (auto cas = failover::still_valid(record, fresh); !cas) {
        const auto* t = fresh.node(record.replica);
        if (t != nullptr && t->role == cluster::NodeRole::kMaster) {
            // Promoted already (our earlier command, or the cluster's own failover).
            a.promoted_at = io::mono_now();
            set_state(a, "promoted", "target " + a.replica_address + " is master already",
                      "failover_promoted");
            vote_.report_progress(record.key, proto::RecordPhase::kDone);
        } else {
            set_state(a, "aborted", cas.reason, "failover_aborted");
            vote_.report_progress(record.key, proto::RecordPhase::kAborted);
        }
        executing_.erase(record.key);
        co_return;
    }
    if (io::mono_now() >= action.lease_until) {
        set_state(a, "retrying", "the leader's lease ran out before the command could leave",
                  "failover_retrying");
        executing_.erase(record.key);
        co_return;
    }
    if (config_.failover.observe_only) {
        set_state(a, "observed",
                  "observe-only: would send CLUSTER FAILOVER " +
                      std::string(proto::to_string(record.mode)) + " to " + a.replica_address,
                  "failover_would_act");
        executing_.erase(record.key);
        co_return;
    }
    a.sent_at = io::mono_now();
    auto sent =
        co_await client.exec(failover_command(record.mode), std::chrono::milliseconds(1000));
    vote_.report_progress(record.key, proto::RecordPhase::kCommandSent);
    if (!sent || sent->is_error()) {
        set_state(a, "failed",
                  "CLUSTER FAILOVER on " + a.replica_address +
                      " refused: " + (sent ? sent->str : sent.error().message),
                  "failover_failed");
        executing_.erase(record.key);
        co_return;
    }
    set_state(a, "command_sent",
              "CLUSTER FAILOVER " + std::string(proto::to_string(record.mode)) + " sent to " +
                  a.replica_address,
              "failover_command_sent");

    // Verify: the target reports role:master, bounded by failover.timeout.
    asio::steady_timer timer(executor_);
    const auto deadline = io::mono_now() + config_.failover.timeout;
    while (io::mono_now() < deadline) {
        auto info =
            co_await client.exec(info_replication_command(), std::chrono::milliseconds(500));
        if (info && info->is_text()) {
            if (auto parsed_info = cluster::parse_info(info->str); parsed_info) {
                if (auto repl = cluster::parse_replication(*parsed_info);
                    repl && repl->role == cluster::ReplicationRole::kMaster) {
                    a.promoted_at = io::mono_now();
                    last_success_[record.key.shard] = *a.promoted_at;
                    vote_.report_progress(record.key, proto::RecordPhase::kDone);
                    set_state(a, "promoted",
                              a.replica_address + " is master " + ms(*a.promoted_at - *a.sent_at) +
                                  " after the command",
                              "failover_promoted");
                    executing_.erase(record.key);
                    co_return;
                }
            }
        }
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(kAsTuple);
    }
    set_state(a, "failed",
              a.replica_address + " not master within " + ms(config_.failover.timeout) +
                  " after CLUSTER FAILOVER",
              "failover_failed");
    executing_.erase(record.key);
}

json FailoverService::status(TimePoint now) const {
    json list = json::array();
    for (const auto& [key, a] : attempts_) {
        json j;
        j["shard"] = key.shard;
        j["failed_master"] = key.failed_master;
        j["config_epoch"] = key.config_epoch;
        j["replica"] = a.record.replica;
        j["replica_address"] = a.replica_address;
        j["mode"] = std::string(proto::to_string(a.record.mode));
        j["state"] = a.state;
        j["reason"] = a.reason;
        auto stamp = [&](const std::optional<TimePoint>& t) {
            return t ? json(to_ms(t->time_since_epoch())) : json(nullptr);
        };
        j["decided_mono_ms"] = stamp(a.decided_at);
        j["sent_mono_ms"] = stamp(a.sent_at);
        j["promoted_mono_ms"] = stamp(a.promoted_at);
        j["down_for_at_decision_ms"] = to_ms(a.down_for_at_decision);
        list.push_back(j);
    }
    (void)now;
    return json{{"enabled", config_.failover.enabled},
                {"observe_only", config_.failover.observe_only},
                {"attempts", list}};
}

}  // namespace picket::daemon
