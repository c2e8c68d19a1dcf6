#include "picket/failover/plan.h"

#include <gtest/gtest.h>

namespace picket::failover {
namespace {

TEST(Plan, Fences) {
    Policy p;
    EXPECT_EQ(timeouts_only_wait(p), std::chrono::seconds(16));
    EXPECT_EQ(takeover_fence(p), std::chrono::milliseconds(24500));
}

}  // namespace
}  // namespace picket::failover
