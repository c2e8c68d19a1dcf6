#include "picket/testing/redis_cluster.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "picket/testing/process.h"
#include "picket/testing/wait.h"

namespace picket::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kQueryTimeout = 2s;

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    // Bounded by the text: each iteration consumes one field.
    while (true) {
        const auto pos = s.find(sep);
        out.push_back(s.substr(0, pos));
        if (pos == std::string_view::npos) {
            break;
        }
        s.remove_prefix(pos + 1);
    }
    return out;
}

int to_int(std::string_view s) {
    int v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && ptr == s.data() + s.size() ? v : 0;
}

milliseconds left_until(Clock::time_point deadline) {
    return std::max(milliseconds(0),
                    std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

const ClusterNodeEntry* find_entry(const std::vector<ClusterNodeEntry>& view, std::string_view id) {
    for (const auto& e : view) {
        if (e.id == id) {
            return &e;
        }
    }
    return nullptr;
}

const ClusterNodeEntry* find_self(const std::vector<ClusterNodeEntry>& view) {
    for (const auto& e : view) {
        if (e.has_flag("myself")) {
            return &e;
        }
    }
    return nullptr;
}

std::string join(const std::vector<std::string>& v, char sep) {
    std::string s;
    for (const auto& x : v) {
        if (!s.empty()) {
            s += sep;
        }
        s += x;
    }
    return s;
}

}  // namespace

bool ClusterNodeEntry::has_flag(std::string_view flag) const {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

std::vector<ClusterNodeEntry> parse_cluster_nodes(std::string_view text) {
    std::vector<ClusterNodeEntry> out;
    for (std::string_view line : split(text, '\n')) {
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        std::vector<std::string_view> f;
        for (const auto field : split(line, ' ')) {
            if (!field.empty()) {
                f.push_back(field);
            }
        }
        if (f.size() < 8) {
            continue;
        }
        ClusterNodeEntry e;
        e.id = std::string(f[0]);
        // ip:port@cport[,hostname]
        const auto addr = f[1];
        const auto at = addr.find('@');
        const auto hostport = addr.substr(0, at);
        const auto colon = hostport.rfind(':');
        if (colon != std::string_view::npos) {
            e.host = std::string(hostport.substr(0, colon));
            e.port = to_int(hostport.substr(colon + 1));
        }
        if (at != std::string_view::npos) {
            e.bus_port = to_int(split(addr.substr(at + 1), ',')[0]);
        }
        for (const auto flag : split(f[2], ',')) {
            e.flags.emplace_back(flag);
        }
        e.master_id = std::string(f[3]);
        e.link_state = std::string(f[7]);
        for (std::size_t i = 8; i < f.size(); ++i) {
            e.slots.emplace_back(f[i]);
        }
        out.push_back(std::move(e));
    }
    return out;
}

std::unique_ptr<RedisCluster> RedisCluster::create(ClusterOptions options) {
    if (options.masters < 3) {
        throw std::invalid_argument("RedisCluster: redis-cli --cluster create needs >= 3 masters");
    }
    if (options.replicas_per_master < 0 || !options.node.cluster_enabled) {
        throw std::invalid_argument("RedisCluster: bad options");
    }
    const auto deadline = Clock::now() + options.ready_timeout;
    std::unique_ptr<RedisCluster> c(new RedisCluster(std::move(options)));
    const auto& o = c->options_;
    const auto count = static_cast<std::size_t>(o.masters * (1 + o.replicas_per_master));

    // Start all processes first, then wait: start-up overlaps.
    for (std::size_t i = 0; i < count; ++i) {
        c->nodes_.push_back(RedisNode::launch(o.node, o.name + "-" + std::to_string(i)));
    }
    for (auto& n : c->nodes_) {
        n->wait_ready(std::max(left_until(deadline), milliseconds(1)));
        c->ids_.push_back(n->cli_ok({"CLUSTER", "MYID"}));
    }

    std::vector<std::string> argv = c->nodes_[0]->cli_prefix(CliOptions{});
    argv.insert(argv.end(), {"--cluster", "create"});
    for (const auto& n : c->nodes_) {
        argv.push_back(n->address());
    }
    argv.insert(argv.end(),
                {"--cluster-replicas", std::to_string(o.replicas_per_master), "--cluster-yes"});
    const ProcessResult r = run_process(argv, std::max(left_until(deadline), milliseconds(1)));
    if (!r.exited_ok()) {
        throw std::runtime_error("redis-cli --cluster create failed: " + r.describe() + "\n" +
                                 c->diagnostics());
    }
    std::string last;
    const bool settled = c->wait_for(
        [&] {
            const auto why = c->unsettled_reason();
            last = why.value_or("");
            return !why;
        },
        left_until(deadline));
    if (!settled) {
        c->fail_wait("cluster creation (cluster_state:ok everywhere, full views, replicas synced)",
                     last);
    }
    return c;
}

RedisCluster::~RedisCluster() {
    // SIGTERM everyone first so the bounded waits in ~RedisNode overlap.
    for (auto& n : nodes_) {
        n->request_stop();
    }
    nodes_.clear();
}

RedisNode& RedisCluster::node(std::size_t i) {
    if (i >= nodes_.size()) {
        throw std::out_of_range("RedisCluster::node(" + std::to_string(i) + ")");
    }
    return *nodes_[i];
}

const std::string& RedisCluster::node_id(std::size_t i) const {
    if (i >= ids_.size()) {
        throw std::out_of_range("RedisCluster::node_id(" + std::to_string(i) + ")");
    }
    return ids_[i];
}

std::optional<std::size_t> RedisCluster::index_of_node_id(std::string_view id) const {
    for (std::size_t i = 0; i < ids_.size(); ++i) {
        if (ids_[i] == id) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> RedisCluster::index_of_port(int port) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i]->port() == port) {
            return i;
        }
    }
    return std::nullopt;
}

std::vector<std::string> RedisCluster::addresses() const {
    std::vector<std::string> out;
    for (const auto& n : nodes_) {
        out.push_back(n->address());
    }
    return out;
}

std::vector<ClusterNodeEntry> RedisCluster::cluster_nodes(std::size_t i) {
    RedisNode& n = node(i);
    if (!n.reachable()) {
        return {};
    }
    const CliResult r = n.cli({"CLUSTER", "NODES"}, kQueryTimeout);
    return r.ok() ? parse_cluster_nodes(r.out) : std::vector<ClusterNodeEntry>{};
}

std::vector<std::size_t> RedisCluster::master_indices() {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < size(); ++i) {
        const auto view = cluster_nodes(i);
        const auto* self = find_self(view);
        if (self != nullptr && self->is_master()) {
            out.push_back(i);
        }
    }
    return out;
}

std::vector<std::size_t> RedisCluster::replica_indices() {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < size(); ++i) {
        const auto view = cluster_nodes(i);
        const auto* self = find_self(view);
        if (self != nullptr && self->is_replica()) {
            out.push_back(i);
        }
    }
    return out;
}

std::vector<std::size_t> RedisCluster::replica_of(std::size_t master_index) {
    const std::string& master_id = node_id(master_index);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < size(); ++i) {
        const auto view = cluster_nodes(i);
        const auto* self = find_self(view);
        if (self != nullptr && self->is_replica() && self->master_id == master_id) {
            out.push_back(i);
        }
    }
    return out;
}

bool RedisCluster::wait_for(const std::function<bool()>& predicate, milliseconds timeout,
                            milliseconds interval) {
    return wait_until(predicate, timeout, interval);
}

std::optional<std::string> RedisCluster::unsettled_reason() {
    struct View {
        std::size_t index;
        std::vector<ClusterNodeEntry> entries;
        ClusterNodeEntry self;
    };
    std::vector<View> views;
    for (std::size_t i = 0; i < size(); ++i) {
        RedisNode& n = *nodes_[i];
        if (!n.reachable()) {
            continue;
        }
        const CliResult info = n.cli({"CLUSTER", "INFO"}, kQueryTimeout);
        if (!info.ok()) {
            return n.name() + ": CLUSTER INFO failed: " + info.describe();
        }
        const auto state = parse_info_field(info.out, "cluster_state");
        if (state != "ok") {
            return n.name() + " says cluster_state:" + state.value_or("?");
        }
        const CliResult nodes = n.cli({"CLUSTER", "NODES"}, kQueryTimeout);
        if (!nodes.ok()) {
            return n.name() + ": CLUSTER NODES failed: " + nodes.describe();
        }
        auto entries = parse_cluster_nodes(nodes.out);
        const auto* self = find_self(entries);
        if (self == nullptr || self->id != ids_[i]) {
            return n.name() + ": CLUSTER NODES has no myself line with its id";
        }
        ClusterNodeEntry self_copy = *self;
        views.push_back(View{i, std::move(entries), std::move(self_copy)});
    }
    for (const auto& v : views) {
        const std::string& who = nodes_[v.index]->name();
        if (v.entries.size() != size()) {
            return who + " knows " + std::to_string(v.entries.size()) + " nodes, expected " +
                   std::to_string(size());
        }
        for (const auto& e : v.entries) {
            const auto j = index_of_node_id(e.id);
            if (!j) {
                return who + " lists unknown node " + e.id;
            }
            if (e.has_flag("handshake") || e.has_flag("noaddr")) {
                return who + " lists " + nodes_[*j]->name() + " as " + join(e.flags, ',');
            }
        }
        for (const auto& w : views) {
            const auto* e = find_entry(v.entries, ids_[w.index]);
            const std::string& whom = nodes_[w.index]->name();
            if (e->is_failing()) {
                return who + " marks " + whom + " " + join(e->flags, ',');
            }
            if (e->is_master() != w.self.is_master() ||
                (w.self.is_replica() && e->master_id != w.self.master_id)) {
                return who + " thinks " + whom + " is " + join(e->flags, ',') + " of " +
                       e->master_id + "; it says " + join(w.self.flags, ',') + " of " +
                       w.self.master_id;
            }
        }
    }
    for (const auto& v : views) {
        if (v.self.is_replica()) {
            RedisNode& n = *nodes_[v.index];
            const auto link = n.info_field("replication", "master_link_status");
            if (link != "up") {
                return n.name() + " has master_link_status:" + link.value_or("?");
            }
        }
    }
    return std::nullopt;
}

void RedisCluster::fail_wait(const std::string& what, const std::string& last_reason) {
    throw std::runtime_error("RedisCluster: timed out waiting for " + what +
                             "; last reason: " + last_reason + "\n" + diagnostics());
}

void RedisCluster::wait_cluster_ok(milliseconds timeout) {
    std::string last;
    const bool ok = wait_for(
        [&] {
            const auto why = unsettled_reason();
            last = why.value_or("");
            return !why;
        },
        timeout);
    if (!ok) {
        fail_wait("a settled cluster", last);
    }
}

void RedisCluster::wait_until_master(std::size_t i, milliseconds timeout) {
    const std::string& id = node_id(i);
    RedisNode& target = node(i);
    std::string last;
    const bool ok = wait_for(
        [&] {
            if (!target.reachable()) {
                last = target.name() + " is not reachable";
                return false;
            }
            const auto role = target.info_field("replication", "role");
            if (role != "master") {
                last = target.name() + " has role:" + role.value_or("?");
                return false;
            }
            for (std::size_t j = 0; j < size(); ++j) {
                if (j == i || !nodes_[j]->reachable()) {
                    continue;
                }
                const auto view = cluster_nodes(j);
                const auto* e = find_entry(view, id);
                if (e == nullptr || !e->is_master() || e->is_failing()) {
                    last = nodes_[j]->name() + " does not list " + target.name() +
                           " as a healthy master";
                    return false;
                }
            }
            return true;
        },
        timeout);
    if (!ok) {
        fail_wait(target.name() + " to be master", last);
    }
}

void RedisCluster::wait_until_failed(std::size_t i, milliseconds timeout) {
    const std::string& id = node_id(i);
    const std::string& name = node(i).name();
    std::string last;
    const bool ok = wait_for(
        [&] {
            for (std::size_t j = 0; j < size(); ++j) {
                if (j == i || !nodes_[j]->reachable()) {
                    continue;
                }
                const auto view = cluster_nodes(j);
                const auto* e = find_entry(view, id);
                if (e == nullptr || !e->has_flag("fail")) {
                    last = nodes_[j]->name() + " does not flag " + name + " fail" +
                           (e != nullptr ? " (" + join(e->flags, ',') + ")" : "");
                    return false;
                }
            }
            return true;
        },
        timeout);
    if (!ok) {
        fail_wait(name + " to be flagged fail", last);
    }
}

void RedisCluster::wait_until_replica_of(std::size_t r, std::size_t m, milliseconds timeout) {
    const std::string& id = node_id(r);
    const std::string& master_id = node_id(m);
    RedisNode& replica = node(r);
    std::string last;
    const bool ok = wait_for(
        [&] {
            if (!replica.reachable()) {
                last = replica.name() + " is not reachable";
                return false;
            }
            for (std::size_t j = 0; j < size(); ++j) {
                if (!nodes_[j]->reachable()) {
                    continue;
                }
                const auto view = cluster_nodes(j);
                const auto* e = find_entry(view, id);
                if (e == nullptr || !e->is_replica() || e->master_id != master_id ||
                    e->is_failing()) {
                    last = nodes_[j]->name() + " does not list " + replica.name() +
                           " as a healthy replica of " + node(m).name();
                    return false;
                }
            }
            const auto link = replica.info_field("replication", "master_link_status");
            if (link != "up") {
                last = replica.name() + " has master_link_status:" + link.value_or("?");
                return false;
            }
            return true;
        },
        timeout);
    if (!ok) {
        fail_wait(replica.name() + " to replicate " + node(m).name(), last);
    }
}

void RedisCluster::create_acl_user(const std::string& name, const std::string& password,
                                   const std::vector<std::string>& rules) {
    for (auto& n : nodes_) {
        if (!n->reachable()) {
            continue;
        }
        std::vector<std::string> args{"ACL", "SETUSER", name, "reset", "on", ">" + password};
        args.insert(args.end(), rules.begin(), rules.end());
        n->cli_ok(std::move(args));
    }
}

std::string RedisCluster::diagnostics() {
    std::string s;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        RedisNode& n = *nodes_[i];
        const bool running = n.running();
        s += "=== " + n.name() + " " + n.address() + " id=" + (i < ids_.size() ? ids_[i] : "?") +
             " pid=" + std::to_string(n.pid()) +
             (running ? (n.paused() ? " (paused)" : " (running)") : " (down)") + " dir=" + n.dir() +
             "\n";
        if (n.reachable()) {
            const CliResult r = n.cli({"CLUSTER", "NODES"}, kQueryTimeout);
            s += "--- CLUSTER NODES: " + (r.ok() ? "\n" + r.out : r.describe() + "\n");
        }
        s += "--- log tail:\n" + n.log_tail(25) + "\n";
    }
    return s;
}

}  // namespace picket::testing
