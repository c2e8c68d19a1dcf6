#include "picket/cluster/slots.h"

#include <algorithm>

#include "picket/base/strings.h"

namespace picket::cluster {

std::string SlotRange::to_string() const {
    if (first == last) {
        return std::to_string(first);
    }
    return std::to_string(first) + "-" + std::to_string(last);
}

std::optional<Slot> parse_slot(std::string_view text) {
    const auto value = parse_integer<std::uint16_t>(text);
    if (!value || *value > kMaxSlot) {
        return std::nullopt;
    }
    return *value;
}

std::optional<SlotRange> parse_slot_range(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) {
        const auto slot = parse_slot(text);
        if (!slot) {
            return std::nullopt;
        }
        return SlotRange{*slot, *slot};
    }
    const auto first = parse_slot(text.substr(0, dash));
    const auto last = parse_slot(text.substr(dash + 1));
    if (!first || !last || *first > *last) {
        return std::nullopt;
    }
    return SlotRange{*first, *last};
}

std::vector<SlotRange> normalize_slot_ranges(std::vector<SlotRange> ranges) {
    std::sort(ranges.begin(), ranges.end());
    std::vector<SlotRange> out;
    out.reserve(ranges.size());
    for (const auto& r : ranges) {
        // Adjacent: r.first == back.last + 1 (computed without overflowing Slot).
        if (!out.empty() && std::size_t{r.first} <= std::size_t{out.back().last} + 1) {
            out.back().last = std::max(out.back().last, r.last);
        } else {
            out.push_back(r);
        }
    }
    return out;
}

std::size_t count_slots(const std::vector<SlotRange>& ranges) {
    std::size_t total = 0;
    for (const auto& r : normalize_slot_ranges(ranges)) {
        total += r.size();
    }
    return total;
}

std::string format_slot_ranges(const std::vector<SlotRange>& ranges, std::size_t max_ranges) {
    std::string out;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        if (i == max_ranges) {
            out += ",... (" + std::to_string(ranges.size() - i) + " more)";
            break;
        }
        if (i != 0) {
            out += ',';
        }
        out += ranges[i].to_string();
    }
    return out;
}

}  // namespace picket::cluster
