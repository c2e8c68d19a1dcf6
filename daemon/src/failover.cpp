#include "failover.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

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
constexpr std::size_t kHistoryLimit = 200;
const std::set<std::string, std::less<>> kFinal = {
    "converged", "not_converged", "failed", "aborted", "observed", "promoted_by_cluster"};

resp::Command graceful_failover_command() {
    return resp::Command{"CLUSTER", "FAILOVER"};
}
/// How long the last look at the failed master before a failover command may take.
constexpr std::chrono::milliseconds kLastLookTimeout{50};

/// The first slot of a record key's shard name ("0-5460", "5461-10922,16000").
std::optional<cluster::Slot> first_slot(const std::string& shard) {
    cluster::Slot slot = 0;
    const auto* end = shard.data() + shard.size();
    auto [p, ec] = std::from_chars(shard.data(), end, slot);
    if (ec != std::errc{} || p == shard.data()) {
        return std::nullopt;
    }
    return slot;
}
resp::Command verify_write_command(const std::string& tag) {
    // picket:* is the only key space deploy/redis/acl.conf lets picket write.
    return resp::Command{"SET", "picket:verify:" + tag, std::to_string(io::wall_seconds()), "PX",
                         "600000"};
}

resp::Command ping_command() {
    return resp::Command{"PING"};
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
/// The target's own CLUSTER NODES as a topology (for the compare-and-set), or why not.
asio::awaitable<Expected<cluster::Topology, std::string>> read_own_view(resp::Client& client,
                                                                        std::string address) {
    auto nodes = co_await client.exec(cluster_nodes_command(), std::chrono::milliseconds(1000));
    if (!nodes || !nodes->is_text()) {
        co_return unexpected("cannot read CLUSTER NODES from " + address + ": " +
                             (nodes ? nodes->str : nodes.error().message));
    }
    auto parsed = cluster::parse_cluster_nodes(nodes->str);
    auto view = parsed ? cluster::make_view(std::move(*parsed))
                       : picket::ParseResult<cluster::ClusterView>(unexpected(parsed.error()));
    if (!view) {
        co_return unexpected("CLUSTER NODES from " + address + ": " + view.error().to_string());
    }
    co_return cluster::Topology::build(std::vector<cluster::ClusterView>{*view});
}

/// Polls the target's INFO replication every 20 ms until it says role:master (true) or
/// `timeout` passes (false).
asio::awaitable<bool> wait_for_master(resp::Client& client, Duration timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = io::mono_now() + timeout;
    while (io::mono_now() < deadline) {
        auto info =
            co_await client.exec(info_replication_command(), std::chrono::milliseconds(500));
        if (info && info->is_text()) {
            if (auto parsed = cluster::parse_info(info->str); parsed) {
                if (auto repl = cluster::parse_replication(*parsed);
                    repl && repl->role == cluster::ReplicationRole::kMaster) {
                    co_return true;
                }
            }
        }
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(kAsTuple);
    }
    co_return false;
}
}  // namespace

FailoverService::FailoverService(asio::any_io_executor executor, const config::Config& config,
                                 const watch::Watcher& watcher, VoteService& vote, Report report)
    : executor_(std::move(executor)),
      wake_timer_(executor_),
      config_(config),
      watcher_(watcher),
      vote_(vote),
      report_(std::move(report)) {}

void FailoverService::wake_after(Duration after) {
    const auto at = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::max(after, Duration{}) + std::chrono::milliseconds(1));
    if (wake_at_ && *wake_at_ <= at) {
        return;  // an earlier wake-up is armed; it plans again and re-arms
    }
    wake_at_ = at;
    wake_timer_.expires_at(at);
    wake_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) {
            return;  // cancelled (re-armed earlier, or shutting down): `this` may be gone
        }
        wake_at_.reset();
        on_tick(io::mono_now());
    });
}

void FailoverService::set_state(Attempt& a, const std::string& state, const std::string& reason,
                                const std::string& event) {
    // A wait's reason counts down on every tick: report the state, not each new countdown
    // (a hang logged failover_waiting every 100 ms).
    const bool changed =
        a.state != state || (a.reason != reason && state != "waiting" && state != "fencing");
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
        if (state == "converged" && on_phase_ && a.promoted_at && a.converged_at) {
            on_phase_("converged",
                      std::chrono::duration<double>(*a.converged_at - *a.promoted_at).count());
        }
    }
    if (changed && !event.empty()) {
        report_(event,
                "shard " + a.record.key.shard + " (master " + a.record.key.failed_master +
                    "): " + reason,
                a.record.key.failed_master, a.record.key.shard);
    }
    if (new_state && kFinal.count(state) != 0) {
        remember(a);
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
    notice_maintenance_ends(now);
    // O(shards × nodes); what it feeds (status, metrics, readiness events) needs it once a
    // second, not every tick: at 1,000 nodes every 100 ms it was most of picketd's CPU.
    if (!readiness_at_ || now - *readiness_at_ >= std::chrono::seconds(1)) {
        readiness_at_ = now;
        update_readiness(now);
    }
    notice_rejoins(now);
    const auto* c = vote_.consensus();
    if (c == nullptr || !c->is_leader() || !c->lease_valid(now) || !config_.failover.enabled) {
        preferred_calm_since_.clear();
        return;
    }
    consider_failback(now);
    const auto& topology = watcher_.topology();
    const auto& nodes = watcher_.detector().nodes();
    std::erase_if(silent_last_look_,
                  [&](const std::string& m) { return c->odown().count(m) == 0; });
    for (const auto& [node_id, odown] : c->odown()) {
        auto master = failover::failed_master_from(topology, node_id);
        if (!master) {
            continue;  // not a slot-owning master (a replica, or unknown): nothing to promote
        }
        const auto key = failover::record_key(*master);
        // Decided already: the vote replicates the record and hands it back to execute.
        // An aborted record (its command failed, or could not leave) is planned again;
        // propose() reopens it with its original replica and mode. Without this a failure
        // whose command failed is never retried (the simulation's liveness check found
        // it: a master restarted after a failed FORCE and killed again at the same epoch).
        if (auto r = c->records().find(key);
            r != c->records().end() && r->second.phase != proto::RecordPhase::kAborted) {
            continue;
        }
        if (hook_vetoed_.count(key) != 0) {
            continue;  // the pre-failover hook said no; 'picketctl failover --force' clears it
        }
        if (auto why = settling(key, now); !why.empty()) {
            auto& a = attempts_[key];
            a.record.key = key;  // a new attempt: its events name the shard and master
            set_state(a, "waiting", why, "failover_waiting");
            continue;
        }
        if (auto sent = force_sent_.find(key); sent != force_sent_.end()) {
            const auto throttle = 2 * config_.failover.cluster_node_timeout;
            if (now - sent->second < throttle) {
                auto& a = attempts_[key];
                set_state(a, "waiting",
                          "the last CLUSTER FAILOVER FORCE for this failure did not promote; the "
                          "masters refuse votes for its replicas for 2 x cluster-node-timeout: " +
                              ms(throttle - (now - sent->second)) + " left",
                          "failover_waiting");
                continue;
            }
        }
        failover::PlanInput in;
        in.master = *master;
        in.evidence = odown.evidence;
        if (silent_last_look_.count(node_id) != 0) {
            in.evidence = proto::Evidence::kUnresponsive;  // see the last look in execute()
        }
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
        in.maintenance = nodes_in_maintenance(now);
        in.facts.maintenance = shard_in_maintenance(*master, now);
        std::size_t recent = 0;
        for (const auto& [shard, at] : last_success_) {
            recent += now - at < config_.failover.max_failovers_window ? 1U : 0U;
        }
        in.facts.rate_limited = recent >= config_.failover.max_failovers;
        in.facts.slots_migrating = failover::shard_migrating(topology, *master);
        in.facts.promoted_by_cluster = failover::cluster_promotion(topology, *master);
        if (auto last = last_success_.find(key.shard); last != last_success_.end()) {
            const auto since = now - last->second;
            if (since < config_.failover.cooldown) {
                in.facts.in_cooldown = true;
                in.facts.cooldown_remaining = config_.failover.cooldown - since;
            }
        }
        if (auto f = forced_.find(key.shard); f != forced_.end()) {
            if (now < f->second) {
                // The operator vouches (picketctl failover --force): no cooldown, rate
                // limit or timeouts-only wait, and TAKEOVER even if the lost masters
                // might be serving. Maintenance and the replica rules still hold.
                in.policy.allow_takeover = true;
                in.policy.takeover_when_unreachable = true;
                in.policy.fast_on_timeouts = true;
                in.facts.in_cooldown = false;
                in.facts.rate_limited = false;
            } else {
                forced_.erase(f);
            }
        }
        // An aborted attempt: move on to another candidate only once it can no longer land
        // (failover::switch_candidate); otherwise the vote reopens it on the same replica.
        std::optional<proto::FailoverRecord> previous;  // a copy: proposing changes it
        if (auto r = c->records().find(key); r != c->records().end()) {
            previous = r->second;
        }
        std::optional<failover::SwitchVerdict> verdict;
        if (previous) {
            const auto seen = aborted_seen_.try_emplace(key, now).first;
            failover::SwitchInput si;
            si.replica = previous->replica;
            if (const auto* n = topology.node(previous->replica); n != nullptr) {
                si.replica_address = n->address.endpoint();
            }
            si.mode = previous->mode;
            si.abort_committed = c->abort_committed(key);
            si.aborted_at = seen->second;
            if (auto lc = last_command_.find(key); lc != last_command_.end()) {
                si.command_sent_at = lc->second;
            }
            si.leader_since = c->leader_since();
            si.now = now;
            si.probe_delay = config_.detection.ping_interval + config_.detection.ping_timeout;
            si.cluster_node_timeout = config_.failover.cluster_node_timeout;
            si.topology = &topology;
            si.nodes = &nodes;
            verdict = failover::switch_candidate(si);
            if (verdict->may_switch) {
                in.failed_candidates.insert(previous->replica);
            } else if (!verdict->candidate_up) {
                // Retrying on a replica that is down (dead, hung or cut off) cannot work,
                // and switching is not safe yet: wait, and say why.
                set_state(attempts_[key], "waiting", verdict->reason, "failover_waiting");
                continue;
            }
        }
        auto plan = failover::plan_failover(in);
        if (const auto* v = plan.get<failover::Veto>();
            v != nullptr && v->why == failover::VetoReason::kNoEligibleReplica &&
            !in.failed_candidates.empty()) {
            in.failed_candidates.clear();  // no other candidate: retry the same one
            plan = failover::plan_failover(in);
        }
        auto& a = attempts_[key];
        a.record.key = key;
        if (const auto* w = plan.get<failover::Wait>()) {
            set_state(a, "waiting", w->reason, "failover_waiting");
            wake_after(w->until_since_last_contact - in.since_last_contact);
        } else if (const auto* v = plan.get<failover::Veto>()) {
            set_state(a, "vetoed", v->reason,
                      v->why == failover::VetoReason::kCooldown ? "failover_blocked_cooldown"
                                                                : "failover_blocked");
        } else if (const auto* d = plan.get<failover::AlreadyDone>()) {
            set_state(a, "promoted_by_cluster", d->reason, "failover_already_done");
        } else if (const auto* act = plan.get<failover::Act>()) {
            if (act->fence_remaining.count() > 0) {
                set_state(a, "fencing", act->reason, "failover_fencing");
                wake_after(act->fence_remaining);
                continue;
            }
            proto::FailoverRecord record;
            record.key = key;
            record.replica = act->replica;
            record.mode = act->mode;
            const bool switching =
                previous && verdict && verdict->may_switch && act->replica != previous->replica;
            auto proposed = switching ? vote_.propose_attempt(record) : vote_.propose(record);
            if (!proposed) {
                set_state(a, "refused",
                          "the vote refused the record: " +
                              std::string(consensus::to_string(proposed.error())),
                          "failover_refused");
                continue;
            }
            aborted_seen_.erase(key);
            if (switching) {
                a.failed_candidates.push_back(previous->replica + ": " + verdict->reason);
                a.sent_at.reset();
                a.promoted_at.reset();
                a.converged_at.reset();
                report_("failover_candidate_switched",
                        "shard " + key.shard + ": attempt " + std::to_string(proposed->attempt) +
                            " promotes " + act->replica + " instead of " + previous->replica +
                            ": " + verdict->reason + "; " + plan.choice.reason,
                        key.failed_master, key.shard);
            }
            a.record = *proposed;
            a.decided_at = now;
            a.decided_unix = io::wall_seconds();
            a.down_for_at_decision = odown.min_down_for;
            a.choice = plan.choice.reason;
            set_state(a, "proposed",
                      act->reason + "; " + plan.choice.reason +
                          (previous && !switching
                               ? "; retrying " + previous->replica + ": " + verdict->reason
                               : std::string()),
                      "failover_started");
            report_("failover_replica_chosen",
                    "shard " + key.shard + ": " + proposed->replica + " (" +
                        std::string(proto::to_string(proposed->mode)) + "); " + plan.choice.reason,
                    key.failed_master, key.shard);
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
        vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
        executing_.erase(record.key);
        co_return;
    }
    a.replica_address = target->address.endpoint();
    resp::ClientOptions o = watch_options(config_).client;
    std::tie(o.host, o.port) = split(a.replica_address);
    resp::Client client(executor_, o);

    // The operator's pre-failover hook first (it may take seconds): non-zero exit or
    // timeout vetoes this failure until an operator forces it.
    if (!config_.failover.pre_failover_command.empty() && !config_.failover.observe_only) {
        const auto why =
            co_await run_hook(config_.failover.pre_failover_command, a, "pre_failover", "");
        if (!why.empty()) {
            hook_vetoed_.insert(record.key);
            set_state(a, "vetoed_by_hook", "pre_failover_command vetoed: " + why,
                      "failover_vetoed");
            vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
            executing_.erase(record.key);
            co_return;
        }
    }

    // Compare-and-set against Redis itself: a lease cannot fence a pause between the
    // check and the command, so the target's own fresh view must still show the failure.
    auto own = co_await read_own_view(client, a.replica_address);
    if (!own) {
        set_state(a, "retrying", own.error(), "failover_retrying");
        vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
        executing_.erase(record.key);
        co_return;
    }
    const cluster::Topology& fresh = *own;
    if (auto cas = failover::still_valid(record, fresh); !cas) {
        const auto* t = fresh.node(record.replica);
        if (t != nullptr && t->role == cluster::NodeRole::kMaster) {
            // Promoted already (our earlier command, or the cluster's own failover).
            a.promoted_at = io::mono_now();
            set_state(a, "promoted", "target " + a.replica_address + " is master already",
                      "failover_promoted");
            vote_.report_progress(record.key, proto::RecordPhase::kDone, record.attempt);
            executing_.erase(record.key);
            co_await converge(record.key);
            co_return;
        }
        set_state(a, "aborted", cas.reason, "failover_aborted");
        vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
        executing_.erase(record.key);
        co_return;
    }
    if (io::mono_now() >= action.lease_until) {
        set_state(a, "retrying", "the leader's lease ran out before the command could leave",
                  "failover_retrying");
        vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
        executing_.erase(record.key);
        co_return;
    }
    // The failure must still be agreed now. A record decided while the master was dead is
    // executed by a later leader too (it adopts the record); still_valid() only checks that
    // the master still leads at its epoch, which a restarted master does. Without this a
    // restarted, healthy master would be replaced by FORCE without a handshake, losing its
    // latest writes (found by the simulation: ~16 such commands per 100 seeds).
    if (const auto* c = vote_.consensus();
        c == nullptr || c->odown().count(record.key.failed_master) == 0) {
        set_state(a, "aborted",
                  "the master is no longer objectively down at this leader: not sending",
                  "failover_aborted");
        vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
        executing_.erase(record.key);
        co_return;
    }
    // Last, ask the failed master itself: a killed master restarted within the last probe
    // interval still counts as down everywhere, yet serves its slots again (the simulation's
    // seed 38249: restarted 50 ms before the command, then cut off from the bus, it took
    // writes while its replica was promoted). Any reply aborts; refused or silent within
    // the short deadline proceeds (a hung master is what a timeouts-only failover is for).
    if (const auto* m = watcher_.topology().node(record.key.failed_master); m != nullptr) {
        resp::ClientOptions mo = watch_options(config_).client;
        std::tie(mo.host, mo.port) = split(m->address.endpoint());
        mo.connect_timeout = kLastLookTimeout;
        resp::Client master_client(executor_, mo);
        auto pong = co_await master_client.exec(ping_command(), kLastLookTimeout);
        if (pong) {
            set_state(a, "aborted",
                      "the failed master " + m->address.endpoint() +
                          " answers again (restarted?): not sending",
                      "failover_aborted");
            vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
            executing_.erase(record.key);
            co_return;
        }
        // Dead evidence must still hold: refused, reset or closed. Silence now means the
        // host went away or we were cut off from it — and a master restarted behind a
        // partition just before the command looks exactly so and takes writes until
        // cluster-node-timeout (the simulation's seed 86968). Then this failure is planned
        // as timeouts only: it waits like any silent master, and proceeds once that wait
        // has passed.
        const auto kind = pong.error().kind;
        const bool refused = kind == resp::ErrorKind::kRefused || kind == resp::ErrorKind::kReset ||
                             kind == resp::ErrorKind::kClosed;
        bool wait_more = false;
        if (const auto* vc = vote_.consensus(); !refused && vc != nullptr) {
            const auto it = vc->odown().find(record.key.failed_master);
            wait_more = it != vc->odown().end() &&
                        it->second.min_down_for < failover::timeouts_only_wait(policy());
        }
        if (wait_more) {
            silent_last_look_.insert(record.key.failed_master);
            set_state(a, "waiting",
                      "the failed master " + m->address.endpoint() +
                          " no longer refuses connections (" + pong.error().message +
                          "): it may have restarted behind a partition; waiting as on "
                          "timeouts only",
                      "failover_waiting");
            vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
            executing_.erase(record.key);
            co_return;
        }
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
    vote_.report_progress(record.key, proto::RecordPhase::kCommandSent, record.attempt);
    if (!sent || !sent->is_error()) {
        // Accepted, or no answer: it may act (a stopped replica runs what is buffered when
        // it resumes). Another candidate waits 2 x cluster-node-timeout after this.
        last_command_[record.key] = *a.sent_at;
        if (record.mode == proto::FailoverMode::kForce) {
            force_sent_[record.key] = *a.sent_at;
        }
    }
    if (!sent || sent->is_error()) {
        set_state(a, "failed",
                  "CLUSTER FAILOVER on " + a.replica_address +
                      " refused: " + (sent ? sent->str : sent.error().message),
                  "failover_failed");
        vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
        executing_.erase(record.key);
        co_return;
    }
    set_state(a, "command_sent",
              "CLUSTER FAILOVER " + std::string(proto::to_string(record.mode)) + " sent to " +
                  a.replica_address,
              "failover_command_sent");

    // Verify: the target reports role:master, bounded by failover.timeout.
    if (co_await wait_for_master(client, config_.failover.timeout)) {
        a.promoted_at = io::mono_now();
        last_success_[record.key.shard] = *a.promoted_at;
        vote_.report_progress(record.key, proto::RecordPhase::kDone, record.attempt);
        set_state(a, "promoted",
                  a.replica_address + " is master " + ms(*a.promoted_at - *a.sent_at) +
                      " after the command",
                  "failover_promoted");
        executing_.erase(record.key);
        co_await converge(record.key);
        co_return;
    }
    set_state(a, "failed",
              a.replica_address + " not master within " + ms(config_.failover.timeout) +
                  " after CLUSTER FAILOVER",
              "failover_failed");
    vote_.report_progress(record.key, proto::RecordPhase::kAborted, record.attempt);
    executing_.erase(record.key);
}

asio::awaitable<std::string> FailoverService::run_hook(std::vector<std::string> argv,
                                                       Attempt attempt, std::string phase,
                                                       std::string result) {
    const auto& r = attempt.record;
    std::vector<std::string> env = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PICKET_HOOK=" + phase,
        "PICKET_CLUSTER=" + config_.cluster.name,
        "PICKET_WATCHER=" + config_.watcher.id,
        "PICKET_SHARD=" + r.key.shard,
        "PICKET_FAILED_MASTER=" + r.key.failed_master,
        "PICKET_CONFIG_EPOCH=" + std::to_string(r.key.config_epoch),
        "PICKET_REPLICA=" + r.replica,
        "PICKET_REPLICA_ADDRESS=" + attempt.replica_address,
        "PICKET_MODE=" + std::string(proto::to_string(r.mode)),
        "PICKET_TERM=" + std::to_string(r.term),
        "PICKET_RESULT=" + result,
        "PICKET_REASON=" + attempt.reason,
    };
    if (const auto* n = watcher_.topology().node(r.key.failed_master); n != nullptr) {
        env.push_back("PICKET_FAILED_MASTER_ADDRESS=" + n->address.endpoint());
    }
    std::vector<char*> cargv;
    for (auto& s : argv) {
        cargv.push_back(s.data());
    }
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (auto& s : env) {
        cenv.push_back(s.data());
    }
    cenv.push_back(nullptr);
    pid_t pid = -1;
    if (const int rc = posix_spawn(&pid, cargv[0], nullptr, nullptr, cargv.data(), cenv.data());
        rc != 0) {
        co_return argv[0] + ": cannot start: " + std::strerror(rc);
    }
    spdlog::info("failover: {} hook {} started (pid {})", phase, argv[0], pid);
    asio::steady_timer timer(executor_);
    const auto deadline = io::mono_now() + config_.failover.hook_timeout;
    while (true) {
        int status = 0;
        const pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                co_return std::string();
            }
            co_return argv[0] + (WIFEXITED(status)
                                     ? " exited " + std::to_string(WEXITSTATUS(status))
                                     : " killed by signal " + std::to_string(WTERMSIG(status)));
        }
        if (done < 0 && errno != EINTR) {
            co_return argv[0] + ": waitpid: " + std::strerror(errno);
        }
        if (io::mono_now() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            co_return argv[0] + " did not finish within " + ms(config_.failover.hook_timeout) +
                " (killed)";
        }
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(kAsTuple);
    }
}

asio::awaitable<void> FailoverService::converge(proto::RecordKey key) {
    // Every node the model knows, but the failed master (it may be dead; when it returns
    // it rejoins as a replica, which notice_rejoins() reports).
    std::vector<std::pair<std::string, std::unique_ptr<resp::Client>>> clients;
    for (const auto& n : watcher_.topology().nodes()) {
        if (n.id == key.failed_master || n.noaddr || n.handshake) {
            continue;
        }
        resp::ClientOptions o = watch_options(config_).client;
        std::tie(o.host, o.port) = split(n.address.endpoint());
        clients.emplace_back(n.address.endpoint(), std::make_unique<resp::Client>(executor_, o));
    }
    asio::steady_timer timer(executor_);
    const auto deadline = io::mono_now() + config_.failover.timeout;
    std::string pending;
    std::string verified_write;
    std::unique_ptr<resp::Client> write_client;
    while (true) {
        std::size_t agree = 0;
        std::size_t answered = 0;
        pending.clear();
        for (auto& [address, client] : clients) {
            auto reply =
                co_await client->exec(cluster_nodes_command(), std::chrono::milliseconds(500));
            if (!reply || !reply->is_text()) {
                continue;  // unreachable nodes are not waited for; the count says so
            }
            auto parsed = cluster::parse_cluster_nodes(reply->str);
            if (!parsed) {
                continue;
            }
            auto view = cluster::make_view(std::move(*parsed));
            if (!view) {
                continue;
            }
            ++answered;
            auto& a = attempts_[key];
            if (auto r = failover::view_shows_promotion(*view, a.record); r.agrees) {
                ++agree;
            } else if (pending.empty()) {
                pending = r.reason;
            }
        }
        auto& a = attempts_[key];
        if (answered > 0 && agree == answered && config_.failover.verify_write &&
            verified_write.empty()) {
            // failover.verify_write: the new master must also accept a write to a picket
            // key of its own slots (what clients need), within the same deadline.
            if (!write_client) {
                resp::ClientOptions o = watch_options(config_).client;
                std::tie(o.host, o.port) = split(a.replica_address);
                write_client = std::make_unique<resp::Client>(executor_, o);
            }
            const auto slot = first_slot(key.shard);
            const std::string tag = slot ? cluster::hash_tag_for_slot(*slot) : std::string();
            const std::string probe_key = "picket:verify:" + tag;
            auto w = co_await write_client->exec(verify_write_command(tag),
                                                 std::chrono::milliseconds(500));
            if (w && w->type == resp::ReplyType::kStatus && w->str == "OK") {
                verified_write = probe_key;
            } else {
                pending = "the new master did not accept a write to " + probe_key + ": " +
                          (w ? w->str : w.error().message);
                agree = 0;
            }
        }
        if (answered > 0 && agree == answered) {
            a.converged_at = io::mono_now();
            set_state(
                a, "converged",
                std::to_string(agree) + " of " + std::to_string(clients.size()) +
                    " nodes agree on " + a.replica_address + " as master of [" + key.shard + "], " +
                    ms(*a.converged_at - a.promoted_at.value_or(*a.converged_at)) +
                    " after the promotion" +
                    (verified_write.empty() ? std::string()
                                            : ", and it accepted a write to " + verified_write) +
                    (answered < clients.size()
                         ? " (" + std::to_string(clients.size() - answered) + " did not answer)"
                         : ""),
                "failover_converged");
            break;
        }
        if (io::mono_now() >= deadline) {
            set_state(a, "not_converged",
                      a.replica_address + " is master, but not every node agrees within " +
                          ms(config_.failover.timeout) + ": " +
                          (answered == 0 ? std::string("no node answered") : pending),
                      "failover_not_converged");
            break;
        }
        timer.expires_after(std::chrono::milliseconds(50));
        co_await timer.async_wait(kAsTuple);
    }
    // Converged or not: the operator's post hook hears how it ended.
    if (!config_.failover.post_failover_command.empty()) {
        auto& a = attempts_[key];
        auto why =
            co_await run_hook(config_.failover.post_failover_command, a, "post_failover", a.state);
        if (!why.empty()) {
            spdlog::warn("failover: post_failover_command: {}", why);
        }
    }
}

std::string FailoverService::settling(const proto::RecordKey& except, TimePoint now) const {
    for (const auto& [key, a] : attempts_) {
        if (key == except) {
            continue;
        }
        if (executing_.count(key) != 0) {
            return "one failover at a time: shard " + key.shard + " is being failed over";
        }
        // Decided but not executing yet (the record is being replicated), or waiting for
        // its TAKEOVER fence, while that failure still holds: planned in the same pass, the
        // next shard would count the masters before this one is back and take a second
        // TAKEOVER where FORCE will do (an integration test found two masters killed
        // together taken over both at once).
        if ((a.state == "proposed" || a.state == "fencing") && vote_.consensus() != nullptr &&
            vote_.consensus()->odown().count(key.failed_master) != 0) {
            return "one failover at a time: shard " + key.shard +
                   (a.state == "fencing" ? " waits for its TAKEOVER fence"
                                         : " is being failed over");
        }
        if (a.promoted_at && now - *a.promoted_at < config_.failover.timeout &&
            (a.state == "promoted" || a.state == "converged" || a.state == "not_converged")) {
            const auto& topology = watcher_.topology();
            const auto serves = [](const cluster::NodeModel* m) {
                return m != nullptr && m->role == cluster::NodeRole::kMaster && !m->slots.empty();
            };
            // The model shows the promotion — or a later change of that shard: whoever
            // serves its first slot now is a master with slots at a newer config epoch
            // than the failed master's (a later failover, a switchover back). Without the
            // second case a promotion that was since undone kept every other shard
            // waiting for failover.timeout (found by the benchmark: consecutive kills).
            bool moved_on = false;
            if (const auto first = first_slot(key.shard); first) {
                if (const auto* sh = topology.shard_for_slot(*first); sh != nullptr) {
                    const auto* m = topology.node(sh->master_id);
                    moved_on = serves(m) && m->config_epoch > key.config_epoch;
                }
            }
            if (!serves(topology.node(a.record.replica)) && !moved_on) {
                return "waiting for this watcher's view of the cluster to show shard " + key.shard +
                       "'s new master before counting the masters again";
            }
        }
    }
    return {};
}

void FailoverService::consider_failback(TimePoint now) {
    const auto& f = config_.failover;
    if (!f.failback || f.observe_only || f.preferred_masters.empty()) {
        return;
    }
    const auto* c = vote_.consensus();
    const auto& topology = watcher_.topology();
    const auto& nodes = watcher_.detector().nodes();
    // Never during trouble: anything ODOWN or not up, a failover or switchover running,
    // safe mode, a cluster that is not ok.
    bool calm = c->odown().empty() && executing_.empty() &&
                !watcher_.detector().in_safe_mode(now) && !nodes.empty();
    for (const auto& [address, n] : nodes) {
        calm = calm && n.state == detect::NodeState::kUp;
    }
    if (const auto& ci = watcher_.cluster_info(); !ci || ci->state != cluster::ClusterState::kOk) {
        calm = false;
    }
    for (const auto& ref : f.preferred_masters) {
        const cluster::NodeModel* node =
            ref.node_id.empty() ? topology.node_by_address(ref.address.host, ref.address.port)
                                : topology.node(ref.node_id);
        if (node == nullptr) {
            continue;
        }
        const auto* st = failover::find_status(nodes, node->id, node->address.endpoint());
        const cluster::NodeModel* master =
            node->master_id ? topology.node(*node->master_id) : nullptr;
        const bool in_sync =
            st != nullptr && st->replication &&
            st->replication->role == cluster::ReplicationRole::kReplica &&
            st->replication->master_link_status == cluster::MasterLinkStatus::kUp &&
            st->lag_bytes &&
            static_cast<std::uint64_t>(std::max<std::int64_t>(*st->lag_bytes, 0)) <=
                f.max_lag_on_failover;
        if (!calm || node->role != cluster::NodeRole::kReplica || master == nullptr ||
            master->slots.empty() || !in_sync) {
            preferred_calm_since_.erase(node->id);
            continue;
        }
        auto [since, fresh] = preferred_calm_since_.try_emplace(node->id, now);
        if (now - since->second < f.failback_after) {
            continue;
        }
        const auto shard = failover::shard_name(cluster::normalize_slot_ranges(master->slots));
        if (auto last = last_failback_.find(shard);
            last != last_failback_.end() && now - last->second < f.cooldown) {
            continue;
        }
        if (auto last = last_success_.find(shard);
            last != last_success_.end() && now - last->second < f.failback_after) {
            continue;
        }
        last_failback_[shard] = now;
        preferred_calm_since_.erase(node->id);
        auto started = switchover(shard, node->id, "failback", now);
        spdlog::info("failback of shard {} to preferred master {}: {}", shard,
                     node->address.endpoint(), started ? *started : "refused: " + started.error());
        report_(started ? "failback_started" : "failback_refused",
                "shard " + shard + " back to preferred master " + node->address.endpoint() + ": " +
                    (started ? *started : started.error()),
                node->id, shard);
    }
}

void FailoverService::notice_rejoins(TimePoint now) {
    const auto& topology = watcher_.topology();
    for (auto& [key, a] : attempts_) {
        if (a.rejoined_at || (a.state != "converged" && a.state != "not_converged")) {
            continue;
        }
        const auto* old = topology.node(key.failed_master);
        if (old != nullptr && old->has_own_view() && old->role == cluster::NodeRole::kReplica &&
            old->master_id == a.record.replica) {
            a.rejoined_at = now;
            report_("failover_old_master_rejoined",
                    "shard " + key.shard + ": old master " + old->address.endpoint() +
                        " rejoined as a replica of " + a.replica_address,
                    key.failed_master, key.shard);
            remember(a);
        }
    }
}

void FailoverService::update_readiness(TimePoint now) {
    if (!watcher_.topology_known()) {
        return;
    }
    const auto& topology = watcher_.topology();
    const auto& nodes = watcher_.detector().nodes();
    std::size_t reachable = 1;
    if (const auto* net = vote_.network(); net != nullptr) {
        for (const auto& p : config_.peers.members) {
            if (p.id != config_.watcher.id && net->connected(p.id)) {
                ++reachable;
            }
        }
    }
    // One index for the pass: each shard's choice and look-ups cost O(its replicas), not a
    // scan of every node (O(shards × nodes) a pass at 1,000 nodes was ~8 % of a core).
    const failover::ChoiceIndex index(&topology, &nodes);
    auto masters = failover::master_liveness(topology, nodes, &index);
    const failover::Policy pass_policy = policy();
    const auto maintenance = nodes_in_maintenance(now);
    std::map<std::string, failover::Readiness> next;
    for (const auto& shard : topology.shards()) {
        auto master = failover::failed_master_from(topology, shard.master_id);
        if (!master || master->slots.empty()) {
            continue;
        }
        failover::ReadinessInput in;
        in.master = *master;
        in.topology = &topology;
        in.nodes = &nodes;
        in.index = &index;
        if (const auto* st = index.find_status(in.master.id, in.master.address);
            st != nullptr && st->replication) {
            in.master_offset = st->replication->master_repl_offset;
        }
        in.policy = pass_policy;
        in.maintenance = maintenance;
        in.facts.maintenance = shard_in_maintenance(*master, now);
        in.reachable_voters = reachable;
        in.voter_count = config_.voter_ids().size();
        in.quorum = config_.effective_quorum();
        in.masters = std::move(masters);  // lent, not copied: one list of every master
        const auto name = failover::shard_name(master->slots);
        if (auto last = last_success_.find(name); last != last_success_.end()) {
            const auto since = now - last->second;
            if (since < config_.failover.cooldown) {
                in.facts.in_cooldown = true;
                in.facts.cooldown_remaining = config_.failover.cooldown - since;
            }
        }
        auto r = failover::readiness(in);
        masters = std::move(in.masters);
        const auto before = readiness_.find(name);
        const bool was_ready = before == readiness_.end() || before->second.ready();
        if (r.ready() != was_ready) {
            report_(r.ready() ? "shard_failover_ready" : "shard_not_failover_ready",
                    "shard " + name + " (master " + master->address + "): " + r.reason, master->id,
                    name);
        }
        next.emplace(name, std::move(r));
    }
    readiness_ = std::move(next);
}

// --- Operator actions ----------------------------------------------------------------

std::optional<failover::FailedMaster> FailoverService::resolve_shard(const std::string& ref) const {
    const auto& topology = watcher_.topology();
    for (const auto& shard : topology.shards()) {
        auto m = failover::failed_master_from(topology, shard.master_id);
        if (!m || m->slots.empty()) {
            continue;
        }
        if (failover::shard_name(m->slots) == ref || m->id == ref || m->address == ref) {
            return m;
        }
    }
    return std::nullopt;
}

std::vector<proto::MaintenanceEntry> FailoverService::maintenance_now(TimePoint now) const {
    const auto* c = vote_.consensus();
    return c == nullptr ? std::vector<proto::MaintenanceEntry>{} : c->maintenance(now);
}

bool FailoverService::shard_in_maintenance(const failover::FailedMaster& master,
                                           TimePoint now) const {
    const auto shard = failover::shard_name(master.slots);
    for (const auto& m : maintenance_now(now)) {
        if (m.target == "cluster" || m.target == shard || m.target == master.id) {
            return true;
        }
    }
    return false;
}

std::set<std::string, std::less<>> FailoverService::nodes_in_maintenance(TimePoint now) const {
    std::set<std::string, std::less<>> out;
    for (const auto& m : maintenance_now(now)) {
        if (m.kind == "node") {
            out.insert(m.target);
            if (const auto* n = watcher_.topology().node(m.target); n != nullptr) {
                out.insert(n->address.endpoint());
            }
        }
    }
    return out;
}

void FailoverService::notice_maintenance_ends(TimePoint now) {
    const auto* c = vote_.consensus();
    if (c == nullptr || !c->is_leader()) {
        maintenance_seen_.clear();
        return;
    }
    std::map<std::string, std::string> current;
    for (const auto& m : maintenance_now(now)) {
        current.emplace(m.target, m.kind);
    }
    for (const auto& [target, kind] : maintenance_seen_) {
        if (!current.contains(target)) {
            report_("maintenance_off", kind + " " + target + ": maintenance ended",
                    kind == "node" ? target : "", kind == "shard" ? target : "");
        }
    }
    maintenance_seen_ = std::move(current);
}

Expected<std::string, std::string> FailoverService::set_maintenance(const std::string& target,
                                                                    bool on, Duration duration,
                                                                    const std::string& who,
                                                                    TimePoint now) {
    std::string key;
    std::string kind;
    if (target == "cluster") {
        key = kind = "cluster";
    } else if (auto m = resolve_shard(target); m && target != m->id && target != m->address) {
        key = failover::shard_name(m->slots);
        kind = "shard";
    } else {
        const auto& topology = watcher_.topology();
        const cluster::NodeModel* node = topology.node(target);
        if (node == nullptr) {
            const auto colon = target.rfind(':');
            if (colon != std::string::npos) {
                std::uint16_t port = 0;
                const auto p = target.substr(colon + 1);
                const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
                if (ec == std::errc{} && ptr == p.data() + p.size()) {
                    node = topology.node_by_address(target.substr(0, colon), port);
                }
            }
        }
        if (node == nullptr) {
            return unexpected("unknown target '" + target +
                              "': give 'cluster', a shard's slot ranges (e.g. 0-5460), or a "
                              "node's id or ip:port");
        }
        key = node->id;
        kind = "node";
    }
    const auto* c = vote_.consensus();
    if (c == nullptr || !c->is_leader()) {
        return unexpected(
            "not the leader: maintenance is cluster state, changed through the "
            "leader; the leader is " +
            (c != nullptr && c->leader() ? *c->leader() : std::string("unknown")));
    }
    const auto current = maintenance_now(now);
    const bool was_on =
        std::any_of(current.begin(), current.end(), [&](const auto& m) { return m.target == key; });
    proto::MaintenanceEntry entry;
    entry.target = key;
    entry.kind = kind;
    entry.by = who;
    entry.timed = on && duration.count() > 0;
    entry.remaining = entry.timed ? duration : Duration::zero();
    if (!on && !was_on) {
        return std::string(kind + " " + key + " was not in maintenance");
    }
    if (auto set = vote_.set_maintenance(entry, on); !set) {
        return unexpected("the vote refused: " + std::string(consensus::to_string(set.error())));
    }
    if (on) {
        maintenance_seen_[key] = kind;
    } else {
        maintenance_seen_.erase(key);
    }
    const std::string how = entry.timed ? " for " + ms(duration) : " until turned off";
    report_(on ? "maintenance_on" : "maintenance_off",
            kind + " " + key + ": maintenance " + (on ? "on" + how : std::string("off")) + " (by " +
                who + ")",
            kind == "node" ? key : "", kind == "shard" ? key : "");
    return std::string("maintenance " + std::string(on ? "on" : "off") + " for " + kind + " " +
                       key + (on ? how : std::string()) +
                       "; replicated by the vote to every watcher (status shows "
                       "maintenance_committed once a majority holds it)");
}

void FailoverService::check_old_maintenance_file() const {
    const auto path = config_.watcher.state_dir + "/maintenance.json";
    std::ifstream in(path);
    if (!in) {
        return;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    spdlog::warn(
        "{} is no longer read: maintenance is cluster state kept by the vote since protocol "
        "version 2. It held: {} — apply it again with 'picketctl maintenance on' through the "
        "leader, then delete the file",
        path, text.substr(0, 500));
}

json FailoverService::maintenance_status(TimePoint now) const {
    json list = json::array();
    for (const auto& m : maintenance_now(now)) {
        list.push_back({{"target", m.target},
                        {"kind", m.kind},
                        {"by", m.by},
                        {"remaining_ms", m.timed ? json(to_ms(m.remaining)) : json(nullptr)}});
    }
    return list;
}

Expected<std::string, std::string> FailoverService::acknowledge(const std::string& shard,
                                                                const std::string& who) {
    auto m = resolve_shard(shard);
    const std::string name = m ? failover::shard_name(m->slots) : shard;
    if (last_success_.erase(name) == 0) {
        return std::string("shard " + name + " had no cooldown on watcher " + config_.watcher.id);
    }
    report_("failover_acknowledged", "shard " + name + ": cooldown lifted by " + who, "", name);
    return std::string("cooldown of shard " + name + " lifted");
}

Expected<std::string, std::string> FailoverService::force_failover(const std::string& shard,
                                                                   const std::string& who,
                                                                   TimePoint now) {
    const auto* c = vote_.consensus();
    if (c == nullptr || !c->is_leader()) {
        return unexpected("not the leader; the leader is " +
                          (c != nullptr && c->leader() ? *c->leader() : std::string("unknown")));
    }
    auto m = resolve_shard(shard);
    if (!m) {
        return unexpected("unknown shard '" + shard + "'");
    }
    if (c->odown().count(m->id) == 0) {
        return unexpected("the master of shard " + failover::shard_name(m->slots) + " (" +
                          m->address +
                          ") is not objectively down; for a healthy master use "
                          "'picketctl switchover'");
    }
    const auto name = failover::shard_name(m->slots);
    forced_[name] = now + std::chrono::minutes(1);
    hook_vetoed_.erase(failover::record_key(*m));
    report_("failover_forced",
            "shard " + name + ": forced failover requested by " + who +
                " (cooldown, rate limit, timeouts-only wait and TAKEOVER safety overridden)",
            m->id, name);
    return std::string("forced failover of shard " + name +
                       " armed for 1 minute; it proceeds at the next tick unless maintenance or "
                       "the replica rules refuse it (see 'picketctl status' and 'history')");
}

Expected<std::string, std::string> FailoverService::switchover(const std::string& shard,
                                                               const std::string& to,
                                                               const std::string& who,
                                                               TimePoint now) {
    const auto* c = vote_.consensus();
    if (c == nullptr || !c->is_leader() || !c->lease_valid(now)) {
        return unexpected("not the leader (or its lease is not valid); the leader is " +
                          (c != nullptr && c->leader() ? *c->leader() : std::string("unknown")));
    }
    const auto& topology = watcher_.topology();
    const auto& nodes = watcher_.detector().nodes();
    auto m = resolve_shard(shard);
    if (!m) {
        return unexpected("unknown shard '" + shard + "'");
    }
    const auto name = failover::shard_name(m->slots);
    const auto* ms_status = failover::find_status(nodes, m->id, m->address);
    if (ms_status == nullptr || ms_status->state != detect::NodeState::kUp ||
        c->odown().count(m->id) != 0) {
        return unexpected("the master of shard " + name + " (" + m->address +
                          ") is not up: a graceful switchover needs it; if it failed, picket "
                          "fails it over itself (or 'picketctl failover --force')");
    }
    if (failover::shard_migrating(topology, *m)) {
        return unexpected("shard " + name + " has slots importing or migrating");
    }
    for (const auto& [key, a] : attempts_) {
        if (key.shard == name && executing_.count(key) != 0) {
            return unexpected("a failover of shard " + name + " is in progress");
        }
    }
    // The best replica by the failover rules (down, lagging, never_promote, priority 0 and
    // maintenance excluded), or the operator's, which must pass the same rules.
    failover::ChoiceInput ci;
    ci.master_id = m->id;
    ci.master_address = m->address;
    ci.master_hostname = m->hostname;
    ci.topology = &topology;
    ci.nodes = &nodes;
    ci.maintenance = nodes_in_maintenance(now);
    if (ms_status->replication) {
        ci.master_offset = ms_status->replication->master_repl_offset;
    }
    ci.master_failed_at = now;  // healthy: the replicas' links must be up now
    ci.policy = policy();
    const auto choice = failover::choose_replica(ci);
    std::string target;
    if (to.empty()) {
        if (!choice.chosen) {
            return unexpected("no eligible replica: " + choice.reason);
        }
        target = *choice.chosen;
    } else {
        const auto* node = topology.node(to);
        if (node == nullptr) {
            const auto colon = to.rfind(':');
            if (colon != std::string::npos) {
                node = topology.node_by_address(
                    to.substr(0, colon),
                    static_cast<std::uint16_t>(std::atoi(to.c_str() + colon + 1)));
            }
        }
        if (node == nullptr) {
            return unexpected("unknown node '" + to + "'");
        }
        bool eligible = false;
        for (const auto& v : choice.candidates) {
            if (v.node_id == node->id) {
                eligible = v.eligible();
            }
        }
        if (!eligible) {
            return unexpected("replica " + to + " is not eligible: " + choice.reason);
        }
        target = node->id;
    }
    proto::FailoverRecord record;
    record.key = failover::record_key(*m);
    record.replica = target;
    record.mode = proto::FailoverMode::kForce;  // recorded as graceful in the attempt
    auto& a = attempts_[record.key];
    if (executing_.count(record.key) != 0) {
        return unexpected("a switchover of shard " + name + " is in progress");
    }
    a = Attempt{};
    a.record = record;
    a.decided_at = now;
    a.decided_unix = io::wall_seconds();
    a.choice = choice.reason;
    executing_.insert(record.key);
    set_state(a, "switchover", "switchover requested by " + who + ": " + name + " to " + target,
              "switchover_started");
    asio::co_spawn(executor_, run_switchover(record, who), asio::detached);
    return std::string("switchover of shard " + name + " from " + m->address + " to " + target +
                       " started");
}

asio::awaitable<void> FailoverService::run_switchover(proto::FailoverRecord record,
                                                      std::string who) {
    auto& a = attempts_[record.key];
    const auto* target = watcher_.topology().node(record.replica);
    auto finish = [&](const std::string& state, const std::string& reason,
                      const std::string& event) {
        set_state(a, state, reason, event);
        executing_.erase(record.key);
    };
    if (target == nullptr) {
        finish("failed", "replica left the topology", "switchover_failed");
        co_return;
    }
    a.replica_address = target->address.endpoint();
    resp::ClientOptions o = watch_options(config_).client;
    std::tie(o.host, o.port) = split(a.replica_address);
    resp::Client client(executor_, o);
    auto own = co_await read_own_view(client, a.replica_address);
    if (!own) {
        finish("failed", own.error(), "switchover_failed");
        co_return;
    }
    if (auto cas = failover::still_valid(record, *own); !cas) {
        finish("aborted", cas.reason, "switchover_failed");
        co_return;
    }
    const auto* c = vote_.consensus();
    if (c == nullptr || !c->lease_valid(io::mono_now())) {
        finish("aborted", "lost the lease before the command could leave", "switchover_failed");
        co_return;
    }
    a.sent_at = io::mono_now();
    auto sent = co_await client.exec(graceful_failover_command(), std::chrono::milliseconds(1000));
    if (!sent || sent->is_error()) {
        finish("failed",
               "CLUSTER FAILOVER on " + a.replica_address +
                   " refused: " + (sent ? sent->str : sent.error().message),
               "switchover_failed");
        co_return;
    }
    if (co_await wait_for_master(client, config_.failover.timeout)) {
        a.promoted_at = io::mono_now();
        // A switchover does not start a cooldown: it is planned, not a flap.
        set_state(a, "promoted",
                  a.replica_address + " is master " + ms(*a.promoted_at - *a.sent_at) +
                      " after CLUSTER FAILOVER (graceful, by " + who + ")",
                  "switchover_promoted");
        executing_.erase(record.key);
        co_await converge(record.key);
        co_return;
    }
    // A graceful failover that does not complete in time is abandoned by Redis itself
    // (the master resumes clients after its pause): nothing changed.
    finish("failed",
           a.replica_address + " not master within " + ms(config_.failover.timeout) +
               " after CLUSTER FAILOVER; Redis abandons an unfinished graceful failover",
           "switchover_failed");
}

std::string FailoverService::history_path() const {
    return config_.watcher.state_dir + "/failover-history.json";
}

void FailoverService::load_history() {
    const auto path = history_path();
    std::ifstream in(path);
    if (!in) {
        return;
    }
    auto doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_array()) {
        std::error_code ec;
        std::filesystem::rename(path, path + ".bad", ec);
        spdlog::warn("failover history {} is damaged; set aside as {}.bad, starting empty", path,
                     path);
        return;
    }
    for (auto& e : doc) {
        history_.push_back(std::move(e));
    }
    while (history_.size() > kHistoryLimit) {
        history_.pop_front();
    }
}

void FailoverService::remember(Attempt& a) {
    auto stamp = [&](const std::optional<TimePoint>& t) {
        return t && a.decided_at ? json(to_ms(*t - *a.decided_at)) : json(nullptr);
    };
    json e{{"shard", a.record.key.shard},
           {"failed_master", a.record.key.failed_master},
           {"config_epoch", a.record.key.config_epoch},
           {"replica", a.record.replica},
           {"replica_address", a.replica_address},
           {"mode", std::string(proto::to_string(a.record.mode))},
           {"term", a.record.term},
           {"attempt", a.record.attempt},
           {"failed_candidates", a.failed_candidates},
           {"state", a.state},
           {"reason", a.reason},
           {"choice", a.choice},
           {"decided_unix", a.decided_unix},
           {"recorded_unix", io::wall_seconds()},
           {"by", config_.watcher.id},
           {"down_for_at_decision_ms", to_ms(a.down_for_at_decision)},
           {"command_sent_after_ms", stamp(a.sent_at)},
           {"promoted_after_ms", stamp(a.promoted_at)},
           {"converged_after_ms", stamp(a.converged_at)},
           {"rejoined_after_ms", stamp(a.rejoined_at)}};
    // One entry per failure key and watcher: a later phase (e.g. the old master
    // rejoining) updates the entry instead of adding one.
    if (a.in_history) {
        for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
            if ((*it)["failed_master"] == a.record.key.failed_master &&
                (*it)["config_epoch"] == a.record.key.config_epoch) {
                *it = e;
                e = nullptr;
                break;
            }
        }
    }
    if (!e.is_null()) {
        history_.push_back(std::move(e));
    }
    a.in_history = true;
    while (history_.size() > kHistoryLimit) {
        history_.pop_front();
    }
    // temp file + rename: a crash leaves the old history or the new one, never half.
    const auto path = history_path();
    const auto tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << history().dump(1) << "\n";
        if (!out) {
            spdlog::warn("cannot write the failover history {}", tmp);
            return;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        spdlog::warn("cannot replace the failover history {}: {}", path, ec.message());
    }
}

json FailoverService::history() const {
    json list = json::array();
    for (const auto& e : history_) {
        list.push_back(e);
    }
    return list;
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
        j["attempt"] = a.record.attempt;
        j["failed_candidates"] = a.failed_candidates;
        j["state"] = a.state;
        j["reason"] = a.reason;
        auto stamp = [&](const std::optional<TimePoint>& t) {
            return t ? json(to_ms(t->time_since_epoch())) : json(nullptr);
        };
        j["decided_mono_ms"] = stamp(a.decided_at);
        j["sent_mono_ms"] = stamp(a.sent_at);
        j["promoted_mono_ms"] = stamp(a.promoted_at);
        j["converged_mono_ms"] = stamp(a.converged_at);
        j["rejoined_mono_ms"] = stamp(a.rejoined_at);
        j["choice"] = a.choice;
        j["down_for_at_decision_ms"] = to_ms(a.down_for_at_decision);
        list.push_back(j);
    }
    (void)now;
    json ready = json::object();
    for (const auto& [shard, r] : readiness_) {
        json problems = json::array();
        for (auto p : r.problems) {
            problems.push_back(std::string(failover::to_string(p)));
        }
        ready[shard] = {{"ready", r.ready()},
                        {"reason", r.reason},
                        {"replica", r.replica ? json(*r.replica) : json(nullptr)},
                        {"problems", problems}};
    }
    return json{{"enabled", config_.failover.enabled},
                {"observe_only", config_.failover.observe_only},
                {"readiness", ready},
                {"attempts", list}};
}

}  // namespace picket::daemon
