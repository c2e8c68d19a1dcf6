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

    friend bool operator==(const PersistentState&, const PersistentState&) = default;
};

/// Why a state file cannot be used. picketd refuses to start on any of these; the
/// operator's way out is `picketd --reset-state` (docs/consensus.md).
struct StateFileError {
    enum class Kind : std::uint8_t { kBadMagic, kTruncated, kChecksum, kMalformed } kind;
    std::string message;
};

/// File format: "PICKETSTATE 1 <payload bytes> <sha256 hex>\n" then the payload, a RESP
/// array (proto's encoder). Deterministic.
std::string encode_state(const PersistentState& state);

/// Decodes a state file. Truncated, corrupted or foreign input is an error with a clear
/// message, never a default state.
Expected<PersistentState, StateFileError> decode_state(std::string_view bytes);

}  // namespace picket::consensus
