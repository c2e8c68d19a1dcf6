#include "picket/cluster/slots.h"

#include <gtest/gtest.h>

namespace picket::cluster {
namespace {

TEST(SlotsTest, ParsesSingleSlotsAndRanges) {
    EXPECT_EQ(parse_slot_range("0-5460"), (SlotRange{0, 5460}));
    EXPECT_EQ(parse_slot_range("5461"), (SlotRange{5461, 5461}));
    EXPECT_EQ(parse_slot_range("16383"), (SlotRange{16383, 16383}));
    EXPECT_EQ(parse_slot_range("7-7"), (SlotRange{7, 7}));
}

TEST(SlotsTest, RejectsBadSlots) {
    for (const char* bad : {"", "16384", "5-3", "x", "-1", "+5", "1-", "-", "1-2-3", "0-16384",
                            "1 ", "99999999999999999999"}) {
        EXPECT_FALSE(parse_slot_range(bad)) << bad;
    }
}

TEST(SlotsTest, NormalizeMergesOverlapsAndNeighbours) {
    const auto merged = normalize_slot_ranges({{10, 20}, {0, 4}, {5, 9}, {15, 30}, {40, 40}});
    EXPECT_EQ(merged, (std::vector<SlotRange>{{0, 30}, {40, 40}}));
    EXPECT_EQ(count_slots({{0, 5460}, {0, 10}, {16383, 16383}}), 5462u);
    EXPECT_EQ(normalize_slot_ranges({{16383, 16383}, {0, 16383}}),
              (std::vector<SlotRange>{{0, 16383}}));
}

TEST(SlotsTest, FormatsForMessages) {
    EXPECT_EQ(format_slot_ranges({{0, 5460}, {5462, 5462}}), "0-5460,5462");
    EXPECT_EQ(format_slot_ranges({}), "");
    EXPECT_EQ(format_slot_ranges({{1, 1}, {3, 3}, {5, 5}}, 2), "1,3,... (1 more)");
}

TEST(SlotsTest, KeyHashSlotMatchesRedis) {
    // CLUSTER KEYSLOT answers on Redis 7.0, and the CRC16 check value of the spec.
    EXPECT_EQ(key_hash_slot("foo"), 12182);
    EXPECT_EQ(key_hash_slot("123456789"), 0x31C3 & 16383);
    EXPECT_EQ(key_hash_slot("{user1000}.following"), key_hash_slot("user1000"));
    EXPECT_EQ(key_hash_slot("{user1000}.followers"), key_hash_slot("{user1000}.following"));
    // An empty tag does not count; only the first '{' and the next '}' do.
    EXPECT_EQ(key_hash_slot("foo{}{bar}"), key_hash_slot(std::string("foo{}{bar}")));
    EXPECT_NE(key_hash_slot("foo{}{bar}"), key_hash_slot("bar"));
    EXPECT_EQ(key_hash_slot("foo{{bar}}zap"), key_hash_slot("{bar"));
    EXPECT_EQ(key_hash_slot("foo{bar}{zap}"), key_hash_slot("bar"));
}

TEST(SlotsTest, EverySlotHasAHashTag) {
    // One pass over the decimal tags hash_tag_for_slot() searches: every slot is reached
    // well below its bound of ten million.
    std::vector<bool> seen(kSlotCount, false);
    std::size_t left = kSlotCount;
    std::uint32_t n = 0;
    for (; left > 0 && n < 10'000'000; ++n) {
        const auto slot = key_hash_slot(std::to_string(n));
        if (!seen[slot]) {
            seen[slot] = true;
            --left;
        }
    }
    EXPECT_EQ(left, 0u) << "tags up to " << n;
    for (const Slot slot : {Slot{0}, Slot{5460}, Slot{5461}, Slot{12182}, kMaxSlot}) {
        const auto tag = hash_tag_for_slot(slot);
        ASSERT_FALSE(tag.empty());
        EXPECT_EQ(key_hash_slot("picket:verify:" + tag), slot) << tag;
    }
}

}  // namespace
}  // namespace picket::cluster
