#pragma once
// One real redis-server process in its own temporary directory, driven with the real
// redis-cli (never picket's own RESP client, which is what the tests are testing).

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "picket/testing/process.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/tls_material.h"

namespace picket::testing {

/// Credentials redis-cli sends: `AUTH user password`, or `AUTH password` when user is empty.
struct CliAuth {
    std::string user;
    std::string password;
};

/// How to configure a node. The defaults are the Redis Cluster tutorial's settings.
struct NodeOptions {
    int cluster_node_timeout_ms = 15000;
    bool cluster_enabled = true;
    bool appendonly = true;
    /// `key value` lines appended verbatim after the generated ones, so they override
    /// them (redis keeps the last value of a single-valued option).
    std::vector<std::pair<std::string, std::string>> extra_config;
    /// Serve TLS only: `port 0`, `tls-port P`; plus tls-cluster and tls-replication when
    /// cluster_enabled. Clients need not present a certificate (tls-auth-clients optional).
    std::optional<TlsServerFiles> tls;
    /// Sets requirepass and masterauth (so replicas can sync) and makes cli() use it.
    std::optional<std::string> password;
    /// Credentials cli() uses by default; overrides `password` for the CLI only.
    std::optional<CliAuth> cli_auth;
    /// How long start() and restart() wait for the first PONG.
    std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
};

/// What one redis-cli run did. redis-cli is always run with -e, so an error reply gives
/// exit code 1 (the error text is on stderr).
struct CliResult {
    int exit_code = -1;
    bool timed_out = false;
    std::string out;  ///< stdout (--raw formatting: replies as-is, one per line)
    std::string err;  ///< stderr

    /// Exit 0, not timed out, and no "AUTH failed" on stderr: redis-cli 7.0 only warns when
    /// AUTH fails and then runs the command as the `default` user, exit code 0.
    bool ok() const;
    /// stdout without trailing newlines.
    std::string trimmed() const;
    /// For failure messages.
    std::string describe() const;
};

/// Per-call redis-cli settings; the defaults follow the node's options.
struct CliOptions {
    /// Credentials instead of the node's default ones.
    std::optional<CliAuth> auth;
    /// Send no credentials at all, even if the node has default ones.
    bool no_auth = false;
    /// -c: follow MOVED/ASK redirections.
    bool follow_redirects = false;
    /// TLS nodes: the CA file to verify the server with instead of the node's CA.
    std::string ca_cert;
    /// TLS nodes: present the client certificate from NodeOptions::tls (or these files).
    bool present_client_cert = true;
    std::string client_cert;
    std::string client_key;
};

/// One redis-server child process, owned by the test. Its config, logs, AOF and
/// nodes.conf live in its own TempDir; restart() reuses them, so a restarted cluster node
/// rejoins with its identity. The destructor always stops and reaps the process (SIGCONT,
/// SIGTERM, bounded wait, SIGKILL), also when a test fails or throws. Not thread-safe.
class RedisNode {
  public:
    /// Picks a free port, writes redis.conf, starts redis-server and waits until it
    /// answers PING. Retries with another port (at most 3 times) if the port was taken
    /// meanwhile. Throws std::runtime_error with the log tail on failure.
    static std::unique_ptr<RedisNode> start(NodeOptions options, std::string name);
    /// Like start() but returns as soon as the process is spawned; call wait_ready().
    /// Lets a cluster start its nodes in parallel.
    static std::unique_ptr<RedisNode> launch(NodeOptions options, std::string name);
    ~RedisNode();
    RedisNode(const RedisNode&) = delete;
    RedisNode& operator=(const RedisNode&) = delete;

    /// Waits (bounded) for PONG; throws with the log tail if the process exits or time runs out.
    void wait_ready(std::chrono::milliseconds timeout);

    const std::string& name() const { return name_; }
    /// The client port (the TLS port for TLS nodes). Fixed for the node's lifetime.
    int port() const { return port_; }
    /// "127.0.0.1:P".
    std::string address() const;
    /// The running process's pid, 0 when not running.
    pid_t pid() const { return process_.pid(); }
    /// The node's own directory (redis.conf, redis.log, nodes.conf, appendonlydir).
    const std::string& dir() const { return dir_.path(); }
    const NodeOptions& options() const { return options_; }
    bool tls() const { return options_.tls.has_value(); }

    /// SIGKILL and reap: a crash, as far as the rest of the cluster can tell.
    void kill();
    /// SIGSTOP: the process keeps its sockets but answers nothing (a hung node).
    void pause();
    /// SIGCONT after pause().
    void resume();
    /// Graceful stop (SIGTERM, bounded wait, then SIGKILL) without restarting.
    void stop();
    /// Sends SIGCONT + SIGTERM without waiting (stop() or the destructor finish the job).
    void request_stop();
    /// Stops the node if it runs, then starts it again on the same port with the same
    /// directory and waits for PING. Cluster nodes rejoin from nodes.conf.
    void restart();
    /// Whether the process exists (paused counts as running). Reaps it if it died.
    bool running();
    /// Between pause() and resume().
    bool paused() const { return paused_; }
    /// Running and not paused: a command can be expected to get an answer.
    bool reachable() { return running() && !paused_; }

    /// Runs `redis-cli -h 127.0.0.1 -p P -e [--tls --cacert ...] [--user U --pass W] args...`.
    CliResult cli(std::vector<std::string> args,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
    CliResult cli_with(const CliOptions& cli_options, std::vector<std::string> args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// cli() that throws std::runtime_error (naming the node and the error) unless ok();
    /// returns stdout without trailing newlines.
    std::string cli_ok(std::vector<std::string> args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// The redis-cli argv prefix cli_with() uses (for `redis-cli --cluster ...` commands).
    std::vector<std::string> cli_prefix(const CliOptions& cli_options) const;

    /// `INFO section` parsed field, e.g. info_field("replication", "role").
    std::optional<std::string> info_field(std::string_view section, std::string_view field);

    /// The last lines of redis.log (and of stdout/stderr, where config errors go).
    std::string log_tail(std::size_t max_lines = 40) const;

  private:
    RedisNode(NodeOptions options, std::string name);
    void write_config();
    void spawn();

    NodeOptions options_;
    std::string name_;
    TempDir dir_;
    int port_ = 0;
    ChildProcess process_;
    bool paused_ = false;
    /// Has answered PING once; from then on the port is the node's identity.
    bool ever_ready_ = false;
};

/// The value of `field` in INFO output ("field:value" lines), if present.
std::optional<std::string> parse_info_field(std::string_view info, std::string_view field);

}  // namespace picket::testing
