#pragma once
// The messages watchers exchange (PROTOCOL.md): what they mean, as plain values. The
// codec (codec.h) turns them into RESP arrays and back; the authenticator (auth.h) seals
// and opens the envelope around them. lib/consensus consumes and produces them.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "picket/base/time.h"

namespace picket::proto {

/// A Raft term (§5.1): a logical clock of elections. 0 before the first election.
using Term = std::uint64_t;

/// How sure a watcher is that a Redis node is gone (issue #3's two kinds of evidence).
enum class Evidence : std::uint8_t {
    kNone,          ///< not down, or no evidence recorded
    kDead,          ///< refused / reset connections, or replicas' master link down
    kUnresponsive,  ///< timeouts only: a stall, a pause, a dead VM or a cut network
};
std::string_view to_string(Evidence e);

/// One watcher's opinion of one Redis node, as it travels: durations, never clock
/// readings (the receiver ages it by its own receive time).
struct Opinion {
    /// The Redis node id (CLUSTER NODES' 40-hex id in practice).
    std::string node;
    /// Subjectively down (SDOWN) at the sender.
    bool sdown = false;
    /// Kind of evidence behind the opinion.
    Evidence evidence = Evidence::kNone;
    /// How long the evidence has lasted on the sender's monotonic clock when sent.
    Duration down_for{};
    /// Corroboration: how many cluster nodes flag it PFAIL in their CLUSTER NODES.
    std::uint32_t pfail_reports = 0;
    /// Corroboration: how many cluster nodes flag it FAIL.
    std::uint32_t fail_reports = 0;
    /// Corroboration: how many of its replicas report master_link_status:down.
    std::uint32_t replicas_link_down = 0;

    friend bool operator==(const Opinion&, const Opinion&) = default;
};

/// CLUSTER FAILOVER's two modes picket uses (issue #5).
enum class FailoverMode : std::uint8_t { kForce, kTakeover };
std::string_view to_string(FailoverMode m);

/// Where a failover stands. Only moves forward within one record's life.
enum class RecordPhase : std::uint8_t {
    kDecided,      ///< chosen by a leader; to be executed once committed
    kCommandSent,  ///< the command left for Redis (it may or may not have acted)
    kDone,         ///< verified: the chosen replica is master
    kAborted,      ///< verified that this failure needs no action any more
};
std::string_view to_string(RecordPhase p);

/// One failure: the failed master of a shard at one config epoch. A failover record is
/// keyed by it, so one failure is acted on at most once whatever the leader.
struct RecordKey {
    std::string shard;
    std::string failed_master;
    std::uint64_t config_epoch = 0;

    friend auto operator<=>(const RecordKey&, const RecordKey&) = default;
    friend bool operator==(const RecordKey&, const RecordKey&) = default;
};

/// A failover decision, replicated to a majority of watchers before anyone acts on it.
/// The value is (attempt, replica, mode). A new leader adopts the highest (term, attempt,
/// phase) record per key (Paxos phase 1). Within one attempt the value never changes; a
/// leader may open attempt n + 1 with another replica only once attempt n can no longer
/// land: its abort is committed to a majority and its replica was seen dead or still a
/// replica afterwards (docs/failover.md, "Switching to another candidate").
struct FailoverRecord {
    RecordKey key;
    /// Term of the leader that last (re-)proposed it.
    Term term = 0;
    /// Which attempt at this failure, from 0; each attempt has its own replica.
    std::uint32_t attempt = 0;
    /// The replica to promote.
    std::string replica;
    FailoverMode mode = FailoverMode::kForce;
    RecordPhase phase = RecordPhase::kDecided;
    /// The watchers whose fresh SDOWN opinions made the master ODOWN when decided.
    std::vector<std::string> odown_watchers;
    /// The leader's knowledge that a majority holds this record in the current term. Not
    /// part of the value; carried in heartbeats for status pages.
    bool committed = false;

    friend bool operator==(const FailoverRecord&, const FailoverRecord&) = default;
};

/// One maintenance window (issue #5: no automatic failover of what it covers), as it
/// travels: what is left of it as a duration, never a clock reading.
struct MaintenanceEntry {
    /// "cluster", a shard's slot ranges ("0-5460"), or a Redis node id.
    std::string target;
    /// "cluster", "shard" or "node".
    std::string kind;
    /// False: until turned off. True: ends `remaining` after it was sent (receiver's clock).
    bool timed = false;
    Duration remaining{};
    /// Who turned it on (the admin API's caller), for status pages.
    std::string by;

    friend bool operator==(const MaintenanceEntry&, const MaintenanceEntry&) = default;
};

/// The cluster's maintenance windows, replicated by the leader like the records: a single
/// Paxos register. `term` is the term of the leader that last replicated it (re-stamped
/// when a new leader adopts it), `seq` counts its changes within that term; a new leader
/// adopts the highest (term, seq) among its votes.
struct MaintenanceSet {
    Term term = 0;
    std::uint64_t seq = 0;
    std::vector<MaintenanceEntry> entries;

    friend bool operator==(const MaintenanceSet&, const MaintenanceSet&) = default;
};

/// Wire names of the message types (PROTOCOL.md).
enum class MessageType : std::uint8_t {
    kPreVote,
    kRequestVote,
    kVoteReply,
    kHeartbeat,
    kHeartbeatReply,
    kOpinion,
};
std::string_view to_string(MessageType t);

/// Pre-vote (Ongaro's thesis §9.6): "would you vote for me in term `Message::term`?".
/// Changes nothing at the receiver.
struct PreVote {
    friend bool operator==(const PreVote&, const PreVote&) = default;
};

/// RequestVote (§5.2) for `Message::term`. There is no log to compare: records are merged
/// by the Paxos rule instead, so any voter may become leader.
struct RequestVote {
    friend bool operator==(const RequestVote&, const RequestVote&) = default;
};

/// Answer to PreVote or RequestVote. `Message::term` is the term voted in when granted,
/// the voter's current term otherwise.
struct VoteReply {
    bool granted = false;
    /// True when it answers a PreVote.
    bool prevote = false;
    /// The voter's failover records (only in granted real votes): phase 1 of Paxos.
    std::vector<FailoverRecord> records;
    /// The voter's maintenance set (only in granted real votes; empty otherwise).
    MaintenanceSet maintenance;

    friend bool operator==(const VoteReply&, const VoteReply&) = default;
};

/// Leader → follower, every heartbeat interval and at once after a proposal (§5.2).
struct Heartbeat {
    /// The leader's heartbeat round in this term, from 1. Replies echo it; a majority
    /// acknowledging round r means a majority holds every record sent in round r.
    std::uint64_t round = 0;
    /// How much of its lease the leader had left when sending (status only).
    Duration lease_remaining{};
    /// All of the leader's failover records; the follower mirrors them.
    std::vector<FailoverRecord> records;
    /// The leader's maintenance windows; the follower mirrors and persists them too.
    MaintenanceSet maintenance;

    friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

/// Follower → leader: the round it accepted (after persisting the records) and all its
/// current SDOWN opinions (a node not listed is not SDOWN at the follower).
struct HeartbeatReply {
    std::uint64_t round = 0;
    /// False when the heartbeat was rejected for a stale term.
    bool ok = false;
    std::vector<Opinion> opinions;

    friend bool operator==(const HeartbeatReply&, const HeartbeatReply&) = default;
};

/// Follower → leader, sent at once when an opinion changes: failover speed is detection
/// time plus milliseconds, not plus heartbeat periods.
struct OpinionUpdate {
    std::vector<Opinion> opinions;

    friend bool operator==(const OpinionUpdate&, const OpinionUpdate&) = default;
};

using Body =
    std::variant<PreVote, RequestVote, VoteReply, Heartbeat, HeartbeatReply, OpinionUpdate>;

/// What consensus sends and receives: the sender's term and the body. Sender, receiver,
/// incarnation and sequence number belong to the authenticated envelope (codec.h).
struct Message {
    Term term = 0;
    Body body;

    MessageType type() const { return static_cast<MessageType>(body.index()); }

    friend bool operator==(const Message&, const Message&) = default;
};

}  // namespace picket::proto
