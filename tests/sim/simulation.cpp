#include "simulation.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <sstream>
#include <utility>

#include "picket/cluster/topology.h"
#include "picket/consensus/persistent_state.h"
#include "picket/consensus/rng.h"
#include "picket/detect/detector.h"
#include "picket/failover/plan.h"

namespace picket::sim {

void Coverage::add(const Coverage& o) {
#define PICKET_SIM_COUNTERS(X) \
    X(elections)               \
    X(stepdowns)               \
    X(restarts)                \
    X(crashes_mid_output)      \
    X(pauses)                  \
    X(partitions)              \
    X(dropped)                 \
    X(duplicated)              \
    X(sealed)                  \
    X(auth_drops)              \
    X(master_kills)            \
    X(redis_pauses)            \
    X(redis_partitions)        \
    X(sdowns)                  \
    X(safe_modes)              \
    X(odown)                   \
    X(plan_waits)              \
    X(plan_vetoes)             \
    X(proposals)               \
    X(adoptions)               \
    X(commands)                \
    X(held_commands)           \
    X(cas_refused)             \
    X(force_votes_throttled)   \
    X(force_failed)            \
    X(takeovers)               \
    X(promotions)              \
    X(failovers_verified)      \
    X(late_commands)           \
    X(stale_rejected)          \
    X(rejoins)                 \
    X(master_alive_at_send)    \
    X(held_split_brain)        \
    X(held_stale_promotions)   \
    X(candidate_switches)      \
    X(lease_checks)
#define PICKET_SIM_ADD(name) name += o.name;
    PICKET_SIM_COUNTERS(PICKET_SIM_ADD)
}

std::string Coverage::to_string() const {
    std::ostringstream s;
    const char* sep = "";
#define PICKET_SIM_PRINT(name)       \
    s << sep << #name "=" << (name); \
    sep = " ";
    PICKET_SIM_COUNTERS(PICKET_SIM_PRINT)
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

// The watcher shell's timing (lib/watch and daemon/src defaults, scaled down where the
// default would make a 20 s run see nothing: cluster-node-timeout, cooldown, timeouts).
constexpr Duration kShellTick = 100ms;        ///< watch.ping_interval: probes, detector tick
constexpr Duration kPingTimeout = 1s;         ///< watch.ping_timeout
constexpr Duration kInfoInterval = 1s;        ///< INFO replication of every node
constexpr Duration kNodesInterval = 1s;       ///< CLUSTER NODES views, topology rebuilt
constexpr Duration kClusterNodeTimeout = 3s;  ///< Redis cluster-node-timeout
/// failover.cooldown: per shard, in the leader's shell memory (FailoverService).
constexpr Duration kCooldown = 4s;
/// failover.timeout: command → verified master.
constexpr Duration kVerifyTimeout = 3s;
/// Longest pause between a command's compare-and-set and its leaving the watcher.
constexpr Duration kMaxHold = 3s;

/// A failover command on its way from a watcher's shell to Redis.
struct Command {
    RecordKey key;
    std::string target;
    proto::FailoverMode mode = proto::FailoverMode::kForce;
    std::size_t from = 0;
    /// Held by a pause between the compare-and-set and leaving the watcher.
    bool held = false;
    /// Reached a SIGSTOPped target: waits in that process's socket buffer, and is lost
    /// with it if the process dies (its `life` changes) before it resumes.
    std::optional<std::uint64_t> buffered_in_life;
};

/// A probe that will come back as a timeout (the node does not answer).
struct PendingProbe {
    TimePoint complete_at;
    std::string address;
    TimePoint sent_at;
};

/// A command sent whose promotion the shell verifies (failover.cpp's role:master poll).
struct Verification {
    RecordKey key;
    std::string target;
    TimePoint deadline;
    /// Held by a pause between check and send: kCommandSent is reported on resume.
    bool report_sent = false;
    std::uint32_t attempt = 0;
};

/// One simulated watcher: the consensus object (absent while crashed), its disk, its
/// clock, and its shell: the real detector, the topology it built, the failover shell's
/// memory (cooldowns, verifications). Everything but the disk is lost in a crash.
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
    consensus::Invariants invariants;

    // The shell (lib/watch + daemon/src/vote.cpp + daemon/src/failover.cpp).
    std::unique_ptr<detect::Detector> detector;
    std::shared_ptr<const cluster::Topology> topology;
    std::deque<PendingProbe> probes;
    TimePoint next_tick{};
    TimePoint next_info{};
    TimePoint next_nodes{};
    std::map<std::string, TimePoint> last_success;  ///< shard → local time (cooldown)
    std::map<RecordKey, TimePoint> force_sent;      ///< last FORCE per failure (throttle)
    std::map<RecordKey, TimePoint> last_command;    ///< last command per failure (any mode)
    std::map<RecordKey, TimePoint> aborted_seen;    ///< when the leader saw it aborted
    /// Failed masters whose last look was silent although the evidence said dead: planned
    /// as timeouts only while they stay ODOWN (failover.cpp's silent_last_look_).
    std::set<std::string> silent_last_look;
    std::set<RecordKey> executing;
    std::vector<Verification> verifying;
    std::map<RecordKey, std::string> plan_said;  ///< last plan reason traced, per key

    /// What its detector said (real time): node id → SDOWN since / last SDOWN.
    std::map<std::string, TimePoint> sdown_since;
    std::map<std::string, TimePoint> last_sdown;

    bool running(TimePoint now) const { return c && now >= paused_until; }
    TimePoint local(TimePoint real) const {
        const auto since = real.time_since_epoch();
        return TimePoint(since + since * drift_ppm / 1'000'000 + offset);
    }
};

/// One Redis node of the model.
struct RNode {
    std::string id;    ///< 40 hex characters, as in CLUSTER NODES
    std::string name;  ///< s0n1: for traces
    std::string ip;
    std::uint16_t port = 6379;
    std::string address;   ///< ip:port, the detector's key
    std::size_t home = 0;  ///< the shard it was created in
    bool alive = true;
    /// Bumped at every kill: which process a buffered command was waiting in.
    std::uint64_t life = 0;
    TimePoint paused_until{};  ///< SIGSTOPped until then
    bool was_paused = false;
    bool isolated = false;  ///< cut from the cluster bus and its replication links
    /// Cut off while running, and running ever since: when (a master takes writes until
    /// cluster-node-timeout after that). Unset when it died or was stopped meanwhile.
    std::optional<TimePoint> serving_cut_off_since;
    TimePoint isolated_until{};
    bool master = false;
    std::string master_id;                     ///< replica: the master it follows
    std::uint64_t epoch = 0;                   ///< master: its config epoch
    std::optional<std::size_t> owns;           ///< master: the shard whose slots it serves
    std::int64_t offset = 0;                   ///< replication offset
    std::optional<TimePoint> link_down_since;  ///< replica: link to the master closed
    TimePoint last_master_io{};                ///< replica: last data from the master
    /// As a voting master: failed master id → when it last voted for one of its replicas
    /// (Redis: node->slaveof->voted_time, the 2 x cluster-node-timeout throttle).
    std::map<std::string, TimePoint> voted_time;

    bool paused(TimePoint now) const { return now < paused_until; }
    bool serving(TimePoint now) const { return alive && !paused(now); }
};

struct Flight {
    std::size_t from = 0;
    std::size_t to = 0;
    proto::Message message;
    std::optional<std::string> sealed;  ///< through the real Authenticator
};

struct RShard {
    cluster::SlotRange range;
    std::string name;   ///< failover::shard_name(): the record key's shard
    std::string owner;  ///< node id serving the slots (highest epoch)
};

/// One run: the watchers, their shells, the network, the Redis model, the fault script
/// and the invariant checks, all stepped by 10 ms of simulated real time.
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
        detector_config_.down_after = 1s;
        detector_config_.down_after_unresponsive = 2s;
        detector_config_.tick_interval = kShellTick;
        detector_config_.probe_interval = kShellTick;
        detector_config_.loop_lag = 500ms;
        detector_config_.safe_mode_hold = 2s;
        policy_.cluster_node_timeout = kClusterNodeTimeout;
        policy_.down_after_unresponsive = detector_config_.down_after_unresponsive;
        policy_.allow_takeover = cfg.seed % 3 != 0;  // failover.allow_takeover
        for (std::size_t i = 0; i < ids_.size(); ++i) {
            auto w = std::make_unique<Watcher>();
            w->id = ids_[i];
            w->index = i;
            w->drift_ppm = static_cast<std::int64_t>(rng_.uniform(0, 40'000)) - 20'000;
            w->offset = Duration(static_cast<Duration::rep>(rng_.uniform(0, 1'000'000'000'000)));
            watchers_.push_back(std::move(w));
        }
        constexpr cluster::SlotRange kRanges[] = {{0, 5460}, {5461, 10922}, {10923, 16383}};
        for (std::size_t s = 0; s < 3; ++s) {
            RShard sh;
            sh.range = kRanges[s];
            sh.name = failover::shard_name({sh.range});
            for (std::size_t n = 0; n < 3; ++n) {
                RNode node;
                const std::size_t k = s * 3 + n;
                char hex[41];
                std::snprintf(hex, sizeof hex, "%038zx%02zx", k + 1, k * 17 + 0x10);
                node.id = hex;
                node.name = "s" + std::to_string(s) + "n" + std::to_string(n);
                node.ip = "10.0.0." + std::to_string(k + 1);
                node.address = node.ip + ":6379";
                node.home = s;
                node.offset = 1000;
                if (n == 0) {
                    node.master = true;
                    node.owns = s;
                    node.epoch = ++epoch_;
                    sh.owner = node.id;
                }
                by_address_[node.address] = node.id;
                nodes_.emplace(node.id, node);
            }
            for (std::size_t n = 1; n < 3; ++n) {
                nodes_.at(nodes_by_shard(s)[n]).master_id = sh.owner;
            }
            shards_.push_back(sh);
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
        // Liveness 2: with a connected majority and a quiet network, a master killed now
        // is ODOWN and promoted within the bound (after the shells' cooldowns and the
        // masters' vote throttle from the fault phase have passed).
        const TimePoint settle = now_ + std::max(kCooldown, 2 * kClusterNodeTimeout) + 1s;
        while (now_ < settle && result_.violations.empty()) {
            step();
        }
        if (result_.violations.empty()) {
            const std::size_t s = rng_.uniform(0, 2);
            const std::string victim = shards_[s].owner;
            kill(nodes_.at(victim));
            const TimePoint killed_at = now_;
            const TimePoint deadline = now_ + cfg_.failover_bound;
            while (now_ < deadline && result_.violations.empty() && shards_[s].owner == victim) {
                step();
            }
            result_.failover_time = now_ - killed_at;
            if (shards_[s].owner == victim && result_.violations.empty()) {
                violation("killed master " + nodes_.at(victim).name + " not promoted within " +
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
        const TimePoint local = w.local(now_);
        w.c = std::make_unique<Consensus>(c, std::move(loaded), rng_.next(), local);
        w.auth.reset();
        // The shell starts over: a fresh detector, no topology, no failover memory.
        w.detector = std::make_unique<detect::Detector>(detector_config_);
        w.topology.reset();
        w.probes.clear();
        w.next_tick = local;
        w.next_info = local;
        w.next_nodes = local;
        w.last_success.clear();
        w.force_sent.clear();
        w.last_command.clear();
        w.aborted_seen.clear();
        w.silent_last_look.clear();
        w.executing.clear();
        w.verifying.clear();
        w.sdown_since.clear();
        drain(w);  // persists the new incarnation before anything is sent
        if (!w.c) {
            return;
        }
        w.auth = std::make_unique<proto::Authenticator>(
            proto::AuthConfig{"sim-secret", "sim", ids_, w.id}, w.c->incarnation());
        note(w.id + " started, incarnation " + std::to_string(w.c->incarnation()));
    }

    void crash(Watcher& w, bool mid_output) {
        w.c.reset();
        w.auth.reset();
        w.detector.reset();
        w.down_until = now_ + (rng_.chance(1, 2) ? uniform(20ms, 300ms) : uniform(300ms, 4s));
        ++result_.coverage.restarts;
        result_.coverage.crashes_mid_output += mid_output;
        trace(1, w.index, mid_output);
        note(w.id + (mid_output ? " crashed before persisting" : " crashed"));
    }

    /// Takes a watcher's output the way the shell does (vote.cpp's process()): persist,
    /// then send and act.
    void drain(Watcher& w) {
        while (w.c && w.c->has_output()) {
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
                if (w.c) {
                    execute(w, a);
                }
            }
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
                note(w.id + " ODOWN " + name(e.node) + " " + e.detail);
                break;
            case Event::Kind::kRecordAdopted:
                ++result_.coverage.adoptions;
                break;
            case Event::Kind::kRecordCommitted: {
                // Paxos: once a majority holds a value for a failure, no other value is
                // ever committed for it, whatever the leader.
                const FailoverRecord& r = *e.record;
                if (!proposed_.contains({r.key, r.replica})) {
                    violation("committed a record no leader proposed: " +
                              name(r.key.failed_master) + " -> " + name(r.replica));
                }
                auto [it, inserted] =
                    committed_.emplace(std::make_pair(r.key, r.attempt), r.replica);
                if (!inserted && it->second != r.replica) {
                    violation("two replicas committed for one failure of " +
                              name(r.key.failed_master) + ": " + name(it->second) + " and " +
                              name(r.replica));
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

    /// A node id's short name for traces and messages.
    std::string name(const std::string& id) const {
        auto it = nodes_.find(id);
        return it == nodes_.end() ? id : it->second.name;
    }

    std::string key_text(const RecordKey& k) const {
        return name(k.failed_master) + "@" + std::to_string(k.config_epoch);
    }

    // ------------------------------------------------------------------ the watcher shell
    /// What a probe from watcher `w` to `n` comes back with, on the simulated network:
    /// refused from a dead process, a timeout from a stopped one or across a cut.
    detect::ProbeOutcome probe_outcome(const Watcher& w, const RNode& n) const {
        if (redis_cut_.contains({w.index, n.id})) {
            return detect::ProbeOutcome::kTimeout;
        }
        if (!n.alive) {
            return detect::ProbeOutcome::kRefused;
        }
        if (n.paused(now_)) {
            return detect::ProbeOutcome::kTimeout;
        }
        return detect::ProbeOutcome::kPong;
    }
    bool answers(const Watcher& w, const RNode& n) const {
        return probe_outcome(w, n) == detect::ProbeOutcome::kPong;
    }

    /// The watch loop's tick (lib/watch's on_tick, daemon's on_tick, vote.cpp's
    /// feed_local): finished probes, CLUSTER NODES and INFO refreshes, the detector's
    /// tick, new probes, opinions to the vote, then the failover shell.
    void shell_tick(Watcher& w) {
        const TimePoint local = w.local(now_);
        detect::Detector& det = *w.detector;
        while (!w.probes.empty() && w.probes.front().complete_at <= local) {
            const PendingProbe p = w.probes.front();
            w.probes.pop_front();
            det.on_probe(p.address, detect::Probe{detect::ProbeOutcome::kTimeout, p.sent_at,
                                                  p.complete_at, "timeout"});
        }
        if (local >= w.next_nodes) {
            w.next_nodes = local + kNodesInterval;
            refresh_topology(w, local);
        }
        det.tick(local);
        std::vector<std::string> addresses;
        for (const auto& [address, st] : det.nodes()) {
            addresses.push_back(address);
        }
        const bool read_info = local >= w.next_info;
        if (read_info) {
            w.next_info = local + kInfoInterval;
        }
        for (const auto& address : addresses) {
            auto id = by_address_.find(address);
            if (id == by_address_.end()) {
                continue;
            }
            const RNode& n = nodes_.at(id->second);
            const auto outcome = probe_outcome(w, n);
            if (outcome == detect::ProbeOutcome::kTimeout) {
                w.probes.push_back(PendingProbe{local + kPingTimeout, address, local});
                continue;
            }
            det.on_probe(address, detect::Probe{outcome, local, local, {}});
            if (outcome == detect::ProbeOutcome::kPong && read_info) {
                det.on_replication(address, replication_of(n), local);
            }
        }
        for (const auto& e : det.take_output().events) {
            if (e.kind == detect::Event::Kind::kSdown) {
                ++result_.coverage.sdowns;
                trace(10, w.index, std::hash<std::string>{}(e.node_id));
                note(w.id + " detector: SDOWN " + name(e.node_id) + " (" +
                     std::string(detect::to_string(e.evidence)) + ")");
            } else if (e.kind == detect::Event::Kind::kSafeModeEntered) {
                ++result_.coverage.safe_modes;
                note(w.id + " detector: safe mode");
            }
        }
        // vote.cpp's feed_local(): safe mode and every opinion, each tick.
        w.c->set_safe_mode(det.in_safe_mode(local), local);
        for (const auto& o : det.opinions(local)) {
            proto::Opinion p;
            p.node = o.node_id.empty() ? o.address : o.node_id;
            p.sdown = o.sdown;
            p.evidence = o.evidence == detect::Evidence::kDead ? proto::Evidence::kDead
                         : o.evidence == detect::Evidence::kUnresponsive
                             ? proto::Evidence::kUnresponsive
                             : proto::Evidence::kNone;
            p.down_for = o.down_for;
            p.pfail_reports = o.cluster_flags_pfail ? 1 : 0;
            p.fail_reports = o.cluster_flags_fail ? 1 : 0;
            p.replicas_link_down = o.replicas_report_link_down ? 1 : 0;
            if (o.sdown) {
                w.sdown_since.emplace(p.node, now_);
                w.last_sdown[p.node] = now_;
            } else {
                w.sdown_since.erase(p.node);
            }
            w.c->set_opinion(p, local);
        }
        drain(w);
        if (w.c) {
            verify(w);
        }
        if (w.c) {
            failover_tick(w);
        }
    }

    /// CLUSTER NODES from every node this watcher reaches; the topology is rebuilt from
    /// them and the detector's node set follows it (lib/watch's rebuild_topology and
    /// apply_node_set). With no view at all the last model is kept.
    void refresh_topology(Watcher& w, TimePoint local) {
        std::uint64_t mask = 0;
        for (const auto& [id, n] : nodes_) {
            if (answers(w, n)) {
                mask |= std::uint64_t{1} << reporter_bit(id);
            }
        }
        if (mask == 0) {
            return;
        }
        auto& cached = topologies_[mask];
        if (!cached) {
            std::vector<cluster::ClusterView> views;
            for (const auto& [id, n] : nodes_) {
                if ((mask & (std::uint64_t{1} << reporter_bit(id))) != 0) {
                    views.push_back(view_of(n));
                }
            }
            cached = std::make_shared<const cluster::Topology>(
                cluster::Topology::build(std::move(views)));
        }
        w.topology = cached;
        std::vector<detect::KnownNode> known;
        for (const auto& node : w.topology->nodes()) {
            detect::KnownNode k;
            k.address = node.address.endpoint();
            k.node_id = node.id;
            k.cluster_says_master = node.role == cluster::NodeRole::kMaster;
            if (node.master_id) {
                if (const auto* m = w.topology->node(*node.master_id); m != nullptr) {
                    k.master_address = m->address.endpoint();
                }
            }
            known.push_back(std::move(k));
        }
        w.detector->set_nodes(known, local);
    }

    std::size_t reporter_bit(const std::string& id) const {
        return static_cast<std::size_t>(std::distance(nodes_.begin(), nodes_.find(id)));
    }

    /// failover.cpp's FailoverService::on_tick: on the leader with a lease, plan every
    /// ODOWN master with lib/failover and propose the record.
    void failover_tick(Watcher& w) {
        const TimePoint local = w.local(now_);
        if (!w.c->is_leader() || !w.c->lease_valid(local) || !w.topology) {
            return;
        }
        const cluster::Topology& topology = *w.topology;
        const auto keep = w.topology;  // alive even if a drain below crashes the watcher
        const auto& nodes = w.detector->nodes();
        const std::map<std::string, consensus::OdownState> odown = w.c->odown();
        std::erase_if(w.silent_last_look, [&](const std::string& m) { return !odown.contains(m); });
        for (const auto& [node_id, od] : odown) {
            if (!w.c || !w.c->is_leader()) {
                return;  // crashed or stepped down while draining the previous proposal
            }
            auto master = failover::failed_master_from(topology, node_id);
            if (!master) {
                continue;
            }
            const auto key = failover::record_key(*master);
            // An aborted record is planned again, and propose() reopens it with its
            // original value (found by this simulation's liveness check: a master restarted
            // after a failed FORCE and killed again at the same epoch was never promoted).
            if (auto r = w.c->records().find(key);
                r != w.c->records().end() && r->second.phase != RecordPhase::kAborted) {
                continue;
            }
            // A FORCE of this failure sent within 2 x cluster-node-timeout: the masters
            // refuse votes for its replicas until then.
            if (auto sent = w.force_sent.find(key);
                sent != w.force_sent.end() && local - sent->second < 2 * kClusterNodeTimeout) {
                continue;
            }
            failover::PlanInput in;
            in.master = *master;
            in.evidence = od.evidence;
            if (w.silent_last_look.contains(node_id)) {
                in.evidence = proto::Evidence::kUnresponsive;
            }
            in.since_last_contact = od.min_down_for;
            in.now = local;
            in.topology = &topology;
            in.nodes = &nodes;
            in.masters = failover::master_liveness(topology, nodes);
            if (const auto* st = failover::find_status(nodes, master->id, master->address);
                st != nullptr && st->replication) {
                in.master_offset = st->replication->master_repl_offset;
            }
            in.policy = policy_;
            in.facts.slots_migrating = failover::shard_migrating(topology, *master);
            in.facts.promoted_by_cluster = failover::cluster_promotion(topology, *master);
            if (auto last = w.last_success.find(key.shard); last != w.last_success.end()) {
                const auto since = local - last->second;
                if (since < kCooldown) {
                    in.facts.in_cooldown = true;
                    in.facts.cooldown_remaining = kCooldown - since;
                }
            }
            // failover.cpp: an aborted attempt moves on to another candidate only once it
            // can no longer land (failover::switch_candidate); a dead candidate waits.
            std::optional<FailoverRecord> previous;
            if (auto r = w.c->records().find(key); r != w.c->records().end()) {
                previous = r->second;
            }
            std::optional<failover::SwitchVerdict> verdict;
            if (previous) {
                const auto seen = w.aborted_seen.try_emplace(key, local).first;
                failover::SwitchInput si;
                si.replica = previous->replica;
                if (const auto* n = topology.node(previous->replica); n != nullptr) {
                    si.replica_address = n->address.endpoint();
                }
                si.mode = previous->mode;
                si.abort_committed = w.c->abort_committed(key);
                si.aborted_at = seen->second;
                if (auto lc = w.last_command.find(key); lc != w.last_command.end()) {
                    si.command_sent_at = lc->second;
                }
                si.leader_since = w.c->leader_since();
                si.now = local;
                si.probe_delay = kShellTick + kPingTimeout;
                si.cluster_node_timeout = kClusterNodeTimeout;
                si.topology = &topology;
                si.nodes = &nodes;
                verdict = failover::switch_candidate(si);
                if (verdict->may_switch) {
                    in.failed_candidates.insert(previous->replica);
                } else if (!verdict->candidate_up) {
                    continue;  // retrying a replica that is down cannot work: wait
                }
            }
            auto plan = failover::plan_failover(in);
            if (const auto* v = plan.get<failover::Veto>();
                v != nullptr && v->why == failover::VetoReason::kNoEligibleReplica &&
                !in.failed_candidates.empty()) {
                in.failed_candidates.clear();
                plan = failover::plan_failover(in);
            }
            if (cfg_.keep_trace) {
                auto& said = w.plan_said[key];
                if (said != plan.reason()) {
                    said = plan.reason();
                    note(w.id + " plan for " + key_text(key) + ": " + said);
                }
            }
            if (plan.get<failover::Wait>() != nullptr) {
                ++result_.coverage.plan_waits;
                continue;
            }
            if (const auto* v = plan.get<failover::Veto>()) {
                ++result_.coverage.plan_vetoes;
                trace(11, w.index, static_cast<std::uint64_t>(v->why));
                continue;
            }
            const auto* act = plan.get<failover::Act>();
            if (act == nullptr || act->fence_remaining.count() > 0) {
                continue;
            }
            FailoverRecord record;
            record.key = key;
            record.replica = act->replica;
            record.mode = act->mode;
            const bool switching =
                previous && verdict && verdict->may_switch && act->replica != previous->replica;
            auto got =
                switching ? w.c->propose_attempt(record, local) : w.c->propose(record, local);
            if (!got) {
                continue;
            }
            w.aborted_seen.erase(key);
            ++result_.coverage.proposals;
            if (switching) {
                ++result_.coverage.candidate_switches;
                note(w.id + " switches " + key_text(key) + " from " + name(previous->replica) +
                     " to " + name(act->replica) + " (attempt " + std::to_string(got->attempt) +
                     "): " + verdict->reason);
            }
            note(w.id + " proposes " + key_text(key) + " -> " + name(got->replica) + " " +
                 std::string(proto::to_string(got->mode)) + " (" + act->reason + ")");
            // No failover without an ODOWN quorum: the record's watchers, checked against
            // what their own detectors said.
            if (got->odown_watchers.size() < base_.effective_quorum()) {
                violation("record for " + key_text(key) + " decided by " +
                          std::to_string(got->odown_watchers.size()) + " watchers");
            }
            for (const auto& sw : got->odown_watchers) {
                if (!sdown_recently(*watchers_[index_of(sw)], node_id, 2s)) {
                    violation("record for " + key_text(key) + " counts " + sw +
                              " whose detector never said SDOWN");
                }
            }
            proposed_.emplace(got->key, got->replica);
            drain(w);
        }
    }

    bool sdown_recently(const Watcher& w, const std::string& node, Duration window) const {
        if (w.sdown_since.contains(node)) {
            return true;
        }
        auto it = w.last_sdown.find(node);
        return it != w.last_sdown.end() && now_ - it->second <= window;
    }

    /// failover.cpp's execute(): compare-and-set on the target's fresh CLUSTER NODES,
    /// lease check, the command, then verification.
    void execute(Watcher& w, const consensus::Action& a) {
        const FailoverRecord& r = a.record;
        auto chosen = committed_.find(std::make_pair(r.key, r.attempt));
        if (chosen == committed_.end() || chosen->second != r.replica) {
            violation("action for a record not committed with that value: " + key_text(r.key) +
                      " -> " + name(r.replica));
        }
        if (w.executing.contains(r.key)) {
            return;
        }
        if (r.odown_watchers.size() < base_.effective_quorum()) {
            violation("action for " + key_text(r.key) + " without an ODOWN quorum");
        }
        const TimePoint local = w.local(now_);
        // Every outcome that leaves no command in flight reports kAborted (the vote hands
        // a record to execute once per term); the next plan reopens it, same value.
        auto abort = [&](const std::string& why) {
            note(w.id + " execute " + key_text(r.key) + ": " + why);
            w.c->report_progress(r.key, RecordPhase::kAborted, local, r.attempt);
            drain(w);
        };
        if (!w.topology || w.topology->node(r.replica) == nullptr) {
            abort("the chosen replica is not in the topology");
            return;
        }
        auto tn = nodes_.find(r.replica);
        if (tn == nodes_.end() || !answers(w, tn->second)) {
            abort("cannot read CLUSTER NODES from the target");
            return;
        }
        const RNode& target = tn->second;
        const cluster::Topology fresh =
            cluster::Topology::build(std::vector<cluster::ClusterView>{view_of(target)});
        if (auto cas = failover::still_valid(r, fresh); !cas) {
            const auto* t = fresh.node(r.replica);
            ++result_.coverage.cas_refused;
            const bool promoted = t != nullptr && t->role == cluster::NodeRole::kMaster;
            note(w.id + " compare-and-set refuses " + key_text(r.key) + ": " + cas.reason);
            w.c->report_progress(r.key, promoted ? RecordPhase::kDone : RecordPhase::kAborted,
                                 local, r.attempt);
            drain(w);
            return;
        }
        if (local >= a.lease_until) {
            abort("the lease ran out before the command could leave");
            return;
        }
        // The failure must still be agreed now. A record decided while the master was dead
        // is executed by a later leader too (Paxos adoption); still_valid() only checks
        // that the master still leads at its epoch, which a restarted master does.
        if (!w.c->odown().contains(r.key.failed_master)) {
            abort("its master is not ODOWN at this leader any more");
            return;
        }
        // failover.cpp's last look: a direct PING of the failed master; any reply aborts.
        const auto look = probe_outcome(w, nodes_.at(r.key.failed_master));
        if (look == detect::ProbeOutcome::kPong) {
            abort("the failed master answers again (restarted?)");
            return;
        }
        // Silent instead of refusing: dead evidence no longer holds (seed 86968: restarted
        // behind a partition just before the command). Wait as on timeouts only.
        if (look != detect::ProbeOutcome::kRefused) {
            const auto od = w.c->odown().find(r.key.failed_master);
            if (od != w.c->odown().end() &&
                od->second.min_down_for < failover::timeouts_only_wait(policy_)) {
                w.silent_last_look.insert(r.key.failed_master);
                abort("the failed master no longer refuses connections: timeouts only now");
                return;
            }
        }
        // What the compare-and-set read must be true of the model: the record's master
        // still serves its slots at its epoch and the target still replicates it.
        const RNode& failed = nodes_.at(r.key.failed_master);
        if (!(failed.owns && failed.epoch == r.key.config_epoch && !target.master &&
              target.master_id == failed.id)) {
            violation("command for " + key_text(r.key) + " left although the record's master " +
                      "no longer serves its slots at that epoch (compare-and-set skipped?)");
        }
        // No failover command without an ODOWN quorum, now: the sending leader holds it,
        // and a quorum of the watchers' own detectors said SDOWN within the last 2 s.
        if (!w.c->odown().contains(r.key.failed_master)) {
            violation("command for " + key_text(r.key) + " left while its master is not ODOWN " +
                      "at the sending leader");
        }
        std::size_t saw_down = 0;
        for (const auto& o : watchers_) {
            saw_down += sdown_recently(*o, r.key.failed_master, 2s) ? 1u : 0u;
        }
        if (saw_down < base_.effective_quorum()) {
            violation("command for " + key_text(r.key) + " left while only " +
                      std::to_string(saw_down) + " detectors said SDOWN in the last 2 s");
        }
        if (failed.serving(now_) && !failed.isolated) {
            ++result_.coverage.master_alive_at_send;
            if (cfg_.keep_trace) {
                note(w.id + " sends for " + key_text(r.key) + " while that master runs (ODOWN at " +
                     "this leader: " + (w.c->odown().contains(r.key.failed_master) ? "yes" : "no") +
                     ")");
            }
        }
        // A pause between the check and the command leaving (GC, SIGSTOP, a VM stall):
        // the command lands when the watcher resumes. Only in the fault phase.
        const bool held = in_fault_phase_ && rng_.chance(1, 10);
        TimePoint land = now_ + uniform(1ms, 20ms);
        if (held) {
            w.paused_until = now_ + uniform(500ms, kMaxHold);
            land = w.paused_until + uniform(1ms, 20ms);
            ++result_.coverage.pauses;
            ++result_.coverage.held_commands;
        }
        commands_.emplace(std::make_pair(land, ++flight_seq_),
                          Command{r.key, r.replica, r.mode, w.index, held, std::nullopt});
        ++result_.coverage.commands;
        trace(6, w.index, std::hash<std::string>{}(r.replica), held);
        note(w.id + " sends CLUSTER FAILOVER " + std::string(proto::to_string(r.mode)) + " to " +
             name(r.replica) + " for " + key_text(r.key) + (held ? " (held by a pause)" : ""));
        w.executing.insert(r.key);
        if (r.mode == proto::FailoverMode::kForce) {
            w.force_sent[r.key] = local;
        }
        w.last_command[r.key] = local;
        w.verifying.push_back(
            Verification{r.key, r.replica, local + kVerifyTimeout, held, r.attempt});
        if (!held) {
            w.c->report_progress(r.key, RecordPhase::kCommandSent, local, r.attempt);
        }
    }

    /// failover.cpp's verification: the target reports role:master within
    /// failover.timeout → done, and the shard's cooldown starts.
    void verify(Watcher& w) {
        const TimePoint local = w.local(now_);
        std::vector<Verification> still;
        for (auto& v : std::exchange(w.verifying, {})) {
            if (!w.c) {
                return;
            }
            if (v.report_sent) {
                v.report_sent = false;
                w.c->report_progress(v.key, RecordPhase::kCommandSent, local, v.attempt);
            }
            const RNode& t = nodes_.at(v.target);
            if (answers(w, t) && t.master) {
                w.last_success[v.key.shard] = local;
                ++result_.coverage.failovers_verified;
                w.executing.erase(v.key);
                w.c->report_progress(v.key, RecordPhase::kDone, local, v.attempt);
                continue;
            }
            if (local >= v.deadline) {
                // "failed": not master within failover.timeout: aborted, to be retried.
                w.executing.erase(v.key);
                note(w.id + " failover of " + key_text(v.key) + " not verified in time");
                w.c->report_progress(v.key, RecordPhase::kAborted, local, v.attempt);
                continue;
            }
            still.push_back(v);
        }
        w.verifying = std::move(still);
        drain(w);
    }

    // ------------------------------------------------------------------ Redis model
    std::vector<std::string> nodes_by_shard(std::size_t s) const {
        std::vector<std::string> out;
        for (const auto& [id, n] : nodes_) {
            if (n.home == s) {
                out.push_back(id);
            }
        }
        std::sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
            return nodes_.at(a).name < nodes_.at(b).name;
        });
        return out;
    }

    void model_changed() { topologies_.clear(); }

    /// CLUSTER NODES as node `reporter` answers it. Every node's view is the cluster's
    /// current configuration (gossip is not modelled): masters with their slots and
    /// epochs, replicas with their master, an old master that lost its slots as a master
    /// without slots until it rejoins.
    cluster::ClusterView view_of(const RNode& reporter) const {
        cluster::ClusterView v;
        v.reporter_id = reporter.id;
        for (const auto& [id, n] : nodes_) {
            cluster::ClusterNode c;
            c.id = id;
            c.address.ip = n.ip;
            c.address.port = n.port;
            c.address.cport = static_cast<std::uint16_t>(n.port + 10000);
            c.flags.myself = id == reporter.id;
            c.flags.master = n.master;
            c.flags.replica = !n.master;
            if (!n.master) {
                c.master_id = n.master_id;
                c.config_epoch = nodes_.at(n.master_id).epoch;
            } else {
                c.config_epoch = n.epoch;
            }
            if (n.owns) {
                c.slots.push_back(shards_[*n.owns].range);
            }
            v.nodes.push_back(std::move(c));
        }
        return v;
    }

    /// INFO replication of `n` now. A replica's link closes when its master's process
    /// dies; a stopped or cut-off master leaves it up with master_last_io growing (Redis
    /// notices only after repl-timeout, 60 s, longer than a run).
    cluster::ReplicationInfo replication_of(const RNode& n) const {
        cluster::ReplicationInfo r;
        r.master_replid = "0000000000000000000000000000000000000000";
        r.master_repl_offset = n.offset;
        if (n.master) {
            r.role = cluster::ReplicationRole::kMaster;
            return r;
        }
        const RNode& m = nodes_.at(n.master_id);
        r.role = cluster::ReplicationRole::kReplica;
        r.master_host = m.ip;
        r.master_port = m.port;
        r.slave_repl_offset = n.offset;
        r.slave_priority = 100;
        if (n.link_down_since) {
            r.master_link_status = cluster::MasterLinkStatus::kDown;
            r.master_last_io_seconds_ago = -1;
            r.master_link_down_since_seconds =
                std::chrono::duration_cast<std::chrono::seconds>(now_ - *n.link_down_since).count();
        } else {
            r.master_link_status = cluster::MasterLinkStatus::kUp;
            r.master_last_io_seconds_ago =
                std::chrono::duration_cast<std::chrono::seconds>(now_ - n.last_master_io).count();
        }
        return r;
    }

    /// Two nodes can talk over the bus and their replication link.
    bool linked(const RNode& a, const RNode& b) const {
        return a.serving(now_) && b.serving(now_) && !a.isolated && !b.isolated;
    }

    /// Time passes in Redis: masters take writes, replicas follow while linked, paused
    /// and cut-off nodes come back (and old masters rejoin), commands land.
    void redis_step() {
        for (auto& [id, n] : nodes_) {
            if (n.was_paused && !n.paused(now_)) {
                n.was_paused = false;
                note("Redis " + n.name + " resumes");
                maybe_rejoin(n);
            }
            if (n.isolated && now_ >= n.isolated_until) {
                n.isolated = false;
                n.serving_cut_off_since.reset();
                note("Redis " + n.name + " back on the bus");
                maybe_rejoin(n);
            }
        }
        for (auto& [id, n] : nodes_) {
            if (n.master && n.owns && n.serving(now_)) {
                n.offset += 10;
            }
        }
        for (auto& [id, n] : nodes_) {
            if (n.master || !n.alive) {
                continue;
            }
            const RNode& m = nodes_.at(n.master_id);
            if (!m.alive) {
                if (!n.link_down_since) {
                    n.link_down_since = now_;
                }
                continue;
            }
            if (n.link_down_since && linked(n, m)) {
                n.link_down_since.reset();  // reconnected (partial resync)
            }
            if (!n.link_down_since && linked(n, m)) {
                n.offset = m.offset;
                n.last_master_io = now_;
            }
        }
        land_commands();
    }

    /// A node that serves again and finds its slots owned at a higher epoch follows the
    /// new owner (Redis: an old master rejoins as a replica of its replacement).
    void maybe_rejoin(RNode& n) {
        if (!n.master || n.owns || !n.serving(now_) || n.isolated) {
            return;
        }
        const RShard& sh = shards_[n.home];
        n.master = false;
        n.master_id = sh.owner;
        n.epoch = 0;
        n.offset = nodes_.at(sh.owner).offset;  // full resync
        n.link_down_since.reset();
        n.last_master_io = now_;
        ++result_.coverage.rejoins;
        model_changed();
        trace(12, std::hash<std::string>{}(n.id));
        note("Redis " + n.name + " rejoins as a replica of " + name(sh.owner));
    }

    void kill(RNode& n) {
        if (!n.alive) {
            return;
        }
        n.alive = false;
        ++n.life;
        n.serving_cut_off_since.reset();
        result_.coverage.master_kills += n.master && n.owns ? 1u : 0u;
        trace(4, std::hash<std::string>{}(n.id));
        note("Redis " + n.name + (n.master ? " (master) killed" : " (replica) killed"));
    }

    void restart_node(RNode& n) {
        n.alive = true;
        n.paused_until = TimePoint{};
        n.was_paused = false;
        trace(5, std::hash<std::string>{}(n.id));
        note("Redis " + n.name + " restarted");
        maybe_rejoin(n);
        if (!n.master) {
            n.link_down_since.reset();
            n.last_master_io = now_;
        }
    }

    /// Redis acting on a failover command that reached the target.
    void land_commands() {
        while (!commands_.empty() && commands_.begin()->first.first <= now_) {
            Command cmd = commands_.begin()->second;
            commands_.erase(commands_.begin());
            RNode& t = nodes_.at(cmd.target);
            if (!t.alive || (cmd.buffered_in_life && *cmd.buffered_in_life != t.life)) {
                // Connection refused, or it waited in the socket buffer of a process that
                // was killed since: lost either way.
                ++result_.coverage.late_commands;
                continue;
            }
            if (t.paused(now_)) {  // read when the process resumes
                cmd.buffered_in_life = t.life;
                commands_.emplace(std::make_pair(t.paused_until, ++flight_seq_), cmd);
                continue;
            }
            // Does the shard still look as the command's compare-and-set saw it? If not, a
            // newer failover (of this failure, by another command, or of a later one)
            // happened in between: the command is stale and must not promote anything.
            const RNode& failed = nodes_.at(cmd.key.failed_master);
            const bool stale = !(failed.owns && failed.epoch == cmd.key.config_epoch && !t.master &&
                                 t.master_id == failed.id);
            if (t.master) {
                ++result_.coverage.stale_rejected;  // ERR: already a master (harmless)
                trace(16, std::hash<std::string>{}(t.id));
                note("Redis: " + t.name + " refuses CLUSTER FAILOVER for " + key_text(cmd.key) +
                     " from " + ids_[cmd.from] + ": already a master");
                continue;
            }
            // Redis cannot tell: it runs the election for the target's current master.
            const bool promoted = redis_failover(t, nodes_.at(t.master_id), cmd);
            // A command held by the watcher's pause after its checks that lands on a
            // replica of a newer master: the same residual risk as held_split_brain — no
            // check the watcher makes can fence a pause after the last one, and CLUSTER
            // FAILOVER has no compare-and-set (seed 70026: held 1.7 s by the old leader's
            // pause, then 4.5 s in the socket buffer of a SIGSTOPped replica, which a newer
            // failover had made the replica of another master meanwhile). Counted, and
            // documented in docs/consensus.md ("Lease"); without a hold it is a violation.
            const bool residual = stale && promoted && cmd.held;
            if (residual) {
                ++result_.coverage.held_stale_promotions;
                note("Redis: held stale command for " + key_text(cmd.key) + " from " +
                     ids_[cmd.from] + " promotes " + t.name + " (residual risk)");
            } else if (stale) {
                if (promoted) {
                    violation("a stale command for " + key_text(cmd.key) + " (from " +
                              ids_[cmd.from] + ") landed after a newer failover and promoted " +
                              t.name);
                } else {
                    ++result_.coverage.stale_rejected;
                }
            }
            if (promoted && ++promotions_[cmd.key] > 1 && !residual) {
                violation("second promotion for one failure: " + key_text(cmd.key));
            }
        }
    }

    /// CLUSTER FAILOVER FORCE / TAKEOVER at replica `t` of master `m` (cluster.c):
    /// FORCE needs the votes of a majority of slot-owning masters reachable from `t`; a
    /// master refuses to vote for a replica of `m` within 2 x cluster-node-timeout of its
    /// last such vote. TAKEOVER takes a new epoch without a vote.
    bool redis_failover(RNode& t, RNode& m, const Command& cmd) {
        const proto::FailoverMode mode = cmd.mode;
        if (!m.owns) {
            return false;  // its master serves no slots: nothing to take over
        }
        if (mode == proto::FailoverMode::kForce) {
            std::size_t total = 0;
            std::size_t votes = 0;
            for (auto& [id, v] : nodes_) {
                if (!v.master || !v.owns) {
                    continue;
                }
                ++total;
                if (!linked(t, v)) {
                    continue;
                }
                auto last = v.voted_time.find(m.id);
                if (last != v.voted_time.end() && now_ - last->second < 2 * kClusterNodeTimeout) {
                    ++result_.coverage.force_votes_throttled;
                    continue;
                }
                v.voted_time[m.id] = now_;
                ++votes;
            }
            if (votes < total / 2 + 1) {
                ++result_.coverage.force_failed;
                trace(13, std::hash<std::string>{}(t.id), votes);
                note("Redis: FORCE at " + t.name + " failed: " + std::to_string(votes) + " of " +
                     std::to_string(total) + " masters voted");
                return false;
            }
        } else {
            ++result_.coverage.takeovers;
        }
        // Split brain: a master cut off from the majority keeps taking writes until
        // cluster-node-timeout after it lost contact. Promoting its replica before then
        // makes two masters take writes for the same slots (what plan_failover()'s
        // timeouts-only wait and TAKEOVER fence prevent).
        //
        // Except for a command held by a pause after its checks: the master may have come
        // back and been cut off meanwhile (seed 5510: dead at the check, restarted, cut
        // off 0.6 s before the held FORCE landed). Nothing the watcher does can fence a
        // pause between its last check and the command reaching Redis, and Redis has no
        // compare-and-set for CLUSTER FAILOVER: counted, the residual risk in
        // docs/consensus.md ("Lease").
        if (m.isolated && m.serving_cut_off_since &&
            now_ - *m.serving_cut_off_since < kClusterNodeTimeout && cmd.held) {
            ++result_.coverage.held_split_brain;
            note("Redis: held command promotes " + t.name + " while " + m.name +
                 " still takes writes (residual risk)");
        } else if (m.isolated && m.serving_cut_off_since &&
                   now_ - *m.serving_cut_off_since < kClusterNodeTimeout) {
            violation(t.name + " promoted while " + m.name + " still takes writes (cut off " +
                      std::to_string(to_ms(now_ - *m.serving_cut_off_since)) + " ms ago, " +
                      "cluster-node-timeout " + std::to_string(to_ms(kClusterNodeTimeout)) +
                      " ms)");
        }
        const std::size_t s = *m.owns;
        m.owns.reset();
        t.master = true;
        t.master_id.clear();
        t.owns = s;
        t.epoch = ++epoch_;
        t.link_down_since.reset();
        shards_[s].owner = t.id;
        for (auto& [id, n] : nodes_) {
            if (!n.master && n.master_id == m.id) {
                n.master_id = t.id;  // the other replicas follow the new master
                n.link_down_since.reset();
                n.last_master_io = now_;
            }
        }
        ++result_.coverage.promotions;
        model_changed();
        trace(7, std::hash<std::string>{}(t.id), t.epoch);
        note("Redis: " + t.name + " promoted (" + std::string(proto::to_string(mode)) + ") over " +
             m.name + ", epoch " + std::to_string(t.epoch));
        maybe_rejoin(m);
        return true;
    }

    // ------------------------------------------------------------------ faults
    RNode& random_node() {
        auto it = nodes_.begin();
        std::advance(it, static_cast<long>(rng_.uniform(0, nodes_.size() - 1)));
        return it->second;
    }

    void faults() {
        in_fault_phase_ = true;
        const std::size_t n = watchers_.size();
        if (rng_.chance(1, 300)) {  // partitions between watchers
            ++result_.coverage.partitions;
            const auto kind = rng_.uniform(0, 2);
            const auto victim = static_cast<std::size_t>(rng_.uniform(0, n - 1));
            for (std::size_t o = 0; o < n; ++o) {
                if (o == victim) {
                    continue;
                }
                if (kind == 0) {  // full: isolate one watcher
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
        // Redis: kill a master (sometimes a replica), restart dead nodes.
        if (rng_.chance(1, 500)) {
            kill(nodes_.at(shards_[rng_.uniform(0, 2)].owner));
        }
        if (rng_.chance(1, 2000)) {
            kill(random_node());
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
        // Redis: a stopped process (timeouts only), usually a master.
        if (rng_.chance(1, 1200)) {
            RNode& r =
                rng_.chance(2, 3) ? nodes_.at(shards_[rng_.uniform(0, 2)].owner) : random_node();
            if (r.alive && !r.paused(now_)) {
                r.paused_until = now_ + uniform(500ms, 6s);
                r.was_paused = true;
                r.serving_cut_off_since.reset();
                ++result_.coverage.redis_pauses;
                trace(14, std::hash<std::string>{}(r.id));
                note("Redis " + r.name + " paused");
            }
        }
        // Redis: a node cut off from the bus and its replicas, and from some watchers.
        if (rng_.chance(1, 1200)) {
            RNode& r =
                rng_.chance(2, 3) ? nodes_.at(shards_[rng_.uniform(0, 2)].owner) : random_node();
            if (!r.isolated) {
                r.isolated = true;
                if (r.serving(now_)) {
                    r.serving_cut_off_since = now_;
                }
                r.isolated_until = now_ + uniform(1s, 8s);
                for (std::size_t i = 0; i < n; ++i) {
                    if (rng_.chance(1, 2)) {
                        redis_cut_.insert({i, r.id});
                    }
                }
                ++result_.coverage.redis_partitions;
                trace(15, std::hash<std::string>{}(r.id));
                note("Redis " + r.name + " cut off from the bus");
            }
        }
        // A watcher alone loses its path to a node (it alone sees timeouts).
        if (rng_.chance(1, 600)) {
            const auto i = static_cast<std::size_t>(rng_.uniform(0, n - 1));
            RNode& r =
                rng_.chance(1, 2) ? nodes_.at(shards_[rng_.uniform(0, 2)].owner) : random_node();
            redis_cut_.insert({i, r.id});
            ++result_.coverage.redis_partitions;
            note(ids_[i] + " loses its path to Redis " + r.name);
        }
        if (rng_.chance(1, 500) && !redis_cut_.empty()) {
            redis_cut_.clear();
            note("watcher-to-Redis paths healed");
        }
    }

    void heal() {
        in_fault_phase_ = false;
        cut_.clear();
        redis_cut_.clear();
        drop_permille_ = 0;
        dup_permille_ = 0;
        max_delay_ = 5ms;
        note("--- healing: liveness phase ---");
        for (auto& [id, node] : nodes_) {
            if (node.isolated) {
                node.isolated_until = now_;
            }
            if (node.paused(now_)) {
                node.paused_until = now_;
            }
            if (!node.alive) {
                restart_node(node);
            }
        }
        // Messages held for a paused watcher are read as soon as it resumes, now.
        std::map<std::pair<TimePoint, std::uint64_t>, Flight> flights;
        for (auto& [at, f] : flights_) {
            const TimePoint to = watchers_[f.to]->paused_until > now_ ? now_ + kStep : at.first;
            flights.emplace(std::make_pair(std::min(at.first, to), at.second), std::move(f));
        }
        flights_ = std::move(flights);
        for (auto& w : watchers_) {
            w->paused_until = std::min(w->paused_until, now_);
            w->down_until = std::min(w->down_until, now_);
            w->crash_mid_output = false;
        }
        // Liveness needs only a connected majority: in half the runs a minority of the
        // watchers stays cut off from the others until the end.
        if (rng_.chance(1, 2)) {
            const std::size_t n = watchers_.size();
            const auto k = static_cast<std::size_t>(rng_.uniform(1, (n - 1) / 2));
            std::vector<std::size_t> order(n);
            for (std::size_t i = 0; i < n; ++i) {
                order[i] = i;
            }
            for (std::size_t i = 0; i < k; ++i) {
                std::swap(order[i], order[i + rng_.uniform(0, n - 1 - i)]);
                for (std::size_t o = 0; o < n; ++o) {
                    if (o != order[i]) {
                        cut_.insert({order[i], o});
                        cut_.insert({o, order[i]});
                    }
                }
                note(ids_[order[i]] + " stays cut off from the other watchers");
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
        redis_step();
        deliver();
        for (auto& w : watchers_) {
            if (!w->running(now_)) {
                continue;
            }
            if (w->local(now_) >= w->next_tick) {
                // A late tick (after a pause) is not replayed: the next one is a period on.
                w->next_tick = std::max(w->next_tick + kShellTick, w->local(now_));
                shell_tick(*w);
            }
            if (w->running(now_)) {
                w->c->tick(w->local(now_));
                drain(*w);
            }
        }
        check_leases();
    }

    SimConfig cfg_;
    consensus::SplitMix64 rng_;
    consensus::Config base_;
    detect::DetectorConfig detector_config_;
    failover::Policy policy_;
    std::vector<WatcherId> ids_;
    std::vector<std::unique_ptr<Watcher>> watchers_;
    std::map<std::string, RNode> nodes_;
    std::map<std::string, std::string> by_address_;
    std::vector<RShard> shards_;
    std::uint64_t epoch_ = 0;
    TimePoint now_ = TimePoint(std::chrono::seconds(1));
    bool in_fault_phase_ = true;
    /// Topologies built from the views of a set of reporters (bit mask), shared by the
    /// watchers that reach the same nodes; cleared whenever the cluster changes.
    std::map<std::uint64_t, std::shared_ptr<const cluster::Topology>> topologies_;

    std::set<std::pair<std::size_t, std::size_t>> cut_;
    /// (watcher, node id): the watcher's probes of the node time out.
    std::set<std::pair<std::size_t, std::string>> redis_cut_;
    std::uint64_t drop_permille_ = 0;
    std::uint64_t dup_permille_ = 0;
    Duration max_delay_ = 5ms;
    std::uint64_t sent_ = 0;
    std::uint64_t flight_seq_ = 0;
    std::map<std::pair<TimePoint, std::uint64_t>, Flight> flights_;
    std::map<std::pair<TimePoint, std::uint64_t>, Command> commands_;

    std::map<proto::Term, WatcherId> leaders_;
    std::map<std::pair<std::size_t, proto::Term>, std::size_t> votes_;
    std::set<std::pair<RecordKey, std::string>> proposed_;
    /// Committed value per (failure, attempt): Paxos allows one value per attempt.
    std::map<std::pair<RecordKey, std::uint32_t>, std::string> committed_;
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
