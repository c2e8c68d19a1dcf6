#pragma once
// The value syntaxes of picket's configuration file, usable on their own (picketctl parses
// `--for 10m` with the same rules): durations, byte sizes, addresses, node references and
// URLs. Every parser rejects rather than guesses and says why in a message that fits after
// "key: ". None of them touches the network: host names are checked for syntax only.

#include <cstdint>
#include <string>
#include <string_view>

#include "picket/base/expected.h"
#include "picket/base/time.h"

namespace picket::config {

/// Parses "100ms", "1s", "1.5s", "5m", "2h" (units ms, s, m, h; a decimal fraction is
/// allowed down to whole nanoseconds). Bare numbers, signs, spaces, other units and
/// values above 10000 h are errors. "0s" is valid here; callers check ranges.
Expected<Duration, std::string> parse_duration(std::string_view text);

/// The shortest exact spelling parse_duration accepts: 1500ms → "1500ms", 2 min → "2m",
/// 90 s → "90s", 1.5 s → "1500ms". Sub-millisecond values use a fraction of ms.
std::string format_duration(Duration d);

/// Parses a byte count: a plain integer ("1048576") or an integer with one of the units
/// B, KiB, MiB, GiB (powers of 1024) or kB, MB, GB (powers of 1000). No fractions, no
/// signs, no spaces; overflow of 64 bits is an error.
Expected<std::uint64_t, std::string> parse_size(std::string_view text);

/// The shortest exact spelling of a byte count: 1048576 → "1MiB", 1000 → "1000".
std::string format_size(std::uint64_t bytes);

/// A TCP address: a host name or IP literal, and a port 1..65535. IPv6 literals are kept
/// without brackets in `host`; to_string() adds them back ("[::1]:7700").
struct Address {
    std::string host;
    std::uint16_t port = 0;

    std::string to_string() const;
    /// True for IP literals (v4 or v6), false for host names.
    bool is_ip_literal() const;
    /// True for 127.0.0.0/8, ::1 and "localhost".
    bool is_loopback() const;
    /// True for 0.0.0.0 and :: (listen on every interface).
    bool is_wildcard() const;
    friend bool operator==(const Address&, const Address&) = default;
};

/// Parses "host:port" or "[v6]:port". The host is a dotted IPv4 address, an IPv6 literal in
/// brackets, or an RFC 1123 host name; the port must be 1..65535.
Expected<Address, std::string> parse_address(std::string_view text);

/// True when `text` is a valid dotted-quad IPv4 address (no leading zeros).
bool is_ipv4_literal(std::string_view text);
/// True when `text` is a valid IPv6 literal (RFC 4291 text form, "::" compression, an
/// embedded IPv4 tail; no zone index).
bool is_ipv6_literal(std::string_view text);
/// True when `text` is an RFC 1123 host name (labels of [A-Za-z0-9-], not starting or
/// ending with '-', at most 63 bytes each, at most 253 in all).
bool is_host_name(std::string_view text);

/// True when `text` is a Redis Cluster node id: exactly 40 lower-case hex digits.
bool is_node_id(std::string_view text);

/// An http:// or https:// URL, split just enough to validate and to dial.
struct Url {
    std::string text;        ///< the URL as written
    bool https = false;      ///< scheme
    std::string host;        ///< without brackets for IPv6
    std::uint16_t port = 0;  ///< explicit or the scheme's default (80, 443)
    std::string target;      ///< path and query, "/" when empty
    friend bool operator==(const Url&, const Url&) = default;
};

/// Parses an absolute http(s) URL. User info ("user:pass@") is refused (credentials belong
/// in files), as are fragments, spaces and control characters.
Expected<Url, std::string> parse_url(std::string_view text);

}  // namespace picket::config
