#pragma once
// Webhook signatures: HMAC-SHA256 with the receiver's secret over
//     <timestamp> "." <body>
// where <timestamp> is the decimal Unix time in seconds sent in the header
// `X-Picket-Timestamp`; the MAC goes in `X-Picket-Signature: sha256=<64 lower-case hex>`.
// Receivers recompute the MAC, compare in constant time and refuse timestamps older than
// a few minutes (replay). Retries are signed again with a fresh timestamp.

#include <cstdint>
#include <string>
#include <string_view>

namespace picket::alert {

inline constexpr const char* kTimestampHeader = "X-Picket-Timestamp";
inline constexpr const char* kSignatureHeader = "X-Picket-Signature";

/// HMAC-SHA256(key, message) as 64 lower-case hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// The `X-Picket-Signature` value for a body sent at `timestamp`: "sha256=<hex>".
std::string sign(std::string_view secret, std::int64_t timestamp, std::string_view body);

/// True when `signature_header` is the valid signature of (timestamp, body). Constant time
/// in the signature's content. (Freshness of the timestamp is the receiver's check.)
bool verify(std::string_view secret, std::string_view timestamp_header, std::string_view body,
            std::string_view signature_header);

}  // namespace picket::alert
