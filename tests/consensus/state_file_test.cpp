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

std::string read_raw(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST_F(StateFileIo, ResetReplacesAnUnusableFileAndKeepsItsBytes) {
    const std::string good = encode_state(sample());  // incarnation 9
    const std::string damaged = good.substr(0, good.size() - 2);
    write_raw(damaged);
    auto r = reset_state_file(path_, 7);
    ASSERT_TRUE(r) << r.error();
    EXPECT_NE(r->problem.find("truncated"), std::string::npos) << r->problem;
    EXPECT_EQ(r->salvaged, 9u);
    EXPECT_EQ(r->kept_as, path_ + ".corrupt-7");
    EXPECT_EQ(read_raw(r->kept_as), damaged);
    auto loaded = load_state(path_);
    ASSERT_TRUE(loaded) << loaded.error();
    EXPECT_EQ(loaded->term, 0u);
    EXPECT_FALSE(loaded->voted_for);
    EXPECT_TRUE(loaded->records.empty());
    EXPECT_EQ(loaded->incarnation, 10u);  // above the salvaged 9; the floor 7 is lower
    EXPECT_EQ(*loaded, r->state);
}

TEST_F(StateFileIo, ResetTakesTheHigherIncarnationOfAnInterruptedSave) {
    write_raw("PICKETSTATE 1 garbage");
    PersistentState newer = sample();
    newer.incarnation = 30;
    std::ofstream(path_ + ".tmp", std::ios::binary) << encode_state(newer);
    auto r = reset_state_file(path_, 3);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->salvaged, 30u);
    EXPECT_EQ(load_state(path_)->incarnation, 31u);
}

TEST_F(StateFileIo, ResetWithNothingReadableUsesTheFloor) {
    write_raw("\x01\x02 not a state file");
    auto r = reset_state_file(path_, 1'700'000'000'000);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->salvaged, std::nullopt);
    EXPECT_EQ(load_state(path_)->incarnation, 1'700'000'000'000u);
}

TEST_F(StateFileIo, ResetRefusesAnIntactOrMissingFileAndChangesNothing) {
    auto missing = reset_state_file(path_, 7);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().find("nothing to reset"), std::string::npos) << missing.error();
    EXPECT_FALSE(std::filesystem::exists(path_));
    ASSERT_TRUE(save_state(path_, sample()));
    const std::string before = read_raw(path_);
    auto intact = reset_state_file(path_, 7);
    ASSERT_FALSE(intact);
    EXPECT_NE(intact.error().find("intact"), std::string::npos) << intact.error();
    EXPECT_EQ(read_raw(path_), before);
    EXPECT_FALSE(std::filesystem::exists(path_ + ".corrupt-7"));
}

TEST_F(StateFileIo, TheRefusalNamesTheResetCommand) {
    write_raw("PICKETSTATE 1 12 0000\n");
    auto s = load_state(path_);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("picketd --reset-state --config FILE"), std::string::npos)
        << s.error();
}

TEST_F(StateFileIo, UnwritableDirectoryIsAnError) {
    auto r = save_state(dir_ + "/missing/consensus.state", sample());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("cannot create"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace picket::consensus
