#pragma once
// Hash slots: the 16384 buckets Redis Cluster shards keys into (CRC16(key) mod 16384),
// and the inclusive ranges CLUSTER NODES and CLUSTER SHARDS print them as.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace picket::cluster {

/// One hash slot, 0..16383.
using Slot = std::uint16_t;

/// Number of hash slots in every Redis Cluster (CLUSTER_SLOTS in cluster.h).
inline constexpr std::size_t kSlotCount = 16384;

/// The highest valid slot number.
inline constexpr Slot kMaxSlot = 16383;

/// An inclusive range of slots: "0-5460" is {0, 5460}, a single slot "5461" is
/// {5461, 5461}. Parsers only produce ranges with first <= last <= kMaxSlot.
struct SlotRange {
    /// First slot of the range.
    Slot first = 0;
    /// Last slot of the range (inclusive).
    Slot last = 0;

    /// Number of slots in the range.
    std::size_t size() const { return std::size_t{last} - std::size_t{first} + 1; }
    /// True when `slot` is in the range.
    bool contains(Slot slot) const { return first <= slot && slot <= last; }
    /// "0-5460", or "5461" for a single slot.
    std::string to_string() const;

    friend bool operator==(const SlotRange&, const SlotRange&) = default;
    friend auto operator<=>(const SlotRange&, const SlotRange&) = default;
};

/// Parses one slot number; nullopt on junk, a sign, or a value above kMaxSlot.
std::optional<Slot> parse_slot(std::string_view text);

/// Parses "first-last" or a single "slot"; nullopt on junk, slots above kMaxSlot or
/// first > last.
std::optional<SlotRange> parse_slot_range(std::string_view text);

/// Sorts ranges and merges overlapping or adjacent ones: {5-9, 0-4, 3-3} → {0-9}.
std::vector<SlotRange> normalize_slot_ranges(std::vector<SlotRange> ranges);

/// Number of distinct slots the ranges cover (overlaps counted once).
std::size_t count_slots(const std::vector<SlotRange>& ranges);

/// "0-5460,5462,6000-6001" for messages; "" for no ranges. At most `max_ranges` ranges
/// are written, then ",... (N more)".
std::string format_slot_ranges(const std::vector<SlotRange>& ranges, std::size_t max_ranges = 16);

/// The slot Redis Cluster stores `key` in: CRC16 (XMODEM) of the key, or of its hash tag
/// (the text between the first '{' and the next '}', when not empty), mod 16384.
Slot key_hash_slot(std::string_view key);

/// A short hash tag ("{…}") whose slot is `slot`: keys containing it are stored there.
/// Searches decimal tags in order; every slot has one below ten million.
std::string hash_tag_for_slot(Slot slot);

}  // namespace picket::cluster
