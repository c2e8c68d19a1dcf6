// Tests of the on-disk state file: round trip through a real file, a missing file is a
// first start, a corrupt or truncated one is a clear error, a stale temp file is ignored.

#include "picket/consensus/state_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace picket::consensus {
namespace {

class StateFileIo : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/picket-state-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/consensus.state";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    void write_raw(const std::string& bytes) { std::ofstream(path_, std::ios::binary) << bytes; }

    std::string dir_;
    std::string path_;
};

PersistentState sample() {
    PersistentState s;
    s.term = 3;
    s.voted_for = "w2";
    s.incarnation = 9;
    return s;
}

TEST_F(StateFileIo, MissingFileIsAFirstStart) {
    auto s = load_state(path_);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(*s, PersistentState{});
}

TEST_F(StateFileIo, SavesAndLoads) {
    ASSERT_TRUE(save_state(path_, sample()));
    auto s = load_state(path_);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(*s, sample());
    PersistentState next = sample();
    next.term = 4;
    ASSERT_TRUE(save_state(path_, next));
    EXPECT_EQ(load_state(path_)->term, 4u);
    EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(StateFileIo, CorruptOrTruncatedFilesRefuseWithARecoveryHint) {
    const std::string good = encode_state(sample());
    write_raw(good.substr(0, good.size() - 2));
    auto s = load_state(path_);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("truncated"), std::string::npos) << s.error();
    EXPECT_NE(s.error().find("--reset-state"), std::string::npos) << s.error();
    std::string bad = good;
    bad.back() ^= 1;
    write_raw(bad);
    ASSERT_FALSE(load_state(path_));
    write_raw("");
    ASSERT_FALSE(load_state(path_)) << "an empty file is not a first start";
}

TEST_F(StateFileIo, AStaleTempFileFromACrashIsIgnored) {
    ASSERT_TRUE(save_state(path_, sample()));
    std::ofstream(path_ + ".tmp") << "half-written";
    EXPECT_EQ(*load_state(path_), sample());
    ASSERT_TRUE(save_state(path_, sample()));
}

TEST_F(StateFileIo, UnwritableDirectoryIsAnError) {
    auto r = save_state(dir_ + "/missing/consensus.state", sample());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("cannot create"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace picket::consensus
