// Unit tests of consensus::validate(): what is rejected, what is only warned about.

#include "picket/consensus/config.h"

#include <gtest/gtest.h>

namespace picket::consensus {
namespace {

Config make(std::size_t n, std::size_t quorum = 0) {
    Config c;
    for (std::size_t i = 1; i <= n; ++i) {
        c.voters.push_back("w" + std::to_string(i));
    }
    c.self = "w1";
    c.quorum = quorum;
    return c;
}

TEST(ConfigValidation, MajorityAndQuorumDefaults) {
    EXPECT_EQ(make(3).majority(), 2u);
    EXPECT_EQ(make(5).effective_quorum(), 3u);
    EXPECT_EQ(make(6).majority(), 4u);
    EXPECT_EQ(make(7).majority(), 4u);
    EXPECT_EQ(make(5, 2).effective_quorum(), 2u);
}

TEST(ConfigValidation, RejectsQuorumAboveNMinusOne) {
    EXPECT_FALSE(validate(make(3, 3)));
    EXPECT_FALSE(validate(make(5, 5)));
    auto ok = validate(make(5, 4));
    ASSERT_TRUE(ok);
    ASSERT_FALSE(ok->warnings.empty()) << "quorum above the majority is warned about";
    EXPECT_NE(ok->warnings[0].find("above the majority"), std::string::npos);
    ASSERT_TRUE(validate(make(5, 3)));
    EXPECT_TRUE(validate(make(5, 3))->warnings.empty());
}

TEST(ConfigValidation, WarnsAboutAnEvenVoterCount) {
    auto ok = validate(make(6));
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok->warnings.size(), 1u);
    EXPECT_NE(ok->warnings[0].find("no more watcher failures than 5"), std::string::npos);
}

TEST(ConfigValidation, RejectsBrokenMembershipAndTimers) {
    Config c = make(3);
    c.self = "w9";
    EXPECT_FALSE(validate(c));
    c = make(3);
    c.voters.push_back("w2");
    EXPECT_FALSE(validate(c));
    EXPECT_FALSE(validate(Config{}));
    c = make(3);
    c.election_timeout_max = c.election_timeout_min;
    EXPECT_FALSE(validate(c));
    c = make(3);
    c.lease_margin = c.election_timeout_min;
    EXPECT_FALSE(validate(c));
    c = make(3);
    c.heartbeat_interval = c.election_timeout_min;
    EXPECT_FALSE(validate(c));
}

TEST(ConfigValidation, LeaseMath) {
    Config c = make(3);
    c.election_timeout_min = std::chrono::milliseconds(2000);
    c.max_drift_ppm = 100'000;  // 10 %
    c.lease_margin = std::chrono::milliseconds(100);
    EXPECT_EQ(c.lease_duration(), std::chrono::milliseconds(1700));
}

}  // namespace
}  // namespace picket::consensus
