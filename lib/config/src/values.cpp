// Value syntaxes of the configuration file: durations, sizes, addresses, node ids, URLs.

#include "picket/config/values.h"

#include <array>
#include <cstddef>
#include <limits>
#include <optional>
#include <utility>

#include "picket/base/strings.h"

namespace picket::config {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::size_t count_digits(std::string_view s, std::size_t from) {
    std::size_t n = 0;
    while (from + n < s.size() && is_digit(s[from + n])) {
        ++n;
    }
    return n;
}

/// Quotes a user value for a message, cutting very long ones.
std::string quote_value(std::string_view s) {
    constexpr std::size_t kMax = 64;
    std::string out = "'";
    for (char c : s.substr(0, kMax)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            out += '?';
        } else {
            out += c;
        }
    }
    if (s.size() > kMax) {
        out += "...";
    }
    out += "'";
    return out;
}

struct Unit {
    std::string_view name;
    std::uint64_t factor;
};

constexpr std::int64_t kMaxDurationNs = std::int64_t{10000} * 3600 * 1000000000;

// Parses the port part (after the ':'), 1..65535.
Expected<std::uint16_t, std::string> parse_port(std::string_view s) {
    if (s.empty()) {
        return unexpected(std::string("missing port after ':'"));
    }
    if (s.size() > 5 || count_digits(s, 0) != s.size()) {
        return unexpected("port " + quote_value(s) + " is not a number 1..65535");
    }
    const auto port = parse_integer<std::uint32_t>(s);
    if (!port || *port == 0 || *port > 65535) {
        return unexpected("port " + quote_value(s) + " is out of range 1..65535");
    }
    return static_cast<std::uint16_t>(*port);
}

// Checks a host that is not bracketed: IPv4, or a host name (an all-numeric dotted name
// must be a valid IPv4 address, so "10.0.0.256" is an error rather than a "name").
std::optional<std::string> check_plain_host(std::string_view host) {
    if (host.empty()) {
        return std::string("missing host before ':' (use 0.0.0.0 or [::] for every interface)");
    }
    if (host.find(':') != std::string_view::npos) {
        return "IPv6 address " + quote_value(host) + " must be written in brackets, e.g. [" +
               std::string(host.substr(0, 64)) + "]:7700";
    }
    bool numeric = true;
    for (char c : host) {
        if (!is_digit(c) && c != '.') {
            numeric = false;
        }
    }
    if (numeric) {
        if (!is_ipv4_literal(host)) {
            return quote_value(host) + " is not a valid IPv4 address";
        }
        return std::nullopt;
    }
    if (!is_host_name(host)) {
        return quote_value(host) + " is not a valid host name or IP address";
    }
    return std::nullopt;
}

}  // namespace

Expected<Duration, std::string> parse_duration(std::string_view text) {
    static constexpr std::array<Unit, 4> kUnits{{{"ms", 1000000},
                                                 {"s", 1000000000},
                                                 {"m", std::uint64_t{60} * 1000000000},
                                                 {"h", std::uint64_t{3600} * 1000000000}}};
    const std::string hint = " (write a number and a unit: 100ms, 1s, 1.5s, 5m, 2h)";
    if (text.empty()) {
        return unexpected("empty duration" + hint);
    }
    if (text[0] == '-') {
        return unexpected(quote_value(text) + " is negative; durations must be positive");
    }
    const std::size_t int_digits = count_digits(text, 0);
    if (int_digits == 0) {
        return unexpected(quote_value(text) + " is not a duration" + hint);
    }
    std::size_t pos = int_digits;
    std::string_view fraction;
    if (pos < text.size() && text[pos] == '.') {
        const std::size_t frac_digits = count_digits(text, pos + 1);
        if (frac_digits == 0) {
            return unexpected(quote_value(text) + " is not a duration" + hint);
        }
        fraction = text.substr(pos + 1, frac_digits);
        pos += 1 + frac_digits;
    }
    const std::string_view unit_text = text.substr(pos);
    if (unit_text.empty()) {
        return unexpected(quote_value(text) + " has no unit" + hint);
    }
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
        if (u.name == unit_text) {
            unit = &u;
        }
    }
    if (unit == nullptr) {
        return unexpected(quote_value(text) + " has an unknown unit " + quote_value(unit_text) +
                          " (use ms, s, m or h)");
    }
    const std::string too_long = quote_value(text) + " is too long (at most 10000h)";
    // Integer part.
    std::string_view int_text = text.substr(0, int_digits);
    while (int_text.size() > 1 && int_text[0] == '0') {
        int_text.remove_prefix(1);
    }
    if (int_text.size() > 18) {
        return unexpected(too_long);
    }
    const auto whole = parse_integer<std::uint64_t>(int_text);
    if (!whole || *whole > static_cast<std::uint64_t>(kMaxDurationNs) / unit->factor) {
        return unexpected(too_long);
    }
    std::uint64_t ns = *whole * unit->factor;
    // Fraction: exact to the nanosecond or refused.
    while (!fraction.empty() && fraction.back() == '0') {
        fraction.remove_suffix(1);
    }
    if (!fraction.empty()) {
        std::uint64_t scale = 1;
        for (std::size_t i = 0; i < fraction.size(); ++i) {
            if (scale > unit->factor) {
                break;
            }
            scale *= 10;
        }
        if (scale > unit->factor || unit->factor % scale != 0) {
            return unexpected(quote_value(text) + " is finer than a nanosecond");
        }
        const auto frac = parse_integer<std::uint64_t>(fraction);
        if (!frac) {
            return unexpected(quote_value(text) + " is not a duration" + hint);
        }
        ns += *frac * (unit->factor / scale);
    }
    if (ns > static_cast<std::uint64_t>(kMaxDurationNs)) {
        return unexpected(too_long);
    }
    return Duration(static_cast<std::int64_t>(ns));
}

std::string format_duration(Duration d) {
    const std::int64_t ns = d.count();
    if (ns == 0) {
        return "0s";
    }
    const std::string sign = ns < 0 ? "-" : "";
    const std::uint64_t v =
        ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
    constexpr std::uint64_t kMs = 1000000;
    constexpr std::uint64_t kS = 1000 * kMs;
    constexpr std::uint64_t kM = 60 * kS;
    constexpr std::uint64_t kH = 60 * kM;
    if (v % kH == 0) {
        return sign + std::to_string(v / kH) + "h";
    }
    if (v % kM == 0) {
        return sign + std::to_string(v / kM) + "m";
    }
    if (v % kS == 0) {
        return sign + std::to_string(v / kS) + "s";
    }
    if (v % kMs == 0) {
        return sign + std::to_string(v / kMs) + "ms";
    }
    std::string frac = std::to_string(v % kMs);
    frac.insert(0, 6 - frac.size(), '0');
    while (frac.back() == '0') {
        frac.pop_back();
    }
    return sign + std::to_string(v / kMs) + "." + frac + "ms";
}

Expected<std::uint64_t, std::string> parse_size(std::string_view text) {
    static constexpr std::array<Unit, 7> kUnits{{{"B", 1},
                                                 {"KiB", 1024},
                                                 {"MiB", 1024 * 1024},
                                                 {"GiB", 1024 * 1024 * 1024},
                                                 {"kB", 1000},
                                                 {"MB", 1000 * 1000},
                                                 {"GB", 1000 * 1000 * 1000}}};
    const std::string hint = " (write bytes, or a whole number with B, KiB, MiB, GiB, kB, MB, GB)";
    const std::size_t digits = count_digits(text, 0);
    if (digits == 0) {
        return unexpected(quote_value(text) + " is not a size" + hint);
    }
    const std::string_view unit_text = text.substr(digits);
    std::uint64_t factor = 1;
    if (!unit_text.empty()) {
        const Unit* unit = nullptr;
        for (const auto& u : kUnits) {
            if (u.name == unit_text) {
                unit = &u;
            }
        }
        if (unit == nullptr) {
            return unexpected(quote_value(text) + " has an unknown unit" + hint);
        }
        factor = unit->factor;
    }
    const auto n = parse_integer<std::uint64_t>(text.substr(0, digits));
    if (!n || *n > std::numeric_limits<std::uint64_t>::max() / factor) {
        return unexpected(quote_value(text) + " is too large");
    }
    return *n * factor;
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::array<Unit, 3> kUnits{
        {{"GiB", 1024 * 1024 * 1024}, {"MiB", 1024 * 1024}, {"KiB", 1024}}};
    if (bytes != 0) {
        for (const auto& u : kUnits) {
            if (bytes % u.factor == 0) {
                return std::to_string(bytes / u.factor) + std::string(u.name);
            }
        }
    }
    return std::to_string(bytes);
}

bool is_ipv4_literal(std::string_view text) {
    const auto parts = split(text, '.');
    if (parts.size() != 4) {
        return false;
    }
    for (auto p : parts) {
        if (p.empty() || p.size() > 3 || count_digits(p, 0) != p.size() ||
            (p.size() > 1 && p[0] == '0')) {
            return false;
        }
        const auto v = parse_integer<unsigned>(p);
        if (!v || *v > 255) {
            return false;
        }
    }
    return true;
}

namespace {
// Counts the 16-bit groups of one side of an IPv6 literal; nullopt when malformed.
std::optional<std::size_t> ipv6_groups(std::string_view part, bool allow_v4_tail) {
    if (part.empty()) {
        return std::size_t{0};
    }
    const auto fields = split(part, ':');
    std::size_t groups = 0;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto f = fields[i];
        if (allow_v4_tail && i + 1 == fields.size() && f.find('.') != std::string_view::npos) {
            if (!is_ipv4_literal(f)) {
                return std::nullopt;
            }
            groups += 2;
            continue;
        }
        if (f.empty() || f.size() > 4) {
            return std::nullopt;
        }
        for (char c : f) {
            if (!is_hex(c)) {
                return std::nullopt;
            }
        }
        ++groups;
    }
    return groups;
}
}  // namespace

bool is_ipv6_literal(std::string_view text) {
    if (text.size() < 2 || text.size() > 45) {
        return false;
    }
    const auto dc = text.find("::");
    if (dc == std::string_view::npos) {
        const auto n = ipv6_groups(text, true);
        return n && *n == 8;
    }
    if (text.find("::", dc + 1) != std::string_view::npos) {
        return false;
    }
    const auto left = ipv6_groups(text.substr(0, dc), false);
    const auto right = ipv6_groups(text.substr(dc + 2), true);
    return left && right && *left + *right <= 7;
}

bool is_host_name(std::string_view text) {
    if (text.empty() || text.size() > 253) {
        return false;
    }
    for (auto label : split(text, '.')) {
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        for (char c : label) {
            if (!is_alnum(c) && c != '-' && c != '_') {
                return false;
            }
        }
    }
    return true;
}

bool is_node_id(std::string_view text) {
    if (text.size() != 40) {
        return false;
    }
    for (char c : text) {
        if (!is_digit(c) && !(c >= 'a' && c <= 'f')) {
            return false;
        }
    }
    return true;
}

std::string Address::to_string() const {
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + std::to_string(port);
    }
    return host + ":" + std::to_string(port);
}

bool Address::is_ip_literal() const {
    return is_ipv4_literal(host) || is_ipv6_literal(host);
}

bool Address::is_loopback() const {
    if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") {
        return true;
    }
    return is_ipv4_literal(host) && host.rfind("127.", 0) == 0;
}

bool Address::is_wildcard() const {
    return host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

Expected<Address, std::string> parse_address(std::string_view text) {
    const std::string hint = " (write host:port or [ipv6]:port)";
    if (text.empty()) {
        return unexpected("empty address" + hint);
    }
    Address out;
    std::string_view port_text;
    if (text[0] == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return unexpected(quote_value(text) + " has no closing ']'" + hint);
        }
        const auto host = text.substr(1, close - 1);
        if (!is_ipv6_literal(host)) {
            return unexpected(quote_value(host) + " is not a valid IPv6 address");
        }
        const auto rest = text.substr(close + 1);
        if (rest.empty() || rest[0] != ':') {
            return unexpected(quote_value(text) + " has no port" + hint);
        }
        out.host = std::string(host);
        port_text = rest.substr(1);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return unexpected(quote_value(text) + " has no port" + hint);
        }
        const auto host = text.substr(0, colon);
        if (auto problem = check_plain_host(host)) {
            return unexpected(std::move(*problem));
        }
        out.host = std::string(host);
        port_text = text.substr(colon + 1);
    }
    auto port = parse_port(port_text);
    if (!port) {
        return unexpected(port.error());
    }
    out.port = *port;
    return out;
}

Expected<Url, std::string> parse_url(std::string_view text) {
    Url url;
    url.text = std::string(text);
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            return unexpected(std::string("URL contains a space or control character"));
        }
    }
    std::string_view rest;
    if (text.rfind("https://", 0) == 0) {
        url.https = true;
        url.port = 443;
        rest = text.substr(8);
    } else if (text.rfind("http://", 0) == 0) {
        url.port = 80;
        rest = text.substr(7);
    } else {
        return unexpected(quote_value(text) + " is not an http:// or https:// URL");
    }
    if (text.find('#') != std::string_view::npos) {
        return unexpected(std::string("URL must not contain a fragment ('#')"));
    }
    const auto end = rest.find_first_of("/?");
    const auto authority = rest.substr(0, end);
    url.target = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
    if (url.target[0] == '?') {
        url.target.insert(0, "/");
    }
    if (authority.find('@') != std::string_view::npos) {
        return unexpected(std::string(
            "URL must not contain credentials (user:password@); use the secret file instead"));
    }
    if (authority.empty()) {
        return unexpected(quote_value(text) + " has no host");
    }
    std::string_view host;
    std::string_view port_text;
    bool has_port = false;
    if (authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return unexpected(quote_value(text) + " has no closing ']'");
        }
        host = authority.substr(1, close - 1);
        if (!is_ipv6_literal(host)) {
            return unexpected(quote_value(host) + " is not a valid IPv6 address");
        }
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                return unexpected(quote_value(text) + " has junk after ']'");
            }
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(colon + 1);
        }
        if (auto problem = check_plain_host(host)) {
            return unexpected(std::move(*problem));
        }
    }
    if (has_port) {
        auto port = parse_port(port_text);
        if (!port) {
            return unexpected(port.error());
        }
        url.port = *port;
    }
    url.host = std::string(host);
    return url;
}

}  // namespace picket::config
