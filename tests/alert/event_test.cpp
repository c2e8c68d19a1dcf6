#include <gtest/gtest.h>

#include <set>

#include "picket/alert/event.h"
#include "picket/alert/filter.h"

namespace picket::alert {
namespace {

TEST(EventVocabulary, NamesAreUniqueParseableAndSnakeCase) {
    std::set<std::string_view> names;
    std::set<std::string_view> alertnames;
    for (const EventType t : all_event_types()) {
        const EventInfo& ei = info(t);
        EXPECT_EQ(ei.type, t);
        EXPECT_TRUE(names.insert(ei.name).second) << ei.name;
        EXPECT_TRUE(alertnames.insert(ei.alertname).second) << ei.alertname;
        EXPECT_EQ(parse_event_type(ei.name), t);
        for (const char c : ei.name) {
            EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << ei.name;
        }
        EXPECT_EQ(ei.alertname.substr(0, 6), "Picket");
        EXPECT_FALSE(ei.summary.empty());
    }
    EXPECT_EQ(names.size(), 27u);
    EXPECT_FALSE(parse_event_type("nope"));
}

TEST(EventVocabulary, PairsResolveFiringTypesOnly) {
    for (const EventType t : all_event_types()) {
        const EventInfo& ei = info(t);
        for (const EventType r : ei.resolves) {
            EXPECT_TRUE(info(r).firing) << ei.name << " resolves non-firing " << info(r).name;
        }
        // Every event is either an alert, a resolution, or a one-shot: never nothing.
        EXPECT_TRUE(ei.firing || ei.standalone || !ei.resolves.empty()) << ei.name;
    }
    // The pairs the issue names.
    EXPECT_EQ(info(EventType::kNodeRecovered).resolves.size(), 2u);
    EXPECT_EQ(info(EventType::kReplicaLinkUp).resolves.front(), EventType::kReplicaLinkDown);
    EXPECT_EQ(info(EventType::kQuorumRegained).resolves.front(), EventType::kQuorumLost);
    EXPECT_EQ(info(EventType::kSafeModeLeft).resolves.front(), EventType::kSafeModeEntered);
    EXPECT_EQ(info(EventType::kFailoverConverged).resolves.front(), EventType::kFailoverStarted);
    EXPECT_EQ(info(EventType::kConfigReloaded).resolves.front(), EventType::kConfigReloadFailed);
}

TEST(EventVocabulary, QuorumLostIsSentByEveryWatcher) {
    EXPECT_FALSE(is_cluster_level(EventType::kQuorumLost));
    EXPECT_FALSE(is_cluster_level(EventType::kSafeModeEntered));
    EXPECT_TRUE(is_cluster_level(EventType::kNodeOdown));
    EXPECT_TRUE(is_cluster_level(EventType::kFailoverStarted));
    EXPECT_EQ(info(EventType::kNodeOdown).severity, Severity::kCritical);
    EXPECT_EQ(to_string(Severity::kWarning), "warning");
}

TEST(EventFilter, EmptyPassesEverything) {
    const auto f = EventFilter::parse({});
    ASSERT_TRUE(f);
    for (const EventType t : all_event_types()) {
        EXPECT_TRUE(f->matches(t));
    }
}

TEST(EventFilter, NamesAndPrefixes) {
    const auto f = EventFilter::parse({"failover_*", "node_odown"});
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->matches(EventType::kFailoverStarted));
    EXPECT_TRUE(f->matches(EventType::kFailoverVetoed));
    EXPECT_TRUE(f->matches(EventType::kNodeOdown));
    EXPECT_FALSE(f->matches(EventType::kNodeSdown));
    EXPECT_FALSE(f->matches(EventType::kQuorumLost));
    const auto all = EventFilter::parse({"*"});
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->matches(EventType::kConfigDrift));
}

TEST(EventFilter, RefusesBadAndUselessPatterns) {
    EXPECT_EQ(EventFilter::parse({"Node_odown"}).error(),
              "event pattern 'Node_odown' is not an event name or a prefix ending in '*'");
    EXPECT_FALSE(EventFilter::parse({"node*odown"}));
    EXPECT_FALSE(EventFilter::parse({""}));
    EXPECT_FALSE(EventFilter::parse({"**"}));
    EXPECT_EQ(EventFilter::parse({"failvoer_*"}).error(),
              "event pattern 'failvoer_*' matches no event");
    EXPECT_FALSE(EventFilter::parse({std::string(65, 'a')}));
    EXPECT_FALSE(EventFilter::parse(std::vector<std::string>(257, "node_sdown")));
}

TEST(EventFilter, PatternMatching) {
    EXPECT_TRUE(pattern_matches("node_*", "node_sdown"));
    EXPECT_TRUE(pattern_matches("node_sdown", "node_sdown"));
    EXPECT_FALSE(pattern_matches("node_sdown", "node_sdown_x"));
    EXPECT_FALSE(pattern_matches("node_*", "nod"));
    EXPECT_TRUE(pattern_matches("*", ""));
}

}  // namespace
}  // namespace picket::alert
