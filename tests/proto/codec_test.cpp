// Unit tests of the peer frame codec: every message type round-trips; malformed,
// oversized and mistyped frames are errors, never crashes or partial values.

#include "picket/proto/codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace picket::proto {
namespace {

using namespace std::chrono_literals;

FailoverRecord sample_record() {
    FailoverRecord r;
    r.key = RecordKey{"shard-0", "a1b2c3", 7};
    r.term = 4;
    r.replica = "d4e5f6";
    r.mode = FailoverMode::kTakeover;
    r.phase = RecordPhase::kCommandSent;
    r.odown_watchers = {"w1", "w2", "w3"};
    r.committed = true;
    r.attempt = 2;
    return r;
}

MaintenanceSet sample_maintenance() {
    MaintenanceSet m;
    m.term = 6;
    m.seq = 3;
    m.entries.push_back(MaintenanceEntry{"cluster", "cluster", false, {}, "ops@127.0.0.1"});
    m.entries.push_back(MaintenanceEntry{"0-5460", "shard", true, 90000ms, "ann@10.0.0.1:5500"});
    m.entries.push_back(MaintenanceEntry{"a1b2c3", "node", true, 1ms, ""});
    return m;
}

Opinion sample_opinion() {
    Opinion o;
    o.node = "a1b2c3";
    o.sdown = true;
    o.evidence = Evidence::kDead;
    o.down_for = 1350ms;
    o.pfail_reports = 2;
    o.fail_reports = 1;
    o.replicas_link_down = 1;
    return o;
}

Envelope envelope(Message m) {
    Envelope e;
    e.cluster = "prod";
    e.voter_set = "0123456789abcdef0123456789abcdef";
    e.sender = "w1";
    e.incarnation = 3;
    e.receiver = "w2";
    e.seq = 42;
    e.message = std::move(m);
    e.mac = std::string(64, 'a');
    return e;
}

void expect_round_trip(const Message& m) {
    const Envelope e = envelope(m);
    const std::string wire = encode_frame(e);
    auto back = decode_frame(wire);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, e);
    // Canonical: re-encoding gives the same bytes, so the MAC input is stable.
    EXPECT_EQ(encode_frame(*back), wire);
}

TEST(Codec, EveryMessageTypeRoundTrips) {
    expect_round_trip(Message{5, PreVote{}});
    expect_round_trip(Message{5, RequestVote{}});
    expect_round_trip(Message{5, VoteReply{true, false, {sample_record(), sample_record()}, {}}});
    expect_round_trip(Message{5, VoteReply{false, true, {}, {}}});
    expect_round_trip(Message{6, Heartbeat{9, 800ms, {sample_record()}, {}}});
    expect_round_trip(Message{6, Heartbeat{9, 800ms, {sample_record()}, sample_maintenance()}});
    expect_round_trip(Message{5, VoteReply{true, false, {sample_record()}, sample_maintenance()}});
    expect_round_trip(Message{6, HeartbeatReply{9, true, {sample_opinion()}}});
    expect_round_trip(Message{6, HeartbeatReply{0, false, {}}});
    expect_round_trip(
        Message{6, OpinionUpdate{{sample_opinion(), Opinion{"x", false, {}, {}, 0, 0, 0}}}});
}

TEST(Codec, OpinionsTravelAsMillisecondDurations) {
    const std::string wire =
        encode_frame(envelope(Message{1, HeartbeatReply{1, true, {sample_opinion()}}}));
    EXPECT_NE(wire.find("$4\r\n1350\r\n"), std::string::npos);
}

TEST(Codec, RecordsCarryTheirAttemptAndMaintenanceItsRemainingDuration) {
    const std::string wire = encode_frame(
        envelope(Message{1, Heartbeat{1, 0ms, {sample_record()}, sample_maintenance()}}));
    // The attempt is the record's 10th element; a window's remaining time is in ms.
    EXPECT_NE(wire.find("*10\r\n$7\r\nshard-0"), std::string::npos);
    EXPECT_NE(wire.find("$5\r\nshard\r\n$1\r\n1\r\n$5\r\n90000\r\n"), std::string::npos);
    // A version-1 record (9 elements) is refused on the wire...
    auto v1 = records_to_reply({sample_record()});
    v1.elements[0].elements.pop_back();
    EXPECT_FALSE(records_from_reply(v1));
    // ...and read, as attempt 0, from an old state file.
    auto old = records_from_reply(v1, /*legacy=*/true);
    ASSERT_TRUE(old);
    EXPECT_EQ(old->at(0).attempt, 0U);
}

TEST(Codec, RejectsBadMaintenance) {
    auto bad = [](MaintenanceEntry e) {
        MaintenanceSet m;
        m.entries.push_back(std::move(e));
        return !decode_frame(encode_frame(envelope(Message{1, Heartbeat{1, 0ms, {}, m}})));
    };
    EXPECT_TRUE(bad(MaintenanceEntry{"x", "rack", false, {}, ""}));  // unknown kind
    EXPECT_TRUE(bad(MaintenanceEntry{"", "node", false, {}, ""}));   // no target
    EXPECT_TRUE(bad(MaintenanceEntry{"x", "node", true, std::chrono::hours(24 * 32), ""}));
    EXPECT_FALSE(bad(MaintenanceEntry{"x", "node", true, std::chrono::hours(24 * 30), ""}));
    MaintenanceSet many;
    many.entries.assign(Limits::kMaxMaintenance + 1, MaintenanceEntry{"x", "node", false, {}, ""});
    EXPECT_FALSE(decode_frame(encode_frame(envelope(Message{1, Heartbeat{1, 0ms, {}, many}}))));
    // A window without an end carries no remaining time.
    std::string wire = encode_frame(envelope(
        Message{1, Heartbeat{1, 0ms, {}, MaintenanceSet{1, 1, {{"x", "node", false, {}, ""}}}}}));
    const std::string from = "$1\r\nx\r\n$4\r\nnode\r\n$1\r\n0\r\n$1\r\n0\r\n";
    const auto pos = wire.find(from);
    ASSERT_NE(pos, std::string::npos);
    wire.replace(pos, from.size(), "$1\r\nx\r\n$4\r\nnode\r\n$1\r\n0\r\n$1\r\n5\r\n");
    EXPECT_FALSE(decode_frame(wire));
}

TEST(Codec, MacInputIsTheFrameWithoutTheMac) {
    Envelope e = envelope(Message{2, PreVote{}});
    const std::string input = mac_input(e);
    e.mac = std::string(64, 'b');
    EXPECT_EQ(mac_input(e), input);
    e.seq += 1;
    EXPECT_NE(mac_input(e), input);
    EXPECT_EQ(input.substr(0, 4), "*12\r");
}

TEST(Codec, RejectsMalformedFrames) {
    EXPECT_FALSE(decode_frame("*1\r\n$4\r\nPING\r\n"));
    EXPECT_FALSE(decode_frame("+OK\r\n"));
    EXPECT_FALSE(decode_frame(""));
    EXPECT_FALSE(decode_frame("*13\r\n"));  // incomplete
    std::string wire = encode_frame(envelope(Message{1, PreVote{}}));
    EXPECT_FALSE(decode_frame(wire + "+X\r\n"));  // trailing bytes
    // Wrong scalar types and values.
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"$7\r\nPREVOTE\r\n", "$7\r\nNOVOTES\r\n"},
             {"$2\r\n42\r\n", "$2\r\n-2\r\n"},
             {"$1\r\n3\r\n", ":3\r\n"},
             {"$4\r\nprod\r\n", "$0\r\n\r\n"},
         }) {
        std::string bad = wire;
        const auto pos = bad.find(from);
        ASSERT_NE(pos, std::string::npos) << from;
        bad.replace(pos, from.size(), to);
        auto r = decode_frame(bad);
        EXPECT_FALSE(r) << "accepted with " << to;
    }
}

TEST(Codec, RejectsBadMacShape) {
    Envelope e = envelope(Message{1, PreVote{}});
    e.mac = std::string(64, 'G');
    EXPECT_FALSE(decode_frame(encode_frame(e)));
    e.mac = "abc";
    EXPECT_FALSE(decode_frame(encode_frame(e)));
}

TEST(Codec, EnforcesLimits) {
    Heartbeat h{};
    h.records.assign(Limits::kMaxRecords + 1, sample_record());
    EXPECT_FALSE(decode_frame(encode_frame(envelope(Message{1, h}))));
    h.records.resize(Limits::kMaxRecords);
    EXPECT_TRUE(decode_frame(encode_frame(envelope(Message{1, h}))));

    Envelope e = envelope(Message{1, PreVote{}});
    e.sender = std::string(Limits::kMaxIdBytes + 1, 's');
    EXPECT_FALSE(decode_frame(encode_frame(e)));

    OpinionUpdate o;
    o.opinions.assign(Limits::kMaxOpinions + 1, sample_opinion());
    EXPECT_FALSE(decode_frame(encode_frame(envelope(Message{1, o}))));

    Opinion far = sample_opinion();
    far.down_for = std::chrono::hours(25);
    EXPECT_FALSE(decode_frame(encode_frame(envelope(Message{1, OpinionUpdate{{far}}}))));

    EXPECT_FALSE(decode_frame(std::string(Limits::kMaxFrameBytes + 1, '*')));
}

TEST(Codec, ClassifiesWhatAPersonTypes) {
    auto cmd = [](std::vector<std::string> args) {
        std::vector<resp::Reply> e;
        for (auto& a : args) {
            e.push_back(resp::Reply::string(a));
        }
        return resp::Reply::array(std::move(e));
    };
    EXPECT_EQ(classify(cmd({"PING"})), FrameKind::kPing);
    EXPECT_EQ(classify(cmd({"ping", "hello"})), FrameKind::kPing);
    EXPECT_EQ(classify(cmd({"picket", "info"})), FrameKind::kInfo);
    EXPECT_EQ(classify(cmd({"PICKET", "PEER"})), FrameKind::kPeer);
    EXPECT_EQ(classify(cmd({"GET", "x"})), FrameKind::kUnknown);
    EXPECT_EQ(classify(resp::Reply::status("OK")), FrameKind::kUnknown);
}

}  // namespace
}  // namespace picket::proto
