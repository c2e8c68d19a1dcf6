#pragma once
// The INFO reply: "# Section" headers and "key:value" lines (CRLF), kept whole as text,
// plus typed views of the sections a watcher acts on (replication, server, persistence,
// cluster). Field names follow Redis's own so they can be grepped in its source.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/parse_error.h"

namespace picket::cluster {

/// A parsed INFO reply: every section, every field, as text. Section names are
/// lower-cased ("# Replication" → "replication"); keys keep their case. Lines before the
/// first header (not produced by Redis) land in the section named "". A key repeated in
/// one section keeps its last value. Value type; cheap enough to build on every poll.
class Info {
  public:
    /// One field's value and the 1-based line it was read from, so typed parsers can
    /// point at the offending line.
    struct Field {
        /// Everything after the first ':' of the line.
        std::string value;
        /// 1-based line number in the reply (0 when set by hand).
        std::size_t line = 0;
    };
    /// One section: key → field, ordered by key.
    using Section = std::map<std::string, Field, std::less<>>;
    /// All sections by lower-cased name.
    using Sections = std::map<std::string, Section, std::less<>>;

    /// The value of `key` in `section` (name matched case-insensitively), or nullopt.
    /// `info.get("replication", "role")` → "master".
    std::optional<std::string_view> get(std::string_view section, std::string_view key) const;

    /// The field (value and line), or nullptr.
    const Field* field(std::string_view section, std::string_view key) const;

    /// One section by name (case-insensitive), or nullptr when the reply lacks it.
    const Section* section(std::string_view name) const;

    /// Every section, by lower-cased name.
    const Sections& sections() const { return sections_; }

    /// Creates an empty section if it does not exist ("# Keyspace" with no databases).
    void add_section(std::string_view name);

    /// Sets a field, creating the section; used by parse_info and by tests.
    void set(std::string_view section, std::string_view key, std::string_view value,
             std::size_t line = 0);

  private:
    /// Section name → fields.
    Sections sections_;
};

/// Parses an INFO reply (any sections, CRLF or LF). Blank lines are skipped; a line that
/// is neither "# Header" nor "key:value" with a non-empty key is an error. Values may
/// contain ':' (executable paths, IPv6 addresses): the key ends at the first ':'.
ParseResult<Info> parse_info(std::string_view text);

/// INFO replication "role:".
enum class ReplicationRole : std::uint8_t { kMaster, kReplica, kUnknown };
std::string_view to_string(ReplicationRole role);

/// INFO replication "master_link_status:" of a replica: whether its replication link to
/// the master is established (up) or not (down: connecting, handshaking, syncing).
enum class MasterLinkStatus : std::uint8_t { kUp, kDown };
std::string_view to_string(MasterLinkStatus status);

/// One "slaveN:ip=…,port=…,state=…,offset=…,lag=…" line of a master: a replica
/// connected to it, as the master sees it.
struct ConnectedReplica {
    /// Position N of the "slaveN" key (0-based, in the master's client list order).
    std::size_t index = 0;
    /// The replica's announced IP (replica-announce-ip) or its socket peer address.
    std::string ip;
    /// The replica's listening port (replica-announce-port or REPLCONF listening-port).
    std::uint16_t port = 0;
    /// Replication state on the master: "wait_bgsave", "send_bulk" or "online".
    std::string state;
    /// Replication offset the replica last acknowledged (REPLCONF ACK).
    std::int64_t offset = 0;
    /// Seconds since the replica's last ACK (sent every second); absent before Redis 2.8.
    std::optional<std::int64_t> lag;

    /// True when the master is streaming the replication feed to this replica.
    bool online() const { return state == "online"; }
};

/// The typed INFO replication section. Fields are named as Redis names them; those under
/// "replica only" are filled only when role == kReplica (and keep their defaults
/// otherwise); std::optional fields are absent in some versions or states.
struct ReplicationInfo {
    /// "role:" — master, slave (kReplica), or something else (kUnknown: no more checks).
    ReplicationRole role = ReplicationRole::kUnknown;
    /// "connected_slaves:" — replicas currently attached to this node.
    std::int64_t connected_slaves = 0;
    /// The "slaveN:" lines, ordered by N.
    std::vector<ConnectedReplica> replicas;
    /// "master_failover_state:" — no-failover, waiting-for-sync or failover-in-progress
    /// (FAILOVER command, 6.2+).
    std::optional<std::string> master_failover_state;
    /// "master_replid:" — the replication history id this node serves or follows.
    std::string master_replid;
    /// "master_replid2:" — the previous history id, kept after a promotion (4.0+).
    std::optional<std::string> master_replid2;
    /// "master_repl_offset:" — bytes of replication stream produced (master) or
    /// processed (replica) in master_replid's history.
    std::int64_t master_repl_offset = 0;
    /// "second_repl_offset:" — offset up to which master_replid2 is valid, -1 if none.
    std::optional<std::int64_t> second_repl_offset;

    // --- replica only ---
    /// "master_host:" — the master this replica follows (replicaof), IP or hostname.
    std::string master_host;
    /// "master_port:" — the master's port.
    std::uint16_t master_port = 0;
    /// "master_link_status:" — up when the link to the master is established.
    MasterLinkStatus master_link_status = MasterLinkStatus::kDown;
    /// "master_last_io_seconds_ago:" — seconds since data from the master, -1 when no
    /// link.
    std::int64_t master_last_io_seconds_ago = -1;
    /// "master_sync_in_progress:" — true while a full sync (RDB transfer) runs.
    bool master_sync_in_progress = false;
    /// "slave_repl_offset:" — replication offset this replica has applied.
    std::int64_t slave_repl_offset = 0;
    /// "slave_read_repl_offset:" — offset read from the socket, maybe not yet applied
    /// (7.0+).
    std::optional<std::int64_t> slave_read_repl_offset;
    /// "slave_priority:" — replica-priority: lower wins promotion, 0 = never promote.
    std::int64_t slave_priority = 100;
    /// "slave_read_only:" — replica-read-only.
    bool slave_read_only = true;
    /// "replica_announced:" — replica-announced: false hides it from Sentinel (6.2+).
    std::optional<bool> replica_announced;
    /// "master_link_down_since_seconds:" — seconds the link has been down; present only
    /// while the link is down, -1 when it was never up.
    std::optional<std::int64_t> master_link_down_since_seconds;
};

/// Types the "replication" section. Errors name the field (and its line) when a field
/// is missing or malformed; role values other than master/slave yield kUnknown.
ParseResult<ReplicationInfo> parse_replication(const Info& info);

/// What a watcher needs from INFO server.
struct ServerInfo {
    /// "redis_version:" — e.g. "7.0.15".
    std::string redis_version;
    /// "run_id:" — random id of this process: changes on every restart.
    std::string run_id;
    /// "process_id:" — the server's pid.
    std::int64_t process_id = 0;
    /// "uptime_in_seconds:".
    std::int64_t uptime_in_seconds = 0;
    /// "redis_mode:" — standalone, cluster or sentinel.
    std::optional<std::string> redis_mode;
    /// "tcp_port:" — the port the server listens on.
    std::optional<std::uint16_t> tcp_port;
};

/// Types the "server" section.
ParseResult<ServerInfo> parse_server(const Info& info);

/// What a watcher needs from INFO persistence: whether the node is loading a dataset
/// (it answers -LOADING until done) and how far along it is.
struct PersistenceInfo {
    /// "loading:" — loading an RDB/AOF at start-up or after a full sync.
    bool loading = false;
    /// "async_loading:" — loading a full sync in the background while serving the old
    /// dataset (repl-diskless-load swapdb, 7.0+).
    std::optional<bool> async_loading;
    /// "aof_enabled:" — appendonly yes.
    bool aof_enabled = false;
    /// "loading_loaded_perc:" — progress in percent; present only while loading.
    std::optional<double> loading_loaded_perc;
    /// "loading_eta_seconds:" — estimated seconds left; present only while loading.
    std::optional<std::int64_t> loading_eta_seconds;
    /// "loading_loaded_bytes:" — bytes loaded so far; present only while loading.
    std::optional<std::int64_t> loading_loaded_bytes;
    /// "loading_total_bytes:" — size of the file being loaded; present only while loading.
    std::optional<std::int64_t> loading_total_bytes;
};

/// Types the "persistence" section.
ParseResult<PersistenceInfo> parse_persistence(const Info& info);

/// INFO cluster "cluster_enabled:" (1 when started with cluster-enabled yes).
ParseResult<bool> parse_cluster_enabled(const Info& info);

}  // namespace picket::cluster
