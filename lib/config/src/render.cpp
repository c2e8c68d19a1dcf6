// render_effective (the effective config as YAML, for --check-config) and
// restart_required_changes (what a SIGHUP reload cannot apply).

#include <charconv>
#include <cstdio>
#include <string>
#include <system_error>

#include "picket/config/config.h"

namespace picket::config {
namespace {

/// A YAML double-quoted string: always valid, whatever the content.
std::string q(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string b(bool v) {
    return v ? "true" : "false";
}
std::string d(Duration v) {
    return format_duration(v);
}

std::string num(double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : "0";
}

/// Appends YAML lines with indentation.
class Out {
  public:
    void line(int indent, const std::string& text) {
        text_.append(static_cast<std::size_t>(indent) * 2, ' ');
        text_ += text;
        text_ += '\n';
    }
    void kv(int indent, std::string_view key, const std::string& value) {
        line(indent, std::string(key) + ": " + value);
    }
    /// An optional string: the key, or a comment saying it is not set.
    void opt(int indent, std::string_view key, const std::string& value) {
        if (value.empty()) {
            line(indent, "# " + std::string(key) + ": (not set)");
        } else {
            kv(indent, key, q(value));
        }
    }
    void secret(int indent, std::string_view key, const Secret& s) {
        if (s.empty()) {
            line(indent, "# " + std::string(key) + ": (not set)");
        } else {
            kv(indent, key, q(s.file) + "  # <from file; content not shown>");
        }
    }
    void list(int indent, std::string_view key, const std::vector<std::string>& items) {
        if (items.empty()) {
            kv(indent, key, "[]");
            return;
        }
        line(indent, std::string(key) + ":");
        for (const auto& i : items) {
            line(indent + 1, "- " + q(i));
        }
    }
    void refs(int indent, std::string_view key, const std::vector<NodeRef>& items) {
        std::vector<std::string> text;
        for (const auto& r : items) {
            text.push_back(r.to_string());
        }
        list(indent, key, text);
    }
    std::string take() { return std::move(text_); }

  private:
    std::string text_;
};

}  // namespace

std::string render_effective(const Config& c) {
    Out o;
    o.line(0, "# Effective configuration of picket watcher " + q(c.watcher.id) + " read from " +
                  q(c.file) + ",");
    o.line(0, "# with every default filled in. Secrets are shown as their files only.");
    o.line(0, "watcher:");
    o.kv(1, "id", q(c.watcher.id));
    o.kv(1, "peer_listen", q(c.watcher.peer_listen.to_string()));
    o.kv(1, "http_listen", q(c.watcher.http_listen.to_string()));
    o.kv(1, "state_dir", q(c.watcher.state_dir));

    o.line(0, "peers:");
    o.line(1, "# voters: " + std::to_string(c.voter_count()) +
                  ", effective quorum: " + std::to_string(c.effective_quorum()));
    o.secret(1, "secret_file", c.peers.secret);
    if (c.peers.members.empty()) {
        o.kv(1, "members", "[]");
    } else {
        o.line(1, "members:");
        for (const auto& p : c.peers.members) {
            o.line(2, "- id: " + q(p.id));
            o.kv(3, "address", q(p.address.to_string()));
        }
    }

    o.line(0, "cluster:");
    o.kv(1, "name", q(c.cluster.name));
    std::vector<std::string> seeds;
    for (const auto& s : c.cluster.seeds) {
        seeds.push_back(s.to_string());
    }
    o.list(1, "seeds", seeds);
    o.opt(1, "user", c.cluster.user);
    o.secret(1, "password_file", c.cluster.password);
    o.kv(1, "connect_timeout", d(c.cluster.connect_timeout));
    o.line(1, "tls:");
    o.kv(2, "enabled", b(c.cluster.tls.enabled));
    o.opt(2, "ca_file", c.cluster.tls.ca_file);
    o.opt(2, "cert_file", c.cluster.tls.cert_file);
    o.opt(2, "key_file", c.cluster.tls.key_file);
    o.opt(2, "server_name", c.cluster.tls.server_name);
    o.kv(2, "verify_peer", b(c.cluster.tls.verify_peer));
    o.kv(2, "verify_hostname", b(c.cluster.tls.verify_hostname));

    const auto& det = c.detection;
    o.line(0, "detection:");
    o.kv(1, "ping_interval", d(det.ping_interval));
    o.kv(1, "ping_timeout", d(det.ping_timeout));
    o.kv(1, "down_after", d(det.down_after));
    o.kv(1, "down_after_unresponsive", d(det.down_after_unresponsive));
    o.kv(1, "loading_grace", d(det.loading_grace));
    o.kv(1, "info_interval", d(det.info_interval));
    o.kv(1, "nodes_interval", d(det.nodes_interval));
    o.kv(1, "nodes_sample", std::to_string(det.nodes_sample));
    o.kv(1, "quorum",
         std::to_string(det.quorum) +
             (det.quorum == 0 ? "  # 0 = default: " + std::to_string(c.effective_quorum())
                              : std::string()));
    o.line(1, "safe_mode:");
    o.kv(2, "loop_lag", d(det.safe_mode.loop_lag));
    o.kv(2, "hold", d(det.safe_mode.hold));

    const auto& e = c.election;
    o.line(0, "election:");
    o.kv(1, "timeout_min", d(e.timeout_min));
    o.kv(1, "timeout_max", d(e.timeout_max));
    o.kv(1, "heartbeat_interval", d(e.heartbeat_interval));
    o.kv(1, "lease_drift", num(e.lease_drift));
    o.kv(1, "lease_margin", d(e.lease_margin) + "  # lease: " + d(e.lease()));
    o.kv(1, "opinion_max_age", d(e.opinion_max_age));

    const auto& f = c.failover;
    o.line(0, "failover:");
    o.kv(1, "enabled", b(f.enabled));
    o.kv(1, "observe_only", b(f.observe_only));
    o.kv(1, "fast_on_timeouts", b(f.fast_on_timeouts));
    o.kv(1, "allow_takeover", b(f.allow_takeover));
    o.kv(1, "takeover_when_unreachable", b(f.takeover_when_unreachable));
    o.kv(1, "max_lag_on_failover", format_size(f.max_lag_on_failover));
    o.kv(1, "replica_max_link_down", d(f.replica_max_link_down));
    o.refs(1, "never_promote", f.never_promote);
    o.kv(1, "cooldown", d(f.cooldown));
    o.kv(1, "max_failovers", std::to_string(f.max_failovers));
    o.kv(1, "max_failovers_window", d(f.max_failovers_window));
    o.kv(1, "timeout", d(f.timeout));
    o.kv(1, "cluster_node_timeout", d(f.cluster_node_timeout));
    o.kv(1, "verify_write", b(f.verify_write));
    o.list(1, "pre_failover_command", f.pre_failover_command);
    o.list(1, "post_failover_command", f.post_failover_command);
    o.kv(1, "hook_timeout", d(f.hook_timeout));
    o.refs(1, "preferred_masters", f.preferred_masters);
    o.kv(1, "failback", b(f.failback));
    o.kv(1, "failback_after", d(f.failback_after));

    const auto& a = c.alerts;
    o.line(0, "alerts:");
    if (a.receivers.empty()) {
        o.kv(1, "receivers", "[]");
    } else {
        o.line(1, "receivers:");
        for (const auto& r : a.receivers) {
            o.line(2, "- name: " + q(r.name));
            if (r.url_file.empty()) {
                o.kv(3, "url", q(r.url.text));
            } else {
                o.kv(3, "url_file", q(r.url_file) + "  # <from file; content not shown>");
            }
            o.secret(3, "secret_file", r.secret);
            o.kv(3, "timeout", d(r.timeout));
            o.list(3, "events", r.events);
            o.kv(3, "send_resolved", b(r.send_resolved));
            o.kv(3, "queue_size", std::to_string(r.queue_size));
            o.opt(3, "ca_file", r.ca_file);
        }
    }
    if (a.alertmanager) {
        o.line(1, "alertmanager:");
        o.kv(2, "url", q(a.alertmanager->url.text));
        o.kv(2, "timeout", d(a.alertmanager->timeout));
        o.kv(2, "resend_interval", d(a.alertmanager->resend_interval));
        o.opt(2, "ca_file", a.alertmanager->ca_file);
    } else {
        o.line(1, "# alertmanager: (not set)");
    }
    o.opt(1, "runbook_base_url", a.runbook_base_url);
    o.opt(1, "external_url", a.external_url);

    const auto& h = c.http;
    o.line(0, "http:");
    o.kv(1, "admin_listen", q(h.admin_listen.to_string()));
    o.kv(1, "admin_socket_mode", h.admin_socket_mode == 0660 ? "\"0660\"" : "\"0600\"");
    o.secret(1, "admin_token_file", h.admin_token);
    o.line(1, "admin_tls:");
    o.kv(2, "enabled", b(h.admin_tls.enabled));
    o.opt(2, "cert_file", h.admin_tls.cert_file);
    o.opt(2, "key_file", h.admin_tls.key_file);
    o.opt(2, "client_ca_file", h.admin_tls.client_ca_file);
    o.kv(1, "max_header_bytes", format_size(h.max_header_bytes));
    o.kv(1, "max_body_bytes", format_size(h.max_body_bytes));
    o.kv(1, "request_timeout", d(h.request_timeout));
    o.kv(1, "idle_timeout", d(h.idle_timeout));
    o.kv(1, "max_connections", std::to_string(h.max_connections));

    o.line(0, "log:");
    o.kv(1, "level", std::string(to_string(c.log.level)));
    o.kv(1, "format", std::string(to_string(c.log.format)));
    return o.take();
}

namespace {

void diff(std::vector<std::string>& out, const std::string& key, const std::string& before,
          const std::string& after) {
    if (before != after) {
        out.push_back(key + ": " + before + " -> " + after);
    }
}

void diff_secret(std::vector<std::string>& out, const std::string& key, const Secret& before,
                 const Secret& after) {
    if (before.file != after.file) {
        out.push_back(key + ": " + (before.file.empty() ? "(not set)" : before.file) + " -> " +
                      (after.file.empty() ? "(not set)" : after.file));
    } else if (before.reveal() != after.reveal()) {
        out.push_back(key + ": content changed");
    }
}

std::string peers_text(const PeersConfig& p) {
    std::string s = "[";
    for (std::size_t i = 0; i < p.members.size(); ++i) {
        s += (i == 0 ? "" : ", ") + p.members[i].id + "@" + p.members[i].address.to_string();
    }
    return s + "]";
}

std::string tls_text(const TlsSettings& t) {
    return "{enabled: " + b(t.enabled) + ", ca_file: " + t.ca_file + ", cert_file: " + t.cert_file +
           ", key_file: " + t.key_file + ", server_name: " + t.server_name +
           ", verify_peer: " + b(t.verify_peer) + ", verify_hostname: " + b(t.verify_hostname) +
           "}";
}

std::string server_tls_text(const ServerTlsSettings& t) {
    return "{enabled: " + b(t.enabled) + ", cert_file: " + t.cert_file +
           ", key_file: " + t.key_file + ", client_ca_file: " + t.client_ca_file + "}";
}

}  // namespace

std::vector<std::string> restart_required_changes(const Config& a, const Config& b2) {
    std::vector<std::string> out;
    diff(out, "watcher.id", a.watcher.id, b2.watcher.id);
    diff(out, "watcher.peer_listen", a.watcher.peer_listen.to_string(),
         b2.watcher.peer_listen.to_string());
    diff(out, "watcher.http_listen", a.watcher.http_listen.to_string(),
         b2.watcher.http_listen.to_string());
    diff(out, "watcher.state_dir", a.watcher.state_dir, b2.watcher.state_dir);
    diff(out, "peers.members", peers_text(a.peers), peers_text(b2.peers));
    diff_secret(out, "peers.secret_file", a.peers.secret, b2.peers.secret);
    diff(out, "cluster.name", a.cluster.name, b2.cluster.name);
    diff(out, "cluster.user", a.cluster.user, b2.cluster.user);
    diff_secret(out, "cluster.password_file", a.cluster.password, b2.cluster.password);
    diff(out, "cluster.tls", tls_text(a.cluster.tls), tls_text(b2.cluster.tls));
    const auto& e1 = a.election;
    const auto& e2 = b2.election;
    diff(out, "election.timeout_min", d(e1.timeout_min), d(e2.timeout_min));
    diff(out, "election.timeout_max", d(e1.timeout_max), d(e2.timeout_max));
    diff(out, "election.heartbeat_interval", d(e1.heartbeat_interval), d(e2.heartbeat_interval));
    diff(out, "election.lease_drift", num(e1.lease_drift), num(e2.lease_drift));
    diff(out, "election.lease_margin", d(e1.lease_margin), d(e2.lease_margin));
    diff(out, "election.opinion_max_age", d(e1.opinion_max_age), d(e2.opinion_max_age));
    diff(out, "http.admin_listen", a.http.admin_listen.to_string(),
         b2.http.admin_listen.to_string());
    if (a.http.admin_token.empty() != b2.http.admin_token.empty()) {
        // Turns the admin listener on or off: a bind.
        diff(out, "http.admin_token_file",
             a.http.admin_token.empty() ? "(not set)" : a.http.admin_token.file,
             b2.http.admin_token.empty() ? "(not set)" : b2.http.admin_token.file);
    }
    diff(out, "http.admin_socket_mode", std::to_string(a.http.admin_socket_mode),
         std::to_string(b2.http.admin_socket_mode));
    diff(out, "http.admin_tls", server_tls_text(a.http.admin_tls),
         server_tls_text(b2.http.admin_tls));
    return out;
}

Config merge_for_reload(const Config& running, const Config& next) {
    Config merged = next;
    merged.watcher = running.watcher;
    merged.peers = running.peers;
    merged.cluster.name = running.cluster.name;
    merged.cluster.user = running.cluster.user;
    merged.cluster.password = running.cluster.password;
    merged.cluster.tls = running.cluster.tls;
    merged.election = running.election;
    merged.http.admin_listen = running.http.admin_listen;
    merged.http.admin_socket_mode = running.http.admin_socket_mode;
    merged.http.admin_tls = running.http.admin_tls;
    if (running.http.admin_token.empty() != next.http.admin_token.empty()) {
        merged.http.admin_token = running.http.admin_token;  // on/off needs a restart
    }
    return merged;
}

}  // namespace picket::config
