// Fuzz target: picketd's HTTP request handling on arbitrary bytes — one connection's worth,
// possibly several pipelined requests — through picket::http::serve_bytes(), the connection
// loop the server runs on every socket (Beast's parser under header/body limits, keep-alive,
// error answers, request building, response rendering). The handler routes like picketd's
// read-only and admin listeners (method checks, bearer token, JSON body).
//
// It must never crash, hang or grow without bound, and must hold: the handler only sees
// requests within the limits with a well-formed path/query split and lower-case header
// names; every byte written back is a sequence of HTTP/1.x responses; the server counts one
// request per handler call.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "picket/http/server.h"

namespace {

using picket::http::Request;
using picket::http::Response;

[[noreturn]] void fail() {
    __builtin_trap();
}

picket::http::ServerLimits limits() {
    picket::http::ServerLimits l;
    // Small enough that inputs of the fuzzer's default length reach both limits.
    l.max_header_bytes = 1024;
    l.max_body_bytes = 512;
    return l;
}

std::size_t calls = 0;

Response handle(const Request& r) {
    ++calls;
    const auto l = limits();
    if (r.body.size() > l.max_body_bytes || r.path.find('?') != std::string::npos ||
        r.target.compare(0, r.path.size(), r.path) != 0 ||
        (r.target.size() > r.path.size() && r.query != r.target.substr(r.path.size() + 1))) {
        fail();
    }
    for (const auto& [name, value] : r.headers) {
        for (const char c : name) {
            if (c >= 'A' && c <= 'Z') {
                fail();
            }
        }
    }
    if (r.path.rfind("/v1/admin/", 0) == 0) {
        const auto auth = r.headers.find("authorization");
        if (auth == r.headers.end() || auth->second != "Bearer s3cret") {
            auto res = Response::json(401, "{\"ok\":false}\n");
            res.headers["WWW-Authenticate"] = "Bearer";
            return res;
        }
        if (r.method != "POST") {
            return Response::json(405, "{\"ok\":false}\n");
        }
        const auto body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
        if (body.is_discarded() || !body.is_object()) {
            return Response::json(400, "{\"ok\":false}\n");
        }
        return Response::json(200, body.dump() + "\n");
    }
    if (r.method != "GET" && r.method != "HEAD") {
        auto res = Response::text(405, "method not allowed\n");
        res.headers["Allow"] = "GET, HEAD";
        return res;
    }
    if (r.path == "/metrics") {
        return Response::text(200, "# TYPE picket_up gauge\npicket_up 1\n");
    }
    if (r.path == "/v1/status") {
        return Response::json(200, nlohmann::json{{"query", r.query}}.dump(
                                       -1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (r.path == "/throw") {
        throw std::runtime_error("handler bug");
    }
    return Response::text(404, "not found\n");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    calls = 0;
    picket::http::ServerStats stats;
    const std::string out = picket::http::serve_bytes(bytes, limits(), handle, &stats);
    if (stats.requests != calls) {
        fail();
    }
    if (!out.empty() && out.rfind("HTTP/1.", 0) != 0) {
        fail();
    }
    if (calls == 0 && stats.bad_requests == 0 && !out.empty()) {
        fail();  // nothing parsed, nothing refused: nothing may be written
    }
    return 0;
}
