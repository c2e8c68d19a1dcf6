// Unit tests of the Authenticator: what it accepts, and every reason it drops a frame
// (each a metric label): key, cluster, voter set, sender, receiver, replay, old
// sequence numbers and incarnations.

#include "picket/proto/auth.h"

#include <gtest/gtest.h>

#include <string>

namespace picket::proto {
namespace {

AuthConfig config(std::string self, std::string secret = "s3cret", std::string cluster = "prod") {
    return AuthConfig{std::move(secret), std::move(cluster), {"w1", "w2", "w3"}, std::move(self)};
}

const Message kMsg{7, HeartbeatReply{3, true, {}}};

DropReason drop(Authenticator& a, std::string_view frame) {
    auto r = a.open(frame);
    EXPECT_FALSE(r) << "accepted";
    return r ? DropReason::kMalformed : r.error();
}

TEST(Authenticator, AcceptsAnAuthenticFrame) {
    Authenticator w1(config("w1"), 1);
    Authenticator w2(config("w2"), 1);
    auto got = w2.open(w1.seal("w2", kMsg));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->sender, "w1");
    EXPECT_EQ(got->incarnation, 1u);
    EXPECT_EQ(got->seq, 1u);
    EXPECT_EQ(got->message, kMsg);
}

TEST(Authenticator, HmacMatchesRfc4231TestCase2) {
    EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Authenticator, VoterSetHashIgnoresOrder) {
    EXPECT_EQ(voter_set_hash({"a", "b", "c"}), voter_set_hash({"c", "a", "b"}));
    EXPECT_NE(voter_set_hash({"a", "b", "c"}), voter_set_hash({"a", "b", "d"}));
    EXPECT_NE(voter_set_hash({"ab", "c"}), voter_set_hash({"a", "bc"}));
    EXPECT_EQ(voter_set_hash({"a"}).size(), 32u);
}

TEST(Authenticator, DropsWrongKey) {
    Authenticator w1(config("w1", "other"), 1);
    Authenticator w2(config("w2"), 1);
    EXPECT_EQ(drop(w2, w1.seal("w2", kMsg)), DropReason::kBadMac);
}

TEST(Authenticator, DropsWrongCluster) {
    Authenticator w1(config("w1", "s3cret", "staging"), 1);
    Authenticator w2(config("w2"), 1);
    EXPECT_EQ(drop(w2, w1.seal("w2", kMsg)), DropReason::kWrongCluster);
}

TEST(Authenticator, DropsWrongVoterSet) {
    AuthConfig c = config("w1");
    c.voters.push_back("w4");
    Authenticator w1(c, 1);
    Authenticator w2(config("w2"), 1);
    EXPECT_EQ(drop(w2, w1.seal("w2", kMsg)), DropReason::kWrongVoterSet);
}

TEST(Authenticator, DropsWrongReceiverUnknownSenderAndSelf) {
    Authenticator w1(config("w1"), 1);
    Authenticator w2(config("w2"), 1);
    EXPECT_EQ(drop(w2, w1.seal("w3", kMsg)), DropReason::kWrongReceiver);
    Authenticator self(config("w2"), 1);
    EXPECT_EQ(drop(w2, self.seal("w2", kMsg)), DropReason::kUnknownSender);
    // A sender outside the voter set with a voter set hash that matches ours.
    AuthConfig stranger = config("w9");
    Authenticator w9(stranger, 1);
    EXPECT_EQ(drop(w2, w9.seal("w2", kMsg)), DropReason::kUnknownSender);
}

TEST(Authenticator, DropsTamperedFrames) {
    Authenticator w1(config("w1"), 1);
    Authenticator w2(config("w2"), 1);
    Envelope e = w1.seal_envelope("w2", kMsg);
    e.message.term = 8;  // changed after sealing
    EXPECT_EQ(drop(w2, encode_frame(e)), DropReason::kBadMac);
    Envelope f = w1.seal_envelope("w2", kMsg);
    f.seq = 100;
    EXPECT_EQ(drop(w2, encode_frame(f)), DropReason::kBadMac);
    Envelope g = w1.seal_envelope("w2", kMsg);
    g.version = 1;  // the version before record attempts and maintenance
    EXPECT_EQ(drop(w2, encode_frame(g)), DropReason::kBadVersion);
    EXPECT_EQ(drop(w2, "*1\r\n$4\r\nPING\r\n"), DropReason::kMalformed);
}

TEST(Authenticator, DropsReplaysAndAcceptsReorderWithinTheWindow) {
    Authenticator w1(config("w1"), 1);
    Authenticator w2(config("w2"), 1);
    const std::string f1 = w1.seal("w2", kMsg);
    const std::string f2 = w1.seal("w2", kMsg);
    const std::string f3 = w1.seal("w2", kMsg);
    EXPECT_TRUE(w2.open(f3));
    EXPECT_TRUE(w2.open(f1));  // reordered, inside the window
    EXPECT_EQ(drop(w2, f1), DropReason::kReplay);
    EXPECT_EQ(drop(w2, f3), DropReason::kReplay);
    EXPECT_TRUE(w2.open(f2));
    EXPECT_EQ(drop(w2, f2), DropReason::kReplay);
}

TEST(Authenticator, DropsSequenceNumbersBelowTheWindow) {
    Authenticator w1(config("w1"), 1);
    Authenticator w2(config("w2"), 1);
    const std::string old = w1.seal("w2", kMsg);
    for (std::uint64_t i = 0; i < Authenticator::kWindow; ++i) {
        (void)w1.seal("w2", kMsg);
    }
    EXPECT_TRUE(w2.open(w1.seal("w2", kMsg)));
    EXPECT_EQ(drop(w2, old), DropReason::kTooOld);
}

TEST(Authenticator, ARestartedPeerIsNotLockedOutAndItsOldRunIs) {
    Authenticator first_run(config("w1"), 1);
    Authenticator w2(config("w2"), 1);
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(w2.open(first_run.seal("w2", kMsg)));
    }
    const std::string late = first_run.seal("w2", kMsg);
    // The restart bumps the persisted incarnation; its sequence numbers start at 1 again.
    Authenticator second_run(config("w1"), 2);
    auto got = w2.open(second_run.seal("w2", kMsg));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->seq, 1u);
    EXPECT_EQ(drop(w2, late), DropReason::kOldIncarnation);
}

TEST(Authenticator, DropReasonsHaveMetricLabels) {
    for (std::size_t i = 0; i < kDropReasonCount; ++i) {
        const auto label = to_string(static_cast<DropReason>(i));
        EXPECT_NE(label, "?");
        EXPECT_EQ(label.find(' '), std::string_view::npos);
    }
}

}  // namespace
}  // namespace picket::proto
