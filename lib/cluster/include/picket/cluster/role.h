#pragma once
// ROLE: the cheapest way to ask a node what it is. See https://redis.io/commands/role/.
//   master:  ["master", <offset>, [[ip, port, offset], ...]]   (replica fields as strings)
//   replica: ["slave", <master ip>, <master port>, <state>, <offset>]
//   sentinel: ["sentinel", [<master name>, ...]]               (rejected: not a data node)

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/parse_error.h"
#include "picket/resp/reply.h"

namespace picket::cluster {

/// Which kind of ROLE reply this was.
enum class RoleKind : std::uint8_t { kMaster, kReplica };
std::string_view to_string(RoleKind kind);

/// A replica's replication state (ROLE's 4th element; server.repl_state in Redis).
enum class ReplicaState : std::uint8_t {
    kNone,        ///< "none": no master configured (transient).
    kConnect,     ///< "connect": must (re)connect to the master.
    kConnecting,  ///< "connecting": TCP connect in progress.
    kHandshake,   ///< "handshake": PING/AUTH/REPLCONF/PSYNC exchange.
    kSync,        ///< "sync": receiving the RDB of a full sync.
    kConnected,   ///< "connected": streaming the replication feed.
    kUnknown,     ///< Anything else ("unknown" or a future state).
};
std::string_view to_string(ReplicaState state);

/// One replica in a master's ROLE reply.
struct RoleReplica {
    /// The replica's announced IP.
    std::string ip;
    /// The replica's listening port.
    std::uint16_t port = 0;
    /// Replication offset the replica last acknowledged.
    std::int64_t offset = 0;
};

/// A parsed ROLE reply of a master or replica.
struct RoleInfo {
    /// Master or replica; the fields below are filled according to it.
    RoleKind role = RoleKind::kMaster;
    /// Master: its master_repl_offset. Replica: the offset of data received from its
    /// master, -1 before the first sync.
    std::int64_t offset = 0;
    /// Master only: its connected replicas.
    std::vector<RoleReplica> replicas;
    /// Replica only: the master it follows (replicaof).
    std::string master_ip;
    /// Replica only: the master's port.
    std::uint16_t master_port = 0;
    /// Replica only: its link state to the master.
    ReplicaState state = ReplicaState::kUnknown;
};

/// Parses a ROLE reply. Sentinel replies and unknown roles are errors, as is an error
/// reply (returned with its text). Errors have no line (0).
ParseResult<RoleInfo> parse_role(const resp::Reply& reply);

}  // namespace picket::cluster
