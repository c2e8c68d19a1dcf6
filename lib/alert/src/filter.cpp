#include "picket/alert/filter.h"

namespace picket::alert {

namespace {
constexpr std::size_t kMaxPatterns = 256;
constexpr std::size_t kMaxPatternBytes = 64;

bool valid_pattern(std::string_view p) {
    if (p.empty() || p.size() > kMaxPatternBytes) {
        return false;
    }
    const std::size_t body = p.back() == '*' ? p.size() - 1 : p.size();
    if (body == 0) {
        return p == "*";
    }
    for (std::size_t i = 0; i < body; ++i) {
        const char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}
}  // namespace

bool pattern_matches(std::string_view pattern, std::string_view name) {
    if (!pattern.empty() && pattern.back() == '*') {
        pattern.remove_suffix(1);
        return name.substr(0, pattern.size()) == pattern;
    }
    return pattern == name;
}

Expected<EventFilter, std::string> EventFilter::parse(const std::vector<std::string>& patterns) {
    if (patterns.size() > kMaxPatterns) {
        return unexpected(std::string("more than ") + std::to_string(kMaxPatterns) +
                          " event patterns");
    }
    EventFilter f;
    if (patterns.empty()) {
        return f;
    }
    f.allowed_.assign(all_event_types().size(), false);
    for (const auto& p : patterns) {
        if (!valid_pattern(p)) {
            std::string shown = p.substr(0, kMaxPatternBytes);
            for (auto& c : shown) {
                if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
                    c = '?';
                }
            }
            return unexpected("event pattern '" + shown +
                              "' is not an event name or a prefix ending in '*'");
        }
        bool any = false;
        for (const EventType t : all_event_types()) {
            if (pattern_matches(p, to_string(t))) {
                f.allowed_[static_cast<std::size_t>(t)] = true;
                any = true;
            }
        }
        if (!any) {
            return unexpected("event pattern '" + p + "' matches no event");
        }
    }
    f.patterns_ = patterns;
    return f;
}

bool EventFilter::matches(EventType t) const {
    return allowed_.empty() || allowed_[static_cast<std::size_t>(t)];
}

}  // namespace picket::alert
