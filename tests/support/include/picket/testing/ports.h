#pragma once
// TCP ports for test servers on 127.0.0.1.

namespace picket::testing {

/// Offset of a Redis Cluster node's bus port from its client port (redis's default).
inline constexpr int kClusterBusOffset = 10000;

/// A port P such that both P and P + kClusterBusOffset could be bound on 127.0.0.1 just
/// now, and that this process has not handed out before (neither number, as either a
/// client or a bus port). Thread-safe.
///
/// P is drawn at random from the ports where neither P nor P+10000 falls into the kernel's
/// ephemeral range (/proc/sys/net/ipv4/ip_local_port_range; with Linux's default 32768-60999
/// that is 10000-22767). So concurrent test processes rarely pick the same port, and an
/// outgoing connection (redis-cli, the cluster bus, the code under test) can never have
/// been given P or P+10000 as its local port — which matters when a killed node is
/// restarted on the same port. If that set is empty (an unusual ephemeral range), falls
/// back to binding port 0 and keeping answers below 65535 - 10000.
/// Throws std::runtime_error when no port is found after a bounded number of attempts.
int free_port();

}  // namespace picket::testing
