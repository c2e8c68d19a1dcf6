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

namespace {
std::uint16_t crc16_xmodem(std::string_view data) {
    unsigned crc = 0;
    for (const char ch : data) {
        crc ^= static_cast<unsigned>(static_cast<unsigned char>(ch)) << 8U;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 0x8000U) != 0 ? (crc << 1U) ^ 0x1021U : crc << 1U;
            crc &= 0xFFFFU;
        }
    }
    return static_cast<std::uint16_t>(crc);
}
}  // namespace

Slot key_hash_slot(std::string_view key) {
    if (const auto open = key.find('{'); open != std::string_view::npos) {
        if (const auto close = key.find('}', open + 1);
            close != std::string_view::npos && close > open + 1) {
            key = key.substr(open + 1, close - open - 1);
        }
    }
    return static_cast<Slot>(crc16_xmodem(key) & kMaxSlot);
}

std::string hash_tag_for_slot(Slot slot) {
    for (std::uint32_t n = 0; n < 10'000'000; ++n) {
        auto tag = std::to_string(n);
        if (key_hash_slot(tag) == slot) {
            return "{" + tag + "}";
        }
    }
    return {};  // not reached for a valid slot (the unit test checks every slot)
}

}  // namespace picket::cluster
