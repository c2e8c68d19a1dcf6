#include "picket/consensus/consensus.h"

#include <algorithm>
#include <cassert>
#include <tuple>
#include <utility>

namespace picket::consensus {

using proto::RecordPhase;

std::string_view to_string(Role r) {
    switch (r) {
        case Role::kFollower:
            return "follower";
        case Role::kPreCandidate:
            return "pre-candidate";
        case Role::kCandidate:
            return "candidate";
        case Role::kLeader:
            return "leader";
    }
    return "?";
}

std::string_view to_string(Event::Kind k) {
    switch (k) {
        case Event::Kind::kElectionStarted:
            return "election_started";
        case Event::Kind::kBecameLeader:
            return "became_leader";
        case Event::Kind::kLeaderKnown:
            return "leader_known";
        case Event::Kind::kSteppedDown:
            return "stepped_down";
        case Event::Kind::kLeaderLost:
            return "leader_lost";
        case Event::Kind::kQuorumLost:
            return "quorum_lost";
        case Event::Kind::kQuorumRegained:
            return "quorum_regained";
        case Event::Kind::kOdownDeclared:
            return "odown_declared";
        case Event::Kind::kOdownCleared:
            return "odown_cleared";
        case Event::Kind::kRecordAdopted:
            return "record_adopted";
        case Event::Kind::kRecordCommitted:
            return "record_committed";
        case Event::Kind::kVoteGranted:
            return "vote_granted";
        case Event::Kind::kMaintenanceExpired:
            return "maintenance_expired";
    }
    return "?";
}

std::string_view to_string(ProposeError e) {
    switch (e) {
        case ProposeError::kNotLeader:
            return "not the leader";
        case ProposeError::kNotOdown:
            return "master is not ODOWN";
        case ProposeError::kKeyExists:
            return "a record for this failure exists";
        case ProposeError::kTooManyRecords:
            return "too many unfinished records";
        case ProposeError::kInvalid:
            return "invalid record";
        case ProposeError::kNoRecord:
            return "no earlier attempt for this failure";
        case ProposeError::kNotAborted:
            return "the current attempt is not aborted";
        case ProposeError::kAbortNotCommitted:
            return "a majority does not hold the abort of the current attempt yet";
    }
    return "?";
}

namespace {

bool finished(const FailoverRecord& r) {
    return r.phase == RecordPhase::kDone || r.phase == RecordPhase::kAborted;
}

/// Paxos phase-1 merge: the highest term wins; within a term (one leader) the latest
/// attempt, then the furthest phase of it. A leader's attempts and phases only move
/// forward, so (term, attempt, phase) orders everything one leader sent.
void merge_record(std::map<RecordKey, FailoverRecord>& into, const FailoverRecord& r) {
    auto it = into.find(r.key);
    if (it == into.end()) {
        into.emplace(r.key, r);
        return;
    }
    FailoverRecord& have = it->second;
    if (std::tie(r.term, r.attempt, r.phase) > std::tie(have.term, have.attempt, have.phase)) {
        have = r;
    }
}

bool newer(const proto::MaintenanceSet& a, const proto::MaintenanceSet& b) {
    return std::tie(a.term, a.seq) > std::tie(b.term, b.seq);
}

/// Keeps a merged record set within proto::Limits::kMaxRecords: finished records go first.
void cap_records(std::map<RecordKey, FailoverRecord>& records) {
    for (auto it = records.begin();
         records.size() > proto::Limits::kMaxRecords && it != records.end();) {
        it = finished(it->second) ? records.erase(it) : std::next(it);
    }
    while (records.size() > proto::Limits::kMaxRecords) {
        // Only with more concurrent failures than the limit; drop the oldest term.
        auto oldest = std::min_element(records.begin(), records.end(), [](auto& a, auto& b) {
            return a.second.term < b.second.term;
        });
        records.erase(oldest);
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction, output
// ---------------------------------------------------------------------------

Consensus::Consensus(Config config, PersistentState loaded, std::uint64_t rng_seed, TimePoint now)
    : config_(std::move(config)), rng_(rng_seed) {
    assert(validate(config_).has_value());
    for (const auto& v : config_.voters) {
        if (v != config_.self) {
            peers_.push_back(v);
        }
    }
    std::sort(peers_.begin(), peers_.end());
    term_ = loaded.term;
    voted_for_ = std::move(loaded.voted_for);
    incarnation_ = loaded.incarnation + 1;
    for (auto& r : loaded.records) {
        r.committed = false;
        merge_record(records_, r);
    }
    last_now_ = now;
    load_maintenance(loaded.maintenance, now);
    mark_dirty();  // the new incarnation must be durable before anything is sent
    // A restarted watcher has forgotten that it heard from a leader: withhold (pre)votes
    // for the longest election timeout (LogCabin's withholdVotesUntil).
    withhold_votes_until_ = now + config_.election_timeout_max;
    reset_election_timer(now);
    clear_leader_state();
}

bool Consensus::has_output() const {
    return dirty_ || !output_.empty();
}

Output Consensus::get_output() {
    if (dirty_) {
        output_.persist = persistent_state();
        dirty_ = false;
    }
    return std::exchange(output_, Output{});
}

PersistentState Consensus::persistent_state() const {
    PersistentState s;
    s.term = term_;
    s.voted_for = voted_for_;
    s.incarnation = incarnation_;
    s.records = record_list();
    s.maintenance = maintenance_set(last_now_);
    return s;
}

proto::MaintenanceSet Consensus::maintenance_set(TimePoint now) const {
    proto::MaintenanceSet m;
    m.term = maintenance_term_;
    m.seq = maintenance_seq_;
    for (const auto& [target, w] : maintenance_) {
        proto::MaintenanceEntry e = w.entry;
        if (w.until) {
            if (*w.until <= now) {
                continue;  // ended; the leader drops it at its next tick
            }
            e.timed = true;
            e.remaining = *w.until - now;
        } else {
            e.timed = false;
            e.remaining = Duration::zero();
        }
        m.entries.push_back(std::move(e));
    }
    return m;
}

void Consensus::load_maintenance(const proto::MaintenanceSet& set, TimePoint now) {
    maintenance_term_ = set.term;
    maintenance_seq_ = set.seq;
    maintenance_.clear();
    for (const auto& e : set.entries) {
        if (e.target.empty()) {
            continue;
        }
        Window w{e, std::nullopt};
        if (e.timed) {
            w.until = now + e.remaining;
        }
        w.entry.remaining = Duration::zero();
        maintenance_[e.target] = std::move(w);
    }
}

std::vector<proto::MaintenanceEntry> Consensus::maintenance(TimePoint now) const {
    return maintenance_set(now).entries;
}

bool Consensus::maintenance_committed() const {
    return role_ == Role::kLeader && maintenance_round_ != 0 &&
           majority_acked_round() >= maintenance_round_;
}

Expected<void, ProposeError> Consensus::set_maintenance(proto::MaintenanceEntry entry, bool on,
                                                        TimePoint now) {
    last_now_ = std::max(last_now_, now);
    if (role_ != Role::kLeader) {
        return unexpected(ProposeError::kNotLeader);
    }
    if (entry.target.empty() || (on && entry.kind.empty())) {
        return unexpected(ProposeError::kInvalid);
    }
    if (!on) {
        if (maintenance_.erase(entry.target) == 0) {
            return {};
        }
    } else {
        if (maintenance_.size() >= proto::Limits::kMaxMaintenance &&
            !maintenance_.contains(entry.target)) {
            return unexpected(ProposeError::kTooManyRecords);
        }
        Window w{entry, std::nullopt};
        if (entry.timed) {
            w.until = now + entry.remaining;
        }
        w.entry.remaining = Duration::zero();
        maintenance_[entry.target] = std::move(w);
    }
    maintenance_term_ = term_;
    maintenance_seq_ += 1;
    maintenance_round_ = round_ + 1;
    mark_dirty();
    send_heartbeats(now);  // replicate at once
    return {};
}

void Consensus::expire_maintenance(TimePoint now) {
    bool changed = false;
    for (auto it = maintenance_.begin(); it != maintenance_.end();) {
        if (it->second.until && *it->second.until <= now) {
            emit(Event{Event::Kind::kMaintenanceExpired,
                       term_,
                       config_.self,
                       it->first,
                       {},
                       {},
                       it->second.entry.kind});
            it = maintenance_.erase(it);
            changed = true;
        } else {
            ++it;
        }
    }
    if (changed) {
        maintenance_term_ = term_;
        maintenance_seq_ += 1;
        maintenance_round_ = round_ + 1;
        mark_dirty();
    }
}

Status Consensus::status(TimePoint now) const {
    Status st;
    st.role = role_;
    st.term = term_;
    st.leader = leader_;
    st.voted_for = voted_for_;
    st.incarnation = incarnation_;
    st.safe_mode = safe_mode_;
    st.lease_valid = lease_valid(now);
    st.lease_remaining = st.lease_valid ? lease_until_ - now : Duration::zero();
    if (role_ == Role::kLeader) {
        for (const auto& [p, peer] : peer_state_) {
            if (now - peer.last_reply < config_.election_timeout_min) {
                st.peers_up.push_back(p);
            }
        }
        st.quorum_available = st.peers_up.size() + 1 >= config_.majority();
        for (const auto& [node, od] : odown_) {
            st.odown.push_back(node);
        }
    }
    st.records = record_list();
    st.maintenance = maintenance(now);
    st.maintenance_committed = maintenance_committed();
    return st;
}

std::vector<FailoverRecord> Consensus::record_list() const {
    std::vector<FailoverRecord> out;
    out.reserve(records_.size());
    for (const auto& [key, r] : records_) {
        out.push_back(r);
    }
    return out;
}

bool Consensus::lease_valid(TimePoint now) const {
    return role_ == Role::kLeader && !safe_mode_ && now < lease_until_;
}

void Consensus::send(const WatcherId& to, proto::Body body) {
    output_.messages.push_back(Outgoing{to, proto::Message{term_, std::move(body)}});
}

void Consensus::reset_election_timer(TimePoint now) {
    const auto lo = static_cast<std::uint64_t>(config_.election_timeout_min.count());
    const auto hi = static_cast<std::uint64_t>(config_.election_timeout_max.count());
    election_deadline_ = now + Duration(static_cast<Duration::rep>(rng_.uniform(lo, hi)));
}

bool Consensus::heard_from_leader_recently(TimePoint now) const {
    if (role_ == Role::kLeader) {
        return true;
    }
    return last_leader_contact_ && now < *last_leader_contact_ + config_.election_timeout_min;
}

void Consensus::clear_leader_state() {
    peer_state_.clear();
    round_ = 0;
    lease_floor_round_ = 0;
    round_sent_at_.clear();
    lease_until_ = TimePoint::min();
    commit_round_.clear();
    acted_.clear();
    phase_round_.clear();
    maintenance_round_ = 0;
    opinions_.clear();
    for (auto& [key, r] : records_) {
        r.committed = false;
    }
}

// ---------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------

void Consensus::become_follower(Term term, TimePoint now) {
    assert(term >= term_);
    if (role_ == Role::kLeader) {
        step_down(now, term > term_ ? "saw higher term " + std::to_string(term) : "saw a leader");
    }
    if (term > term_) {
        term_ = term;
        voted_for_.reset();
        leader_.reset();
        last_leader_contact_.reset();
        mark_dirty();
    }
    role_ = Role::kFollower;
    votes_.clear();
    vote_records_.clear();
    vote_maintenance_.reset();
}

void Consensus::step_down(TimePoint now, std::string reason) {
    assert(role_ == Role::kLeader);
    role_ = Role::kFollower;
    leader_.reset();
    last_leader_contact_.reset();
    for (const auto& [node, st] : odown_) {
        emit(Event{Event::Kind::kOdownCleared, term_, {}, node, {}, {}, "leadership lost"});
    }
    odown_.clear();
    clear_leader_state();
    emit(Event{Event::Kind::kSteppedDown, term_, {}, {}, {}, {}, std::move(reason)});
    reset_election_timer(now);
}

void Consensus::start_prevote(TimePoint now) {
    role_ = Role::kPreCandidate;
    leader_.reset();
    last_leader_contact_.reset();
    votes_ = {config_.self};
    vote_records_.clear();
    vote_maintenance_.reset();
    reset_election_timer(now);
    emit(Event{Event::Kind::kElectionStarted, term_ + 1, {}, {}, {}, {}, "prevote"});
    if (votes_.size() >= config_.majority()) {
        start_election(now);
        return;
    }
    // Pre-vote (thesis §9.6): ask with the term we would use, without adopting it, so a
    // partitioned watcher cannot inflate terms and depose a healthy leader on return.
    for (const auto& p : peers_) {
        output_.messages.push_back(Outgoing{p, proto::Message{term_ + 1, proto::PreVote{}}});
    }
}

void Consensus::start_election(TimePoint now) {
    // §5.2: increment the term, vote for self, request votes.
    term_ += 1;
    voted_for_ = config_.self;
    mark_dirty();
    role_ = Role::kCandidate;
    leader_.reset();
    last_leader_contact_.reset();
    votes_ = {config_.self};
    vote_records_ = records_;  // our own acceptor state counts as our vote's records
    vote_maintenance_ = maintenance_set(now);
    reset_election_timer(now);
    emit(Event{Event::Kind::kElectionStarted, term_, {}, {}, {}, {}, "vote"});
    if (votes_.size() >= config_.majority()) {
        become_leader(now);
        return;
    }
    for (const auto& p : peers_) {
        send(p, proto::RequestVote{});
    }
}

void Consensus::become_leader(TimePoint now) {
    role_ = Role::kLeader;
    leader_ = config_.self;
    last_leader_contact_.reset();
    clear_leader_state();
    leader_since_ = now;
    // Paxos phase 1: for every key, the highest-term record among the votes that elected
    // us; re-proposed (and re-committed) in our own term before anyone acts on it.
    cap_records(vote_records_);
    records_ = std::move(vote_records_);
    vote_records_.clear();
    votes_.clear();
    // The maintenance set too: the highest (term, seq) among the votes, re-stamped with our
    // term, so a set any earlier leader had committed is ours now.
    if (vote_maintenance_) {
        load_maintenance(*vote_maintenance_, now);
        vote_maintenance_.reset();
    }
    maintenance_term_ = term_;
    maintenance_seq_ = 0;
    maintenance_round_ = 1;
    mark_dirty();
    for (auto& [key, r] : records_) {
        r.term = term_;
        r.committed = false;
        commit_round_[key] = 1;
        phase_round_[key] = 1;
        if (!finished(r)) {
            emit(Event{Event::Kind::kRecordAdopted,
                       term_,
                       config_.self,
                       key.failed_master,
                       {},
                       r,
                       "finishing the failover decided in an earlier term"});
        }
    }
    if (!records_.empty()) {
        mark_dirty();
    }
    for (const auto& p : peers_) {
        peer_state_[p] = Peer{0, now};
    }
    emit(Event{Event::Kind::kBecameLeader, term_, config_.self, {}, {}, {}, {}});
    if (!quorum_ok_) {
        quorum_ok_ = true;
        emit(Event{Event::Kind::kQuorumRegained, term_, config_.self, {}, {}, {}, {}});
    }
    send_heartbeats(now);
    evaluate_odown(now);
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

void Consensus::tick(TimePoint now) {
    last_now_ = std::max(last_now_, now);
    switch (role_) {
        case Role::kLeader:
            check_quorum(now);
            if (role_ != Role::kLeader) {
                break;
            }
            expire_maintenance(now);
            if (now >= next_heartbeat_) {
                send_heartbeats(now);
            }
            evaluate_odown(now);
            maybe_act(now);
            break;
        case Role::kFollower:
            if (now >= election_deadline_) {
                if (leader_) {
                    emit(Event{Event::Kind::kLeaderLost,
                               term_,
                               *leader_,
                               {},
                               {},
                               {},
                               "no heartbeat for an election timeout"});
                }
                start_prevote(now);
            }
            break;
        case Role::kPreCandidate:
        case Role::kCandidate:
            if (now >= election_deadline_) {
                start_prevote(now);
            }
            break;
    }
}

void Consensus::step(const WatcherId& from, const proto::Message& m, TimePoint now) {
    last_now_ = std::max(last_now_, now);
    if (from == config_.self || !std::binary_search(peers_.begin(), peers_.end(), from)) {
        return;  // the Authenticator already drops these; never trust a caller blindly
    }
    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, proto::PreVote>) {
                handle_prevote(from, m.term, now);
            } else if constexpr (std::is_same_v<T, proto::RequestVote>) {
                handle_request_vote(from, m.term, now);
            } else if constexpr (std::is_same_v<T, proto::VoteReply>) {
                handle_vote_reply(from, m.term, body, now);
            } else if constexpr (std::is_same_v<T, proto::Heartbeat>) {
                handle_heartbeat(from, m.term, body, now);
            } else if constexpr (std::is_same_v<T, proto::HeartbeatReply>) {
                handle_heartbeat_reply(from, m.term, body, now);
            } else {
                handle_opinion(from, m.term, body, now);
            }
        },
        m.body);
}

void Consensus::handle_prevote(const WatcherId& from, Term term, TimePoint now) {
    // Grant only what a real vote could get, without changing any state.
    const bool grant = term > term_ && !heard_from_leader_recently(now) && !withholding_votes(now);
    output_.messages.push_back(Outgoing{
        from, proto::Message{grant ? term : term_, proto::VoteReply{grant, true, {}, {}}}});
}

void Consensus::handle_request_vote(const WatcherId& from, Term term, TimePoint now) {
    // Leader stickiness (thesis §4.2.3) and the restart rule: while we may still be part
    // of a leader's lease, we neither vote nor adopt the candidate's term.
    if (term < term_ || heard_from_leader_recently(now) || withholding_votes(now)) {
        send(from, proto::VoteReply{false, false, {}, {}});
        return;
    }
    if (term > term_) {
        become_follower(term, now);
    }
    // §5.2: at most one vote per term, persisted before the reply leaves (Output rule).
    if (!voted_for_ || *voted_for_ == from) {
        voted_for_ = from;
        mark_dirty();
        reset_election_timer(now);
        emit(Event{Event::Kind::kVoteGranted, term_, from, {}, {}, {}, {}});
        // Paxos phase 1b: our promise comes with every record we accepted.
        send(from, proto::VoteReply{true, false, record_list(), maintenance_set(now)});
    } else {
        send(from, proto::VoteReply{false, false, {}, {}});
    }
}

void Consensus::handle_vote_reply(const WatcherId& from, Term term, const proto::VoteReply& r,
                                  TimePoint now) {
    // Only a campaign in progress reads replies. A late reply to a campaign given up (we
    // follow a leader now) must not make us adopt the replier's higher term: that would
    // drop our stickiness while the leader's lease still counts on it (the simulation's
    // seed 9756: a follower that had just acknowledged a round adopted a candidate's term
    // from a refused pre-vote reply, then voted for it: two leases at once).
    if (role_ != Role::kPreCandidate && role_ != Role::kCandidate) {
        return;
    }
    if (r.prevote) {
        if (role_ == Role::kPreCandidate && r.granted && term == term_ + 1) {
            votes_.insert(from);
            if (votes_.size() >= config_.majority()) {
                start_election(now);
            }
        } else if (!r.granted && term > term_) {
            become_follower(term, now);
        }
        return;
    }
    if (term > term_) {
        become_follower(term, now);
        return;
    }
    if (role_ != Role::kCandidate || term != term_ || !r.granted) {
        return;
    }
    if (votes_.insert(from).second) {
        for (const auto& rec : r.records) {
            merge_record(vote_records_, rec);
        }
        if (!vote_maintenance_ || newer(r.maintenance, *vote_maintenance_)) {
            vote_maintenance_ = r.maintenance;
        }
    }
    if (votes_.size() >= config_.majority()) {
        become_leader(now);
    }
}

void Consensus::handle_heartbeat(const WatcherId& from, Term term, const proto::Heartbeat& h,
                                 TimePoint now) {
    if (term < term_) {
        // A deposed leader: our higher term in the reply makes it step down.
        send(from, proto::HeartbeatReply{h.round, false, {}});
        return;
    }
    // Two leaders in one term would be a broken invariant (§5.2 Election Safety).
    assert(!(role_ == Role::kLeader && term == term_));
    if (term > term_ || role_ != Role::kFollower) {
        become_follower(term, now);
    }
    if (leader_ != from) {
        leader_ = from;
        emit(Event{Event::Kind::kLeaderKnown, term_, from, {}, {}, {}, {}});
    }
    if (!quorum_ok_) {
        quorum_ok_ = true;
        emit(Event{Event::Kind::kQuorumRegained, term_, from, {}, {}, {}, {}});
    }
    last_leader_contact_ = now;
    reset_election_timer(now);
    // Accept the leader's records (Paxos phase 2a). Persisted before the reply leaves, so
    // an acknowledged round means the records are durable here. An acceptor never forgets
    // a value it accepted: records are merged in, never replaced by the heartbeat's set — a
    // delayed heartbeat of this term from before a proposal carries a set without it, and
    // mirroring that set dropped an accepted (committed) record, so the next leader's
    // voters lacked it and a second replica was committed for one failure (sim seed
    // 41373). Within the leader's latest round a record may also be replaced by an equal
    // (term, attempt, phase) — its `committed` flag moves forward; an older round never
    // replaces anything that is not strictly behind it.
    const bool latest_round = std::tie(term, h.round) >= std::tie(mirrored_term_, mirrored_round_);
    std::map<RecordKey, FailoverRecord> mirrored = records_;
    for (const auto& r : h.records) {
        auto it = mirrored.find(r.key);
        if (it == mirrored.end()) {
            mirrored.emplace(r.key, r);
            continue;
        }
        const auto theirs = std::tie(r.term, r.attempt, r.phase);
        const auto ours = std::tie(it->second.term, it->second.attempt, it->second.phase);
        if (theirs > ours || (latest_round && theirs == ours)) {
            it->second = r;
        }
    }
    cap_records(mirrored);
    if (latest_round) {
        mirrored_term_ = term;
        mirrored_round_ = h.round;
    }
    if (mirrored != records_) {
        records_ = std::move(mirrored);
        mark_dirty();
    }
    // The maintenance set likewise, a versioned register: a new version is persisted
    // before the reply, an older one (a delayed heartbeat) is ignored. The same version
    // again only refreshes when timed windows end (by the leader's clock).
    const bool new_version = std::tie(h.maintenance.term, h.maintenance.seq) >
                             std::tie(maintenance_term_, maintenance_seq_);
    const bool same_version =
        h.maintenance.term == maintenance_term_ && h.maintenance.seq == maintenance_seq_;
    if (new_version || (same_version && latest_round)) {
        load_maintenance(h.maintenance, now);
    }
    if (new_version) {
        mark_dirty();
    }
    send(from, proto::HeartbeatReply{h.round, true, local_sdown_opinions(now)});
}

void Consensus::handle_heartbeat_reply(const WatcherId& from, Term term,
                                       const proto::HeartbeatReply& r, TimePoint now) {
    if (term > term_) {
        become_follower(term, now);
        return;
    }
    if (role_ != Role::kLeader || term < term_ || !r.ok) {
        return;
    }
    Peer& peer = peer_state_[from];
    peer.last_reply = now;
    if (r.round <= round_) {
        peer.acked_round = std::max(peer.acked_round, r.round);
    }
    auto& held = opinions_[from];
    held.clear();
    for (const auto& o : r.opinions) {
        if (o.sdown) {
            held[o.node] = HeldOpinion{o, now};
        }
    }
    update_commit_and_lease(now);
    evaluate_odown(now);
    maybe_act(now);
}

void Consensus::handle_opinion(const WatcherId& from, Term term, const proto::OpinionUpdate& u,
                               TimePoint now) {
    if (term > term_) {
        become_follower(term, now);
        return;
    }
    if (role_ != Role::kLeader || term != term_) {
        return;
    }
    auto& held = opinions_[from];
    for (const auto& o : u.opinions) {
        if (o.sdown) {
            held[o.node] = HeldOpinion{o, now};
        } else {
            held.erase(o.node);
        }
    }
    evaluate_odown(now);
    maybe_act(now);
}

void Consensus::set_opinion(const proto::Opinion& o, TimePoint now) {
    last_now_ = std::max(last_now_, now);
    auto it = local_opinions_.find(o.node);
    const bool was_sdown = it != local_opinions_.end() && it->second.opinion.sdown;
    const bool changed =
        was_sdown != o.sdown || (was_sdown && it->second.opinion.evidence != o.evidence);
    if (o.sdown) {
        local_opinions_[o.node] = LocalOpinion{o, now};
    } else if (it != local_opinions_.end()) {
        local_opinions_.erase(it);
    }
    if (!changed) {
        return;
    }
    if (role_ == Role::kLeader) {
        evaluate_odown(now);
        maybe_act(now);
    } else if (leader_) {
        // Sent at once: the leader decides as soon as the quorum holds.
        send(*leader_, proto::OpinionUpdate{{o}});
    }
}

void Consensus::set_safe_mode(bool on, TimePoint now) {
    last_now_ = std::max(last_now_, now);
    if (on && !safe_mode_) {
        // Void the lease, and only rounds sent after safe mode ends may restore it.
        lease_until_ = TimePoint::min();
        lease_floor_round_ = round_;
    }
    safe_mode_ = on;
    maybe_act(now);
}

std::vector<proto::Opinion> Consensus::local_sdown_opinions(TimePoint now) const {
    std::vector<proto::Opinion> out;
    for (const auto& [node, lo] : local_opinions_) {
        if (now - lo.given > config_.effective_opinion_validity()) {
            continue;  // not refreshed: the detector stalled (a pause); do not vouch for it
        }
        proto::Opinion o = lo.opinion;
        o.down_for += now - lo.given;  // aged on our own clock; a duration on the wire
        out.push_back(std::move(o));
    }
    return out;
}

// ---------------------------------------------------------------------------
// Leader
// ---------------------------------------------------------------------------

void Consensus::send_heartbeats(TimePoint now) {
    assert(role_ == Role::kLeader);
    round_ += 1;
    round_sent_at_[round_] = now;
    next_heartbeat_ = now + config_.heartbeat_interval;
    const auto records = record_list();
    const auto maintenance = maintenance_set(now);
    const Duration remaining = lease_valid(now) ? lease_until_ - now : Duration::zero();
    for (const auto& p : peers_) {
        send(p, proto::Heartbeat{round_, remaining, records, maintenance});
    }
    if (peers_.empty()) {
        update_commit_and_lease(now);
    }
}

std::uint64_t Consensus::majority_acked_round() const {
    std::vector<std::uint64_t> acked{round_};  // the leader holds every round it sent
    for (const auto& [p, st] : peer_state_) {
        acked.push_back(st.acked_round);
    }
    std::sort(acked.begin(), acked.end(), std::greater<>());
    return acked[config_.majority() - 1];
}

void Consensus::update_commit_and_lease(TimePoint now) {
    const std::uint64_t m = majority_acked_round();
    if (m == 0) {
        return;
    }
    // Lease: from the *send* time of the round a majority acknowledged. Each of them
    // refuses votes for election_timeout_min after receiving it (stickiness), so no other
    // leader can be elected before lease_until_ even if our clock runs fast by the drift.
    if (m > lease_floor_round_ && !safe_mode_) {
        auto it = round_sent_at_.find(m);
        assert(it != round_sent_at_.end());
        lease_until_ = std::max(lease_until_, it->second + config_.lease_duration());
    }
    round_sent_at_.erase(round_sent_at_.begin(), round_sent_at_.lower_bound(m));
    for (auto& [key, r] : records_) {
        auto cr = commit_round_.find(key);
        if (!r.committed && cr != commit_round_.end() && cr->second <= m) {
            r.committed = true;
            emit(Event{
                Event::Kind::kRecordCommitted, term_, config_.self, key.failed_master, {}, r, {}});
        }
    }
    (void)now;
}

void Consensus::maybe_act(TimePoint now) {
    if (!lease_valid(now)) {
        return;
    }
    for (const auto& [key, r] : records_) {
        if (r.committed && !finished(r) && !acted_.contains(key)) {
            acted_.insert(key);
            output_.actions.push_back(Action{r, lease_until_});
        }
    }
}

void Consensus::check_quorum(TimePoint now) {
    // Check-quorum (thesis §6.2/§9.6): a leader that has not heard from a majority for an
    // election timeout steps down, so a partitioned leader stops claiming leadership.
    if (now < leader_since_ + config_.election_timeout_min) {
        return;
    }
    std::size_t active = 1;
    for (const auto& [p, st] : peer_state_) {
        if (now - st.last_reply < config_.election_timeout_min) {
            ++active;
        }
    }
    if (active < config_.majority()) {
        quorum_ok_ = false;
        emit(Event{Event::Kind::kQuorumLost,
                   term_,
                   config_.self,
                   {},
                   {},
                   {},
                   std::to_string(active) + " of " + std::to_string(config_.voters.size()) +
                       " watchers reachable"});
        step_down(now, "check-quorum: lost contact with a majority");
    }
}

void Consensus::evaluate_odown(TimePoint now) {
    if (role_ != Role::kLeader) {
        return;
    }
    const Duration validity = config_.effective_opinion_validity();
    std::map<std::string, OdownState> agreement;
    auto add = [&](const WatcherId& w, const proto::Opinion& o, Duration down_for) {
        OdownState& st = agreement[o.node];
        if (st.sdown_watchers.empty() || down_for < st.min_down_for) {
            st.min_down_for = down_for;
        }
        st.sdown_watchers.push_back(w);
        if (o.evidence == proto::Evidence::kDead || (o.evidence == proto::Evidence::kUnresponsive &&
                                                     st.evidence == proto::Evidence::kNone)) {
            st.evidence = o.evidence;
        }
        st.pfail_reports = std::max(st.pfail_reports, o.pfail_reports);
        st.fail_reports = std::max(st.fail_reports, o.fail_reports);
        st.replicas_link_down = std::max(st.replicas_link_down, o.replicas_link_down);
    };
    for (const auto& [node, lo] : local_opinions_) {
        if (now - lo.given <= validity) {
            add(config_.self, lo.opinion, lo.opinion.down_for + (now - lo.given));
        }
    }
    for (const auto& [w, held] : opinions_) {
        for (const auto& [node, h] : held) {
            if (now - h.received <= validity) {
                // Aged by our own receive time: never another host's clock reading.
                add(w, h.opinion, h.opinion.down_for + (now - h.received));
            }
        }
    }
    const std::size_t quorum = config_.effective_quorum();
    for (auto it = odown_.begin(); it != odown_.end();) {
        auto a = agreement.find(it->first);
        const std::size_t n = a == agreement.end() ? 0 : a->second.sdown_watchers.size();
        if (n < quorum) {
            emit(Event{
                Event::Kind::kOdownCleared,
                term_,
                config_.self,
                it->first,
                {},
                {},
                std::to_string(n) + " fresh SDOWN opinions, quorum " + std::to_string(quorum)});
            it = odown_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& [node, st] : agreement) {
        if (st.sdown_watchers.size() < quorum) {
            continue;
        }
        const bool is_new = !odown_.contains(node);
        odown_[node] = st;
        if (is_new) {
            emit(Event{Event::Kind::kOdownDeclared,
                       term_,
                       config_.self,
                       node,
                       st.sdown_watchers,
                       {},
                       "evidence=" + std::string(proto::to_string(st.evidence)) +
                           " down_for_ms=" + std::to_string(to_ms(st.min_down_for)) +
                           " pfail=" + std::to_string(st.pfail_reports) +
                           " fail=" + std::to_string(st.fail_reports) +
                           " replicas_link_down=" + std::to_string(st.replicas_link_down)});
        }
    }
}

Expected<FailoverRecord, ProposeError> Consensus::propose(FailoverRecord record, TimePoint now) {
    last_now_ = std::max(last_now_, now);
    if (role_ != Role::kLeader) {
        return unexpected(ProposeError::kNotLeader);
    }
    if (record.key.shard.empty() || record.key.failed_master.empty() || record.replica.empty()) {
        return unexpected(ProposeError::kInvalid);
    }
    auto od = odown_.find(record.key.failed_master);
    if (auto existing = records_.find(record.key); existing != records_.end()) {
        if (existing->second.phase != RecordPhase::kAborted || od == odown_.end()) {
            return unexpected(ProposeError::kKeyExists);
        }
        // The same failure again (its master came back and died at the same epoch): the
        // aborted record is reopened with its value unchanged, so the Paxos rule holds.
        return reopen(existing->second, od->second, now);
    }
    if (od == odown_.end()) {
        return unexpected(ProposeError::kNotOdown);
    }
    for (auto it = records_.begin();
         records_.size() >= proto::Limits::kMaxRecords && it != records_.end();) {
        if (finished(it->second)) {
            commit_round_.erase(it->first);
            acted_.erase(it->first);
            it = records_.erase(it);
        } else {
            ++it;
        }
    }
    if (records_.size() >= proto::Limits::kMaxRecords) {
        return unexpected(ProposeError::kTooManyRecords);
    }
    record.term = term_;
    record.phase = RecordPhase::kDecided;
    record.committed = false;
    record.odown_watchers = od->second.sdown_watchers;
    record.attempt = 0;
    records_[record.key] = record;
    commit_round_[record.key] = round_ + 1;
    phase_round_[record.key] = round_ + 1;
    mark_dirty();
    send_heartbeats(now);  // replicate at once, not on the next heartbeat
    maybe_act(now);
    return records_.at(record.key);
}

bool Consensus::report_progress(const RecordKey& key, RecordPhase phase, TimePoint now,
                                std::optional<std::uint32_t> attempt) {
    last_now_ = std::max(last_now_, now);
    if (role_ != Role::kLeader) {
        return false;
    }
    auto it = records_.find(key);
    if (it == records_.end() || phase <= it->second.phase ||
        (attempt && *attempt != it->second.attempt)) {
        return false;
    }
    it->second.phase = phase;
    phase_round_[key] = round_ + 1;
    mark_dirty();
    if (phase == RecordPhase::kAborted) {
        // Replicated at once: the next attempt waits for a majority to hold the abort.
        send_heartbeats(now);
    }
    return true;
}

bool Consensus::abort_committed(const RecordKey& key) const {
    if (role_ != Role::kLeader) {
        return false;
    }
    auto it = records_.find(key);
    auto pr = phase_round_.find(key);
    return it != records_.end() && it->second.phase == RecordPhase::kAborted &&
           pr != phase_round_.end() && pr->second <= majority_acked_round();
}

Expected<FailoverRecord, ProposeError> Consensus::propose_attempt(FailoverRecord record,
                                                                  TimePoint now) {
    last_now_ = std::max(last_now_, now);
    if (role_ != Role::kLeader) {
        return unexpected(ProposeError::kNotLeader);
    }
    if (record.key.shard.empty() || record.key.failed_master.empty() || record.replica.empty()) {
        return unexpected(ProposeError::kInvalid);
    }
    auto existing = records_.find(record.key);
    if (existing == records_.end()) {
        return unexpected(ProposeError::kNoRecord);
    }
    if (existing->second.phase != RecordPhase::kAborted) {
        return unexpected(ProposeError::kNotAborted);
    }
    if (!abort_committed(record.key)) {
        return unexpected(ProposeError::kAbortNotCommitted);
    }
    auto od = odown_.find(record.key.failed_master);
    if (od == odown_.end()) {
        return unexpected(ProposeError::kNotOdown);
    }
    FailoverRecord& r = existing->second;
    r.attempt += 1;
    r.replica = record.replica;
    r.mode = record.mode;
    return reopen(r, od->second, now);
}

FailoverRecord Consensus::reopen(FailoverRecord& r, const OdownState& od, TimePoint now) {
    r.term = term_;
    r.phase = RecordPhase::kDecided;
    r.committed = false;
    r.odown_watchers = od.sdown_watchers;
    commit_round_[r.key] = round_ + 1;
    phase_round_[r.key] = round_ + 1;
    acted_.erase(r.key);
    const auto key = r.key;  // maybe_act may touch records_
    mark_dirty();
    send_heartbeats(now);
    maybe_act(now);
    return records_.at(key);
}

}  // namespace picket::consensus
