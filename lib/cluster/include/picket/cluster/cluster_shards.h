#pragma once
// CLUSTER SHARDS (Redis 7.0+): one entry per shard (a master and its replicas), each a
// map — in RESP2 a flat [key, value, key, value, ...] array — with "slots" (a flat list
// of start, end integers) and "nodes" (each node again a flat key/value array). See
// https://redis.io/commands/cluster-shards/.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "picket/base/parse_error.h"
#include "picket/cluster/slots.h"
#include "picket/resp/reply.h"

namespace picket::cluster {

/// A node's "role" in CLUSTER SHARDS.
enum class ShardRole : std::uint8_t { kMaster, kReplica };
std::string_view to_string(ShardRole role);

/// A node's "health" in CLUSTER SHARDS: "fail" when flagged fail (or fail?), "loading"
/// for a replica whose replication offset the reporter knows as 0 (it is still loading
/// or its offset has not been gossiped yet), "online" otherwise.
enum class ShardHealth : std::uint8_t { kOnline, kFailed, kLoading, kUnknown };
std::string_view to_string(ShardHealth health);

/// One node of a shard as the queried node sees it.
struct ShardNode {
    /// "id": the 40-hex-character node id.
    std::string id;
    /// "port": plaintext client port; absent when the node has only a TLS port.
    std::optional<std::uint16_t> port;
    /// "tls-port": TLS client port, when tls-cluster is on.
    std::optional<std::uint16_t> tls_port;
    /// "ip": the node's IP address (may be empty when unknown).
    std::string ip;
    /// "endpoint": the preferred endpoint (cluster-preferred-endpoint-type): ip, hostname,
    /// or "?" when unknown.
    std::string endpoint;
    /// "hostname": cluster-announce-hostname, absent when none is set.
    std::optional<std::string> hostname;
    /// "role".
    ShardRole role = ShardRole::kMaster;
    /// "replication-offset": the node's replication offset as the reporter knows it
    /// (exact for the reporter itself, gossiped for the others).
    std::int64_t replication_offset = 0;
    /// "health".
    ShardHealth health = ShardHealth::kUnknown;
};

/// One shard: the slots it serves and its nodes.
struct ShardInfo {
    /// "slots": the ranges, in reply order. Empty for a master without slots.
    std::vector<SlotRange> slots;
    /// "nodes": the master first in practice, but nothing relies on the order.
    std::vector<ShardNode> nodes;
};

/// Parses a CLUSTER SHARDS reply (RESP2). "id" and "role" are required of every node;
/// other fields are optional; unknown keys are skipped. An error reply (e.g. "-ERR
/// unknown subcommand" from Redis 6) is returned as a ParseError with its text. Errors
/// have no line (0) and name the shard and node index instead.
ParseResult<std::vector<ShardInfo>> parse_cluster_shards(const resp::Reply& reply);

}  // namespace picket::cluster
