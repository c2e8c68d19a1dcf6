#include "simulation.h"

#include <algorithm>
#include <sstream>

#include "picket/consensus/persistent_state.h"
#include "picket/consensus/rng.h"

namespace picket::sim {

void Coverage::add(const Coverage& o) {
    elections += o.elections;
    stepdowns += o.stepdowns;
    restarts += o.restarts;
    crashes_mid_output += o.crashes_mid_output;
    pauses += o.pauses;
    partitions += o.partitions;
    dropped += o.dropped;
    duplicated += o.duplicated;
    sealed += o.sealed;
    auth_drops += o.auth_drops;
    master_kills += o.master_kills;
    odown += o.odown;
    proposals += o.proposals;
    adoptions += o.adoptions;
    commands += o.commands;
    cas_refused += o.cas_refused;
    promotions += o.promotions;
    late_commands += o.late_commands;
    lease_checks += o.lease_checks;
}

std::string Coverage::to_string() const {
    std::ostringstream s;
    s << "elections=" << elections << " stepdowns=" << stepdowns << " restarts=" << restarts
      << " crashes_mid_output=" << crashes_mid_output << " pauses=" << pauses
      << " partitions=" << partitions << " dropped=" << dropped << " duplicated=" << duplicated
      << " sealed=" << sealed << " auth_drops=" << auth_drops << " master_kills=" << master_kills
      << " odown=" << odown << " proposals=" << proposals << " adoptions=" << adoptions
      << " commands=" << commands << " cas_refused=" << cas_refused << " promotions=" << promotions
      << " late_commands=" << late_commands << " lease_checks=" << lease_checks;
    return s.str();
}

namespace {

using namespace std::chrono_literals;
using consensus::Consensus;
using consensus::Event;
using consensus::Role;
using proto::FailoverRecord;
using proto::RecordKey;
using proto::RecordPhase;

constexpr Duration kStep = 10ms;
/// Per-shard cooldown of the failover-decision stand-in. Must exceed the longest delay
/// between a command's compare-and-set and its landing (kMaxStall): that is what keeps
/// a stalled old command from landing after a newer failover of the same shard.
constexpr Duration kCooldown = 4s;
constexpr Duration kMaxStall = 2500ms;

/// One simulated watcher: the consensus object (absent while crashed), its disk, its
/// clock, and the ground truth of what its detector would say.
struct Watcher {
    WatcherId id;
    std::size_t index = 0;
    std::unique_ptr<Consensus> c;
    std::string disk;  ///< encode_state() bytes, the "fsynced" file
    TimePoint down_until{};
    TimePoint paused_until{};
    bool crash_mid_output = false;
    std::int64_t drift_ppm = 0;
    Duration offset{};
    std::unique_ptr<proto::Authenticator> auth;
    /// Detector ground truth: node → SDOWN since (real time).
    std::map<std::string, TimePoint> sdown_since;
    /// node → last real time its SDOWN opinion was true.
    std::map<std::string, TimePoint> last_sdown;
    consensus::Invariants invariants;

    bool running(TimePoint now) const { return c && now >= paused_until; }
    TimePoint local(TimePoint real) const {
        const auto since = real.time_since_epoch();
        return TimePoint(since + since * drift_ppm / 1'000'000 + offset);
    }
};

struct RNode {
    std::string id;
    std::string shard;
    bool alive = true;
};

struct Shard {
    std::string id;
    std::string master;
    std::uint64_t epoch = 0;
    std::vector<std::string> nodes;
    TimePoint last_change{};
};

struct Flight {
    std::size_t from = 0;
    std::size_t to = 0;
    proto::Message message;
    std::optional<std::string> sealed;  ///< through the real Authenticator
};

struct Command {
    RecordKey key;
    std::string target;
    std::size_t from = 0;
};

/// A scheduled change of a watcher's detector opinion.
struct OpinionChange {
    std::size_t watcher = 0;
    std::string node;
    bool sdown = false;
    /// Apply only if the node is (dead: kill detection) / (alive: recovery) by then.
    enum class Guard : std::uint8_t { kNone, kNodeDead, kNodeAlive } guard = Guard::kNone;
};

class Sim {
  public:
    explicit Sim(const SimConfig& cfg) : cfg_(cfg), rng_(cfg.seed * 0x9E3779B97F4A7C15ULL + 1) {
        for (std::size_t i = 0; i < cfg.watchers; ++i) {
            ids_.push_back("w" + std::to_string(i + 1));
        }
        base_.voters = ids_;
        base_.heartbeat_interval = 100ms;
        base_.election_timeout_min = 1000ms;
        base_.election_timeout_max = 2000ms;
        for (std::size_t i = 0; i < ids_.size(); ++i) {
            auto w = std::make_unique<Watcher>();
            w->id = ids_[i];
            w->index = i;
            w->drift_ppm = static_cast<std::int64_t>(rng_.uniform(0, 40'000)) - 20'000;
            w->offset = Duration(static_cast<Duration::rep>(rng_.uniform(0, 1'000'000'000'000)));
            watchers_.push_back(std::move(w));
        }
        for (int s = 0; s < 3; ++s) {
            Shard sh;
            sh.id = "s" + std::to_string(s);
            for (int n = 0; n < 3; ++n) {
                const std::string id = sh.id + "n" + std::to_string(n);
                sh.nodes.push_back(id);
                nodes_[id] = RNode{id, sh.id, true};
            }
            sh.master = sh.nodes[0];
            sh.epoch = ++epoch_;
            shards_[sh.id] = sh;
        }
        for (auto& w : watchers_) {
            start(*w);
        }
    }

    SimResult run() {
        const TimePoint heal_at = now_ + cfg_.fault_phase;
        while (now_ < heal_at && result_.violations.empty()) {
            faults();
            step();
        }
        heal();
        // Liveness 1: a leader (with a lease) within the bound.
        const TimePoint leader_deadline = now_ + cfg_.leader_bound;
        bool leader = false;
        while (now_ < leader_deadline && result_.violations.empty() && !leader) {
            step();
            for (auto& w : watchers_) {
                leader = leader || (w->running(now_) && w->c->lease_valid(w->local(now_)));
            }
        }
        if (!leader) {
            violation("no leader within " + std::to_string(to_ms(cfg_.leader_bound)) +
                      " ms of healing");
        }
        // Liveness 2: a master killed now is promoted within the bound.
        const TimePoint settle = now_ + kCooldown + 1s;
        while (now_ < settle && result_.violations.empty()) {
            step();
        }
        if (result_.violations.empty()) {
            Shard& sh = shards_.at("s" + std::to_string(rng_.uniform(0, 2)));
            const std::string victim = sh.master;
            kill_master(sh, 100ms, 600ms);
            const TimePoint deadline = now_ + cfg_.failover_bound;
            while (now_ < deadline && result_.violations.empty() && sh.master == victim) {
                step();
            }
            if (sh.master == victim && result_.violations.empty()) {
                violation("killed master " + victim + " not promoted within " +
                          std::to_string(to_ms(cfg_.failover_bound)) + " ms");
            }
        }
        if (result_.coverage.elections == 0) {
            violation("coverage: no election at all");
        }
        result_.ok = result_.violations.empty();
        return std::move(result_);
    }

  private:
    // ------------------------------------------------------------------ trace
    void trace(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0, std::uint64_t d = 0) {
        for (std::uint64_t v :
             {static_cast<std::uint64_t>(now_.time_since_epoch().count()), a, b, c, d}) {
            for (int i = 0; i < 8; ++i) {
                hash_ ^= (v >> (8 * i)) & 0xff;
                hash_ *= 0x100000001b3ULL;
            }
        }
        result_.trace_hash = hash_;
    }
    void note(const std::string& line) {
        if (cfg_.keep_trace) {
            result_.trace.push_back(std::to_string(to_ms(now_.time_since_epoch())) + "ms " + line);
        }
    }
    void violation(std::string what) {
        result_.violations.push_back("t=" + std::to_string(to_ms(now_.time_since_epoch())) +
                                     "ms: " + std::move(what));
        note("VIOLATION " + result_.violations.back());
    }

    Duration uniform(Duration lo, Duration hi) {
        return Duration(static_cast<Duration::rep>(rng_.uniform(
            static_cast<std::uint64_t>(lo.count()), static_cast<std::uint64_t>(hi.count()))));
    }

    // ------------------------------------------------------------------ watchers
    void start(Watcher& w) {
        consensus::PersistentState loaded;
        if (!w.disk.empty()) {
            auto decoded = consensus::decode_state(w.disk);
            if (!decoded) {
                violation(w.id + ": own state file unreadable: " + decoded.error().message);
                return;
            }
            loaded = std::move(*decoded);
        }
        consensus::Config c = base_;
        c.self = w.id;
        w.c = std::make_unique<Consensus>(c, std::move(loaded), rng_.next(), w.local(now_));
        w.auth.reset();
        drain(w);  // persists the new incarnation before anything is sent
        if (!w.c) {
            return;
        }
        w.auth = std::make_unique<proto::Authenticator>(
            proto::AuthConfig{"sim-secret", "sim", ids_, w.id}, w.c->incarnation());
        note(w.id + " started, incarnation " + std::to_string(w.c->incarnation()));
        // The detector starts over and reports what it sees.
        for (const auto& [node, since] : w.sdown_since) {
            feed_opinion(w, node, true);
        }
    }

    void crash(Watcher& w, bool mid_output) {
        w.c.reset();
        w.auth.reset();
        w.down_until = now_ + (rng_.chance(1, 2) ? uniform(20ms, 300ms) : uniform(300ms, 4s));
        ++result_.coverage.restarts;
        result_.coverage.crashes_mid_output += mid_output;
        trace(1, w.index, mid_output);
        note(w.id + (mid_output ? " crashed before persisting" : " crashed"));
    }

    void feed_opinion(Watcher& w, const std::string& node, bool sdown) {
        if (!w.c) {
            return;  // crashed while an earlier opinion's output was drained
        }
        proto::Opinion o;
        o.node = node;
        o.sdown = sdown;
        o.evidence = sdown ? proto::Evidence::kDead : proto::Evidence::kNone;
        auto it = w.sdown_since.find(node);
        o.down_for = sdown && it != w.sdown_since.end() ? now_ - it->second : Duration{};
        o.fail_reports = sdown ? 1 : 0;
        w.c->set_opinion(o, w.local(now_));
        drain(w);
    }

    /// Takes a watcher's output the way the shell does: persist, then send and act.
    void drain(Watcher& w) {
        if (!w.c || !w.c->has_output()) {
            return;
        }
        consensus::Output out = w.c->get_output();
        if (w.crash_mid_output && (out.persist || !out.messages.empty())) {
            w.crash_mid_output = false;
            crash(w, true);  // nothing of this output happened
            return;
        }
        if (out.persist) {
            w.disk = consensus::encode_state(*out.persist);
        }
        for (const auto& b : w.invariants.check(*w.c, w.local(now_))) {
            violation(b);
        }
        for (auto& e : out.events) {
            on_event(w, e);
        }
        for (auto& m : out.messages) {
            send(w, m);
        }
        for (auto& a : out.actions) {
            execute(w, a);
        }
    }

    void on_event(Watcher& w, const Event& e) {
        trace(2, w.index, static_cast<std::uint64_t>(e.kind), e.term);
        switch (e.kind) {
            case Event::Kind::kBecameLeader: {
                ++result_.coverage.elections;
                auto [it, inserted] = leaders_.emplace(e.term, w.id);
                if (!inserted && it->second != w.id) {
                    violation("two leaders in term " + std::to_string(e.term) + ": " + it->second +
                              " and " + w.id);
                }
                note(w.id + " leads term " + std::to_string(e.term));
                break;
            }
            case Event::Kind::kSteppedDown:
                ++result_.coverage.stepdowns;
                note(w.id + " stepped down: " + e.detail);
                break;
            case Event::Kind::kOdownDeclared:
                ++result_.coverage.odown;
                note(w.id + " ODOWN " + e.node + " " + e.detail);
                break;
            case Event::Kind::kRecordAdopted:
                ++result_.coverage.adoptions;
                break;
            case Event::Kind::kRecordCommitted: {
                // Paxos: once a majority holds a value for a failure, no other value is
                // ever committed for it, whatever the leader.
                const FailoverRecord& r = *e.record;
                if (!proposed_.contains({r.key, r.replica})) {
                    violation("committed a record no leader proposed: " + r.key.failed_master +
                              " -> " + r.replica);
                }
                auto [it, inserted] = committed_.emplace(r.key, r.replica);
                if (!inserted && it->second != r.replica) {
                    violation("two replicas committed for one failure of " + r.key.failed_master +
                              ": " + it->second + " and " + r.replica);
                }
                break;
            }
            default:
                break;
        }
    }

    // ------------------------------------------------------------------ network
    void send(Watcher& w, const consensus::Outgoing& m) {
        const std::size_t to = index_of(m.to);
        if (const auto* v = std::get_if<proto::VoteReply>(&m.message.body);
            v && v->granted && !v->prevote) {
            auto [it, inserted] = votes_.emplace(std::make_pair(w.index, m.message.term), to);
            if (!inserted && it->second != to) {
                violation(w.id + " voted twice in term " + std::to_string(m.message.term));
            }
        }
        if (cut_.contains({w.index, to})) {
            return;
        }
        int copies = 1;
        if (rng_.chance(drop_permille_, 1000)) {
            ++result_.coverage.dropped;
            return;
        }
        if (rng_.chance(dup_permille_, 1000)) {
            ++result_.coverage.duplicated;
            copies = 2;
        }
        Flight f{w.index, to, m.message, std::nullopt};
        if (++sent_ % 8 == 0 && w.auth) {
            f.sealed = w.auth->seal(m.to, m.message);
            ++result_.coverage.sealed;
        }
        for (int i = 0; i < copies; ++i) {
            const TimePoint at = now_ + uniform(1ms, max_delay_);
            flights_.emplace(std::make_pair(at, ++flight_seq_), f);
        }
    }

    void deliver() {
        while (!flights_.empty() && flights_.begin()->first.first <= now_) {
            auto node = flights_.extract(flights_.begin());
            Flight& f = node.mapped();
            Watcher& to = *watchers_[f.to];
            if (!to.c) {
                continue;  // crashed: lost
            }
            if (now_ < to.paused_until) {
                // Held in the socket buffer until the process resumes.
                flights_.emplace(std::make_pair(to.paused_until, ++flight_seq_), std::move(f));
                continue;
            }
            proto::Message msg = std::move(f.message);
            if (f.sealed) {
                if (!to.auth) {
                    continue;
                }
                auto opened = to.auth->open(*f.sealed);
                if (!opened) {
                    ++result_.coverage.auth_drops;
                    const auto r = opened.error();
                    if (r != proto::DropReason::kReplay && r != proto::DropReason::kTooOld &&
                        r != proto::DropReason::kOldIncarnation) {
                        violation("authentic frame dropped: " + std::string(proto::to_string(r)));
                    }
                    continue;
                }
                // Durations travel in whole milliseconds; the rest must survive intact.
                if (opened->message.term != msg.term || opened->message.type() != msg.type() ||
                    opened->sender != ids_[f.from]) {
                    violation("sealed frame decoded to another message");
                }
                msg = std::move(opened->message);
            }
            trace(3, f.from, f.to, msg.term * 8 + static_cast<std::uint64_t>(msg.type()));
            to.c->step(ids_[f.from], msg, to.local(now_));
            drain(to);
        }
    }

    std::size_t index_of(const WatcherId& id) const {
        return static_cast<std::size_t>(std::find(ids_.begin(), ids_.end(), id) - ids_.begin());
    }

    // ------------------------------------------------------------------ Redis model
    void kill_master(Shard& sh, Duration detect_lo, Duration detect_hi) {
        RNode& n = nodes_.at(sh.master);
        if (!n.alive) {
            return;
        }
        n.alive = false;
        ++result_.coverage.master_kills;
        trace(4, std::hash<std::string>{}(n.id));
        note("Redis master " + n.id + " killed");
        for (auto& w : watchers_) {
            schedule(now_ + uniform(detect_lo, detect_hi),
                     OpinionChange{w->index, n.id, true, OpinionChange::Guard::kNodeDead});
        }
    }

    void restart_node(RNode& n) {
        n.alive = true;
        trace(5, std::hash<std::string>{}(n.id));
        note("Redis node " + n.id + " restarted");
        for (auto& w : watchers_) {
            schedule(now_ + uniform(50ms, 300ms),
                     OpinionChange{w->index, n.id, false, OpinionChange::Guard::kNodeAlive});
        }
    }

    void schedule(TimePoint at, OpinionChange c) {
        opinion_changes_.emplace(std::make_pair(at, ++flight_seq_), std::move(c));
    }

    void apply_opinion_changes() {
        while (!opinion_changes_.empty() && opinion_changes_.begin()->first.first <= now_) {
            OpinionChange ch = opinion_changes_.begin()->second;
            opinion_changes_.erase(opinion_changes_.begin());
            const RNode& n = nodes_.at(ch.node);
            if ((ch.guard == OpinionChange::Guard::kNodeDead && n.alive) ||
                (ch.guard == OpinionChange::Guard::kNodeAlive && !n.alive)) {
                continue;
            }
            Watcher& w = *watchers_[ch.watcher];
            const bool was = w.sdown_since.contains(ch.node);
            if (ch.sdown == was) {
                continue;
            }
            if (ch.sdown) {
                w.sdown_since[ch.node] = now_;
            } else {
                w.sdown_since.erase(ch.node);
            }
            w.last_sdown[ch.node] = now_;
            note(w.id + (ch.sdown ? " detects " : " clears ") + ch.node);
            if (w.running(now_)) {
                feed_opinion(w, ch.node, ch.sdown);
            }
        }
    }

    bool sdown_recently(const Watcher& w, const std::string& node, Duration window) const {
        if (w.sdown_since.contains(node)) {
            return true;
        }
        auto it = w.last_sdown.find(node);
        return it != w.last_sdown.end() && now_ - it->second <= window;
    }

    /// Stand-in for issue #5's failover decision: on the leader, for every ODOWN master
    /// (re-read from the model, as the shell re-reads CLUSTER NODES), pick the first live
    /// replica and propose, respecting a per-shard cooldown.
    void decide_failovers(Watcher& w) {
        if (!w.running(now_) || !w.c->is_leader()) {
            return;
        }
        const TimePoint local = w.local(now_);
        std::vector<std::string> odown;
        for (const auto& [node, st] : w.c->odown()) {
            odown.push_back(node);
        }
        for (const auto& node : odown) {
            if (!w.c) {
                return;  // crashed while draining the previous proposal
            }
            auto nit = nodes_.find(node);
            if (nit == nodes_.end() || nit->second.alive) {
                continue;
            }
            Shard& sh = shards_.at(nit->second.shard);
            if (sh.master != node || now_ - sh.last_change < kCooldown) {
                continue;
            }
            bool busy = false;
            for (const auto& [key, r] : w.c->records()) {
                busy = busy || (key.shard == sh.id && r.phase != RecordPhase::kDone &&
                                r.phase != RecordPhase::kAborted &&
                                !(key.failed_master == node && key.config_epoch == sh.epoch));
            }
            if (busy) {
                continue;
            }
            // Any live replica: different leaders may well choose differently (issue #5's
            // choice depends on offsets each one read), which the Paxos rule must absorb.
            std::vector<std::string> live;
            for (const auto& id : sh.nodes) {
                if (id != node && nodes_.at(id).alive) {
                    live.push_back(id);
                }
            }
            if (live.empty()) {
                continue;
            }
            const std::string replica = live[rng_.uniform(0, live.size() - 1)];
            FailoverRecord r;
            r.key = RecordKey{sh.id, node, sh.epoch};
            r.replica = replica;
            auto got = w.c->propose(r, local);
            if (!got) {
                continue;
            }
            ++result_.coverage.proposals;
            note(w.id + " proposes " + node + "@" + std::to_string(sh.epoch) + " -> " +
                 got->replica);
            // No failover without an ODOWN quorum: check the record's watchers against
            // the ground truth of their detectors.
            if (got->odown_watchers.size() < base_.effective_quorum()) {
                violation("record for " + node + " decided by " +
                          std::to_string(got->odown_watchers.size()) + " watchers");
            }
            for (const auto& sw : got->odown_watchers) {
                if (!sdown_recently(*watchers_[index_of(sw)], node, 2s)) {
                    violation("record for " + node + " counts " + sw + " which never saw it down");
                }
            }
            proposed_.emplace(got->key, got->replica);
            drain(w);
        }
    }

    /// The shell executing an Action: lease check, compare-and-set against Redis, send.
    void execute(Watcher& w, const consensus::Action& a) {
        const FailoverRecord& r = a.record;
        auto chosen = committed_.find(r.key);
        if (chosen == committed_.end() || chosen->second != r.replica) {
            violation("action for a record not committed with that value: " + r.key.failed_master +
                      " -> " + r.replica);
        }
        if (w.local(now_) >= a.lease_until) {
            return;
        }
        const Shard& sh = shards_.at(r.key.shard);
        const bool target_is_replica =
            std::find(sh.nodes.begin(), sh.nodes.end(), r.replica) != sh.nodes.end() &&
            sh.master != r.replica;
        RecordPhase outcome;
        if (sh.master == r.key.failed_master && sh.epoch == r.key.config_epoch &&
            target_is_replica) {
            if (nodes_.at(sh.master).alive) {
                outcome = RecordPhase::kAborted;  // issue #5 re-verifies: it came back
            } else {
                const bool stalled = in_fault_phase_ && rng_.chance(5, 100);
                const TimePoint land =
                    now_ + (stalled ? uniform(500ms, kMaxStall) : uniform(1ms, 20ms));
                commands_.emplace(std::make_pair(land, ++flight_seq_),
                                  Command{r.key, r.replica, w.index});
                ++result_.coverage.commands;
                trace(6, w.index, std::hash<std::string>{}(r.replica));
                note(w.id + " sends CLUSTER FAILOVER FORCE to " + r.replica + " for " +
                     r.key.failed_master + (stalled ? " (stalled)" : ""));
                outcome = RecordPhase::kCommandSent;
            }
        } else if (sh.master == r.replica) {
            outcome = RecordPhase::kDone;
        } else {
            ++result_.coverage.cas_refused;
            outcome = RecordPhase::kAborted;
        }
        w.c->report_progress(r.key, outcome, w.local(now_));
    }

    void land_commands() {
        while (!commands_.empty() && commands_.begin()->first.first <= now_) {
            Command cmd = commands_.begin()->second;
            commands_.erase(commands_.begin());
            Shard& sh = shards_.at(cmd.key.shard);
            const RNode& target = nodes_.at(cmd.target);
            if (!target.alive || sh.master == cmd.target) {
                ++result_.coverage.late_commands;
                continue;
            }
            // CLUSTER FAILOVER FORCE: the replica takes over with a new epoch.
            if (sh.master != cmd.key.failed_master) {
                violation("failover command for " + cmd.key.failed_master + "@" +
                          std::to_string(cmd.key.config_epoch) +
                          " landed after a newer failover (master now " + sh.master + ")");
            }
            if (++promotions_[cmd.key] > 1) {
                violation("second promotion for one failure of " + cmd.key.failed_master);
            }
            sh.master = cmd.target;
            sh.epoch = ++epoch_;
            sh.last_change = now_;
            ++result_.coverage.promotions;
            trace(7, std::hash<std::string>{}(cmd.target), sh.epoch);
            note("Redis: " + cmd.target + " promoted in " + sh.id + " epoch " +
                 std::to_string(sh.epoch));
        }
    }

    /// The leader's shell verifies commands it sent (issue #5's "verify" phase).
    void verify(Watcher& w) {
        if (!w.running(now_) || !w.c->is_leader()) {
            return;
        }
        std::vector<std::pair<RecordKey, RecordPhase>> reports;
        for (const auto& [key, r] : w.c->records()) {
            if (r.phase != RecordPhase::kCommandSent) {
                continue;
            }
            const Shard& sh = shards_.at(key.shard);
            if (sh.master == r.replica) {
                reports.emplace_back(key, RecordPhase::kDone);
            } else if (sh.master != key.failed_master) {
                reports.emplace_back(key, RecordPhase::kAborted);
            }
        }
        for (const auto& [key, phase] : reports) {
            w.c->report_progress(key, phase, w.local(now_));
        }
        drain(w);
    }

    // ------------------------------------------------------------------ faults
    void faults() {
        in_fault_phase_ = true;
        const std::size_t n = watchers_.size();
        if (rng_.chance(1, 300)) {  // partitions
            ++result_.coverage.partitions;
            const auto kind = rng_.uniform(0, 2);
            const auto victim = static_cast<std::size_t>(rng_.uniform(0, n - 1));
            for (std::size_t o = 0; o < n; ++o) {
                if (o == victim) {
                    continue;
                }
                if (kind == 0) {  // full: isolate one or two watchers
                    cut_.insert({victim, o});
                    cut_.insert({o, victim});
                } else if (kind == 1) {  // one-way
                    cut_.insert({victim, o});
                } else if (rng_.chance(1, 2)) {  // partial
                    cut_.insert({victim, o});
                    cut_.insert({o, victim});
                }
            }
            trace(8, victim, kind);
            note("partition kind " + std::to_string(kind) + " around " + ids_[victim]);
        }
        if (rng_.chance(1, 250)) {
            cut_.clear();
            note("network healed");
        }
        if (rng_.chance(1, 200)) {
            static constexpr std::uint64_t kDrop[] = {0, 10, 100, 300};
            static constexpr std::uint64_t kDup[] = {0, 10, 50};
            static constexpr Duration kDelay[] = {5ms, 50ms, 300ms};
            drop_permille_ = kDrop[rng_.uniform(0, 3)];
            dup_permille_ = kDup[rng_.uniform(0, 2)];
            max_delay_ = kDelay[rng_.uniform(0, 2)];
        }
        Watcher& w = *watchers_[rng_.uniform(0, n - 1)];
        if (rng_.chance(1, 400) && w.c) {
            if (rng_.chance(1, 3)) {
                w.crash_mid_output = true;
            } else {
                crash(w, false);
            }
        }
        if (rng_.chance(1, 400) && w.running(now_)) {
            w.paused_until = now_ + uniform(300ms, 3s);
            ++result_.coverage.pauses;
            trace(9, w.index);
            note(w.id + " paused");
        }
        if (rng_.chance(1, 1000)) {
            // A forward clock jump beyond the drift bound. CLOCK_BOOTTIME does not jump (a
            // suspend is a pause, modelled above), so this is outside the lease's model:
            // the lease-overlap check is suspended for a while after one.
            w.offset += uniform(50ms, 300ms);
            last_jump_ = now_;
            note(w.id + " clock jumps");
        }
        if (rng_.chance(1, 500)) {
            Shard& sh = shards_.at("s" + std::to_string(rng_.uniform(0, 2)));
            kill_master(sh, 300ms, 1500ms);
        }
        if (rng_.chance(1, 300)) {
            std::vector<RNode*> dead;
            for (auto& [id, node] : nodes_) {
                if (!node.alive) {
                    dead.push_back(&node);
                }
            }
            if (!dead.empty()) {
                restart_node(*dead[rng_.uniform(0, dead.size() - 1)]);
            }
        }
        if (rng_.chance(1, 600)) {  // a minority wrongly suspects a live master
            const Shard& sh = shards_.at("s" + std::to_string(rng_.uniform(0, 2)));
            const std::size_t k = base_.effective_quorum() - 1;
            for (std::size_t i = 0; i < k; ++i) {
                const auto wi = static_cast<std::size_t>(rng_.uniform(0, n - 1));
                schedule(now_,
                         OpinionChange{wi, sh.master, true, OpinionChange::Guard::kNodeAlive});
                schedule(now_ + uniform(500ms, 3s),
                         OpinionChange{wi, sh.master, false, OpinionChange::Guard::kNodeAlive});
            }
        }
    }

    void heal() {
        in_fault_phase_ = false;
        cut_.clear();
        drop_permille_ = 0;
        dup_permille_ = 0;
        max_delay_ = 5ms;
        note("--- healing: liveness phase ---");
        for (auto& [id, node] : nodes_) {
            if (!node.alive) {
                restart_node(node);
            }
        }
        for (auto& w : watchers_) {
            w->paused_until = std::min(w->paused_until, now_);
            w->down_until = std::min(w->down_until, now_);
            w->crash_mid_output = false;
            for (const auto& [node, since] : std::map<std::string, TimePoint>(w->sdown_since)) {
                if (nodes_.at(node).alive) {
                    schedule(now_ + 100ms, OpinionChange{w->index, node, false});
                }
            }
        }
    }

    /// At most one watcher may hold a valid lease at any instant (real time), when every
    /// clock stays within the drift bound.
    void check_leases() {
        if (last_jump_ && now_ - *last_jump_ < 5s) {
            return;
        }
        const Watcher* holder = nullptr;
        for (const auto& w : watchers_) {
            if (w->running(now_) && w->c->lease_valid(w->local(now_))) {
                if (holder != nullptr) {
                    violation("two leases at once: " + holder->id + " (term " +
                              std::to_string(holder->c->term()) + ") and " + w->id + " (term " +
                              std::to_string(w->c->term()) + ")");
                }
                holder = w.get();
                ++result_.coverage.lease_checks;
            }
        }
    }

    // ------------------------------------------------------------------ the loop
    void step() {
        now_ += kStep;
        for (auto& w : watchers_) {
            if (!w->c && now_ >= w->down_until) {
                start(*w);
            }
        }
        land_commands();
        apply_opinion_changes();
        deliver();
        for (auto& w : watchers_) {
            if (w->running(now_)) {
                if (w->paused_until != TimePoint{} && w->paused_until <= now_) {
                    w->paused_until = TimePoint{};
                    // The detector resumes and reports its current view of every node.
                    for (const auto& [node, rn] : nodes_) {
                        if (w->c) {
                            feed_opinion(*w, node, w->sdown_since.contains(node));
                        }
                    }
                }
                if (!w->c) {
                    continue;
                }
                // The detector's tick repeats its SDOWN opinions (the refresh contract).
                for (const auto& [node, since] : w->sdown_since) {
                    feed_opinion(*w, node, true);
                }
                if (!w->c) {
                    continue;
                }
                w->c->tick(w->local(now_));
                drain(*w);
                if (w->c) {
                    verify(*w);
                }
                if (w->c) {
                    decide_failovers(*w);
                }
            }
        }
        check_leases();
    }

    SimConfig cfg_;
    consensus::SplitMix64 rng_;
    consensus::Config base_;
    std::vector<WatcherId> ids_;
    std::vector<std::unique_ptr<Watcher>> watchers_;
    std::map<std::string, RNode> nodes_;
    std::map<std::string, Shard> shards_;
    std::uint64_t epoch_ = 0;
    TimePoint now_ = TimePoint(std::chrono::seconds(1));
    bool in_fault_phase_ = true;

    std::set<std::pair<std::size_t, std::size_t>> cut_;
    std::uint64_t drop_permille_ = 0;
    std::uint64_t dup_permille_ = 0;
    Duration max_delay_ = 5ms;
    std::uint64_t sent_ = 0;
    std::uint64_t flight_seq_ = 0;
    std::map<std::pair<TimePoint, std::uint64_t>, Flight> flights_;
    std::map<std::pair<TimePoint, std::uint64_t>, Command> commands_;
    std::map<std::pair<TimePoint, std::uint64_t>, OpinionChange> opinion_changes_;

    std::map<proto::Term, WatcherId> leaders_;
    std::map<std::pair<std::size_t, proto::Term>, std::size_t> votes_;
    std::set<std::pair<RecordKey, std::string>> proposed_;
    std::map<RecordKey, std::string> committed_;
    std::map<RecordKey, int> promotions_;

    std::optional<TimePoint> last_jump_;
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;
    SimResult result_;
};

}  // namespace

SimResult run(const SimConfig& config) {
    return Sim(config).run();
}

}  // namespace picket::sim
