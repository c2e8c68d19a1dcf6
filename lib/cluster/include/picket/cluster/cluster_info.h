#pragma once
// CLUSTER INFO: "key:value" lines (CRLF) describing the cluster as the queried node sees
// it. See https://redis.io/commands/cluster-info/.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "picket/base/parse_error.h"

namespace picket::cluster {

/// "cluster_state:": ok when this node can serve every slot (or
/// cluster-require-full-coverage is off), fail otherwise.
enum class ClusterState : std::uint8_t { kOk, kFail };
std::string_view to_string(ClusterState state);

/// A parsed CLUSTER INFO reply, as the queried node sees the cluster.
struct ClusterInfo {
    /// "cluster_state:".
    ClusterState state = ClusterState::kFail;
    /// "cluster_slots_assigned:" — slots bound to some master.
    std::int64_t slots_assigned = 0;
    /// "cluster_slots_ok:" — assigned slots whose master is not flagged fail or fail?.
    std::int64_t slots_ok = 0;
    /// "cluster_slots_pfail:" — assigned slots whose master this node suspects (fail?).
    std::int64_t slots_pfail = 0;
    /// "cluster_slots_fail:" — assigned slots whose master is flagged fail.
    std::int64_t slots_fail = 0;
    /// "cluster_known_nodes:" — nodes in this node's table, handshaking ones included.
    std::int64_t known_nodes = 0;
    /// "cluster_size:" — masters serving at least one slot.
    std::int64_t size = 0;
    /// "cluster_current_epoch:" — the highest epoch this node has seen (the cluster's
    /// logical clock).
    std::uint64_t current_epoch = 0;
    /// "cluster_my_epoch:" — this node's config epoch (its master's, for a replica).
    std::uint64_t my_epoch = 0;
    /// Every other integer field: the message counters
    /// ("cluster_stats_messages_ping_sent", ...) and fields newer versions add
    /// ("total_cluster_links_buffer_limit_exceeded"). Non-integer unknown fields are
    /// skipped.
    std::map<std::string, std::int64_t, std::less<>> counters;
};

/// Parses a CLUSTER INFO reply. The nine fields above are required; unknown fields are
/// kept in `counters` when integers, otherwise ignored.
ParseResult<ClusterInfo> parse_cluster_info(std::string_view text);

}  // namespace picket::cluster
