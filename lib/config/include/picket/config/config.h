#pragma once
// picketd's configuration: the typed Config, and the strict loader that builds it from one
// YAML file (docs/configuration.md is the reference for every key, default and rule).
//
// Strict means: unknown keys, wrong types, out-of-range values, missing required keys and
// contradictions between keys are errors, all of them collected (not just the first) and
// each reported as "file:line:col: key.path: what is wrong". Durations are strings with a
// unit ("100ms", "1s", "5m"). Secrets are never inline: the file names a file
// (`password_file`, `secret_file`, `token_file`, …) and the loader reads it through an
// injectable SecretReader, so tests need no files.
//
// Pure: no clock, socket or thread. Exceptions are not used: yaml-cpp's are caught inside
// and become errors with a position.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/expected.h"
#include "picket/base/time.h"
#include "picket/config/values.h"

namespace picket::config {

/// One complaint about the configuration, with its place in the file. `line` and `column`
/// are 1-based; 0 when there is no place (the file could not be read at all).
struct Diagnostic {
    std::string file;
    std::size_t line = 0;
    std::size_t column = 0;
    std::string message;  ///< "detection.ping_interval: '5' has no unit (…)"

    /// "picket.yml:12:18: detection.ping_interval: …", or "picket.yml: …" without a place.
    std::string to_string() const;
    friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

/// Why a configuration was refused: every error found, in file order.
struct ConfigError {
    std::vector<Diagnostic> errors;
    /// One diagnostic per line, each ending in '\n'.
    std::string to_string() const;
};

/// A secret read from a file at load time. The value is never logged or rendered; use
/// reveal() only where it is needed (AUTH, HMAC key, token compare).
struct Secret {
    std::string file;  ///< resolved path, as it appears in the effective config

    const std::string& reveal() const { return value_; }
    bool empty() const { return file.empty(); }
    void set_value(std::string v) { value_ = std::move(v); }
    friend bool operator==(const Secret&, const Secret&) = default;

  private:
    std::string value_;
};

/// Reads one secret file: its content, or a message saying why not ("does not exist",
/// "is readable by others (mode 0644): chmod o-rwx"). The loader then strips one trailing
/// newline ("\n" or "\r\n") and refuses an empty secret.
using SecretReader = std::function<Expected<std::string, std::string>(const std::string& path)>;

/// The reader load_config uses: refuses a path that is not a regular file, a file readable
/// or writable by "others" (group access is allowed, for a `picket` group), and files over
/// 64 KiB; reads the bytes unchanged.
Expected<std::string, std::string> read_secret_file(const std::string& path);

/// TLS client settings (for Redis connections). Field for field the same as
/// picket::io::TlsClientOptions, which the shell builds from it; kept separate so this
/// pure module does not include Asio. Files are PEM; empty ca_file = the system store.
struct TlsSettings {
    bool enabled = false;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::string server_name;  ///< SNI and name checks; empty = the host dialled
    bool verify_peer = true;
    bool verify_hostname = true;
    friend bool operator==(const TlsSettings&, const TlsSettings&) = default;
};

/// TLS server settings (for the admin listener).
struct ServerTlsSettings {
    bool enabled = false;
    std::string cert_file;
    std::string key_file;
    /// When set, clients must present a certificate signed by this CA.
    std::string client_ca_file;
    friend bool operator==(const ServerTlsSettings&, const ServerTlsSettings&) = default;
};

/// A TCP address or a unix socket path (`unix:/run/picket/admin.sock`).
struct Endpoint {
    Address tcp;            ///< when unix_path is empty
    std::string unix_path;  ///< absolute path, or empty for TCP
    bool is_unix() const { return !unix_path.empty(); }
    std::string to_string() const;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

/// A Redis node named either by its cluster node id or by its address.
struct NodeRef {
    std::string node_id;  ///< 40 hex digits, or empty
    Address address;      ///< when node_id is empty
    std::string to_string() const;
    friend bool operator==(const NodeRef&, const NodeRef&) = default;
};

/// `watcher:` — this sidecar.
struct WatcherConfig {
    std::string id;  ///< required; [A-Za-z0-9_.-]{1,64}; unique among the voters
    Address peer_listen{"0.0.0.0", 7700};
    Address http_listen{"127.0.0.1", 7701};  ///< /metrics, /livez, /readyz, /v1/status
    std::string state_dir = "/var/lib/picket";
    friend bool operator==(const WatcherConfig&, const WatcherConfig&) = default;
};

/// One other watcher.
struct PeerConfig {
    std::string id;
    Address address;  ///< its peer_listen, as reachable from here
    friend bool operator==(const PeerConfig&, const PeerConfig&) = default;
};

/// `peers:` — every OTHER watcher and the shared HMAC secret.
struct PeersConfig {
    Secret secret;  ///< `secret_file`, required when members is not empty; ≥ 16 bytes
    std::vector<PeerConfig> members;  ///< ids unique and ≠ watcher.id
    friend bool operator==(const PeersConfig&, const PeersConfig&) = default;
};

/// `cluster:` — the Redis Cluster being watched.
struct ClusterConfig {
    std::string name;            ///< required; part of every peer message's HMAC
    std::vector<Address> seeds;  ///< ≥ 1
    std::string user;            ///< ACL user; empty = AUTH with the password only
    Secret password;             ///< `password_file`; empty = no AUTH
    TlsSettings tls;
    Duration connect_timeout = std::chrono::seconds(1);
    friend bool operator==(const ClusterConfig&, const ClusterConfig&) = default;
};

/// `detection.safe_mode:` — when this watcher distrusts its own opinions (Sentinel TILT).
struct SafeModeConfig {
    /// Event loop late by more than this, or the monotonic and wall clocks disagreeing by
    /// more than this between two ticks, enters safe mode.
    Duration loop_lag = std::chrono::milliseconds(500);
    /// How long opinions stay distrusted after the last such event.
    Duration hold = std::chrono::seconds(10);
    friend bool operator==(const SafeModeConfig&, const SafeModeConfig&) = default;
};

/// `detection:` — probing and the subjective-down rules.
struct DetectionConfig {
    Duration ping_interval = std::chrono::milliseconds(100);  ///< 10ms..10s
    /// Deadline of one PING. Range 10ms..down_after_unresponsive. It may exceed
    /// ping_interval: the client pipelines, so up to ceil(ping_timeout / ping_interval)
    /// PINGs are outstanding on a stalled node.
    Duration ping_timeout = std::chrono::seconds(1);
    Duration down_after = std::chrono::seconds(1);  ///< dead evidence → SDOWN; ≥ ping_interval
    Duration down_after_unresponsive = std::chrono::seconds(5);  ///< timeouts only; ≥ down_after
    Duration loading_grace = std::chrono::seconds(60);  ///< -LOADING counts as alive this long
    Duration info_interval = std::chrono::seconds(1);   ///< INFO replication period
    Duration nodes_interval = std::chrono::seconds(1);  ///< CLUSTER NODES refresh period
    std::uint32_t nodes_sample = 2;  ///< nodes asked for CLUSTER NODES per refresh, 1..100
    /// Watchers that must report SDOWN for ODOWN; 0 = default (see effective_quorum()).
    std::uint32_t quorum = 0;
    SafeModeConfig safe_mode;
    friend bool operator==(const DetectionConfig&, const DetectionConfig&) = default;
};

/// `election:` — the vote between watchers (Raft §5.2, §6 of Ongaro's thesis for leases).
struct ElectionConfig {
    Duration timeout_min = std::chrono::seconds(1);                ///< randomised in [min, max)
    Duration timeout_max = std::chrono::seconds(2);                ///< > timeout_min
    Duration heartbeat_interval = std::chrono::milliseconds(100);  ///< ≤ timeout_min / 3
    /// Allowed clock-rate drift between watchers, 0..0.5; the lease is
    /// timeout_min × (1 − lease_drift) − lease_margin, which must exceed heartbeat_interval.
    double lease_drift = 0.1;
    Duration lease_margin = std::chrono::milliseconds(100);
    /// A follower's opinion older than this (by the leader's receive time) is not counted.
    Duration opinion_max_age = std::chrono::seconds(1);  ///< ≥ 2 × heartbeat_interval
    /// The lease length defined above.
    Duration lease() const;
    friend bool operator==(const ElectionConfig&, const ElectionConfig&) = default;
};

/// `failover:` — what the leader does about an ODOWN master.
struct FailoverConfig {
    bool enabled = true;        ///< false: detect and alert only, no decisions
    bool observe_only = false;  ///< decide and report "would fail over", send nothing
    /// Timeouts-only evidence: fail over after down_after_unresponsive instead of
    /// max(down_after_unresponsive, cluster_node_timeout + 1s). Split-brain risk.
    bool fast_on_timeouts = false;
    bool allow_takeover = false;             ///< CLUSTER FAILOVER TAKEOVER when masters are lost
    bool takeover_when_unreachable = false;  ///< also when they may be alive; needs allow_takeover
    /// Replicas more than this many bytes behind the last known master offset are skipped.
    std::uint64_t max_lag_on_failover = std::uint64_t{64} * 1024 * 1024;
    /// A replica whose link to its master was down for longer than this before the master
    /// failed holds stale data and is skipped.
    Duration replica_max_link_down = std::chrono::seconds(10);
    std::vector<NodeRef> never_promote;
    Duration cooldown = std::chrono::minutes(5);  ///< per shard, after a failover
    std::uint32_t max_failovers = 3;              ///< global limit per max_failovers_window
    Duration max_failovers_window = std::chrono::hours(1);
    Duration timeout = std::chrono::seconds(30);  ///< command → promoted and verified
    /// cluster-node-timeout picket assumes (checked against CONFIG GET where allowed).
    Duration cluster_node_timeout = std::chrono::seconds(15);
    bool verify_write = false;  ///< verify with a write of a picket key on the new master
    std::vector<std::string> pre_failover_command;   ///< argv, absolute path; non-zero vetoes
    std::vector<std::string> post_failover_command;  ///< argv, absolute path
    Duration hook_timeout = std::chrono::seconds(10);
    std::vector<NodeRef> preferred_masters;
    bool failback = false;  ///< switch back to preferred_masters; needs them
    Duration failback_after = std::chrono::minutes(10);  ///< preferred node up and in sync
    friend bool operator==(const FailoverConfig&, const FailoverConfig&) = default;
};

/// One webhook receiver (Alertmanager webhook format v4).
struct ReceiverConfig {
    std::string name;      ///< unique; [A-Za-z0-9_.-]
    Url url;               ///< from `url`, or from the file named by `url_file`
    std::string url_file;  ///< set when the URL itself is a secret (Slack-style)
    Secret secret;         ///< `secret_file`: HMAC-SHA256 signing key; empty = unsigned
    Duration timeout = std::chrono::seconds(5);
    /// Event names or prefixes ending in '*' ("failover_*"); empty = every event.
    std::vector<std::string> events;
    bool send_resolved = true;
    std::uint32_t queue_size = 256;  ///< pending deliveries; the oldest is dropped when full
    std::string ca_file;             ///< for https; empty = system store
    friend bool operator==(const ReceiverConfig&, const ReceiverConfig&) = default;
};

/// `alerts.alertmanager:` — optional direct push to Alertmanager's API v2.
struct AlertmanagerConfig {
    Url url;  ///< base URL; picketd posts to <url>/api/v2/alerts
    Duration timeout = std::chrono::seconds(5);
    Duration resend_interval = std::chrono::minutes(1);
    std::string ca_file;
    friend bool operator==(const AlertmanagerConfig&, const AlertmanagerConfig&) = default;
};

/// `alerts:`
struct AlertsConfig {
    std::vector<ReceiverConfig> receivers;
    std::optional<AlertmanagerConfig> alertmanager;
    std::string runbook_base_url;  ///< annotations' runbook_url = base + "/" + event; may be empty
    /// generatorURL base; empty = "http://" + watcher.http_listen.
    std::string external_url;
    friend bool operator==(const AlertsConfig&, const AlertsConfig&) = default;
};

/// `http:` — the HTTP server's limits and the admin (state-changing) API.
struct HttpConfig {
    /// Admin API listener: loopback or a unix socket, or any address with admin_tls.
    Endpoint admin_listen{{"127.0.0.1", 7702}, {}};
    /// File mode of a unix admin socket: 0600 (picketd's user only) or 0660 (its group
    /// too, e.g. operators in group picket). The token is required either way.
    std::uint32_t admin_socket_mode = 0600;
    Secret admin_token;  ///< `admin_token_file`; empty = admin API off; ≥ 16 bytes
    ServerTlsSettings admin_tls;
    std::uint64_t max_header_bytes = 8 * 1024;
    std::uint64_t max_body_bytes = 64 * 1024;
    Duration request_timeout = std::chrono::seconds(10);  ///< whole request must arrive
    Duration idle_timeout = std::chrono::seconds(60);     ///< keep-alive between requests
    std::uint32_t max_connections = 64;
    friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

enum class LogLevel : std::uint8_t { kTrace, kDebug, kInfo, kWarn, kError };
enum class LogFormat : std::uint8_t { kText, kJson };
std::string_view to_string(LogLevel level);
std::string_view to_string(LogFormat format);
/// "trace", "debug", "info", "warn", "error" (for the --log-level flag too).
std::optional<LogLevel> parse_log_level(std::string_view text);
/// "text" or "json".
std::optional<LogFormat> parse_log_format(std::string_view text);

/// `log:` — overridden by --log-level / --log-format.
struct LogConfig {
    LogLevel level = LogLevel::kInfo;
    LogFormat format = LogFormat::kText;
    friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

/// The whole configuration, defaults filled in, validated.
struct Config {
    std::string file;  ///< the file it was read from (for messages)
    WatcherConfig watcher;
    PeersConfig peers;
    ClusterConfig cluster;
    DetectionConfig detection;
    ElectionConfig election;
    FailoverConfig failover;
    AlertsConfig alerts;
    HttpConfig http;
    LogConfig log;
    /// Valid but risky or odd settings, in file order (same format as errors).
    std::vector<Diagnostic> warnings;

    /// Number of voters: the peers plus this watcher.
    std::size_t voter_count() const { return peers.members.size() + 1; }
    /// Every voter's id, this watcher's included, sorted (the voter set).
    std::vector<std::string> voter_ids() const;
    /// detection.quorum, or when 0: a majority of the voters, capped at N − 1 when N > 1
    /// (the watcher on a dead master's VM dies with it).
    std::uint32_t effective_quorum() const;
};

/// Parses and validates configuration text. `file_name` is used in messages and to
/// resolve relative file paths (secret files, TLS files, state_dir): they are taken
/// relative to its directory. Secrets are read with `read_secret`.
Expected<Config, ConfigError> parse_config(std::string_view yaml_text, std::string_view file_name,
                                           const SecretReader& read_secret);

/// Reads the file (at most 1 MiB) and parses it with read_secret_file.
Expected<Config, ConfigError> load_config(const std::string& path);

/// What differs between two configs in keys that a SIGHUP reload cannot apply, one
/// "key: old -> new" line each (secrets: "key: content changed"). Empty = reloadable.
/// Restart-only keys: watcher.*, peers (members and secret), cluster.name, cluster.user,
/// cluster.password_file, cluster.tls, election.*, http.admin_listen, http.admin_tls, and
/// http.admin_token_file being set or unset (it turns the admin listener on or off).
std::vector<std::string> restart_required_changes(const Config& old_config,
                                                  const Config& next_config);

/// The configuration a SIGHUP reload switches to: `next`, except that every restart-only key
/// (the ones restart_required_changes() reports) keeps its running value. Warnings are
/// `next`'s.
Config merge_for_reload(const Config& running, const Config& next);

/// The effective configuration as YAML that parse_config accepts again: every key, with
/// defaults filled in. Secrets appear only as their file names, never their content.
std::string render_effective(const Config& config);

}  // namespace picket::config
