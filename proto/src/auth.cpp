#include "picket/proto/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace picket::proto {

std::string_view to_string(DropReason r) {
    switch (r) {
        case DropReason::kMalformed:
            return "malformed";
        case DropReason::kBadVersion:
            return "bad_version";
        case DropReason::kWrongCluster:
            return "wrong_cluster";
        case DropReason::kWrongVoterSet:
            return "wrong_voter_set";
        case DropReason::kUnknownSender:
            return "unknown_sender";
        case DropReason::kWrongReceiver:
            return "wrong_receiver";
        case DropReason::kBadMac:
            return "bad_mac";
        case DropReason::kOldIncarnation:
            return "old_incarnation";
        case DropReason::kReplay:
            return "replay";
        case DropReason::kTooOld:
            return "too_old";
    }
    return "?";
}

namespace {

std::string to_hex(const unsigned char* data, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 0x0f];
    }
    return out;
}

}  // namespace

std::string voter_set_hash(std::vector<std::string> voters) {
    std::sort(voters.begin(), voters.end());
    std::string joined;
    for (const auto& v : voters) {
        joined += v;
        joined += '\n';
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
    return to_hex(digest, 16);
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    return to_hex(digest, sizeof digest);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const unsigned char* ok =
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    assert(ok != nullptr && len == 32);  // only fails on allocation failure
    (void)ok;
    return to_hex(out, len);
}

Authenticator::Authenticator(AuthConfig config, std::uint64_t incarnation)
    : config_(std::move(config)),
      voter_set_(voter_set_hash(config_.voters)),
      incarnation_(incarnation) {}

Envelope Authenticator::seal_envelope(const std::string& receiver, const Message& message) {
    Envelope e;
    e.version = kProtocolVersion;
    e.cluster = config_.cluster;
    e.voter_set = voter_set_;
    e.sender = config_.self;
    e.incarnation = incarnation_;
    e.receiver = receiver;
    e.seq = next_seq_++;
    e.message = message;
    e.mac = hmac_sha256_hex(config_.secret, mac_input(e));
    return e;
}

std::string Authenticator::seal(const std::string& receiver, const Message& message) {
    return encode_frame(seal_envelope(receiver, message));
}

Expected<Envelope, DropReason> Authenticator::open(std::string_view frame) {
    auto env = decode_frame(frame);
    if (!env) {
        return unexpected(DropReason::kMalformed);
    }
    return verify(std::move(*env));
}

Expected<Envelope, DropReason> Authenticator::open(const resp::Reply& reply) {
    auto env = decode_frame(reply);
    if (!env) {
        return unexpected(DropReason::kMalformed);
    }
    return verify(std::move(*env));
}

Expected<Envelope, DropReason> Authenticator::verify(Envelope e) {
    // Plain-text identity checks first, for a precise reason; the MAC covers them all.
    if (e.version != kProtocolVersion) {
        return unexpected(DropReason::kBadVersion);
    }
    if (e.cluster != config_.cluster) {
        return unexpected(DropReason::kWrongCluster);
    }
    if (e.voter_set != voter_set_) {
        return unexpected(DropReason::kWrongVoterSet);
    }
    if (e.sender == config_.self ||
        std::find(config_.voters.begin(), config_.voters.end(), e.sender) == config_.voters.end()) {
        return unexpected(DropReason::kUnknownSender);
    }
    if (e.receiver != config_.self) {
        return unexpected(DropReason::kWrongReceiver);
    }
    const std::string expected = hmac_sha256_hex(config_.secret, mac_input(e));
    if (e.mac.size() != expected.size() ||
        CRYPTO_memcmp(e.mac.data(), expected.data(), expected.size()) != 0) {
        return unexpected(DropReason::kBadMac);
    }
    // Replay window of the sender's newest incarnation (only authentic frames get here).
    Window& w = windows_[e.sender];
    if (e.incarnation < w.incarnation) {
        return unexpected(DropReason::kOldIncarnation);
    }
    if (e.incarnation > w.incarnation) {
        w = Window{e.incarnation, 0, 0};  // a restarted peer starts a fresh window
    }
    if (e.seq == 0) {
        return unexpected(DropReason::kTooOld);
    }
    if (e.seq > w.highest) {
        const std::uint64_t shift = e.seq - w.highest;
        w.seen = shift >= kWindow ? 0 : (w.seen << shift);
        w.seen |= 1;
        w.highest = e.seq;
        return e;
    }
    const std::uint64_t behind = w.highest - e.seq;
    if (behind >= kWindow) {
        return unexpected(DropReason::kTooOld);
    }
    const std::uint64_t bit = std::uint64_t{1} << behind;
    if ((w.seen & bit) != 0) {
        return unexpected(DropReason::kReplay);
    }
    w.seen |= bit;
    return e;
}

}  // namespace picket::proto
