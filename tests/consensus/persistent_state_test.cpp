// Unit tests of the state file encoding: round trip, and clear errors (never a silent
// reset) for truncated, corrupted and foreign files.

#include "picket/consensus/persistent_state.h"

#include <gtest/gtest.h>

#include "picket/proto/auth.h"
#include "picket/proto/codec.h"

namespace picket::consensus {
namespace {

PersistentState sample() {
    PersistentState s;
    s.term = 12;
    s.voted_for = "w3";
    s.incarnation = 4;
    proto::FailoverRecord r;
    r.key = proto::RecordKey{"s1", "m1", 9};
    r.term = 11;
    r.replica = "r2";
    r.phase = proto::RecordPhase::kCommandSent;
    r.odown_watchers = {"w1", "w3"};
    r.attempt = 1;
    s.records = {r};
    s.maintenance.term = 11;
    s.maintenance.seq = 2;
    s.maintenance.entries = {{"cluster", "cluster", false, {}, "ops"},
                             {"m1", "node", true, std::chrono::minutes(10), "ann"}};
    return s;
}

TEST(StateFile, AVersionOneFileStillLoads) {
    // Written before record attempts and the maintenance set: 4 elements, 9-element records.
    PersistentState s = sample();
    auto records = proto::records_to_reply(s.records);
    records.elements[0].elements.pop_back();  // no attempt
    std::string payload;
    proto::encode_reply(resp::Reply::array({resp::Reply::string("12"), resp::Reply::string("w3"),
                                            resp::Reply::string("4"), records}),
                        payload);
    const std::string bytes = "PICKETSTATE 1 " + std::to_string(payload.size()) + " " +
                              proto::sha256_hex(payload) + "\n" + payload;
    auto back = decode_state(bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->term, 12U);
    ASSERT_EQ(back->records.size(), 1U);
    EXPECT_EQ(back->records[0].attempt, 0U);
    EXPECT_EQ(back->records[0].replica, "r2");
    EXPECT_TRUE(back->maintenance.entries.empty());
    EXPECT_EQ(salvage_incarnation(bytes), 4U);
    // A version-2 header over a version-1 payload is malformed, not silently read.
    EXPECT_FALSE(decode_state("PICKETSTATE 2 " + bytes.substr(14)));
}

TEST(StateFile, RoundTrips) {
    for (const PersistentState& s : {sample(), PersistentState{}}) {
        const std::string bytes = encode_state(s);
        auto back = decode_state(bytes);
        ASSERT_TRUE(back) << back.error().message;
        EXPECT_EQ(*back, s);
        EXPECT_EQ(encode_state(*back), bytes);
    }
}

TEST(StateFile, EveryTruncationIsAnError) {
    const std::string bytes = encode_state(sample());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        auto r = decode_state(std::string_view(bytes).substr(0, n));
        ASSERT_FALSE(r) << "accepted a file truncated to " << n << " bytes";
    }
    auto r = decode_state(std::string_view(bytes).substr(0, bytes.size() - 3));
    EXPECT_EQ(r.error().kind, StateFileError::Kind::kTruncated);
    EXPECT_NE(r.error().message.find("truncated"), std::string::npos);
}

TEST(StateFile, EveryFlippedByteIsAnError) {
    const std::string bytes = encode_state(sample());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(bad[i] ^ 0x20);
        EXPECT_FALSE(decode_state(bad)) << "accepted a flip at byte " << i;
    }
    std::string bad = bytes;
    bad[bad.size() - 5] ^= 1;
    EXPECT_EQ(decode_state(bad).error().kind, StateFileError::Kind::kChecksum);
}

TEST(StateFile, ForeignFilesAreRejected) {
    EXPECT_EQ(decode_state("{\"term\": 3}").error().kind, StateFileError::Kind::kBadMagic);
    EXPECT_EQ(decode_state("").error().kind, StateFileError::Kind::kTruncated);
    EXPECT_FALSE(decode_state(encode_state(sample()) + "x"));
}

TEST(StateFile, AnIncarnationIsSalvagedFromADamagedFileWhenReadable) {
    const std::string bytes = encode_state(sample());
    EXPECT_EQ(salvage_incarnation(bytes), 4u);
    // A wrong checksum, or a truncation after the incarnation, still shows it.
    std::string bad = bytes;
    bad[bad.size() - 5] ^= 1;
    ASSERT_FALSE(decode_state(bad));
    EXPECT_EQ(salvage_incarnation(bad), 4u);
    const auto at = bytes.find("\r\n4\r\n");
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(salvage_incarnation(std::string_view(bytes).substr(0, at + 5)), 4u);
    // Cut inside or before it, or a foreign file: nothing to salvage.
    EXPECT_EQ(salvage_incarnation(std::string_view(bytes).substr(0, at + 3)), std::nullopt);
    EXPECT_EQ(salvage_incarnation(std::string_view(bytes).substr(0, 20)), std::nullopt);
    EXPECT_EQ(salvage_incarnation("{\"incarnation\": 7}"), std::nullopt);
    EXPECT_EQ(salvage_incarnation(""), std::nullopt);
    // A digit turned into something else is not an incarnation.
    std::string flipped = bytes;
    flipped[at + 2] = 'x';
    EXPECT_EQ(salvage_incarnation(flipped), std::nullopt);
}

TEST(StateFile, AResetStateIsFreshWithAHigherIncarnation) {
    const PersistentState a = reset_state(41, 5);
    EXPECT_EQ(a.term, 0u);
    EXPECT_FALSE(a.voted_for);
    EXPECT_TRUE(a.records.empty());
    EXPECT_EQ(a.incarnation, 42u);
    EXPECT_EQ(reset_state(41, 1000).incarnation, 1000u);
    EXPECT_EQ(reset_state(std::nullopt, 1000).incarnation, 1000u);
    EXPECT_TRUE(decode_state(encode_state(a)));
}

}  // namespace
}  // namespace picket::consensus
