#include "picket/alert/payload.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace picket::alert {

namespace {
constexpr std::uint64_t kFnvOffset64 = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime64 = 1099511628211ULL;
constexpr unsigned char kSeparatorByte = 0xff;

std::uint64_t fnv_add(std::uint64_t h, std::string_view s) {
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= kFnvPrime64;
    }
    return h;
}

std::uint64_t fnv_add_byte(std::uint64_t h, unsigned char b) {
    h ^= b;
    h *= kFnvPrime64;
    return h;
}

// Days since 1970-01-01 → civil date (H. Hinnant's algorithm, proleptic Gregorian).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) {
        ++y;
    }
}

nlohmann::json labels_json(const LabelSet& labels) {
    auto j = nlohmann::json::object();
    for (const auto& [k, v] : labels) {
        j[k] = v;
    }
    return j;
}

LabelSet common(const std::vector<Alert>& alerts, LabelSet Alert::*member) {
    LabelSet out = alerts.front().*member;
    for (const auto& a : alerts) {
        for (auto it = out.begin(); it != out.end();) {
            const auto found = (a.*member).find(it->first);
            if (found == (a.*member).end() || found->second != it->second) {
                it = out.erase(it);
            } else {
                ++it;
            }
        }
    }
    return out;
}

std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}
}  // namespace

std::uint64_t fingerprint(const LabelSet& labels) {
    std::uint64_t h = kFnvOffset64;
    for (const auto& [name, value] : labels) {  // std::map: sorted by name, like Go's sort
        h = fnv_add(h, name);
        h = fnv_add_byte(h, kSeparatorByte);
        h = fnv_add(h, value);
        h = fnv_add_byte(h, kSeparatorByte);
    }
    return h;
}

std::string fingerprint_hex(const LabelSet& labels) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fingerprint(labels)));
    return buf;
}

std::string label_set_string(const LabelSet& labels) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) {
            out += ", ";
        }
        first = false;
        out += k;
        out += '=';
        out += go_quote(v);
    }
    out += '}';
    return out;
}

std::string rfc3339(double unix_seconds) {
    // 0001-01-01 and 9999-12-31T23:59:59.999 in Unix seconds.
    constexpr double kMin = -62135596800.0;
    constexpr double kMax = 253402300799.999;
    if (!(unix_seconds >= kMin)) {  // also NaN
        unix_seconds = kMin;
    }
    unix_seconds = std::min(unix_seconds, kMax);
    auto total_ms = static_cast<std::int64_t>(std::floor(unix_seconds * 1000.0 + 0.5));
    std::int64_t secs = total_ms >= 0 ? total_ms / 1000 : (total_ms - 999) / 1000;
    const auto ms = static_cast<int>(total_ms - secs * 1000);
    std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    const auto sod = static_cast<int>(secs - days * 86400);
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);
    char buf[96];
    if (ms == 0) {
        std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ",
                      static_cast<long long>(y), m, d, sod / 3600, sod / 60 % 60, sod % 60);
    } else {
        std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                      static_cast<long long>(y), m, d, sod / 3600, sod / 60 % 60, sod % 60, ms);
    }
    return buf;
}

std::string group_key(const std::string& receiver, const LabelSet& group_labels) {
    return "{}/{picket=" + go_quote(receiver) + "}:" + label_set_string(group_labels);
}

LabelSet group_labels(const std::vector<Alert>& alerts) {
    assert(!alerts.empty());
    LabelSet shared = common(alerts, &Alert::labels);
    LabelSet out;
    for (const char* name : {"cluster", "shard", "node"}) {
        const auto it = shared.find(name);
        if (it != shared.end()) {
            out.insert(*it);
        }
    }
    return out;
}

std::string webhook_payload(const WebhookEnvelope& envelope, const std::vector<Alert>& alerts) {
    assert(!alerts.empty());
    nlohmann::json j = nlohmann::json::object();
    const bool any_firing =
        std::any_of(alerts.begin(), alerts.end(), [](const Alert& a) { return a.firing; });
    const LabelSet groups = group_labels(alerts);
    j["receiver"] = envelope.receiver;
    j["status"] = any_firing ? "firing" : "resolved";
    auto list = nlohmann::json::array();
    for (const auto& a : alerts) {
        nlohmann::json e = nlohmann::json::object();
        e["status"] = a.firing ? "firing" : "resolved";
        e["labels"] = labels_json(a.labels);
        e["annotations"] = labels_json(a.annotations);
        e["startsAt"] = rfc3339(a.starts_at);
        e["endsAt"] = a.firing || !a.ends_at ? std::string(kZeroTime) : rfc3339(*a.ends_at);
        e["generatorURL"] = a.generator_url;
        e["fingerprint"] = fingerprint_hex(a.labels);
        list.push_back(std::move(e));
    }
    j["alerts"] = std::move(list);
    j["groupLabels"] = labels_json(groups);
    j["commonLabels"] = labels_json(common(alerts, &Alert::labels));
    j["commonAnnotations"] = labels_json(common(alerts, &Alert::annotations));
    j["externalURL"] = envelope.external_url;
    j["version"] = "4";
    j["groupKey"] = group_key(envelope.receiver, groups);
    j["truncatedAlerts"] = 0;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string alertmanager_v2_body(const std::vector<Alert>& alerts) {
    auto list = nlohmann::json::array();
    for (const auto& a : alerts) {
        nlohmann::json e = nlohmann::json::object();
        e["labels"] = labels_json(a.labels);
        e["annotations"] = labels_json(a.annotations);
        e["startsAt"] = rfc3339(a.starts_at);
        if (a.ends_at) {
            e["endsAt"] = rfc3339(*a.ends_at);
        }
        e["generatorURL"] = a.generator_url;
        list.push_back(std::move(e));
    }
    return list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace picket::alert
