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

}  // namespace
}  // namespace picket::cluster
