// picketd and a damaged vote state file (issue #4): a real picketd refuses to start with a
// truncated state file and names the recovery command; `picketd --reset-state --config`
// keeps the damaged bytes, writes a fresh state with a higher incarnation and refuses a
// second time (the file is intact now); then picketd starts from it, with an incarnation
// above the damaged file's, and becomes the leader of its one-voter group.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "picket/consensus/persistent_state.h"
#include "picket/testing/http_client.h"
#include "picket/testing/ports.h"
#include "picket/testing/process.h"
#include "picket/testing/redis_node.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/wait.h"

namespace picket {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(ResetState, RefusedThenResetThenStarts) {
    testing::TempDir dir;
    const std::string state_dir = dir.path() + "/state";
    std::filesystem::create_directories(state_dir);
    const std::string state = state_dir + "/vote.state";
    const auto http_port = static_cast<std::uint16_t>(testing::free_port());
    // One cluster-enabled node: a watcher stands for election only once it has read the
    // cluster's layout (CLUSTER NODES), so the vote below needs a Redis to read it from.
    auto redis = testing::RedisNode::start(testing::NodeOptions{}, "reset-state");
    const auto redis_port = redis->port();
    const std::string conf = dir.path() + "/picket.yml";
    testing::write_file(conf, "watcher:\n  id: w1\n  http_listen: 127.0.0.1:" +
                                  std::to_string(http_port) + "\n  state_dir: " + state_dir +
                                  "\ncluster:\n  name: reset-test\n  seeds: [127.0.0.1:" +
                                  std::to_string(redis_port) + "]\n");

    // A state file of term 7 and incarnation 41, cut short by two bytes.
    consensus::PersistentState old;
    old.term = 7;
    old.voted_for = "w1";
    old.incarnation = 41;
    const std::string good = consensus::encode_state(old);
    const std::string damaged = good.substr(0, good.size() - 2);
    testing::write_file(state, damaged);

    auto refused = testing::run_process({PICKETD_PATH, "--config", conf}, 30s);
    EXPECT_FALSE(refused.exited_ok()) << refused.describe();
    EXPECT_EQ(refused.exit_code, 1) << refused.describe();
    const std::string said = refused.out + refused.err;
    EXPECT_NE(said.find("truncated"), std::string::npos) << said;
    EXPECT_NE(said.find("picketd --reset-state --config FILE"), std::string::npos) << said;
    EXPECT_EQ(testing::read_file(state), damaged) << "a refused start must change nothing";

    auto reset = testing::run_process({PICKETD_PATH, "--reset-state", "--config", conf}, 30s);
    ASSERT_TRUE(reset.exited_ok()) << reset.describe();
    EXPECT_NE(reset.out.find("incarnation read from the damaged file: 41"), std::string::npos)
        << reset.out;
    auto fresh = consensus::decode_state(testing::read_file(state));
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_EQ(fresh->term, 0u);
    EXPECT_FALSE(fresh->voted_for);
    EXPECT_GT(fresh->incarnation, 41u);
    std::size_t kept = 0;
    for (const auto& e : std::filesystem::directory_iterator(state_dir)) {
        if (e.path().filename().string().starts_with("vote.state.corrupt-")) {
            ++kept;
            EXPECT_EQ(testing::read_file(e.path().string()), damaged);
        }
    }
    EXPECT_EQ(kept, 1u);

    // The file is intact now: a second reset refuses and changes nothing.
    const std::string after_reset = testing::read_file(state);
    auto again = testing::run_process({PICKETD_PATH, "--reset-state", "--config", conf}, 30s);
    EXPECT_EQ(again.exit_code, 1) << again.describe();
    EXPECT_NE(again.err.find("intact"), std::string::npos) << again.err;
    EXPECT_EQ(testing::read_file(state), after_reset);

    // picketd starts from the fresh state: a higher incarnation, and (alone in its voter
    // set) it elects itself once its post-start vote withholding is over.
    auto picketd =
        testing::ChildProcess::spawn({PICKETD_PATH, "--config", conf}, dir.path() + "/picketd.log");
    json vote;
    const bool leads = testing::wait_until(
        [&] {
            auto r = testing::http_get(http_port, "/v1/status", 1s);
            if (r.status != 200) {
                return false;
            }
            auto doc = json::parse(r.body, nullptr, false);
            vote = doc.is_object() ? doc["vote"] : json();
            return vote.is_object() && vote["role"] == "leader";
        },
        20s, 100ms);
    ASSERT_TRUE(leads) << vote.dump() << "\n" << testing::read_file(dir.path() + "/picketd.log");
    EXPECT_GT(vote["incarnation"].get<std::uint64_t>(), fresh->incarnation);
    EXPECT_GE(vote["term"].get<std::uint64_t>(), 1u);
    auto on_disk = consensus::decode_state(testing::read_file(state));
    ASSERT_TRUE(on_disk) << on_disk.error().message;
    EXPECT_GT(on_disk->incarnation, fresh->incarnation);
}

}  // namespace
}  // namespace picket
