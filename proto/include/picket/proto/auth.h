#pragma once
// Authentication of peer frames: HMAC-SHA256 with a shared secret (OpenSSL), identity
// checks and replay protection. Pure: the secret is handed in; reading its file is the
// shell's job. Every drop has a reason for the `picket_peer_messages_dropped_total` metric.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/expected.h"
#include "picket/proto/codec.h"

namespace picket::proto {

/// Why an incoming frame was dropped. Nothing in the receiver changes on a drop.
enum class DropReason : std::uint8_t {
    kMalformed,       ///< not a well-formed peer frame (closes the connection)
    kBadVersion,      ///< another protocol version
    kWrongCluster,    ///< another cluster name
    kWrongVoterSet,   ///< the sender is configured with other voters
    kUnknownSender,   ///< not one of our voters, or ourselves
    kWrongReceiver,   ///< meant for another watcher
    kBadMac,          ///< wrong key or tampered frame
    kOldIncarnation,  ///< from a previous run of the sender
    kReplay,          ///< this sequence number was already accepted
    kTooOld,          ///< sequence number below the replay window
};
inline constexpr std::size_t kDropReasonCount = 10;
std::string_view to_string(DropReason r);

/// "<id1>\n<id2>..." of the sorted ids, SHA-256, first 16 bytes in hex. Two watchers with
/// different voter sets (a half-rolled-out membership change) refuse each other.
std::string voter_set_hash(std::vector<std::string> voters);

/// SHA-256 of `data`, lower-case hex (state file checksum).
std::string sha256_hex(std::string_view data);

/// HMAC-SHA256 of `data` under `key`, lower-case hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// This watcher's identity and the shared secret.
struct AuthConfig {
    std::string secret;
    std::string cluster;
    std::vector<std::string> voters;  ///< all voters, including `self`
    std::string self;
};

/// Seals outgoing frames and opens incoming ones for one watcher. Owns the outgoing
/// sequence counter and, per sender, the replay window of the newest incarnation seen.
/// Not thread-safe (one per daemon, on the event loop).
class Authenticator {
  public:
    /// Width of the replay window: a sequence number up to this far below the highest
    /// one accepted is still accepted once (frames of one sender may cross when it
    /// reconnects).
    static constexpr std::uint64_t kWindow = 64;

    /// `incarnation` must be persisted (and larger than any earlier one of this watcher)
    /// before the first sealed frame leaves.
    Authenticator(AuthConfig config, std::uint64_t incarnation);

    /// The frame to send `message` to `receiver`: next sequence number, MAC.
    std::string seal(const std::string& receiver, const Message& message);
    /// Same, as an envelope (tests, simulation).
    Envelope seal_envelope(const std::string& receiver, const Message& message);

    /// Decodes and verifies one frame; on success the sequence number is consumed.
    Expected<Envelope, DropReason> open(std::string_view frame);
    /// Verifies an already parsed frame (the shell's reader produced `reply`).
    Expected<Envelope, DropReason> open(const resp::Reply& reply);
    /// Verifies an already decoded envelope.
    Expected<Envelope, DropReason> verify(Envelope envelope);

    const std::string& voter_set() const { return voter_set_; }
    std::uint64_t incarnation() const { return incarnation_; }

  private:
    /// Replay state of one sender: the newest incarnation and the accepted sequence
    /// numbers near the top (bit i of `seen` = highest − i).
    struct Window {
        std::uint64_t incarnation = 0;
        std::uint64_t highest = 0;
        std::uint64_t seen = 0;
    };

    AuthConfig config_;
    std::string voter_set_;
    std::uint64_t incarnation_;
    std::uint64_t next_seq_ = 1;
    std::map<std::string, Window, std::less<>> windows_;
};

}  // namespace picket::proto
