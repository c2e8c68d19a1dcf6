#pragma once
// CLUSTER NODES: one line per node the queried node knows, in Redis 6.0 through 7.x
// format:
//   <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv>
//   <config-epoch> <link-state> <slot> <slot> ... <slot>
// where a slot is "5461", "0-5460", "[5461->-<node id>]" (migrating to) or
// "[5461-<-<node id>]" (importing from). See https://redis.io/commands/cluster-nodes/.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/parse_error.h"
#include "picket/cluster/slots.h"

namespace picket::cluster {

/// Length of a Redis Cluster node id: 40 lower-case hex characters (CLUSTER_NAMELEN).
inline constexpr std::size_t kNodeIdLength = 40;

/// True for a well-formed node id: exactly 40 characters of [0-9a-f].
bool is_node_id(std::string_view text);

/// The second field of a CLUSTER NODES line: where clients and the cluster bus reach the
/// node. ":0@0" (empty ip, port 0) for a node whose address is not known yet (noaddr).
struct NodeAddress {
    /// IPv4 or IPv6 address without brackets ("127.0.0.1", "::1"); empty when unknown.
    std::string ip;
    /// Client port (the TLS port when tls-cluster is on).
    std::uint16_t port = 0;
    /// Cluster bus port (usually port + 10000).
    std::uint16_t cport = 0;
    /// cluster-announce-hostname (7.0+); empty when none is set.
    std::string hostname;

    /// "ip:port" (IPv6 as "[::1]:7000"), the address clients dial.
    std::string endpoint() const;

    friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
};

/// The flags field. `fail?` is PFAIL: this node alone suspects the peer is down (no
/// reply within cluster-node-timeout); `fail` is FAIL: a majority of masters agreed.
struct NodeFlags {
    /// The node that produced this CLUSTER NODES output.
    bool myself = false;
    /// The node is a master.
    bool master = false;
    /// The node is a replica ("slave").
    bool replica = false;
    /// "fail?": suspected down by the reporting node (PFAIL).
    bool pfail = false;
    /// "fail": marked down by a majority of masters (FAIL).
    bool fail = false;
    /// "handshake": not yet trusted; its id is provisional and random.
    bool handshake = false;
    /// "noaddr": no known address.
    bool noaddr = false;
    /// "nofailover": cluster-replica-no-failover, this replica will not start failovers.
    bool nofailover = false;
    /// Flags this version does not know, kept verbatim (newer Redis may add some).
    std::vector<std::string> unknown;

    /// The flags as Redis prints them: "myself,master", "noflags" when none.
    std::string to_string() const;

    friend bool operator==(const NodeFlags&, const NodeFlags&) = default;
};

/// A slot being moved with CLUSTER SETSLOT: "[slot->-id]" on the source (migrating to
/// `node_id`), "[slot-<-id]" on the destination (importing from `node_id`).
struct SlotMigration {
    /// Which end of the move the reporting node is.
    enum class Direction : std::uint8_t { kMigrating, kImporting };
    /// The slot being moved.
    Slot slot = 0;
    /// kMigrating: "[slot->-id]", keys leave for node_id; kImporting: "[slot-<-id]".
    Direction direction = Direction::kMigrating;
    /// The other end of the move.
    std::string node_id;

    friend bool operator==(const SlotMigration&, const SlotMigration&) = default;
};

/// "link-state": whether the reporting node's cluster bus link to this node is up.
enum class LinkState : std::uint8_t { kConnected, kDisconnected };
std::string_view to_string(LinkState state);

/// One CLUSTER NODES line: one node as the reporting node sees it.
struct ClusterNode {
    /// The node's 40-hex-character id (its name in nodes.conf); stable across restarts.
    std::string id;
    /// Where the node is reached.
    NodeAddress address;
    /// Role and health flags.
    NodeFlags flags;
    /// For a replica, the id of the master it replicates; nullopt for "-" (masters, or a
    /// replica whose master is not known to the reporter).
    std::optional<std::string> master_id;
    /// Unix time in ms the reporter sent the pending PING, 0 when none is pending.
    std::int64_t ping_sent = 0;
    /// Unix time in ms the reporter last received a PONG.
    std::int64_t pong_recv = 0;
    /// The node's configEpoch (of its master, for a replica): the version of its slot
    /// claims. On conflicting claims the higher epoch wins; failovers bump it.
    std::uint64_t config_epoch = 0;
    /// The reporter's cluster bus link to this node.
    LinkState link_state = LinkState::kConnected;
    /// Slots this master serves, in the order printed (not merged).
    std::vector<SlotRange> slots;
    /// Slots being migrated away from or imported into this node (printed only on the
    /// `myself` line, since only the node itself knows).
    std::vector<SlotMigration> migrations;

    /// The reporter sees it as a master ("master" flag).
    bool is_master() const { return flags.master; }
    /// The reporter sees it as a replica ("slave" flag).
    bool is_replica() const { return flags.replica; }
    /// True when the reporter flags the node fail or fail?.
    bool is_failing() const { return flags.fail || flags.pfail; }
};

/// Parses a CLUSTER NODES reply, one node per line (LF or CRLF, blank lines skipped).
/// Checks every field: id format, address, known link state, slots 0..16383 with
/// first <= last, at most one `myself` line, no id listed twice. Unknown flags are kept,
/// not rejected. Empty input is an error (a real reply always has the `myself` line).
ParseResult<std::vector<ClusterNode>> parse_cluster_nodes(std::string_view text);

/// Parses one line (without its newline); `line_no` goes into errors.
ParseResult<ClusterNode> parse_cluster_node_line(std::string_view line, std::size_t line_no = 0);

}  // namespace picket::cluster
