#include "picket/testing/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

namespace picket::testing {
namespace {

constexpr int kLowestPort = 10000;
constexpr int kHighestPort = 65535;
constexpr int kMaxAttempts = 500;

/// Every port (client and bus) this process has handed out; guarded by registry_mutex().
std::set<int>& handed_out() {
    static std::set<int> ports;
    return ports;
}
std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}

std::mt19937_64& rng() {
    static std::mt19937_64 gen = [] {
        std::random_device rd;
        const auto now =
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        std::seed_seq seq{rd(), rd(), static_cast<unsigned>(::getpid()), static_cast<unsigned>(now),
                          static_cast<unsigned>(now >> 32)};
        return std::mt19937_64(seq);
    }();
    return gen;
}

std::pair<int, int> ephemeral_range() {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    int lo = 32768;
    int hi = 60999;
    if (in) {
        in >> lo >> hi;
    }
    return {lo, hi};
}

/// Tries to bind 127.0.0.1:port (0 = any); returns the bound port or 0. No SO_REUSEADDR,
/// so a port with connections in TIME_WAIT counts as busy.
int try_bind(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int bound = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        socklen_t len = sizeof addr;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
            bound = ntohs(addr.sin_port);
        }
    }
    ::close(fd);
    return bound;
}

/// Ports P in [kLowestPort, 65535 - offset] with P and P + offset outside [lo, hi].
std::vector<std::pair<int, int>> candidate_intervals(int lo, int hi) {
    std::vector<std::pair<int, int>> out;
    const int top = kHighestPort - kClusterBusOffset;
    // P < lo and P + offset < lo.
    const int below = std::min(lo - 1 - kClusterBusOffset, top);
    if (below >= kLowestPort) {
        out.emplace_back(kLowestPort, below);
    }
    // P > hi (then P + offset > hi too).
    if (hi + 1 <= top) {
        out.emplace_back(std::max(hi + 1, kLowestPort), top);
    }
    return out;
}

bool usable(int port) {
    const auto& used = handed_out();
    return port > 0 && port + kClusterBusOffset <= kHighestPort && !used.contains(port) &&
           !used.contains(port + kClusterBusOffset) && try_bind(port) == port &&
           try_bind(port + kClusterBusOffset) == port + kClusterBusOffset;
}

}  // namespace

int free_port() {
    std::lock_guard lock(registry_mutex());
    const auto [lo, hi] = ephemeral_range();
    const auto intervals = candidate_intervals(lo, hi);
    long total = 0;
    for (const auto& [a, b] : intervals) {
        total += b - a + 1;
    }
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        int port = 0;
        if (total > 0) {
            std::uniform_int_distribution<long> pick(0, total - 1);
            long k = pick(rng());
            for (const auto& [a, b] : intervals) {
                if (k <= b - a) {
                    port = a + static_cast<int>(k);
                    break;
                }
                k -= b - a + 1;
            }
        } else {
            port = try_bind(0);  // fallback: the kernel's choice
        }
        if (usable(port)) {
            handed_out().insert(port);
            handed_out().insert(port + kClusterBusOffset);
            return port;
        }
    }
    throw std::runtime_error("free_port: no free port pair (P, P+10000) on 127.0.0.1");
}

}  // namespace picket::testing
