#include "picket/cluster/view_store.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace picket::cluster {
namespace {

std::string id(char c) {
    return std::string(40, c);
}

/// Node `self`'s view of a 3-node cluster (a master, b its replica, c a master), with
/// `c_flags` for c and ping/pong readings `clock`.
ClusterView view(char self, const std::string& c_flags = "master", int clock = 1) {
    const auto stamp = " " + std::to_string(clock) + " " + std::to_string(clock + 1) + " ";
    auto line = [&](char n, const std::string& addr, const std::string& flags,
                    const std::string& master, const std::string& rest) {
        return id(n) + " " + addr + " " + (n == self ? "myself," : "") + flags + " " + master +
               stamp + rest + "\n";
    };
    const std::string text =
        line('a', "10.0.0.1:7000@17000", "master", "-", "1 connected 0-8191") +
        line('b', "10.0.0.2:7000@17000", "slave", id('a'), "1 connected") +
        line('c', "10.0.0.3:7000@17000", c_flags, "-", "2 connected 8192-16383");
    auto nodes = parse_cluster_nodes(text);
    EXPECT_TRUE(nodes.has_value()) << text;
    auto v = make_view(nodes ? *nodes : std::vector<ClusterNode>{});
    EXPECT_TRUE(v.has_value());
    return v ? *v : ClusterView{};
}

TimePoint at(int s) {
    return TimePoint{std::chrono::seconds(s)};
}

TEST(ViewStoreTest, EqualLinesAreStoredOnceAndSharedBetweenViews) {
    ViewStore store;
    EXPECT_TRUE(store.put("10.0.0.1:7000", view('a'), at(1)));
    EXPECT_EQ(store.distinct_lines(), 3u);
    EXPECT_TRUE(store.put("10.0.0.2:7000", view('b'), at(1)));
    // Each view adds only its own 'myself' line and the other's plain line once.
    EXPECT_EQ(store.distinct_lines(), 5u);
    EXPECT_TRUE(store.put("10.0.0.3:7000", view('c'), at(1)));
    EXPECT_EQ(store.distinct_lines(), 6u);  // a, b, c plain + a, b, c with myself
    const auto fresh = store.fresh(at(0));
    ASSERT_EQ(fresh.size(), 3u);
    EXPECT_EQ(*fresh[0].address, "10.0.0.1:7000");
    EXPECT_EQ(fresh[0].view.reporter_id, id('a'));
    ASSERT_EQ(fresh[0].view.nodes.size(), 3u);
    EXPECT_TRUE(fresh[0].view.nodes[0]->flags.myself);
    // b's view and c's view print the same line for a: one object.
    EXPECT_EQ(fresh[1].view.nodes[0], fresh[2].view.nodes[0]);
    EXPECT_EQ(fresh[1].view.nodes[0]->id, id('a'));
    EXPECT_EQ(fresh[1].view.nodes[0]->slots.size(), 1u);
    EXPECT_EQ(*fresh[1].view.nodes[1]->master_id, id('a'));
}

TEST(ViewStoreTest, OnlyAChangedViewReportsAChange) {
    ViewStore store;
    ASSERT_TRUE(store.put("a", view('a'), at(1)));
    // Only the ping/pong readings differ: nothing to rebuild.
    EXPECT_FALSE(store.put("a", view('a', "master", 7), at(2)));
    // A flag changes: seen at once.
    EXPECT_TRUE(store.put("a", view('a', "master,fail?"), at(3)));
    EXPECT_TRUE(store.fresh(at(3))[0].view.nodes[2]->flags.pfail);
    EXPECT_FALSE(store.put("a", view('a', "master,fail?"), at(4)));
    EXPECT_TRUE(store.put("a", view('a'), at(5)));
    // Another reporter at the same address (a replaced node) is a change too.
    EXPECT_TRUE(store.put("a", view('b'), at(6)));
    EXPECT_EQ(store.fresh(at(0))[0].view.reporter_id, id('b'));
    // Replaced lines are freed: only b's view's lines remain.
    EXPECT_EQ(store.distinct_lines(), 3u);
}

TEST(ViewStoreTest, FreshFiltersByAgeAndEraseFreesLines) {
    ViewStore store;
    store.put("a", view('a'), at(1));
    store.put("b", view('b'), at(5));
    EXPECT_EQ(store.fresh(at(2)).size(), 1u);
    EXPECT_EQ(*store.fresh(at(2))[0].address, "b");
    EXPECT_EQ(store.fresh(at(5)).size(), 1u);
    EXPECT_EQ(store.fresh(at(6)).size(), 0u);
    EXPECT_TRUE(store.erase("b"));
    EXPECT_FALSE(store.erase("b"));
    EXPECT_EQ(store.size(), 1u);
    EXPECT_EQ(store.distinct_lines(), 3u);
    EXPECT_TRUE(store.erase("a"));
    EXPECT_EQ(store.distinct_lines(), 0u);
}

TEST(ViewStoreTest, TopologyFromStoredViewsEqualsTopologyFromCopies) {
    ViewStore store;
    std::vector<ClusterView> copies{view('a'), view('b', "master,fail?"), view('c')};
    store.put("x", copies[0], at(1));
    store.put("y", copies[1], at(1));
    store.put("z", copies[2], at(1));
    std::vector<ViewRef> refs;
    for (const auto& f : store.fresh(at(0))) {
        refs.push_back(f.view);
    }
    const auto a = Topology::build(refs, {});
    const auto b = Topology::build(copies);
    ASSERT_EQ(a.nodes().size(), b.nodes().size());
    for (std::size_t i = 0; i < a.nodes().size(); ++i) {
        EXPECT_EQ(a.nodes()[i].id, b.nodes()[i].id);
        EXPECT_EQ(a.nodes()[i].described_by, b.nodes()[i].described_by);
        EXPECT_EQ(a.nodes()[i].known_by, b.nodes()[i].known_by);
        EXPECT_EQ(a.nodes()[i].suspected_by, b.nodes()[i].suspected_by);
    }
    ASSERT_EQ(a.disagreements().size(), b.disagreements().size());
    ASSERT_EQ(a.disagreements().size(), 1u);
    EXPECT_EQ(a.disagreements()[0].reason, b.disagreements()[0].reason);
}

TEST(ViewStoreTest, SlotsFreedByOneViewAreReusedWithoutDisturbingTheOthers) {
    // Views are replaced and dropped in turn: freed slots are taken by new lines, and every
    // stored view still reads exactly the lines it was given (ping/pong zeroed).
    ViewStore store;
    const std::vector<std::string> flags = {"master", "master,fail?", "master,fail",
                                            "master,nofailover"};
    std::map<std::string, ClusterView> expected;
    const char selves[] = {'a', 'b', 'c'};
    for (int round = 0; round < 40; ++round) {
        const std::string address = std::string(1, static_cast<char>('x' + round % 3));
        if (round % 7 == 6) {
            store.erase(address);
            expected.erase(address);
        } else {
            const auto& f = flags[static_cast<std::size_t>(round) % flags.size()];
            ClusterView v = view(selves[round % 3], f, round);
            expected[address] = v;
            store.put(address, std::move(v), at(round));
        }
        const auto fresh = store.fresh(at(0));
        ASSERT_EQ(fresh.size(), expected.size()) << "round " << round;
        for (const auto& got : fresh) {
            const ClusterView& want = expected.at(*got.address);
            EXPECT_EQ(got.view.reporter_id, want.reporter_id);
            ASSERT_EQ(got.view.nodes.size(), want.nodes.size());
            std::size_t i = 0;
            for (const ClusterNode* line : got.view.nodes) {
                ClusterNode w = want.nodes[i++];
                w.ping_sent = 0;
                w.pong_recv = 0;
                EXPECT_EQ(line_identity(*line), line_identity(w)) << "round " << round;
                EXPECT_EQ(line->flags.to_string(), w.flags.to_string());
                EXPECT_EQ(line->ping_sent, 0);
            }
        }
        // At most the lines of the views held: 3 views × 3 lines.
        EXPECT_LE(store.distinct_lines(), 9u);
    }
}

}  // namespace
}  // namespace picket::cluster
