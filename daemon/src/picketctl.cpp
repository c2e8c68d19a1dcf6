// picketctl: the operator's view of a picketd.
//
//   picketctl [--url http://127.0.0.1:7701] status [--json]
//   picketctl check [--json]       can every shard be failed over now? (exit 1: no)
//   picketctl history [--json]     past failovers with phases and reasons
//   picketctl check-config FILE

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "picket/base/expected.h"
#include "picket/config/config.h"
#include "picket/io/tls.h"
#include "version.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

constexpr const char* kDefaultUrl = "http://127.0.0.1:7701";
constexpr const char* kUsage = R"(usage: picketctl [--url URL] COMMAND

  status [--json]      shards, nodes and this watcher's opinion (from URL/v1/status)
  check [--json]       can each shard be failed over right now, and if not why;
                       exit 0 when every shard is ready, 1 otherwise (Sentinel's CKQUORUM)
  history [--json]     past failovers kept by this watcher: phases, timings, reasons
  check-config FILE    validate a picketd configuration file

Operator actions (admin API: --admin-url http://HOST:PORT, https://HOST:PORT or
unix:/PATH (picketd's http.admin_listen), default http://127.0.0.1:7702, repeatable;
token from --token-file FILE or $PICKET_ADMIN_TOKEN_FILE; for https: --ca-file FILE
(the CA of picketd's admin_tls certificate; default: the system's), --cert-file FILE and
--key-file FILE (a client certificate, when admin_tls.client_ca_file is set)):
  maintenance on|off TARGET [--for DURATION]
                       no automatic failover of TARGET (cluster, a shard's slot ranges,
                       a node id or ip:port) while on; DURATION like 30m, 2h. Cluster
                       state: the leader replicates it to every watcher; give every
                       watcher's --admin-url (the leader's acceptance counts)
  switchover SHARD [--to NODE]
                       graceful CLUSTER FAILOVER of a healthy shard (no data loss);
                       send it to the leader
  failover SHARD --force
                       fail an objectively-down shard over now, overriding the cooldown,
                       rate limit, timeouts-only wait and TAKEOVER safety; to the leader
  ack SHARD            lift the shard's cooldown after a failover (flap block)
  version              print the version

--url defaults to )";

/// picketctl's TLS settings for https:// URLs (--ca-file, --cert-file, --key-file).
picket::io::TlsClientOptions client_tls;

struct Target {
    std::string host;
    std::string port;
    bool tls = false;
    /// For unix:/path URLs: the socket path (host and port unused).
    std::string unix_path;
};

picket::Expected<Target, std::string> parse_url(const std::string& url) {
    if (url.rfind("unix:", 0) == 0) {
        const std::string path = url.substr(5);
        if (path.empty() || path.front() != '/') {
            return picket::unexpected("a unix socket URL is unix:/absolute/path: '" + url + "'");
        }
        return Target{"localhost", "", false, path};
    }
    const bool tls = url.rfind("https://", 0) == 0;
    const std::string prefix = tls ? "https://" : "http://";
    if (url.rfind(prefix, 0) != 0) {
        return picket::unexpected(
            "only http://, https:// and unix:/path URLs are supported here: '" + url + "'");
    }
    std::string rest = url.substr(prefix.size());
    rest = rest.substr(0, rest.find('/'));
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || rest.empty()) {
        return Target{rest, tls ? "443" : "80", tls, {}};
    }
    std::string host = rest.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return Target{host, rest.substr(colon + 1), tls, {}};
}

struct Reply {
    unsigned status = 0;
    std::string body;
};

/// Writes `req` on a connected `stream` and reads the response into `status`/`body`, or
/// says what failed in `error`. The stream's deadline covers the whole exchange.
template <class Stream>
void send_and_read(Stream& stream, http::request<http::string_body>& req,
                   beast::flat_buffer& buffer, http::response_parser<http::string_body>& parser,
                   std::string& error, unsigned& status, std::string& body) {
    http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
        if (wec) {
            error = "sending request: " + wec.message();
            return;
        }
        http::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) {
            if (rec) {
                error = "reading response: " + rec.message();
                return;
            }
            status = parser.get().result_int();
            body = parser.get().body();
        });
    });
}

/// One HTTP exchange with a 5 s deadline for the whole of it, over TCP (http://host:port)
/// or a unix socket (unix:/path, e.g. picketd's http.admin_listen).
picket::Expected<Reply, std::string> http_exchange(const std::string& url, http::verb verb,
                                                   const std::string& path,
                                                   const std::string& token = {},
                                                   const std::string& request_body = {}) {
    auto target = parse_url(url);
    if (!target) {
        return picket::unexpected(target.error());
    }
    asio::io_context io;
    beast::tcp_stream stream(io);
    beast::basic_stream<asio::local::stream_protocol> unix_stream(io);
    std::string error;
    std::string body;
    unsigned status = 0;
    tcp::resolver resolver(io);
    beast::flat_buffer buffer;
    http::request<http::string_body> req{verb, path, 11};
    req.set(http::field::host, target->host);
    req.set(http::field::user_agent, "picketctl");
    if (!token.empty()) {
        req.set(http::field::authorization, "Bearer " + token);
        const char* user = std::getenv("USER");
        req.set("X-Picket-User", user != nullptr ? user : "unknown");
    }
    if (verb == http::verb::post) {
        req.set(http::field::content_type, "application/json");
        req.body() = request_body;
        req.prepare_payload();
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    std::optional<asio::ssl::context> tls_context;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
    if (target->tls) {
        auto options = client_tls;
        options.enabled = true;
        options.server_name = target->host;
        auto ctx = picket::io::make_client_context(options);
        if (!ctx) {
            return picket::unexpected(ctx.error());
        }
        tls_context.emplace(std::move(*ctx));
        tls_stream.emplace(io, *tls_context);
        boost::system::error_code not_ip;
        asio::ip::make_address(target->host, not_ip);
        if (not_ip) {
            SSL_set_tlsext_host_name(tls_stream->native_handle(), target->host.c_str());
        }
        tls_stream->set_verify_callback(asio::ssl::host_name_verification(target->host));
        resolver.async_resolve(
            target->host, target->port, [&](beast::error_code ec, tcp::resolver::results_type r) {
                if (ec) {
                    error = "cannot resolve " + target->host + ": " + ec.message();
                    return;
                }
                auto& lowest = beast::get_lowest_layer(*tls_stream);
                lowest.expires_after(std::chrono::seconds(5));
                lowest.async_connect(r, [&](beast::error_code cec, const tcp::endpoint&) {
                    if (cec) {
                        error = "cannot connect to picketd at " + url + ": " + cec.message() +
                                " (is picketd running? is the URL right?)";
                        return;
                    }
                    tls_stream->async_handshake(
                        asio::ssl::stream_base::client, [&](beast::error_code hec) {
                            if (hec) {
                                error = "TLS handshake with " + url + ": " + hec.message() +
                                        " (--ca-file: the CA of picketd's admin_tls "
                                        "certificate; --cert-file/--key-file when it asks for "
                                        "a client certificate)";
                                return;
                            }
                            send_and_read(*tls_stream, req, buffer, parser, error, status, body);
                        });
                });
            });
    } else if (!target->unix_path.empty()) {
        unix_stream.expires_after(std::chrono::seconds(5));
        unix_stream.async_connect(
            asio::local::stream_protocol::endpoint(target->unix_path), [&](beast::error_code cec) {
                if (cec) {
                    error = "cannot connect to picketd at " + url + ": " + cec.message() +
                            " (is picketd running? is http.admin_listen this socket? may this "
                            "user open it?)";
                    return;
                }
                send_and_read(unix_stream, req, buffer, parser, error, status, body);
            });
    } else {
        resolver.async_resolve(
            target->host, target->port, [&](beast::error_code ec, tcp::resolver::results_type r) {
                if (ec) {
                    error = "cannot resolve " + target->host + ": " + ec.message();
                    return;
                }
                stream.expires_after(std::chrono::seconds(5));
                stream.async_connect(r, [&](beast::error_code cec, const tcp::endpoint&) {
                    if (cec) {
                        error = "cannot connect to picketd at " + url + ": " + cec.message() +
                                " (is picketd running? is --url right?)";
                        return;
                    }
                    send_and_read(stream, req, buffer, parser, error, status, body);
                });
            });
    }
    io.run_for(std::chrono::seconds(6));
    if (!error.empty()) {
        return picket::unexpected(error);
    }
    if (status == 0) {
        return picket::unexpected("no answer from picketd at " + url + " within 5 s");
    }
    return Reply{status, body};
}

picket::Expected<std::string, std::string> http_get(const std::string& url,
                                                    const std::string& path) {
    auto r = http_exchange(url, http::verb::get, path);
    if (!r) {
        return picket::unexpected(r.error());
    }
    if (r->status != 200) {
        return picket::unexpected("picketd answered HTTP " + std::to_string(r->status) + ": " +
                                  r->body);
    }
    return r->body;
}

/// The admin token: --token-file, else $PICKET_ADMIN_TOKEN_FILE (one trailing newline
/// stripped, as picketd does).
picket::Expected<std::string, std::string> read_token(const std::string& file) {
    std::string path = file;
    if (path.empty()) {
        const char* env = std::getenv("PICKET_ADMIN_TOKEN_FILE");
        path = env != nullptr ? env : "";
    }
    if (path.empty()) {
        return picket::unexpected(
            std::string("the admin API needs its token: --token-file FILE or "
                        "PICKET_ADMIN_TOKEN_FILE (picketd's http.admin_token_file)"));
    }
    std::ifstream in(path);
    if (!in) {
        return picket::unexpected("cannot read the token file " + path);
    }
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (token.size() >= 2 && token.compare(token.size() - 2, 2, "\r\n") == 0) {
        token.resize(token.size() - 2);
    } else if (!token.empty() && token.back() == '\n') {
        token.pop_back();
    }
    return token;
}

/// POSTs an admin action to every admin URL; prints each answer. Exit code 0 when all
/// accepted.
/// POSTs to every URL and prints each answer. With `leader_only`, the call succeeds when
/// one watcher (the leader) accepted it: the others' "not the leader" refusals are expected.
int admin_post(const std::vector<std::string>& urls, const std::string& token,
               const std::string& path, const json& body, bool leader_only = false) {
    int rc = 0;
    bool accepted = false;
    for (const auto& u : urls) {
        auto r = http_exchange(u, http::verb::post, path, token, body.dump());
        if (!r) {
            std::cerr << "picketctl: " << u << ": " << r.error() << "\n";
            rc = 1;
            continue;
        }
        auto doc = json::parse(r->body, nullptr, false);
        const std::string message = doc.is_object() ? doc.value("message", r->body) : r->body;
        const bool ok = r->status == 200 && doc.is_object() && doc.value("ok", false);
        (ok ? std::cout : std::cerr)
            << (urls.size() > 1 ? u + ": " : "") << (ok ? "" : "refused: ") << message;
        if (!ok && doc.is_object() && doc.contains("leader")) {
            std::cerr << " (leader: " << doc["leader"].get<std::string>() << ")";
        }
        (ok ? std::cout : std::cerr) << "\n";
        rc = ok ? rc : 1;
        accepted = accepted || ok;
    }
    return leader_only && accepted ? 0 : rc;
}

/// "90s", "30m", "2h", "1d" or plain seconds; nullopt when malformed.
std::optional<double> parse_seconds(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    double unit = 1;
    std::string num = text;
    switch (text.back()) {
        case 's':
            unit = 1;
            num.pop_back();
            break;
        case 'm':
            unit = 60;
            num.pop_back();
            break;
        case 'h':
            unit = 3600;
            num.pop_back();
            break;
        case 'd':
            unit = 86400;
            num.pop_back();
            break;
        default:
            break;
    }
    char* end = nullptr;
    const double v = std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size() || v < 0) {
        return std::nullopt;
    }
    return v * unit;
}

std::string fmt_ms(const json& v) {
    if (!v.is_number()) {
        return "-";
    }
    std::ostringstream o;
    o << std::fixed << std::setprecision(2) << v.get<double>() << "ms";
    return o.str();
}

std::string node_brief(const json& n) {
    std::string s = n.value("address", "?") + " " + n.value("state", "?");
    if (n.value("state", "") != "up" && n.value("evidence", "none") != "none") {
        s += "(" + n.value("evidence", "") + ")";
    }
    return s;
}

/// The maintenance windows the vote replicated to this watcher (any watcher shows them).
void print_maintenance(const json& doc) {
    if (!doc.contains("failover") || !doc["failover"].is_object() ||
        !doc["failover"].contains("maintenance")) {
        return;
    }
    const auto& list = doc["failover"]["maintenance"];
    if (!list.is_array() || list.empty()) {
        return;
    }
    std::cout << "\nMAINTENANCE (no automatic failover)\n";
    for (const auto& m : list) {
        std::cout << "  " << m.value("kind", "?") << " " << m.value("target", "?") << "  "
                  << (m.contains("remaining_ms") && m["remaining_ms"].is_number()
                          ? std::to_string(m["remaining_ms"].get<long long>() / 1000) + " s left"
                          : std::string("until turned off"))
                  << "  by " << m.value("by", "?") << "\n";
    }
}

void print_table(const json& doc) {
    const auto& w = doc["watcher"];
    const auto& c = doc["cluster"];
    std::cout << "cluster " << w.value("cluster_name", "?") << "  state "
              << (c["state"].is_string() ? c["state"].get<std::string>() : "unknown") << "  epoch "
              << c.value("current_epoch", 0) << "  watcher " << w.value("id", "?")
              << (w.value("safe_mode", false) ? "  SAFE MODE" : "") << "\n\n";
    std::map<std::string, json> nodes_by_id;
    for (const auto& n : doc["nodes"]) {
        nodes_by_id[n.value("node_id", "")] = n;
    }
    std::cout << std::left << std::setw(6) << "SHARD" << std::setw(34) << "MASTER" << std::setw(10)
              << "LATENCY" << std::setw(22) << "SLOTS"
              << "REPLICAS (state, lag)\n";
    int i = 0;
    for (const auto& s : doc["shards"]) {
        ++i;
        const auto m = nodes_by_id.find(s.value("master_id", ""));
        const json master = m == nodes_by_id.end() ? json::object() : m->second;
        std::string replicas;
        for (const auto& r : s["replicas"]) {
            const auto rn = nodes_by_id.find(r.value("node_id", ""));
            if (!replicas.empty()) {
                replicas += "; ";
            }
            if (rn == nodes_by_id.end()) {
                replicas += r.value("address", "?") + " unknown";
                continue;
            }
            replicas += node_brief(rn->second);
            if (rn->second["lag_bytes"].is_number()) {
                replicas +=
                    ", lag " + std::to_string(rn->second["lag_bytes"].get<long long>()) + " B";
            }
        }
        std::cout << std::setw(6) << i << std::setw(34)
                  << (master.empty() ? s.value("master_address", "?") : node_brief(master))
                  << std::setw(10) << fmt_ms(master.value("latency_ms", json())) << std::setw(22)
                  << (s.value("slots", "") + " (" + std::to_string(s.value("slot_count", 0)) + ")")
                  << (replicas.empty() ? "(none)" : replicas) << "\n";
    }
    bool header = false;
    for (const auto& n : doc["nodes"]) {
        if (n.value("state", "") == "up") {
            continue;
        }
        if (!header) {
            std::cout << "\nNODES NOT UP\n";
            header = true;
        }
        std::cout << "  " << node_brief(n) << "  " << n.value("reason", "") << " "
                  << n.value("last_error", "") << "\n";
    }
    print_maintenance(doc);
    for (const auto& d : c["disagreements"]) {
        std::cout << "disagreement: " << d.value("reason", "") << "\n";
    }
    for (const auto& f : c["findings"]) {
        std::cout << "finding: " << f.value("reason", "") << "\n";
    }
}

/// GET path as JSON of the expected type; prints the error and returns nullopt.
std::optional<json> get_json(const std::string& url, const std::string& path, bool object) {
    auto body = http_get(url, path);
    if (!body) {
        std::cerr << "picketctl: " << body.error() << "\n";
        return std::nullopt;
    }
    auto doc = json::parse(*body, nullptr, false);
    if (doc.is_discarded() || (object ? !doc.is_object() : !doc.is_array())) {
        std::cerr << "picketctl: picketd sent something unexpected for " << path << "\n";
        return std::nullopt;
    }
    return doc;
}

int print_check(const json& doc) {
    const auto& failover = doc["failover"];
    if (!failover.is_object() || !failover["readiness"].is_object() ||
        failover["readiness"].empty()) {
        std::cout << "no shard known yet (has picketd read CLUSTER NODES?)\n";
        return 1;
    }
    int not_ready = 0;
    for (const auto& [shard, r] : failover["readiness"].items()) {
        const bool ready = r.value("ready", false);
        not_ready += ready ? 0 : 1;
        std::cout << std::left << std::setw(24) << shard << (ready ? "READY      " : "NOT READY  ")
                  << r.value("reason", "") << "\n";
    }
    print_maintenance(doc);
    if (!failover.value("enabled", true)) {
        std::cout << "note: failover.enabled is false on this watcher (detect and alert only)\n";
    } else if (failover.value("observe_only", false)) {
        std::cout << "note: observe_only: picket decides and reports but sends no command\n";
    }
    return not_ready == 0 ? 0 : 1;
}

std::string fmt_after(const json& v) {
    return v.is_number() ? "+" + std::to_string(v.get<long long>()) + "ms" : "-";
}

void print_history(const json& list) {
    if (list.empty()) {
        std::cout << "no failover recorded by this watcher\n";
        return;
    }
    std::cout << std::left << std::setw(21) << "DECIDED (UTC)" << std::setw(14) << "SHARD"
              << std::setw(10) << "MODE" << std::setw(16) << "STATE" << std::setw(22)
              << "NEW MASTER"
              << "DOWN→DECIDED→SENT→PROMOTED→CONVERGED\n";
    for (const auto& e : list) {
        char when[32] = "-";
        const auto t = static_cast<std::time_t>(e.value("decided_unix", 0.0));
        if (t > 0) {
            std::tm tm{};
            gmtime_r(&t, &tm);
            std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        }
        std::cout << std::setw(21) << when << std::setw(14) << e.value("shard", "?")
                  << std::setw(10) << e.value("mode", "?") << std::setw(16) << e.value("state", "?")
                  << std::setw(22) << e.value("replica_address", "?")
                  << e.value("down_for_at_decision_ms", 0) << "ms "
                  << fmt_after(e.value("command_sent_after_ms", json())) << " "
                  << fmt_after(e.value("promoted_after_ms", json())) << " "
                  << fmt_after(e.value("converged_after_ms", json())) << "\n";
        std::cout << "    " << e.value("reason", "") << "\n";
        if (!e.value("choice", "").empty()) {
            std::cout << "    choice: " << e.value("choice", "") << "\n";
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string url = kDefaultUrl;
    std::vector<std::string> admin_urls;
    std::string token_file;
    std::string to;
    std::string for_duration;
    bool force = false;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--url" || a == "--admin-url" || a == "--token-file" || a == "--to" ||
            a == "--for" || a == "--ca-file" || a == "--cert-file" || a == "--key-file") {
            if (i + 1 >= argc) {
                std::cerr << "picketctl: " << a << " needs a value\n";
                return 2;
            }
            const std::string v = argv[++i];
            if (a == "--url") {
                url = v;
            } else if (a == "--admin-url") {
                admin_urls.push_back(v);
            } else if (a == "--token-file") {
                token_file = v;
            } else if (a == "--to") {
                to = v;
            } else if (a == "--ca-file") {
                client_tls.ca_file = v;
            } else if (a == "--cert-file") {
                client_tls.cert_file = v;
            } else if (a == "--key-file") {
                client_tls.key_file = v;
            } else {
                for_duration = v;
            }
        } else if (a == "--force") {
            force = true;
        } else if (a == "--help" || a == "-h") {
            std::cout << kUsage << kDefaultUrl << "\n";
            return 0;
        } else {
            args.push_back(a);
        }
    }
    if (args.empty()) {
        std::cerr << kUsage << kDefaultUrl << "\n";
        return 2;
    }
    if (args[0] == "version") {
        std::cout << picket::daemon::version_text("picketctl");
        return 0;
    }
    if (args[0] == "check-config") {
        if (args.size() != 2) {
            std::cerr << "usage: picketctl check-config FILE\n";
            return 2;
        }
        auto loaded = picket::config::load_config(args[1]);
        if (!loaded) {
            std::cerr << loaded.error().to_string();
            std::cerr << args[1] << ": invalid (" << loaded.error().errors.size() << " error(s))\n";
            return 1;
        }
        for (const auto& w : loaded->warnings) {
            std::cerr << "warning: " << w.to_string() << "\n";
        }
        std::cout << args[1] << ": valid\n";
        return 0;
    }
    if (args[0] == "status") {
        const bool as_json = args.size() > 1 && args[1] == "--json";
        auto body = http_get(url, "/v1/status");
        if (!body) {
            std::cerr << "picketctl: " << body.error() << "\n";
            return 1;
        }
        if (as_json) {
            std::cout << *body;
            return 0;
        }
        auto doc = json::parse(*body, nullptr, false);
        if (doc.is_discarded() || !doc.is_object()) {
            std::cerr << "picketctl: picketd sent something that is not a status document\n";
            return 1;
        }
        print_table(doc);
        return 0;
    }
    if (args[0] == "maintenance" || args[0] == "switchover" || args[0] == "failover" ||
        args[0] == "ack") {
        const std::string& cmd = args[0];
        const std::size_t want = cmd == "maintenance" ? 3 : 2;
        if (args.size() != want || (cmd == "maintenance" && args[1] != "on" && args[1] != "off")) {
            std::cerr << "usage: picketctl maintenance on|off TARGET [--for DURATION] | "
                         "switchover SHARD [--to NODE] | failover SHARD --force | ack SHARD\n";
            return 2;
        }
        if (cmd == "failover" && !force) {
            std::cerr << "picketctl: a manual failover overrides picket's safety rules (cooldown, "
                         "timeouts-only wait, TAKEOVER fencing); add --force if you are sure\n";
            return 2;
        }
        auto token = read_token(token_file);
        if (!token) {
            std::cerr << "picketctl: " << token.error() << "\n";
            return 2;
        }
        if (admin_urls.empty()) {
            admin_urls.emplace_back("http://127.0.0.1:7702");
        }
        json body;
        std::string path;
        if (cmd == "maintenance") {
            path = "/v1/admin/maintenance";
            body = {{"target", args[2]}, {"on", args[1] == "on"}};
            if (!for_duration.empty()) {
                auto secs = parse_seconds(for_duration);
                if (!secs) {
                    std::cerr << "picketctl: --for " << for_duration
                              << ": give a duration like 90s, 30m, 2h, 1d\n";
                    return 2;
                }
                body["for_seconds"] = *secs;
            }
        } else if (cmd == "switchover") {
            path = "/v1/admin/switchover";
            body = {{"shard", args[1]}, {"to", to}};
        } else if (cmd == "failover") {
            path = "/v1/admin/failover";
            body = {{"shard", args[1]}, {"force", true}};
        } else {
            path = "/v1/admin/ack";
            body = {{"shard", args[1]}};
        }
        // Maintenance is cluster state changed through the leader: give every watcher's
        // --admin-url and the leader's acceptance is what counts.
        return admin_post(admin_urls, *token, path, body, cmd == "maintenance");
    }
    if (args[0] == "check" || args[0] == "history") {
        const bool as_json = args.size() > 1 && args[1] == "--json";
        const bool check = args[0] == "check";
        auto doc = get_json(url, check ? "/v1/status" : "/v1/history", check);
        if (!doc) {
            return 1;
        }
        if (as_json) {
            std::cout << (check ? (*doc)["failover"]["readiness"] : *doc).dump(2) << "\n";
            if (!check) {
                return 0;
            }
            for (const auto& [shard, r] : (*doc)["failover"]["readiness"].items()) {
                if (!r.value("ready", false)) {
                    return 1;
                }
            }
            return (*doc)["failover"]["readiness"].empty() ? 1 : 0;
        }
        if (check) {
            return print_check(*doc);
        }
        print_history(*doc);
        return 0;
    }
    std::cerr << "picketctl: unknown command '" << args[0] << "'\n"
              << kUsage << kDefaultUrl << "\n";
    return 2;
}
