#include "picket/failover/choice.h"

#include <gtest/gtest.h>

namespace picket::failover {
namespace {

TEST(Choice, NoCandidates) {
    ChoiceInput in;
    in.master_id = std::string(40, 'a');
    const Choice c = choose_replica(in);
    EXPECT_FALSE(c.chosen);
}

}  // namespace
}  // namespace picket::failover
