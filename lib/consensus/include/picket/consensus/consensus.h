#pragma once
// The vote between watchers as a pure state machine, in the style of ScyllaDB's
// raft::fsm: inputs are step(from, message, now), tick(now), this watcher's opinions and
// the leader's proposals; get_output() returns what to persist, send, execute and report.
// No I/O, clock or thread: the Asio shell (and the simulation) drive it.
//
// What it implements (docs/consensus.md has the reasoning):
//  - Raft leader election (§5.2) with one vote per term, randomised election timeouts
//    from an injected seed, pre-vote and check-quorum (Ongaro's thesis §9.6), leader
//    stickiness (thesis §4.2.3) and vote withholding after a restart (LogCabin's
//    withholdVotesUntil).
//  - A leader lease counted from the *send* time of the heartbeat round a majority
//    acknowledged, lasting election_timeout_min × (1 − drift) − margin.
//  - Failure agreement: the leader declares a master ODOWN when at least `quorum`
//    watchers' fresh opinions say SDOWN; followers send opinion changes at once.
//  - Failover records keyed by failure, replicated to a majority before any action;
//    a new leader adopts per key the highest-term record among its votes (Paxos phase 1)
//    and re-commits it in its own term.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "picket/base/expected.h"
#include "picket/base/time.h"
#include "picket/consensus/config.h"
#include "picket/consensus/persistent_state.h"
#include "picket/consensus/rng.h"
#include "picket/proto/codec.h"
#include "picket/proto/message.h"

namespace picket::consensus {

using proto::FailoverRecord;
using proto::RecordKey;
using proto::Term;

/// The Raft roles plus the pre-vote stage (§5.1, thesis §9.6).
enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view to_string(Role r);

/// One message to send. The shell seals it with the proto::Authenticator.
struct Outgoing {
    WatcherId to;
    proto::Message message;
};

/// Something the shell must do in Redis. Only produced by a leader, for a record
/// committed by a majority in its current term, while its lease holds.
struct Action {
    /// Execute (or finish, or verify) this failover: the shell re-reads CLUSTER NODES and
    /// sends the command only if the shard's master is still `record.key.failed_master`
    /// at `record.key.config_epoch` and `record.replica` is still its replica, and only
    /// before `lease_until` on its monotonic clock. Then it reports via report_progress().
    FailoverRecord record;
    TimePoint lease_until;
};

/// What happened, for logs, metrics and webhooks (the shell turns events into them).
struct Event {
    enum class Kind : std::uint8_t {
        kElectionStarted,     ///< pre-vote (detail "prevote") or vote round for `term`
        kBecameLeader,        ///< this watcher won `term`
        kLeaderKnown,         ///< a follower heard from `leader` in `term`
        kSteppedDown,         ///< this leader stopped leading; `detail` says why
        kLeaderLost,          ///< a follower stopped hearing from its leader
        kQuorumLost,          ///< the leader lost contact with a majority (check-quorum)
        kQuorumRegained,      ///< a leader exists again after a quorum loss
        kOdownDeclared,       ///< `node` is ODOWN: `watchers` say SDOWN; `detail` evidence
        kOdownCleared,        ///< `node` is no longer ODOWN; `detail` says why
        kRecordAdopted,       ///< a new leader adopted `record` from its votes
        kRecordCommitted,     ///< `record` is held by a majority in this term
        kVoteGranted,         ///< this watcher voted for `leader` in `term`
        kMaintenanceExpired,  ///< leader: the timed maintenance window `node` (target) ended
    };
    Kind kind;
    Term term = 0;
    WatcherId leader;
    std::string node;
    std::vector<WatcherId> watchers;
    std::optional<FailoverRecord> record;
    std::string detail;
};
std::string_view to_string(Event::Kind k);

/// Everything produced since the last get_output(). The shell must make `persist`
/// durable BEFORE sending `messages` or executing `actions` of the same output.
struct Output {
    std::optional<PersistentState> persist;
    std::vector<Outgoing> messages;
    std::vector<Action> actions;
    std::vector<Event> events;

    bool empty() const { return !persist && messages.empty() && actions.empty() && events.empty(); }
};

/// Why propose() refused.
enum class ProposeError : std::uint8_t {
    kNotLeader,          ///< only the leader proposes
    kNotOdown,           ///< the failed master is not ODOWN at this leader
    kKeyExists,          ///< a record for this failure exists: finish that one (records())
    kTooManyRecords,     ///< proto::Limits::kMaxRecords unfinished records
    kInvalid,            ///< empty ids
    kNoRecord,           ///< propose_attempt(): no earlier attempt for this failure
    kNotAborted,         ///< propose_attempt(): the current attempt is not aborted
    kAbortNotCommitted,  ///< propose_attempt(): a majority does not hold the abort yet
};
std::string_view to_string(ProposeError e);

/// What the leader knows about one Redis node's agreement state (status pages).
struct OdownState {
    std::vector<WatcherId> sdown_watchers;  ///< fresh SDOWN opinions, incl. the leader's
    Duration min_down_for{};                ///< shortest down_for among them, aged
    proto::Evidence evidence = proto::Evidence::kNone;  ///< kDead if any says dead
    std::uint32_t pfail_reports = 0;                    ///< max over the opinions
    std::uint32_t fail_reports = 0;
    std::uint32_t replicas_link_down = 0;
};

/// A snapshot of the vote for metrics, `/v1/status`, `/leader` and `PICKET INFO`.
struct Status {
    Role role = Role::kFollower;
    Term term = 0;
    std::optional<WatcherId> leader;
    std::optional<WatcherId> voted_for;
    std::uint64_t incarnation = 0;
    bool safe_mode = false;
    /// Leader only: may act in Redis now, and for how much longer.
    bool lease_valid = false;
    Duration lease_remaining{};
    /// Leader only: peers that replied within election_timeout_min, and whether those
    /// plus the leader are a majority (what check-quorum looks at).
    std::vector<WatcherId> peers_up;
    bool quorum_available = false;
    /// Leader only: nodes currently ODOWN.
    std::vector<std::string> odown;
    std::vector<FailoverRecord> records;
    /// The maintenance windows in force (timed ones with what is left), and whether a
    /// majority holds the current set in this term (leader only; followers: false).
    std::vector<proto::MaintenanceEntry> maintenance;
    bool maintenance_committed = false;
};

/// The pure state machine of one watcher. Owned by the shell (or the simulation), used
/// from one thread. Every method takes `now`, a reading of the shell's monotonic clock
/// that counts suspend (CLOCK_BOOTTIME); readings never go backwards.
class Consensus {
  public:
    /// Starts as a follower from `loaded` (a fresh PersistentState on first start). Bumps
    /// the incarnation (the first output persists it: nothing may be sent before that)
    /// and withholds votes until now + election_timeout_max: a restarted watcher has
    /// forgotten that it recently heard from a leader. `config` must pass validate().
    Consensus(Config config, PersistentState loaded, std::uint64_t rng_seed, TimePoint now);

    /// A message from another voter, already authenticated by proto::Authenticator.
    void step(const WatcherId& from, const proto::Message& message, TimePoint now);
    /// Advances timers: elections, heartbeats, check-quorum, lease, opinion ageing.
    void tick(TimePoint now);

    /// This watcher's own opinion of a Redis node (from the detector). A change of SDOWN
    /// or evidence is sent to the leader at once. The detector must repeat every SDOWN
    /// opinion at least once per opinion validity (each of its ticks): an opinion not
    /// refreshed in time is not reported or counted, so a watcher resuming from a pause
    /// never vouches for what it saw before the pause.
    void set_opinion(const proto::Opinion& opinion, TimePoint now);
    /// Safe mode (the detector's TILT): while on, the lease is void and nothing is acted.
    void set_safe_mode(bool on, TimePoint now);

    /// Leader only: decide a failover for an ODOWN master. The record is replicated to a
    /// majority (a heartbeat round leaves at once) and executed once committed. Returns
    /// the record as stored (term, phase, odown_watchers filled in). An aborted record of
    /// the same key is reopened with its original replica and mode (the value of a key
    /// never changes); any other existing record is kKeyExists.
    Expected<FailoverRecord, ProposeError> propose(FailoverRecord record, TimePoint now);
    /// Leader only: opens the next attempt at a failure whose current attempt can no longer
    /// land, with another value (`record.replica`, `record.mode`): the current record must
    /// be aborted and its abort held by a majority in this term (abort_committed()), and
    /// the master still ODOWN. The shell checks the rest (the earlier replica was seen dead
    /// or still a replica after the abort, the masters' vote throttle). Returns the record
    /// as stored, attempt + 1, phase decided; replicated at once, executed once committed.
    Expected<FailoverRecord, ProposeError> propose_attempt(FailoverRecord record, TimePoint now);
    /// Leader only: the record of `key` is aborted and a majority acknowledged a heartbeat
    /// round of this term that carried the abort (so no later leader can adopt an earlier
    /// phase of this attempt and execute it).
    bool abort_committed(const RecordKey& key) const;
    /// Leader only: the shell reports how execution went (kCommandSent, kDone, kAborted).
    /// Phases only move forward; anything else is ignored. Returns whether it applied. An
    /// abort is replicated at once.
    /// With `attempt`, only if the record is still at that attempt (a late report about an
    /// earlier attempt must not move a newer one).
    bool report_progress(const RecordKey& key, proto::RecordPhase phase, TimePoint now,
                         std::optional<std::uint32_t> attempt = std::nullopt);

    /// Leader only: turns a maintenance window on (replacing the one of the same target)
    /// or off (by target; `entry.kind`, `timed`, `remaining`, `by` are then ignored). The
    /// set is replicated at once; maintenance_committed() tells when a majority holds it.
    /// kInvalid for an empty target or kind; switching off a target not in maintenance
    /// changes nothing and is not an error.
    Expected<void, ProposeError> set_maintenance(proto::MaintenanceEntry entry, bool on,
                                                 TimePoint now);
    /// The maintenance windows in force at `now` (timed ones with what is left; expired
    /// ones left out), on every role: a follower holds what its leader last replicated.
    std::vector<proto::MaintenanceEntry> maintenance(TimePoint now) const;
    /// Leader only: a majority acknowledged a round of this term carrying the current set.
    bool maintenance_committed() const;

    /// True when get_output() has something.
    bool has_output() const;
    /// Takes everything produced so far (see Output for the ordering rule).
    Output get_output();

    // --- Observers (status pages, tests, invariants) ---

    Role role() const { return role_; }
    bool is_leader() const { return role_ == Role::kLeader; }
    Term term() const { return term_; }
    const std::optional<WatcherId>& voted_for() const { return voted_for_; }
    /// The leader this watcher follows (itself when leading), if known.
    const std::optional<WatcherId>& leader() const { return leader_; }
    std::uint64_t incarnation() const { return incarnation_; }
    /// True while this leader may act in Redis.
    bool lease_valid(TimePoint now) const;
    /// End of the current lease (meaningful when lease_valid()).
    TimePoint lease_until() const { return lease_until_; }
    /// When this watcher became leader (meaningful while is_leader()).
    TimePoint leader_since() const { return leader_since_; }
    const std::map<RecordKey, FailoverRecord>& records() const { return records_; }
    /// Leader only: the nodes currently ODOWN and the agreement behind each.
    const std::map<std::string, OdownState>& odown() const { return odown_; }
    /// A snapshot for status pages and metrics.
    Status status(TimePoint now) const;
    /// The whole durable state as it is now.
    PersistentState persistent_state() const;
    const Config& config() const { return config_; }

  private:
    /// Re-opens record `r` in this term (same or next attempt, already set by the caller):
    /// decided, uncommitted, replicated from the next round; returns the record.
    FailoverRecord reopen(FailoverRecord& r, const OdownState& od, TimePoint now);
    friend class Invariants;

    /// A received opinion, aged by this watcher's receive time.
    struct HeldOpinion {
        proto::Opinion opinion;
        TimePoint received;
    };
    /// This watcher's own opinion and when the detector gave it.
    struct LocalOpinion {
        proto::Opinion opinion;
        TimePoint given;
    };
    /// What a leader tracks per follower.
    struct Peer {
        std::uint64_t acked_round = 0;
        TimePoint last_reply{};
    };

    // Transitions.
    void become_follower(Term term, TimePoint now);
    void start_prevote(TimePoint now);
    void start_election(TimePoint now);
    void become_leader(TimePoint now);
    void step_down(TimePoint now, std::string reason);

    // Message handlers.
    void handle_prevote(const WatcherId& from, Term term, TimePoint now);
    void handle_request_vote(const WatcherId& from, Term term, TimePoint now);
    void handle_vote_reply(const WatcherId& from, Term term, const proto::VoteReply& r,
                           TimePoint now);
    void handle_heartbeat(const WatcherId& from, Term term, const proto::Heartbeat& h,
                          TimePoint now);
    void handle_heartbeat_reply(const WatcherId& from, Term term, const proto::HeartbeatReply& r,
                                TimePoint now);
    void handle_opinion(const WatcherId& from, Term term, const proto::OpinionUpdate& u,
                        TimePoint now);

    // Leader work.
    void send_heartbeats(TimePoint now);
    void update_commit_and_lease(TimePoint now);
    void evaluate_odown(TimePoint now);
    void maybe_act(TimePoint now);
    void check_quorum(TimePoint now);

    // Helpers.
    void send(const WatcherId& to, proto::Body body);
    void emit(Event e) { output_.events.push_back(std::move(e)); }
    void mark_dirty() { dirty_ = true; }
    void reset_election_timer(TimePoint now);
    bool heard_from_leader_recently(TimePoint now) const;
    bool withholding_votes(TimePoint now) const { return now < withhold_votes_until_; }
    std::vector<FailoverRecord> record_list() const;
    /// The maintenance set as it travels and is persisted: timed windows aged to `now`.
    proto::MaintenanceSet maintenance_set(TimePoint now) const;
    /// Replaces the maintenance windows by `set`, received at `now`.
    void load_maintenance(const proto::MaintenanceSet& set, TimePoint now);
    void expire_maintenance(TimePoint now);
    std::vector<proto::Opinion> local_sdown_opinions(TimePoint now) const;
    std::uint64_t majority_acked_round() const;
    void clear_leader_state();

    // --- Fixed ---
    /// Configuration; validated by the owner.
    const Config config_;
    /// The other voters (config_.voters without self), sorted.
    std::vector<WatcherId> peers_;
    /// Election jitter (injected seed).
    SplitMix64 rng_;

    // --- Durable (persisted through Output::persist) ---
    Term term_ = 0;
    std::optional<WatcherId> voted_for_;
    std::uint64_t incarnation_ = 0;
    /// The accepted failover records, one per key (the Paxos acceptor state).
    std::map<RecordKey, FailoverRecord> records_;
    /// One accepted maintenance window; timed ones end at `until` on our clock.
    struct Window {
        proto::MaintenanceEntry entry;
        std::optional<TimePoint> until;
        friend bool operator==(const Window&, const Window&) = default;
    };
    /// The accepted maintenance set (the same acceptor state, one register): its version
    /// (term of the leader that last replicated it, changes within that term) and windows
    /// by target.
    Term maintenance_term_ = 0;
    std::uint64_t maintenance_seq_ = 0;
    /// The latest heartbeat round accepted as a follower, (term, round): an older one (a
    /// delayed or duplicated message) never moves the records or the maintenance set back.
    Term mirrored_term_ = 0;
    std::uint64_t mirrored_round_ = 0;
    std::map<std::string, Window> maintenance_;
    /// The latest `now` seen by any input: persisted windows are aged to it.
    TimePoint last_now_{};
    /// Durable state changed since the last get_output().
    bool dirty_ = false;

    // --- Volatile, all roles ---
    Role role_ = Role::kFollower;
    std::optional<WatcherId> leader_;
    /// When the current election timeout fires (followers and candidates).
    TimePoint election_deadline_{};
    /// Last time a leader of the current term was heard (followers).
    std::optional<TimePoint> last_leader_contact_;
    /// No (pre)votes are granted before this (restart rule).
    TimePoint withhold_votes_until_{};
    /// Safe mode: the lease is void.
    bool safe_mode_ = false;
    /// False after a check-quorum step-down until a leader is known again.
    bool quorum_ok_ = true;
    /// This watcher's own opinions, by Redis node id.
    std::map<std::string, LocalOpinion> local_opinions_;
    /// The output being accumulated.
    Output output_;

    // --- Candidates ---
    /// Voters that granted the current (pre-)vote round, self included.
    std::set<WatcherId> votes_;
    /// Records collected from granted votes, highest term per key (Paxos phase 1).
    std::map<RecordKey, FailoverRecord> vote_records_;
    /// The highest-(term, seq) maintenance set among the granted votes (phase 1 too).
    std::optional<proto::MaintenanceSet> vote_maintenance_;

    // --- Leader ---
    std::map<WatcherId, Peer> peer_state_;
    /// Heartbeat round of this term; the last one sent.
    std::uint64_t round_ = 0;
    /// Rounds up to this one give no lease (sent before safe mode began).
    std::uint64_t lease_floor_round_ = 0;
    /// Send time of recent rounds (pruned below the majority-acknowledged round).
    std::map<std::uint64_t, TimePoint> round_sent_at_;
    TimePoint next_heartbeat_{};
    TimePoint leader_since_{};
    TimePoint lease_until_{};
    /// Per record key: the first round of this term that carried its current version.
    std::map<RecordKey, std::uint64_t> commit_round_;
    /// Records an Action was emitted for in this term.
    std::set<RecordKey> acted_;
    /// Per record key: the first round of this term that carried its current phase (an
    /// abort is "committed" once a majority acknowledged it).
    std::map<RecordKey, std::uint64_t> phase_round_;
    /// The first round of this term that carried the current maintenance set.
    std::uint64_t maintenance_round_ = 0;
    /// Opinions received, by watcher then Redis node.
    std::map<WatcherId, std::map<std::string, HeldOpinion>> opinions_;
    /// Nodes currently declared ODOWN.
    std::map<std::string, OdownState> odown_;
};

}  // namespace picket::consensus
