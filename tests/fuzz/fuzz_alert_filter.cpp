// Fuzzes what picket::alert takes from outside: receiver event filters (from the config
// file) and the strings that end up in payloads (node names, details, reasons from Redis
// and from operators). Never crash; a parsed filter matches exactly what its patterns say;
// payloads are built for any bytes; a resolved alert keeps its fingerprint.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "picket/alert/filter.h"
#include "picket/alert/payload.h"
#include "picket/alert/publisher.h"
#include "picket/alert/signature.h"

namespace {
std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (const char c : text) {
        if (c == '\n') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) {
        out.push_back(cur);
    }
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace picket::alert;
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto patterns = lines(text);

    const auto filter = EventFilter::parse(patterns);
    if (filter) {
        for (const EventType t : all_event_types()) {
            bool any = patterns.empty();
            for (const auto& p : patterns) {
                any = any || pattern_matches(p, to_string(t));
            }
            if (filter->matches(t) != any) {
                __builtin_trap();
            }
        }
    }

    PublisherConfig pc;
    pc.cluster = patterns.empty() ? text : patterns.front();
    pc.watcher_id = "w1";
    pc.external_url = "http://127.0.0.1:7701";
    Publisher publisher(pc, [] { return 0.5; });
    Event e;
    e.type = all_event_types()[size % all_event_types().size()];
    e.node = text.substr(0, 64);
    e.shard = text.size() > 64 ? text.substr(64, 64) : "";
    e.detail = text;
    e.reasons = patterns;
    Alert firing = publisher.make_alert(e, static_cast<double>(size) * 1e7 - 1e9);
    Alert resolved = firing;
    resolved.firing = false;
    resolved.ends_at = firing.starts_at + 1;
    if (fingerprint_hex(firing.labels) != fingerprint_hex(resolved.labels)) {
        __builtin_trap();
    }
    const std::string payload = webhook_payload({text, text}, {firing, resolved});
    const std::string v2 = alertmanager_v2_body({firing, resolved});
    if (payload.empty() || v2.empty()) {
        __builtin_trap();
    }
    const std::string sig = sign(text, 1, payload);
    if (!verify(text, "1", payload, sig)) {
        __builtin_trap();
    }
    (void)label_set_string(firing.labels);
    return 0;
}
