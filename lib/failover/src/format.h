#pragma once
// Small text helpers shared by the failover sources (private to the module).

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "picket/base/time.h"
#include "picket/cluster/info.h"

namespace picket::failover::detail {

/// "host:port", IPv6 literals in brackets (as cluster::NodeAddress::endpoint()).
inline std::string endpoint(std::string_view host, std::uint16_t port) {
    std::string out;
    if (host.find(':') != std::string_view::npos) {
        out = "[" + std::string(host) + "]";
    } else {
        out = std::string(host);
    }
    return out + ":" + std::to_string(port);
}

/// Splits "host:port" / "[v6]:port" into host (without brackets) and port; port 0 when
/// there is none or it is not a number.
inline std::pair<std::string, std::uint16_t> split_endpoint(std::string_view address) {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) {
        return {std::string(address), 0};
    }
    std::string_view host = address.substr(0, colon);
    const std::string_view port_text = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    std::uint16_t port = 0;
    const auto res = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (res.ec != std::errc{} || res.ptr != port_text.data() + port_text.size()) {
        port = 0;
    }
    return {std::string(host), port};
}

/// "16s", "1500ms", "-2s": whole seconds when exact, else milliseconds.
inline std::string format(Duration d) {
    const std::int64_t ms = to_ms(d);
    if (ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    return std::to_string(ms) + "ms";
}

/// True when a replica's INFO master_host:master_port names the master at
/// `master_address` ("ip:port") or at `master_hostname`:port.
inline bool follows(const cluster::ReplicationInfo& r, std::string_view master_address,
                    std::string_view master_hostname) {
    if (r.master_host.empty()) {
        return false;
    }
    const std::string named = endpoint(r.master_host, r.master_port);
    return named == master_address ||
           (!master_hostname.empty() &&
            named == endpoint(master_hostname, split_endpoint(master_address).second));
}

}  // namespace picket::failover::detail
