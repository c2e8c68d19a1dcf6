// picketctl: the operator's view of a picketd.
//
//   picketctl [--url http://127.0.0.1:7701] status [--json]
//   picketctl check-config FILE

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "picket/base/expected.h"
#include "picket/config/config.h"
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
  check-config FILE    validate a picketd configuration file
  version              print the version

--url defaults to )";

struct Target {
    std::string host;
    std::string port;
};

picket::Expected<Target, std::string> parse_url(const std::string& url) {
    const std::string prefix = "http://";
    if (url.rfind(prefix, 0) != 0) {
        return picket::unexpected("only http:// URLs are supported here: '" + url + "'");
    }
    std::string rest = url.substr(prefix.size());
    rest = rest.substr(0, rest.find('/'));
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || rest.empty()) {
        return Target{rest, "80"};
    }
    std::string host = rest.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return Target{host, rest.substr(colon + 1)};
}

/// GET with a 5 s deadline for the whole exchange.
picket::Expected<std::string, std::string> http_get(const std::string& url,
                                                    const std::string& path) {
    auto target = parse_url(url);
    if (!target) {
        return picket::unexpected(target.error());
    }
    asio::io_context io;
    beast::tcp_stream stream(io);
    std::string error;
    std::string body;
    unsigned status = 0;
    tcp::resolver resolver(io);
    beast::flat_buffer buffer;
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, target->host);
    req.set(http::field::user_agent, "picketctl");
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
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
                http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
                    if (wec) {
                        error = "sending request: " + wec.message();
                        return;
                    }
                    http::async_read(stream, buffer, parser,
                                     [&](beast::error_code rec, std::size_t) {
                                         if (rec) {
                                             error = "reading response: " + rec.message();
                                             return;
                                         }
                                         status = parser.get().result_int();
                                         body = parser.get().body();
                                     });
                });
            });
        });
    io.run_for(std::chrono::seconds(6));
    if (!error.empty()) {
        return picket::unexpected(error);
    }
    if (status == 0) {
        return picket::unexpected("no answer from picketd at " + url + " within 5 s");
    }
    if (status != 200) {
        return picket::unexpected("picketd answered HTTP " + std::to_string(status) + ": " + body);
    }
    return body;
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
    for (const auto& d : c["disagreements"]) {
        std::cout << "disagreement: " << d.value("reason", "") << "\n";
    }
    for (const auto& f : c["findings"]) {
        std::cout << "finding: " << f.value("reason", "") << "\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string url = kDefaultUrl;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--url") {
            if (i + 1 >= argc) {
                std::cerr << "picketctl: --url needs a value\n";
                return 2;
            }
            url = argv[++i];
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
    std::cerr << "picketctl: unknown command '" << args[0] << "'\n"
              << kUsage << kDefaultUrl << "\n";
    return 2;
}
