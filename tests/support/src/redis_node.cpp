#include "picket/testing/redis_node.h"

#include <signal.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "picket/testing/ports.h"
#include "picket/testing/wait.h"

namespace picket::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kMaxPortAttempts = 3;
constexpr milliseconds kStopGrace = 5s;

const std::string& redis_server_binary() {
    static const std::string path = find_executable("redis-server", "PICKET_REDIS_SERVER");
    return path;
}

const std::string& redis_cli_binary() {
    static const std::string path = find_executable("redis-cli", "PICKET_REDIS_CLI");
    return path;
}

/// A redis.conf string argument: double-quoted, with \ and " escaped.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '\\' || c == '"') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
    return out;
}

std::string rstrip_newlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

}  // namespace

bool CliResult::ok() const {
    return exit_code == 0 && !timed_out && err.find("AUTH failed") == std::string::npos;
}

std::string CliResult::trimmed() const {
    return rstrip_newlines(out);
}

std::string CliResult::describe() const {
    std::string s = timed_out ? "timed out" : "exit " + std::to_string(exit_code);
    if (!err.empty()) {
        s += ", stderr: " + rstrip_newlines(err);
    }
    if (!out.empty()) {
        s += ", stdout: " + rstrip_newlines(out).substr(0, 4000);
    }
    return s;
}

std::optional<std::string> parse_info_field(std::string_view info, std::string_view field) {
    // Bounded by the text: each iteration consumes one line.
    while (!info.empty()) {
        const auto nl = info.find('\n');
        std::string_view line = info.substr(0, nl);
        info = nl == std::string_view::npos ? std::string_view{} : info.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.size() > field.size() && line.substr(0, field.size()) == field &&
            line[field.size()] == ':') {
            return std::string(line.substr(field.size() + 1));
        }
    }
    return std::nullopt;
}

RedisNode::RedisNode(NodeOptions options, std::string name)
    : options_(std::move(options)),
      name_(std::move(name)),
      dir_("picket-" + name_),
      port_(free_port()) {}

RedisNode::~RedisNode() {
    process_.stop(kStopGrace);
}

std::unique_ptr<RedisNode> RedisNode::launch(NodeOptions options, std::string name) {
    std::unique_ptr<RedisNode> node(new RedisNode(std::move(options), std::move(name)));
    node->spawn();
    return node;
}

std::unique_ptr<RedisNode> RedisNode::start(NodeOptions options, std::string name) {
    auto node = launch(std::move(options), std::move(name));
    node->wait_ready(node->options_.start_timeout);
    return node;
}

void RedisNode::write_config() {
    const auto& o = options_;
    std::string c = "# Written by picket::testing::RedisNode \"" + name_ + "\"\n";
    auto line = [&c](std::string_view key, std::string_view value) {
        c.append(key).append(" ").append(value).append("\n");
    };
    line("bind", "127.0.0.1");
    line("protected-mode", "no");
    line("daemonize", "no");
    line("dir", quoted(dir()));
    line("logfile", quoted(dir_.file("redis.log")));
    line("save", "\"\"");
    line("appendonly", o.appendonly ? "yes" : "no");
    // Redis 7 waits 5 s for more replicas before a diskless full sync; tests want it now.
    line("repl-diskless-sync-delay", "0");
    if (o.tls) {
        line("port", "0");
        line("tls-port", std::to_string(port_));
        line("tls-cert-file", quoted(o.tls->server_cert));
        line("tls-key-file", quoted(o.tls->server_key));
        line("tls-ca-cert-file", quoted(o.tls->ca_cert));
        line("tls-auth-clients", "optional");
        if (o.cluster_enabled) {
            line("tls-cluster", "yes");
            line("tls-replication", "yes");
        }
    } else {
        line("port", std::to_string(port_));
    }
    if (o.cluster_enabled) {
        line("cluster-enabled", "yes");
        line("cluster-config-file", quoted(dir_.file("nodes.conf")));
        line("cluster-node-timeout", std::to_string(o.cluster_node_timeout_ms));
    }
    if (o.password) {
        line("requirepass", quoted(*o.password));
        line("masterauth", quoted(*o.password));
    }
    for (const auto& [key, value] : o.extra_config) {
        line(key, value);
    }
    write_file(dir_.file("redis.conf"), c);
}

void RedisNode::spawn() {
    write_config();
    paused_ = false;
    process_ = ChildProcess::spawn({redis_server_binary(), dir_.file("redis.conf")},
                                   dir_.file("stdout.log"));
}

void RedisNode::wait_ready(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    int port_attempts = 1;
    const long max_iterations = timeout / 20ms + 10;
    for (long i = 0; i < max_iterations && Clock::now() < deadline; ++i) {
        if (!process_.running()) {
            // Another process may have taken the port between free_port() and bind().
            // Only a node that never ran may move: a restarted one must keep its address.
            const bool port_taken =
                log_tail(10).find("Address already in use") != std::string::npos;
            if (!ever_ready_ && port_taken && port_attempts < kMaxPortAttempts) {
                ++port_attempts;
                port_ = free_port();
                spawn();
                continue;
            }
            throw std::runtime_error(
                "redis node " + name_ + " exited during start-up (wait status " +
                std::to_string(process_.last_wait_status()) + "); log:\n" + log_tail());
        }
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        const CliResult r = cli({"PING"}, std::clamp(left, milliseconds(100), milliseconds(2000)));
        if (r.ok() && r.trimmed() == "PONG") {
            ever_ready_ = true;
            return;
        }
        std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("redis node " + name_ + " at " + address() +
                             " did not answer PING within " + std::to_string(timeout.count()) +
                             " ms; log:\n" + log_tail());
}

std::string RedisNode::address() const {
    return "127.0.0.1:" + std::to_string(port_);
}

void RedisNode::kill() {
    process_.kill_and_reap();
    paused_ = false;
}

void RedisNode::pause() {
    if (!process_.send_signal(SIGSTOP)) {
        throw std::runtime_error("pause: redis node " + name_ + " is not running");
    }
    paused_ = true;
    // The signal is asynchronous; tests expect "paused" to hold when we return.
    wait_until([this] { return process_state(process_.pid()) == 'T'; }, 2s, 1ms);
}

void RedisNode::resume() {
    if (!process_.send_signal(SIGCONT)) {
        throw std::runtime_error("resume: redis node " + name_ + " is not running");
    }
    paused_ = false;
    wait_until([this] { return process_state(process_.pid()) != 'T'; }, 2s, 1ms);
}

void RedisNode::stop() {
    process_.stop(kStopGrace);
    paused_ = false;
}

void RedisNode::request_stop() {
    process_.send_signal(SIGCONT);
    process_.send_signal(SIGTERM);
    paused_ = false;
}

void RedisNode::restart() {
    stop();
    spawn();
    wait_ready(options_.start_timeout);
}

bool RedisNode::running() {
    return process_.running();
}

std::vector<std::string> RedisNode::cli_prefix(const CliOptions& cli_options) const {
    std::vector<std::string> args{redis_cli_binary(),    "-h", "127.0.0.1",        "-p",
                                  std::to_string(port_), "-e", "--no-auth-warning"};
    if (options_.tls) {
        const auto& t = *options_.tls;
        args.insert(args.end(), {"--tls", "--cacert",
                                 cli_options.ca_cert.empty() ? t.ca_cert : cli_options.ca_cert});
        if (cli_options.present_client_cert) {
            args.insert(
                args.end(),
                {"--cert",
                 cli_options.client_cert.empty() ? t.client_cert : cli_options.client_cert, "--key",
                 cli_options.client_key.empty() ? t.client_key : cli_options.client_key});
        }
    }
    std::optional<CliAuth> auth;
    if (!cli_options.no_auth) {
        if (cli_options.auth) {
            auth = cli_options.auth;
        } else if (options_.cli_auth) {
            auth = options_.cli_auth;
        } else if (options_.password) {
            auth = CliAuth{"", *options_.password};
        }
    }
    if (auth) {
        if (!auth->user.empty()) {
            args.insert(args.end(), {"--user", auth->user});
        }
        args.insert(args.end(), {"--pass", auth->password});
    }
    if (cli_options.follow_redirects) {
        args.emplace_back("-c");
    }
    return args;
}

CliResult RedisNode::cli(std::vector<std::string> args, milliseconds timeout) {
    return cli_with(CliOptions{}, std::move(args), timeout);
}

CliResult RedisNode::cli_with(const CliOptions& cli_options, std::vector<std::string> args,
                              milliseconds timeout) {
    std::vector<std::string> argv = cli_prefix(cli_options);
    argv.insert(argv.end(), std::make_move_iterator(args.begin()),
                std::make_move_iterator(args.end()));
    ProcessResult p = run_process(argv, timeout);
    CliResult r;
    r.exit_code = p.exit_code;
    r.timed_out = p.timed_out;
    r.out = std::move(p.out);
    r.err = std::move(p.err);
    return r;
}

std::string RedisNode::cli_ok(std::vector<std::string> args, milliseconds timeout) {
    std::string what;
    for (const auto& a : args) {
        what += (what.empty() ? "" : " ") + a;
    }
    const CliResult r = cli(std::move(args), timeout);
    if (!r.ok()) {
        throw std::runtime_error("redis-cli " + what + " on " + name_ + " (" + address() +
                                 ") failed: " + r.describe());
    }
    return r.trimmed();
}

std::optional<std::string> RedisNode::info_field(std::string_view section, std::string_view field) {
    const CliResult r = cli({"INFO", std::string(section)}, 2s);
    if (!r.ok()) {
        return std::nullopt;
    }
    return parse_info_field(r.out, field);
}

std::string RedisNode::log_tail(std::size_t max_lines) const {
    std::string s = tail_file(dir_.file("redis.log"), max_lines);
    const std::string early = tail_file(dir_.file("stdout.log"), max_lines);
    if (!early.empty()) {
        s += "\n[stdout/stderr]\n" + early;
    }
    return s;
}

}  // namespace picket::testing
