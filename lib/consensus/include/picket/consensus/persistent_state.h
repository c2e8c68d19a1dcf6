#pragma once
// What a watcher must remember across restarts, and its file encoding. Pure: the bytes
// are written by the shell (temp file, fsync, rename, fsync directory) BEFORE any
// message of the same Output leaves (LogCabin, Sentinel: the vote is flushed first).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/expected.h"
#include "picket/consensus/config.h"
#include "picket/proto/message.h"

namespace picket::consensus {

/// The durable state (§5.1 "persistent state on all servers", plus picket's own).
struct PersistentState {
    /// Latest term this watcher has seen.
    proto::Term term = 0;
    /// Whom it voted for in `term`, if anyone. Persisted so a restart cannot vote twice.
    std::optional<WatcherId> voted_for;
    /// Bumped at every start; the peer protocol's replay window is per incarnation.
    std::uint64_t incarnation = 0;
    /// Failover records it accepted (the Paxos acceptor state), one per key.
    std::vector<proto::FailoverRecord> records;
    /// The cluster's maintenance windows it accepted from a leader (the same Paxos
    /// acceptor state, for one register). Timed windows hold what was left when written:
    /// a watcher that restarts counts them again from its start (longer, never shorter).
    proto::MaintenanceSet maintenance;

    friend bool operator==(const PersistentState&, const PersistentState&) = default;
};

/// Why a state file cannot be used. picketd refuses to start on any of these; the
/// operator's way out is `picketd --reset-state` (docs/consensus.md).
struct StateFileError {
    enum class Kind : std::uint8_t { kBadMagic, kTruncated, kChecksum, kMalformed } kind;
    std::string message;
};

/// File format: "PICKETSTATE 2 <payload bytes> <sha256 hex>\n" then the payload, a RESP
/// array (proto's encoder): term, voted_for, incarnation, records, maintenance.
/// Deterministic. Version-1 files (no maintenance, records without an attempt) still load.
std::string encode_state(const PersistentState& state);

/// Decodes a state file. Truncated, corrupted or foreign input is an error with a clear
/// message, never a default state.
Expected<PersistentState, StateFileError> decode_state(std::string_view bytes);

/// The incarnation a damaged state file still shows, if any: the payload's first three
/// elements are read as far as they go, ignoring the checksum and whatever follows (a
/// file truncated after the incarnation, or with a flipped bit in its records, still
/// yields it). nullopt when no incarnation can be read.
std::optional<std::uint64_t> salvage_incarnation(std::string_view bytes);

/// The state an operator's `picketd --reset-state` writes in place of an unusable file:
/// term 0, no vote, no records, and an incarnation above every one this watcher may have
/// used, so peers accept its frames at once (their replay windows drop older
/// incarnations): above `salvaged` (what salvage_incarnation() read from the damaged
/// file and its temp file) and at least `floor` (the shell passes the wall clock in ms:
/// incarnations grow by one per start, so a counter that started lower, or at an earlier
/// reset's floor, stays below it unless a watcher restarted more than once per ms).
///
/// No flag is needed to make the watcher withhold its vote afterwards: every start
/// withholds (pre)votes for election_timeout_max (the Consensus constructor, LogCabin's
/// withholdVotesUntil), a reset start included. What the reset loses (the vote of its
/// last term and the records it accepted) is described in docs/consensus.md.
PersistentState reset_state(std::optional<std::uint64_t> salvaged, std::uint64_t floor);

}  // namespace picket::consensus
