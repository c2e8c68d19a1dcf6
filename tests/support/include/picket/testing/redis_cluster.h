#pragma once
// A real Redis Cluster of redis-server processes, created with `redis-cli --cluster create`.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picket/testing/redis_node.h"

namespace picket::testing {

/// What to create. redis-cli needs at least 3 masters.
struct ClusterOptions {
    int masters = 3;
    int replicas_per_master = 1;
    /// Options of every node (cluster_enabled must stay true).
    NodeOptions node;
    /// Bound on create(): nodes up, `--cluster create`, and the cluster settled.
    std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
    /// Prefix of the nodes' names and directories.
    std::string name = "cluster";
};

/// One line of CLUSTER NODES, as one node sees another.
struct ClusterNodeEntry {
    std::string id;
    std::string host;
    int port = 0;
    int bus_port = 0;
    std::vector<std::string> flags;  ///< "myself", "master", "slave", "fail?", "fail", ...
    std::string master_id;           ///< "-" for masters
    std::string link_state;          ///< "connected" / "disconnected"
    std::vector<std::string> slots;  ///< "0-5460", "[93->-node]" kept as text

    bool has_flag(std::string_view flag) const;
    bool is_master() const { return has_flag("master"); }
    bool is_replica() const { return has_flag("slave"); }
    /// "fail" or "fail?" (PFAIL).
    bool is_failing() const { return has_flag("fail") || has_flag("fail?"); }
};

/// Parses CLUSTER NODES output; malformed lines are skipped.
std::vector<ClusterNodeEntry> parse_cluster_nodes(std::string_view text);

/// A Redis Cluster of masters * (1 + replicas_per_master) RedisNodes. Node indices are
/// fixed at creation; roles change (failover), so role queries ask the nodes live: a
/// node's role is what its own CLUSTER NODES `myself` line says. Nodes that are killed
/// or paused are skipped by queries and waits. Every wait is bounded and throws
/// std::runtime_error with diagnostics (each node's view and log tail) when it times
/// out. The destructor stops all nodes in parallel. Not thread-safe.
class RedisCluster {
  public:
    /// Starts the nodes in parallel, runs `redis-cli --cluster create ... --cluster-yes`,
    /// then waits until settled (see wait_cluster_ok). Throws std::runtime_error.
    static std::unique_ptr<RedisCluster> create(ClusterOptions options);
    ~RedisCluster();
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    std::size_t size() const { return nodes_.size(); }
    /// Throws std::out_of_range for a bad index.
    RedisNode& node(std::size_t i);
    /// The node's cluster id (stable across restart(): it lives in nodes.conf).
    const std::string& node_id(std::size_t i) const;
    std::optional<std::size_t> index_of_node_id(std::string_view id) const;
    std::optional<std::size_t> index_of_port(int port) const;
    /// "127.0.0.1:P" of every node, in index order (seed lists for the code under test).
    std::vector<std::string> addresses() const;
    const ClusterOptions& options() const { return options_; }

    /// Reachable nodes that call themselves master / replica, in index order.
    std::vector<std::size_t> master_indices();
    std::vector<std::size_t> replica_indices();
    /// Reachable nodes that call themselves replicas of node `master_index`.
    std::vector<std::size_t> replica_of(std::size_t master_index);
    /// Node i's CLUSTER NODES (empty if it cannot answer).
    std::vector<ClusterNodeEntry> cluster_nodes(std::size_t i);

    /// wait_until() with the cluster's style: bounded, true if the predicate held in time.
    bool wait_for(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                  std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    /// Waits until every reachable node says cluster_state:ok; every reachable node's
    /// CLUSTER NODES lists exactly the cluster's nodes, none in handshake/noaddr; no view
    /// marks a reachable node fail/fail?; views agree with each node's own role and
    /// master; every reachable replica has master_link_status:up. Killed and paused nodes
    /// are skipped, so right after a kill() this holds until the others notice (a node
    /// timeout later): to wait for the consequences, use wait_until_failed /
    /// wait_until_master.
    void wait_cluster_ok(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    /// Waits until every other reachable node flags node i "fail" (not just "fail?"): the
    /// cluster's own majority failure detection has concluded.
    void wait_until_failed(std::size_t i,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));
    /// Waits until node i says role:master (INFO replication) and every other reachable
    /// node lists it as a master that is not failing.
    void wait_until_master(std::size_t i,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));
    /// Waits until node r is a replica of node m with its replication link up, and every
    /// other reachable node agrees.
    void wait_until_replica_of(std::size_t r, std::size_t m,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30));

    /// `ACL SETUSER name reset on >password rules...` on every reachable node. ACLs are
    /// per node and in memory: a restarted node forgets them (call again).
    void create_acl_user(const std::string& name, const std::string& password,
                         const std::vector<std::string>& rules = {"~*", "&*", "+@all"});

    /// Every node: name, address, pid, own CLUSTER NODES and log tail; for failure messages.
    std::string diagnostics();

  private:
    explicit RedisCluster(ClusterOptions options) : options_(std::move(options)) {}
    /// Why the cluster is not settled, or nullopt when it is (see wait_cluster_ok).
    std::optional<std::string> unsettled_reason();
    [[noreturn]] void fail_wait(const std::string& what, const std::string& last_reason);

    ClusterOptions options_;
    std::vector<std::unique_ptr<RedisNode>> nodes_;
    std::vector<std::string> ids_;
};

}  // namespace picket::testing
