#include "picket/consensus/persistent_state.h"

#include <algorithm>

#include "picket/base/strings.h"
#include "picket/proto/auth.h"
#include "picket/proto/codec.h"
#include "picket/resp/reader.h"

namespace picket::consensus {

namespace {

constexpr std::string_view kMagic = "PICKETSTATE 2 ";
/// Written before the maintenance set and record attempts (protocol version 1).
constexpr std::string_view kMagicV1 = "PICKETSTATE 1 ";

Unexpected<StateFileError> fail(StateFileError::Kind k, std::string m) {
    return unexpected(StateFileError{k, std::move(m)});
}

}  // namespace

std::string encode_state(const PersistentState& s) {
    using resp::Reply;
    std::string payload;
    proto::encode_reply(
        Reply::array(
            {Reply::string(std::to_string(s.term)), Reply::string(s.voted_for.value_or("")),
             Reply::string(std::to_string(s.incarnation)), proto::records_to_reply(s.records),
             proto::maintenance_to_reply(s.maintenance)}),
        payload);
    std::string out(kMagic);
    out += std::to_string(payload.size());
    out += ' ';
    out += proto::sha256_hex(payload);
    out += '\n';
    out += payload;
    return out;
}

Expected<PersistentState, StateFileError> decode_state(std::string_view bytes) {
    using K = StateFileError::Kind;
    const bool v1 = bytes.substr(0, kMagicV1.size()) == kMagicV1;
    if (bytes.substr(0, kMagic.size()) != kMagic && !v1) {
        const bool prefix = bytes.size() < kMagic.size() && kMagic.substr(0, bytes.size()) == bytes;
        return fail(prefix ? K::kTruncated : K::kBadMagic,
                    "not a picket state file (or an unknown version): it must start with '" +
                        std::string(kMagic) + "'");
    }
    const auto eol = bytes.find('\n');
    if (eol == std::string_view::npos) {
        return fail(K::kTruncated, "state file header is incomplete");
    }
    const auto fields = split(bytes.substr(kMagic.size(), eol - kMagic.size()), ' ');
    if (fields.size() != 2 || fields[1].size() != 64) {
        return fail(K::kMalformed, "state file header is malformed");
    }
    const auto length = parse_integer<std::size_t>(fields[0]);
    if (!length) {
        return fail(K::kMalformed, "state file header has a bad length");
    }
    const std::string_view payload = bytes.substr(eol + 1);
    if (payload.size() < *length) {
        return fail(K::kTruncated, "state file is truncated: " + std::to_string(payload.size()) +
                                       " of " + std::to_string(*length) + " payload bytes");
    }
    if (payload.size() > *length) {
        return fail(K::kMalformed, "state file has trailing bytes after the payload");
    }
    if (proto::sha256_hex(payload) != fields[1]) {
        return fail(K::kChecksum, "state file checksum mismatch: the file is corrupted");
    }
    auto reply = resp::parse_one(payload, proto::peer_reader_limits());
    const std::size_t want = v1 ? 4 : 5;
    if (!reply || !reply->is_array() || reply->elements.size() != want) {
        return fail(K::kMalformed,
                    "state file payload is not a " + std::to_string(want) + "-element array");
    }
    const auto& e = reply->elements;
    PersistentState s;
    auto term = parse_integer<proto::Term>(e[0].str);
    auto incarnation = parse_integer<std::uint64_t>(e[2].str);
    if (e[0].type != resp::ReplyType::kString || e[1].type != resp::ReplyType::kString ||
        e[2].type != resp::ReplyType::kString || !term || !incarnation) {
        return fail(K::kMalformed, "state file payload has bad term, vote or incarnation");
    }
    auto records = proto::records_from_reply(e[3], /*legacy=*/v1);
    if (!records) {
        return fail(K::kMalformed, "state file records: " + records.error().message);
    }
    if (!v1) {
        auto maintenance = proto::maintenance_from_reply(e[4]);
        if (!maintenance) {
            return fail(K::kMalformed, "state file maintenance: " + maintenance.error().message);
        }
        s.maintenance = std::move(*maintenance);
    }
    s.term = *term;
    if (!e[1].str.empty()) {
        s.voted_for = e[1].str;
    }
    s.incarnation = *incarnation;
    s.records = std::move(*records);
    return s;
}

namespace {

/// Reads one RESP bulk string ("$<n>\r\n<bytes>\r\n") at `at`, advancing it.
std::optional<std::string_view> read_bulk(std::string_view bytes, std::size_t& at) {
    if (at >= bytes.size() || bytes[at] != '$') {
        return std::nullopt;
    }
    const auto eol = bytes.find("\r\n", at);
    if (eol == std::string_view::npos) {
        return std::nullopt;
    }
    const auto n = parse_integer<std::size_t>(bytes.substr(at + 1, eol - at - 1));
    if (!n || *n > 1024 || bytes.size() - (eol + 2) < *n + 2) {
        return std::nullopt;
    }
    const std::string_view value = bytes.substr(eol + 2, *n);
    if (bytes.substr(eol + 2 + *n, 2) != "\r\n") {
        return std::nullopt;
    }
    at = eol + 2 + *n + 2;
    return value;
}

}  // namespace

std::optional<std::uint64_t> salvage_incarnation(std::string_view bytes) {
    const bool v1 = bytes.substr(0, kMagicV1.size()) == kMagicV1;
    if (bytes.substr(0, kMagic.size()) != kMagic && !v1) {
        return std::nullopt;
    }
    const auto eol = bytes.find('\n');
    if (eol == std::string_view::npos) {
        return std::nullopt;
    }
    std::size_t at = eol + 1;
    if (bytes.substr(at, 4) != (v1 ? "*4\r\n" : "*5\r\n")) {
        return std::nullopt;
    }
    at += 4;
    std::optional<std::string_view> field;
    for (int i = 0; i < 3; ++i) {  // term, voted_for, incarnation
        field = read_bulk(bytes, at);
        if (!field) {
            return std::nullopt;
        }
    }
    auto incarnation = parse_integer<std::uint64_t>(*field);
    // A flipped bit could make it absurdly large; one that large cannot have been counted
    // up one start at a time, and taking it could overflow the next increments.
    if (!incarnation || *incarnation >= (std::uint64_t{1} << 62)) {
        return std::nullopt;
    }
    return incarnation;
}

PersistentState reset_state(std::optional<std::uint64_t> salvaged, std::uint64_t floor) {
    PersistentState s;
    s.incarnation = std::max(floor, salvaged ? *salvaged + 1 : 0);
    return s;
}

}  // namespace picket::consensus
