#pragma once
// Encoding and decoding of peer frames: one RESP array per message, parsed by the same
// hiredis-based reader as every Redis reply (picket::resp::ReplyReader). Pure; the MAC
// is computed and checked by auth.h over `mac_input()`.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/expected.h"
#include "picket/proto/message.h"
#include "picket/resp/reader.h"
#include "picket/resp/reply.h"

namespace picket::proto {

/// The protocol version this build speaks. Frames of any other version are dropped
/// (PROTOCOL.md, "Versions").
inline constexpr std::uint32_t kProtocolVersion = 2;

/// Hard limits on what a peer can make us decode.
struct Limits {
    /// Longest identifier (watcher id, cluster name, Redis node id, shard id).
    static constexpr std::size_t kMaxIdBytes = 128;
    /// Most failover records in one message (and held by one watcher).
    static constexpr std::size_t kMaxRecords = 64;
    /// Most opinions in one message: one per Redis node.
    static constexpr std::size_t kMaxOpinions = 2048;
    /// Largest encoded frame. A 2048-node opinion list is ~300 KiB.
    static constexpr std::size_t kMaxFrameBytes = 1u << 20;
    /// Longest duration on the wire (a day, in ms): larger values are nonsense.
    static constexpr std::int64_t kMaxDurationMs = 24LL * 3600 * 1000;
    /// Most maintenance windows in one set.
    static constexpr std::size_t kMaxMaintenance = 256;
    /// Longest maintenance window left (31 days, in ms; the admin API allows 30).
    static constexpr std::int64_t kMaxMaintenanceMs = 31LL * 24 * 3600 * 1000;
    /// Longest maintenance target (a shard's slot ranges can be long) and `by` text.
    static constexpr std::size_t kMaxTargetBytes = 1024;
};

/// Reader limits for a peer connection (smaller than for Redis replies).
resp::ReaderLimits peer_reader_limits();

/// Everything one frame carries. The MAC covers every field but `mac` (see mac_input).
struct Envelope {
    std::uint32_t version = kProtocolVersion;
    std::string cluster;
    /// voter_set_hash() of the sender's configured voters.
    std::string voter_set;
    std::string sender;
    /// Persisted and bumped at each start of the sender (see auth.h).
    std::uint64_t incarnation = 0;
    std::string receiver;
    /// Per (sender, incarnation) strictly increasing, from 1.
    std::uint64_t seq = 0;
    Message message;
    /// HMAC-SHA256 over mac_input(), lower-case hex.
    std::string mac;

    friend bool operator==(const Envelope&, const Envelope&) = default;
};

/// Why a frame could not be decoded. Any of these closes the connection.
struct DecodeError {
    std::string message;
};

/// The first element of every peer frame, then the second.
inline constexpr std::string_view kFrameTag = "PICKET";
inline constexpr std::string_view kFrameVerb = "PEER";

/// The canonical bytes the MAC is computed over: the frame's RESP encoding without the
/// MAC element. Deterministic, so sender and receiver compute it from decoded values.
std::string mac_input(const Envelope& e);

/// The whole frame as sent on the wire.
std::string encode_frame(const Envelope& e);

/// Decodes a parsed RESP array into an envelope: shape, types, limits. Does not check
/// the MAC or any identity (auth.h does).
Expected<Envelope, DecodeError> decode_frame(const resp::Reply& reply);

/// Parses exactly one frame from `bytes` with peer_reader_limits() and decodes it.
Expected<Envelope, DecodeError> decode_frame(std::string_view bytes);

/// What a connection received, for the shell's dispatch: a peer frame, or one of the
/// two commands a person may type with redis-cli on the peer port.
enum class FrameKind : std::uint8_t { kPeer, kPing, kInfo, kUnknown };
FrameKind classify(const resp::Reply& reply);

/// The record list as a RESP array (the Heartbeat/VoteReply body part); reused by the
/// consensus state file so there is one record encoding.
resp::Reply records_to_reply(const std::vector<FailoverRecord>& records);
/// Decodes what records_to_reply() produced, with the same limits as on the wire.
/// `legacy` also accepts version-1 records (9 elements, attempt 0): old state files.
Expected<std::vector<FailoverRecord>, DecodeError> records_from_reply(const resp::Reply& reply,
                                                                      bool legacy = false);
/// The maintenance set as a RESP array (the Heartbeat/VoteReply body part), and back.
resp::Reply maintenance_to_reply(const MaintenanceSet& set);
Expected<MaintenanceSet, DecodeError> maintenance_from_reply(const resp::Reply& reply);

/// Appends the RESP encoding of a reply tree (bulk strings, integers, arrays) to `out`.
void encode_reply(const resp::Reply& r, std::string& out);

}  // namespace picket::proto
