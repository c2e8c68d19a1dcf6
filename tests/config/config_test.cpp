// The loader: the example file, every default, each error class with its exact
// "file:line:col: message" text, several errors at once, secrets, quorum rules, hostile YAML,
// the effective config and restart-only keys.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "picket/config/config.h"

namespace picket::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

/// Secrets by path, no files. Unknown paths fail like a missing file.
class FakeSecrets {
  public:
    FakeSecrets& add(const std::string& path, const std::string& content) {
        files_[path] = content;
        return *this;
    }
    SecretReader reader() const {
        return [this](const std::string& path) -> Expected<std::string, std::string> {
            const auto it = files_.find(path);
            if (it == files_.end()) {
                return unexpected(std::string("no such file"));
            }
            return it->second;
        };
    }

  private:
    std::map<std::string, std::string> files_;
};

constexpr const char* kMinimal = R"(watcher:
  id: w1
cluster:
  name: c1
  seeds: [127.0.0.1:6379]
)";

/// Three voters: this watcher and two peers.
constexpr const char* kThree = R"(watcher:
  id: w1
peers:
  secret_file: /s/peer
  members:
    - {id: w2, address: 10.0.0.2:7700}
    - {id: w3, address: 10.0.0.3:7700}
cluster:
  name: c1
  seeds: [10.0.0.1:6379]
)";

const std::string kPeerSecret = "0123456789abcdef0123";

Expected<Config, ConfigError> parse(std::string_view text, const FakeSecrets& secrets = {}) {
    return parse_config(text, "picket.yml", secrets.reader());
}

/// The error text of a config that must fail.
std::string errors_of(std::string_view text, const FakeSecrets& secrets = {}) {
    auto r = parse(text, secrets);
    if (r.has_value()) {
        ADD_FAILURE() << "config unexpectedly valid:\n" << text;
        return {};
    }
    return r.error().to_string();
}

std::string warnings_of(const Config& c) {
    std::string out;
    for (const auto& w : c.warnings) {
        out += w.to_string() + "\n";
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

FakeSecrets example_secrets() {
    FakeSecrets s;
    s.add("/etc/picket/peer.secret", kPeerSecret + "\n")
        .add("/etc/picket/redis.password", "hunter2-redis\n")
        .add("/etc/picket/webhook.secret", "webhook-key")
        .add("/etc/picket/admin.token", "admin-token-0123456789\r\n");
    return s;
}

// --- defaults and the example ------------------------------------------------------------

TEST(Config, MinimalFileGetsEveryDefault) {
    auto r = parse(kMinimal);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    const Config& c = *r;
    EXPECT_EQ(c.file, "picket.yml");
    EXPECT_EQ(c.watcher.id, "w1");
    EXPECT_EQ(c.watcher.peer_listen.to_string(), "0.0.0.0:7700");
    EXPECT_EQ(c.watcher.http_listen.to_string(), "127.0.0.1:7701");
    EXPECT_EQ(c.watcher.state_dir, "/var/lib/picket");
    EXPECT_TRUE(c.peers.members.empty());
    EXPECT_TRUE(c.peers.secret.empty());
    EXPECT_EQ(c.cluster.name, "c1");
    ASSERT_EQ(c.cluster.seeds.size(), 1U);
    EXPECT_EQ(c.cluster.seeds[0].to_string(), "127.0.0.1:6379");
    EXPECT_EQ(c.cluster.user, "");
    EXPECT_TRUE(c.cluster.password.empty());
    EXPECT_EQ(c.cluster.tls, TlsSettings{});
    EXPECT_FALSE(c.cluster.tls.enabled);
    EXPECT_TRUE(c.cluster.tls.verify_peer);
    EXPECT_TRUE(c.cluster.tls.verify_hostname);
    EXPECT_EQ(c.cluster.connect_timeout, seconds(1));

    const auto& d = c.detection;
    EXPECT_EQ(d.ping_interval, milliseconds(100));
    EXPECT_EQ(d.ping_timeout, seconds(1));
    EXPECT_EQ(d.down_after, seconds(1));
    EXPECT_EQ(d.down_after_unresponsive, seconds(5));
    EXPECT_EQ(d.loading_grace, seconds(60));
    EXPECT_EQ(d.info_interval, seconds(1));
    EXPECT_EQ(d.nodes_interval, seconds(1));
    EXPECT_EQ(d.nodes_sample, 2U);
    EXPECT_EQ(d.quorum, 0U);
    EXPECT_EQ(d.safe_mode.loop_lag, milliseconds(500));
    EXPECT_EQ(d.safe_mode.hold, seconds(10));

    const auto& e = c.election;
    EXPECT_EQ(e.timeout_min, seconds(1));
    EXPECT_EQ(e.timeout_max, seconds(2));
    EXPECT_EQ(e.heartbeat_interval, milliseconds(100));
    EXPECT_DOUBLE_EQ(e.lease_drift, 0.1);
    EXPECT_EQ(e.lease_margin, milliseconds(100));
    EXPECT_EQ(e.opinion_max_age, seconds(1));
    EXPECT_EQ(e.lease(), milliseconds(800));

    const auto& f = c.failover;
    EXPECT_TRUE(f.enabled);
    EXPECT_FALSE(f.observe_only);
    EXPECT_FALSE(f.fast_on_timeouts);
    EXPECT_FALSE(f.allow_takeover);
    EXPECT_FALSE(f.takeover_when_unreachable);
    EXPECT_EQ(f.max_lag_on_failover, 64U * 1024 * 1024);
    EXPECT_EQ(f.replica_max_link_down, seconds(10));
    EXPECT_TRUE(f.never_promote.empty());
    EXPECT_EQ(f.cooldown, minutes(5));
    EXPECT_EQ(f.max_failovers, 3U);
    EXPECT_EQ(f.max_failovers_window, hours(1));
    EXPECT_EQ(f.timeout, seconds(30));
    EXPECT_EQ(f.cluster_node_timeout, seconds(15));
    EXPECT_FALSE(f.verify_write);
    EXPECT_TRUE(f.pre_failover_command.empty());
    EXPECT_TRUE(f.post_failover_command.empty());
    EXPECT_EQ(f.hook_timeout, seconds(10));
    EXPECT_TRUE(f.preferred_masters.empty());
    EXPECT_FALSE(f.failback);
    EXPECT_EQ(f.failback_after, minutes(10));

    EXPECT_TRUE(c.alerts.receivers.empty());
    EXPECT_FALSE(c.alerts.alertmanager.has_value());
    EXPECT_EQ(c.alerts.runbook_base_url, "");
    EXPECT_EQ(c.alerts.external_url, "");

    const auto& h = c.http;
    EXPECT_EQ(h.admin_listen.to_string(), "127.0.0.1:7702");
    EXPECT_TRUE(h.admin_token.empty());
    EXPECT_EQ(h.admin_tls, ServerTlsSettings{});
    EXPECT_EQ(h.max_header_bytes, 8U * 1024);
    EXPECT_EQ(h.max_body_bytes, 64U * 1024);
    EXPECT_EQ(h.request_timeout, seconds(10));
    EXPECT_EQ(h.idle_timeout, seconds(60));
    EXPECT_EQ(h.max_connections, 64U);

    EXPECT_EQ(c.log.level, LogLevel::kInfo);
    EXPECT_EQ(c.log.format, LogFormat::kText);

    EXPECT_EQ(c.voter_count(), 1U);
    EXPECT_EQ(c.effective_quorum(), 1U);
    EXPECT_EQ(warnings_of(c),
              "picket.yml:1:1: peers: no other watchers: a single watcher decides alone and "
              "fails over nothing when its own VM is lost\n");
}

TEST(Config, TheExampleFileParses) {
    const std::string text = read_file(PICKET_EXAMPLE_CONFIG);
    ASSERT_FALSE(text.empty());
    auto r = parse_config(text, "/etc/picket/picket.yml", example_secrets().reader());
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    const Config& c = *r;
    EXPECT_EQ(c.watcher.id, "redis-1");
    EXPECT_EQ(c.watcher.http_listen.to_string(), "0.0.0.0:7701");
    EXPECT_EQ(c.voter_count(), 7U);
    EXPECT_EQ(c.effective_quorum(), 4U);
    EXPECT_EQ(c.voter_ids(), (std::vector<std::string>{"redis-1", "redis-2", "redis-3", "redis-4",
                                                       "redis-5", "redis-6", "witness"}));
    EXPECT_EQ(c.peers.members[5].address.host, "witness.example.net");
    EXPECT_EQ(c.peers.secret.reveal(), kPeerSecret);  // one trailing newline stripped
    EXPECT_EQ(c.cluster.password.reveal(), "hunter2-redis");
    EXPECT_EQ(c.cluster.password.file, "/etc/picket/redis.password");
    EXPECT_EQ(c.cluster.user, "picket");
    EXPECT_EQ(c.cluster.seeds.size(), 3U);
    EXPECT_EQ(c.http.admin_token.reveal(), "admin-token-0123456789");  // CRLF stripped
    ASSERT_EQ(c.alerts.receivers.size(), 1U);
    const auto& r0 = c.alerts.receivers[0];
    EXPECT_EQ(r0.name, "oncall");
    EXPECT_EQ(r0.url.host, "hooks.example.net");
    EXPECT_EQ(r0.secret.reveal(), "webhook-key");
    EXPECT_EQ(r0.events, (std::vector<std::string>{"node_odown", "failover_*", "quorum_*"}));
    EXPECT_EQ(c.alerts.runbook_base_url, "https://wiki.example.net/runbooks/picket");
    EXPECT_TRUE(c.warnings.empty()) << warnings_of(c);
}

TEST(Config, EveryKeyOfTheExampleIsDocumented) {
    // docs/configuration.md must name every key the example uses.
    const std::string example = read_file(PICKET_EXAMPLE_CONFIG);
    const std::string docs = read_file(std::string(PICKET_SOURCE_DIR) + "/docs/configuration.md");
    ASSERT_FALSE(docs.empty());
    std::istringstream lines(example);
    std::string line;
    while (std::getline(lines, line)) {
        const auto first = line.find_first_not_of(" -#");
        const auto colon = line.find(':');
        if (first == std::string::npos || colon == std::string::npos || colon < first ||
            line[first] == ' ') {
            continue;
        }
        const std::string key = line.substr(first, colon - first);
        if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos) {
            continue;
        }
        EXPECT_NE(docs.find("`" + key + "`"), std::string::npos) << key;
    }
}

TEST(Config, RelativePathsAreRelativeToTheConfigFile) {
    FakeSecrets s;
    s.add("/etc/picket/secrets/peer", kPeerSecret);
    const std::string text =
        std::string(kThree).replace(std::string(kThree).find("/s/peer"), 7, "secrets/peer") +
        "  tls: {enabled: true, ca_file: ../tls/ca.pem}\n";
    auto r = parse_config(text, "/etc/picket/picket.yml", s.reader());
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->peers.secret.file, "/etc/picket/secrets/peer");
    EXPECT_EQ(r->cluster.tls.ca_file, "/etc/tls/ca.pem");
}

// --- error classes, exact text -------------------------------------------------------------

TEST(ConfigErrors, UnknownKeySuggestsTheClosestKnownOne) {
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  ping_intervall: 100ms\n"),
              "picket.yml:7:3: detection.ping_intervall: unknown key (did you mean "
              "'ping_interval'?)\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "sentinel: {}\n"),
              "picket.yml:6:1: sentinel: unknown key (known keys: watcher, peers, cluster, "
              "detection, election, failover, alerts, http, log)\n");
}

TEST(ConfigErrors, WrongTypes) {
    EXPECT_EQ(errors_of(std::string(kMinimal) + "failover:\n  enabled: yes\n"),
              "picket.yml:7:12: failover.enabled: expected true or false, got 'yes'\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "failover:\n  enabled: \"true\"\n"),
              "picket.yml:7:12: failover.enabled: expected true or false, got 'true' (quoted)\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  nodes_sample: [1]\n"),
              "picket.yml:7:17: detection.nodes_sample: expected a whole number, got a list\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  nodes_sample: two\n"),
              "picket.yml:7:17: detection.nodes_sample: expected a whole number, got 'two'\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection: 5\n"),
              "picket.yml:6:12: detection: expected a mapping of keys, got a single value\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "log:\n  level:\n"),
              "picket.yml:7:3: log.level: expected a log level, got nothing (null)\n");
}

TEST(ConfigErrors, OutOfRange) {
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  ping_interval: 5ms\n"),
              "picket.yml:7:18: detection.ping_interval: 5ms is out of range 10ms..10s\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  nodes_sample: 0\n"),
              "picket.yml:7:17: detection.nodes_sample: 0 is out of range 1..100\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "election:\n  lease_drift: 0.7\n"),
              "picket.yml:7:16: election.lease_drift: 0.7 is out of range 0..0.5\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "http:\n  max_header_bytes: 2MiB\n"),
              "picket.yml:7:21: http.max_header_bytes: 2MiB is out of range 1KiB..1MiB\n");
}

TEST(ConfigErrors, MissingRequiredKeys) {
    EXPECT_EQ(errors_of("watcher:\n  peer_listen: 0.0.0.0:7700\n"),
              "picket.yml:1:1: cluster: missing required key 'cluster'\n"
              "picket.yml:1:1: watcher.id: missing required key 'id'\n");
    EXPECT_EQ(errors_of("watcher: {id: w1}\ncluster: {name: c}\n"),
              "picket.yml:2:1: cluster.seeds: missing required key 'seeds'\n");
}

TEST(ConfigErrors, DurationsNeedUnits) {
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  down_after: 1000\n"),
              "picket.yml:7:15: detection.down_after: '1000' has no unit (write a number and a "
              "unit: 100ms, 1s, 1.5s, 5m, 2h)\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  down_after: -1s\n"),
              "picket.yml:7:15: detection.down_after: '-1s' is negative; durations must be "
              "positive\n");
}

TEST(ConfigErrors, InlineSecretsAreRefused) {
    EXPECT_EQ(errors_of("watcher: {id: w1}\ncluster:\n  name: c\n  seeds: [h:1]\n"
                        "  password: hunter2\n"),
              "picket.yml:5:3: cluster.password: secrets are never written inline: put it in a "
              "file readable only by picket and name that file with 'password_file'\n");
    const auto text = errors_of(std::string(kMinimal) + "http:\n  admin_token: abc\n");
    EXPECT_NE(text.find("http.admin_token: secrets are never written inline"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("abc"), std::string::npos) << "the secret must not be echoed";
}

TEST(ConfigErrors, SecretFileProblems) {
    FakeSecrets s;
    s.add("/s/empty", "\n").add("/s/short", "short\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "cluster2: 1\n", s).substr(0, 11), "picket.yml:");
    const std::string base = "watcher: {id: w1}\ncluster:\n  name: c\n  seeds: [h:1]\n";
    EXPECT_EQ(errors_of(base + "  password_file: /s/missing\n", s),
              "picket.yml:5:18: cluster.password_file: cannot use '/s/missing': no such file\n");
    EXPECT_EQ(errors_of(base + "  password_file: /s/empty\n", s),
              "picket.yml:5:18: cluster.password_file: secret file '/s/empty' is empty\n");
    EXPECT_EQ(errors_of(base + "peers:\n  secret_file: /s/short\n", s),
              "picket.yml:6:16: peers.secret_file: secret in '/s/short' is shorter than 16 bytes "
              "(use e.g. `openssl rand -hex 32`)\n");
    EXPECT_EQ(errors_of(base + "peers:\n  members: [{id: w2, address: h:1}]\n", s),
              "picket.yml:5:1: peers.secret_file: missing required key 'secret_file' (the peers' "
              "shared HMAC secret)\n");
}

TEST(ConfigErrors, AddressesAndListeners) {
    const std::string base = "cluster: {name: c, seeds: [h:1]}\n";
    EXPECT_EQ(errors_of(base + "watcher:\n  id: w1\n  peer_listen: ::1:7700\n"),
              "picket.yml:4:16: watcher.peer_listen: IPv6 address '::1' must be written in "
              "brackets, e.g. [::1]:7700\n");
    EXPECT_EQ(errors_of(base + "watcher:\n  id: w1\n  http_listen: localhost:7701\n"),
              "picket.yml:4:16: watcher.http_listen: a listen address must be an IP address, not "
              "the name 'localhost' (e.g. 127.0.0.1, 0.0.0.0 or [::])\n");
    EXPECT_EQ(errors_of(base + "watcher:\n  id: w1\n  http_listen: 127.0.0.1:7700\n"),
              "picket.yml:4:16: watcher.http_listen: collides with peer_listen 0.0.0.0:7700\n");
    EXPECT_EQ(errors_of(base + "watcher: {id: w1}\nhttp:\n  admin_listen: 10.0.0.1:7702\n"),
              "picket.yml:4:17: http.admin_listen: 10.0.0.1:7702 is not loopback: the admin API "
              "(tokens, failover commands) listens only on loopback or a unix socket unless "
              "admin_tls is enabled\n");
    // With TLS it is allowed; a unix socket is too.
    EXPECT_TRUE(parse(base + "watcher: {id: w1}\nhttp:\n  admin_listen: 10.0.0.1:7702\n"
                             "  admin_tls: {enabled: true, cert_file: /c, key_file: /k}\n")
                    .has_value());
    auto r =
        parse(base + "watcher: {id: w1}\nhttp:\n  admin_listen: unix:/run/picket/admin.sock\n");
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_TRUE(r->http.admin_listen.is_unix());
    EXPECT_EQ(r->http.admin_listen.to_string(), "unix:/run/picket/admin.sock");
    EXPECT_EQ(r->http.admin_socket_mode, 0600U);  // the default: picketd's user only
    // The socket's mode: 0600 or 0660, nothing looser; relative paths are refused.
    r = parse(base +
              "watcher: {id: w1}\nhttp:\n  admin_listen: unix:/run/picket/admin.sock\n"
              "  admin_socket_mode: \"0660\"\n");
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->http.admin_socket_mode, 0660U);
    EXPECT_EQ(errors_of(base + "watcher: {id: w1}\nhttp:\n  admin_listen: unix:/a.sock\n"
                               "  admin_socket_mode: \"0666\"\n"),
              "picket.yml:5:22: http.admin_socket_mode: must be \"0600\" (picketd's user only) "
              "or \"0660\" (and its group), not '0666'\n");
    EXPECT_NE(errors_of(base + "watcher: {id: w1}\nhttp:\n  admin_listen: unix:/a.sock\n"
                               "  admin_tls: {enabled: true, cert_file: /c, key_file: /k}\n")
                  .find("http.admin_tls: enabled: true is for a TCP admin_listen"),
              std::string::npos);
    EXPECT_EQ(errors_of(base + "watcher: {id: w1}\nhttp:\n  admin_listen: unix:run/admin.sock\n"),
              "picket.yml:4:17: http.admin_listen: unix socket path must be absolute "
              "(unix:/run/...)\n");
}

TEST(ConfigErrors, SeveralErrorsInOneFileAreAllReportedInFileOrder) {
    const char* text = R"(watcher:
  id: "bad id!"
  http_listen: 127.0.0.1:99999
peers: [w2]
cluster:
  name: c1
  seeds: [10.0.0.1:6379, nope]
  password: x
detection:
  ping_interval: 100
  down_after: 2s
  down_after_unresponsive: 1s
  quorum: many
failover:
  enabled: maybe
  colldown: 5m
log: {level: loud, format: xml}
)";
    EXPECT_EQ(errors_of(text),
              "picket.yml:2:7: watcher.id: 'bad id!' is not a valid id (1 to 64 of A-Z a-z 0-9 _ "
              ". -)\n"
              "picket.yml:3:16: watcher.http_listen: port '99999' is out of range 1..65535\n"
              "picket.yml:4:8: peers: expected a mapping of keys, got a list (write the other "
              "watchers under 'members:' and the shared HMAC secret's file under 'secret_file:')\n"
              "picket.yml:7:26: cluster.seeds[1]: 'nope' has no port (write host:port or "
              "[ipv6]:port)\n"
              "picket.yml:8:3: cluster.password: secrets are never written inline: put it in a "
              "file readable only by picket and name that file with 'password_file'\n"
              "picket.yml:10:18: detection.ping_interval: '100' has no unit (write a number and a "
              "unit: 100ms, 1s, 1.5s, 5m, 2h)\n"
              "picket.yml:12:28: detection.down_after_unresponsive: 1s is shorter than down_after "
              "(2s)\n"
              "picket.yml:13:11: detection.quorum: expected a whole number, got 'many'\n"
              "picket.yml:15:12: failover.enabled: expected true or false, got 'maybe'\n"
              "picket.yml:16:3: failover.colldown: unknown key (did you mean 'cooldown'?)\n"
              "picket.yml:17:14: log.level: 'loud' is not one of trace, debug, info, warn, error\n"
              "picket.yml:17:28: log.format: 'xml' is not one of text, json\n");
}

TEST(ConfigErrors, DuplicateKeysAndPeerIds) {
    EXPECT_EQ(errors_of("watcher: {id: w1}\nwatcher: {id: w2}\ncluster: {name: c, seeds: [h:1]}\n"),
              "picket.yml:2:1: watcher: duplicate key (first at line 1)\n");
    FakeSecrets s;
    s.add("/s/peer", kPeerSecret);
    EXPECT_EQ(errors_of(R"(watcher: {id: w1}
cluster: {name: c, seeds: [h:1]}
peers:
  secret_file: /s/peer
  members:
    - {id: w2, address: h2:7700}
    - {id: w2, address: h3:7700}
    - {id: w1, address: h4:7700}
    - {id: w5, address: h2:7700}
)",
                        s),
              "picket.yml:7:12: peers.members[1].id: duplicate peer id 'w2'\n"
              "picket.yml:8:12: peers.members[2].id: 'w1' is this watcher's own id; list only the "
              "OTHER watchers here\n"
              "picket.yml:9:25: peers.members[3].address: h2:7700 is also the address of "
              "peers.members[0]\n");
}

TEST(ConfigErrors, CrossKeyTimingRules) {
    EXPECT_EQ(
        errors_of(std::string(kMinimal) + "election:\n  timeout_min: 2s\n  timeout_max: 2s\n"),
        "picket.yml:8:16: election.timeout_max: 2s must be greater than timeout_min (2s)\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "election:\n  heartbeat_interval: 400ms\n"),
              "picket.yml:7:23: election.heartbeat_interval: 400ms is more than a third of "
              "timeout_min (1s)\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "election:\n  lease_margin: 850ms\n"),
              "picket.yml:7:17: election.lease_margin: the leader lease (timeout_min × (1 − "
              "lease_drift) − lease_margin = 50ms) must be longer than heartbeat_interval "
              "(100ms)\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "detection:\n  ping_timeout: 6s\n"),
              "picket.yml:7:17: detection.ping_timeout: 6s is longer than down_after_unresponsive "
              "(5s)\n");
    EXPECT_EQ(
        errors_of(std::string(kMinimal) + "detection:\n  ping_interval: 2s\n  down_after: 1s\n"),
        "picket.yml:8:15: detection.down_after: 1s is shorter than ping_interval (2s)\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "failover:\n  takeover_when_unreachable: true\n"),
              "picket.yml:7:30: failover.takeover_when_unreachable: needs allow_takeover: true\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "failover:\n  failback: true\n"),
              "picket.yml:7:13: failover.failback: needs preferred_masters\n");
    // A failed value does not also trigger the cross-key rule that involves it (down_after),
    // and a rule about a defaulted key points at the key that was written.
    EXPECT_EQ(errors_of(std::string(kMinimal) +
                        "detection:\n  down_after: 1x\n  down_after_unresponsive: 500ms\n"),
              "picket.yml:7:15: detection.down_after: '1x' has an unknown unit 'x' (use ms, s, m "
              "or h)\n"
              "picket.yml:8:28: detection.ping_timeout: 1s is longer than down_after_unresponsive "
              "(500ms)\n");
}

TEST(ConfigErrors, FailoverNodesAndHooks) {
    EXPECT_EQ(
        errors_of(std::string(kMinimal) + "failover:\n  never_promote: [10.0.0.1:6379, abc]\n"),
        "picket.yml:7:34: failover.never_promote[1]: 'abc' is neither a node id (40 hex "
        "digits) nor host:port ('abc' has no port (write host:port or [ipv6]:port))\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "failover:\n  pre_failover_command: [hook.sh]\n"),
              "picket.yml:7:26: failover.pre_failover_command: the command must start with an "
              "absolute path, got 'hook.sh' (it runs without a shell: write a list, e.g. "
              "[\"/usr/local/bin/hook\", \"--flag\"])\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) +
                        "failover:\n  never_promote: [h:1]\n  preferred_masters: [h:1]\n"),
              "picket.yml:8:23: failover.preferred_masters[0]: h:1 is also in never_promote\n");
    auto r = parse(std::string(kMinimal) +
                   "failover:\n  never_promote: [3f1c5e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e, "
                   "\"[::1]:6379\"]\n");
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->failover.never_promote[0].node_id, "3f1c5e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e");
    EXPECT_EQ(r->failover.never_promote[1].address.to_string(), "[::1]:6379");
}

TEST(ConfigErrors, Receivers) {
    FakeSecrets s;
    s.add("/s/url", "https://hooks.slack.example/T000/B000/XXXXSECRET\n")
        .add("/s/badurl", "not a url SECRETPART");
    EXPECT_EQ(errors_of(std::string(kMinimal) + R"(alerts:
  receivers:
    - name: a
      url: https://h/x
    - name: a
      url: ftp://h/
      url_file: /s/url
      events: [Failover]
)",
                        s),
              "picket.yml:10:7: alerts.receivers[1]: set exactly one of 'url' and 'url_file'\n"
              "picket.yml:10:13: alerts.receivers[1].name: duplicate receiver name 'a'\n"
              "picket.yml:11:12: alerts.receivers[1].url: 'ftp://h/' is not an http:// or "
              "https:// URL\n"
              "picket.yml:13:16: alerts.receivers[1].events[0]: 'Failover' is not an event name "
              "(lower-case a-z 0-9 _, optionally ending in '*')\n");
    const auto text = errors_of(
        std::string(kMinimal) + "alerts:\n  receivers:\n    - {name: a, url_file: /s/badurl}\n", s);
    EXPECT_EQ(text,
              "picket.yml:8:27: alerts.receivers[0].url_file: the content of '/s/badurl' is not a "
              "valid http(s) URL\n");
    auto r = parse(
        std::string(kMinimal) + "alerts:\n  receivers:\n    - {name: a, url_file: /s/url}\n", s);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->alerts.receivers[0].url.host, "hooks.slack.example");
    EXPECT_EQ(render_effective(*r).find("SECRET"), std::string::npos);
}

TEST(ConfigErrors, YamlSyntaxErrorsHaveAPosition) {
    EXPECT_EQ(errors_of("watcher:\n  id: [w1\ncluster: {}\n"),
              "picket.yml:3:8: YAML syntax: end of sequence flow not found\n");
    EXPECT_EQ(errors_of("watcher: {id: w1}\n  bad indent: 1\n"),
              "picket.yml:2:3: YAML syntax: end of map not found\n");
    EXPECT_EQ(errors_of(""), "picket.yml:1:1: the configuration is empty\n");
    EXPECT_EQ(errors_of("# only a comment\n"), "picket.yml:1:1: the configuration is empty\n");
    EXPECT_EQ(errors_of("- a\n- b\n"),
              "picket.yml:1:1: the configuration must be a mapping of sections (watcher:, "
              "cluster:, …), got a list\n");
    EXPECT_EQ(errors_of(std::string(kMinimal) + "---\nwatcher: {id: w2}\n"),
              "picket.yml:6:1: only one YAML document is allowed (remove '---')\n");
    EXPECT_EQ(errors_of("watcher: !!map {id: w1}\n"),
              "picket.yml:1:10: YAML tags ('tag:yaml.org,2002:map') are not allowed\n");
    EXPECT_EQ(errors_of(std::string("watcher: {id: w1}\0", 18)),
              "picket.yml: the file contains a NUL byte (not a text file?)\n");
}

// --- hostile YAML -----------------------------------------------------------------------

TEST(ConfigHostile, AliasBombIsCheap) {
    // "Billion laughs": nine levels of ten aliases each. Aliases share nodes, and the walker
    // only visits keys it knows, so this costs a few hundred nodes, not 10^9.
    std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 10; ++i) {
        text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 10; ++j) {
            text += (j ? ", *a" : "*a") + std::to_string(i - 1);
        }
        text += "]\n";
    }
    text += std::string(kMinimal) + "failover:\n  never_promote: *a9\n";
    const auto errors = errors_of(text);
    EXPECT_NE(errors.find("a9: unknown key"), std::string::npos);
    EXPECT_NE(errors.find("failover.never_promote[9]: expected a non-empty string, got a list"),
              std::string::npos);
}

TEST(ConfigHostile, SelfReferencingAliasIsAnError) {
    EXPECT_EQ(errors_of("a: &x [1, *x]\n"),
              "picket.yml:1:11: alias refers to a node that contains it\n");
}

TEST(ConfigHostile, DeepNestingIsCapped) {
    std::string text = "watcher: ";
    for (int i = 0; i < 200; ++i) {
        text += "[";
    }
    EXPECT_NE(errors_of(text).find("nesting is deeper than 64 levels"), std::string::npos);
    std::string block;
    for (int i = 0; i < 100; ++i) {
        block +=
            std::string(static_cast<std::size_t>(i) * 2, ' ') + "k" + std::to_string(i) + ":\n";
    }
    EXPECT_NE(errors_of(block).find("nesting is deeper than 64 levels"), std::string::npos);
}

TEST(ConfigHostile, TooManyErrorsAreCut) {
    std::string text = std::string(kMinimal) + "failover:\n  never_promote: [";
    for (int i = 0; i < 300; ++i) {
        text += "bad,";
    }
    text += "bad]\n";
    auto r = parse(text);
    ASSERT_FALSE(r.has_value());
    ASSERT_EQ(r.error().errors.size(), 101U);
    EXPECT_EQ(r.error().errors.back().to_string(), "picket.yml: … and 201 more errors");
}

TEST(ConfigHostile, ThousandsOfUnknownAndDuplicateKeysStayCheap) {
    // Duplicate detection and unknown-key suggestions must not be quadratic: 40 000 keys
    // (half of them duplicates), in well under a second.
    std::string text = std::string(kMinimal) + "detection: {";
    for (int i = 0; i < 40000; ++i) {
        text += "k" + std::to_string(i % 20000) + ": 1, ";
    }
    text += "quorum: 0}\n";
    ASSERT_LT(text.size(), 1024U * 1024U);
    auto r = parse(text);
    ASSERT_FALSE(r.has_value());
    ASSERT_EQ(r.error().errors.size(), 101U);
    EXPECT_EQ(r.error().errors.back().to_string(), "picket.yml: … and 39900 more errors");
}

// --- quorum -----------------------------------------------------------------------------

std::string with_voters(std::size_t n, std::string_view extra = "") {
    std::string text = "watcher: {id: w0}\ncluster: {name: c, seeds: [h:1]}\n";
    if (n > 1) {
        text += "peers:\n  secret_file: /s/peer\n  members:\n";
        for (std::size_t i = 1; i < n; ++i) {
            text += "    - {id: w" + std::to_string(i) + ", address: h" + std::to_string(i) +
                    ":7700}\n";
        }
    }
    return text + std::string(extra);
}

FakeSecrets peer_secret() {
    FakeSecrets s;
    s.add("/s/peer", kPeerSecret);
    return s;
}

TEST(Quorum, DefaultIsAMajorityCappedAtNMinusOne) {
    const std::pair<std::size_t, std::uint32_t> cases[] = {{1, 1}, {2, 1}, {3, 2}, {4, 3},
                                                           {5, 3}, {6, 4}, {7, 4}};
    for (const auto& [n, q] : cases) {
        auto r = parse(with_voters(n), peer_secret());
        ASSERT_TRUE(r.has_value()) << r.error().to_string();
        EXPECT_EQ(r->voter_count(), n);
        EXPECT_EQ(r->effective_quorum(), q) << n;
    }
}

TEST(Quorum, AboveNMinusOneIsRefusedAboveMajorityWarns) {
    EXPECT_EQ(errors_of(with_voters(3, "detection: {quorum: 3}\n"), peer_secret()),
              "picket.yml:8:21: detection.quorum: 3 is more than the 2 watchers left when one VM "
              "(and the watcher on it) is lost; at most 2 with 3 voters\n");
    EXPECT_EQ(errors_of(with_voters(1, "detection: {quorum: 2}\n"), peer_secret()),
              "picket.yml:3:21: detection.quorum: must be 1 (or 0) with a single watcher\n");
    auto r = parse(with_voters(7, "detection: {quorum: 5}\n"), peer_secret());
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->effective_quorum(), 5U);
    EXPECT_EQ(warnings_of(*r),
              "picket.yml:12:21: detection.quorum: 5 is above a majority (4 of 7): fewer lost "
              "watchers block failover\n");
    r = parse(with_voters(7, "detection: {quorum: 2}\n"), peer_secret());
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->warnings.empty()) << warnings_of(*r);
}

TEST(Quorum, EvenAndTinyVoterSetsWarn) {
    auto r = parse(with_voters(6), peer_secret());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(warnings_of(*r),
              "picket.yml:3:1: peers: 6 watchers tolerate as many failures (2) as 5; add a "
              "witness to make it 7\n");
    r = parse(with_voters(2), peer_secret());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(warnings_of(*r),
              "picket.yml:3:1: peers: 2 watchers cannot elect a leader when either is down: use "
              "3 or more (a witness on a host without Redis counts)\n");
}

// --- secrets, rendering, reload --------------------------------------------------------------

TEST(Secrets, NeverInTheEffectiveConfig) {
    const std::string text = read_file(PICKET_EXAMPLE_CONFIG);
    auto r = parse_config(text, "/etc/picket/picket.yml", example_secrets().reader());
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    const auto rendered = render_effective(*r);
    for (const char* secret :
         {"0123456789abcdef0123", "hunter2-redis", "webhook-key", "admin-token-0123456789"}) {
        EXPECT_EQ(rendered.find(secret), std::string::npos) << secret;
    }
    EXPECT_NE(rendered.find("password_file: \"/etc/picket/redis.password\"  # <from file; content "
                            "not shown>"),
              std::string::npos)
        << rendered;
}

TEST(Render, TheEffectiveConfigParsesBackToTheSameConfig) {
    const std::string text = read_file(PICKET_EXAMPLE_CONFIG);
    const auto secrets = example_secrets();
    auto first = parse_config(text, "/etc/picket/picket.yml", secrets.reader());
    ASSERT_TRUE(first.has_value()) << first.error().to_string();
    const auto rendered = render_effective(*first);
    auto second = parse_config(rendered, "/etc/picket/picket.yml", secrets.reader());
    ASSERT_TRUE(second.has_value()) << second.error().to_string() << rendered;
    EXPECT_EQ(second->watcher, first->watcher);
    EXPECT_EQ(second->peers, first->peers);
    EXPECT_EQ(second->cluster, first->cluster);
    EXPECT_EQ(second->detection, first->detection);
    EXPECT_EQ(second->election, first->election);
    EXPECT_EQ(second->failover, first->failover);
    EXPECT_EQ(second->alerts, first->alerts);
    EXPECT_EQ(second->http, first->http);
    EXPECT_EQ(second->log, first->log);
    EXPECT_EQ(render_effective(*second), rendered);

    auto minimal = parse(kMinimal);
    ASSERT_TRUE(minimal.has_value());
    auto again = parse(render_effective(*minimal));
    ASSERT_TRUE(again.has_value()) << again.error().to_string();
    EXPECT_EQ(render_effective(*again), render_effective(*minimal));
}

TEST(Render, StringsAreQuotedSafely) {
    auto r = parse(
        "watcher: {id: w1, state_dir: \"/var/lib/pi\\\"ck: #et\"}\n"
        "cluster: {name: c, seeds: [h:1], user: \"a#b: c\"}\n");
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    const auto rendered = render_effective(*r);
    EXPECT_NE(rendered.find("state_dir: \"/var/lib/pi\\\"ck: #et\""), std::string::npos)
        << rendered;
    auto again = parse(rendered);
    ASSERT_TRUE(again.has_value()) << again.error().to_string();
    EXPECT_EQ(again->watcher.state_dir, "/var/lib/pi\"ck: #et");
    EXPECT_EQ(again->cluster.user, "a#b: c");
}

TEST(Reload, RestartOnlyKeysAreReported) {
    FakeSecrets s = peer_secret();
    auto old_config = parse(kThree, s);
    ASSERT_TRUE(old_config.has_value()) << old_config.error().to_string();

    // Reloadable changes only.
    auto next = parse(std::string(kThree) +
                          "detection: {ping_interval: 200ms, quorum: 1}\nlog: {level: debug}\n"
                          "failover: {observe_only: true}\n",
                      s);
    ASSERT_TRUE(next.has_value()) << next.error().to_string();
    EXPECT_TRUE(restart_required_changes(*old_config, *next).empty());
    const Config reloaded = merge_for_reload(*old_config, *next);
    EXPECT_EQ(reloaded.detection.ping_interval, milliseconds(200));
    EXPECT_EQ(reloaded.log.level, LogLevel::kDebug);
    EXPECT_TRUE(reloaded.failover.observe_only);

    // Restart-only changes.
    std::string changed = kThree;
    changed.replace(changed.find("id: w1"), 6, "id: w9");
    changed.replace(changed.find("10.0.0.3:7700"), 13, "10.0.0.4:7700");
    changed.replace(changed.find("name: c1"), 8, "name: c2");
    changed +=
        "  password_file: /s/pw\nelection: {timeout_max: 3s}\n"
        "watcher2: {}\n";
    changed.erase(changed.find("watcher2"));
    changed += "http: {admin_listen: \"[::1]:7702\"}\n";
    s.add("/s/pw", "pw");
    next = parse(changed, s);
    ASSERT_TRUE(next.has_value()) << next.error().to_string();
    EXPECT_EQ(restart_required_changes(*old_config, *next),
              (std::vector<std::string>{
                  "watcher.id: w1 -> w9",
                  "peers.members: [w2@10.0.0.2:7700, w3@10.0.0.3:7700] -> [w2@10.0.0.2:7700, "
                  "w3@10.0.0.4:7700]",
                  "cluster.name: c1 -> c2",
                  "cluster.password_file: (not set) -> /s/pw",
                  "election.timeout_max: 2s -> 3s",
                  "http.admin_listen: 127.0.0.1:7702 -> [::1]:7702",
              }));

    // A reload keeps the running values of those keys and takes the rest.
    const Config merged = merge_for_reload(*old_config, *next);
    EXPECT_TRUE(restart_required_changes(*old_config, merged).empty());
    EXPECT_EQ(merged.watcher, old_config->watcher);
    EXPECT_EQ(merged.cluster.name, "c1");
    EXPECT_TRUE(merged.cluster.password.empty());
    EXPECT_EQ(merged.http.admin_listen, old_config->http.admin_listen);
    EXPECT_EQ(merged.election, old_config->election);

    // A changed secret content is reported without the content.
    FakeSecrets rotated;
    rotated.add("/s/peer", "another-secret-0123456789");
    next = parse(kThree, rotated);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(restart_required_changes(*old_config, *next),
              (std::vector<std::string>{"peers.secret_file: content changed"}));
}

// --- files ------------------------------------------------------------------------------

class TempDir {
  public:
    TempDir() {
        path_ = std::filesystem::temp_directory_path() /
                ("picket-config-test-" +
                 std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string write(const std::string& name, const std::string& content,
                      std::filesystem::perms perms = std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write) {
        const auto p = path_ / name;
        std::ofstream(p) << content;
        std::filesystem::permissions(p, perms);
        return p.string();
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

TEST(Files, SecretFilePermissionsAreChecked) {
    TempDir dir;
    namespace fs = std::filesystem;
    const auto ok = dir.write("ok", "secret\n", fs::perms::owner_read | fs::perms::group_read);
    EXPECT_EQ(*read_secret_file(ok), "secret\n");
    const auto open = dir.write("open", "secret\n",
                                fs::perms::owner_read | fs::perms::owner_write |
                                    fs::perms::group_read | fs::perms::others_read);
    EXPECT_EQ(read_secret_file(open).error(),
              "readable or writable by others (mode 0644): run chmod o-rwx on it");
    EXPECT_EQ(read_secret_file((dir.path() / "missing").string()).error(), "no such file");
    EXPECT_EQ(read_secret_file(dir.path().string()).error(), "not a regular file");
}

TEST(Files, LoadConfigReadsTheFileAndItsSecretsRelativeToIt) {
    TempDir dir;
    dir.write("peer.secret", kPeerSecret + "\n");
    const auto path = dir.write("picket.yml", kThree + std::string("\n"));
    std::string text = kThree;
    text.replace(text.find("/s/peer"), 7, "peer.secret");
    dir.write("picket.yml", text);
    auto r = load_config(path);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->peers.secret.reveal(), kPeerSecret);
    EXPECT_EQ(r->peers.secret.file, (dir.path() / "peer.secret").string());

    auto missing = load_config((dir.path() / "nope.yml").string());
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().to_string(),
              (dir.path() / "nope.yml").string() + ": cannot read: no such file\n");
}

}  // namespace
}  // namespace picket::config
