#include "picket/failover/choice.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "world.h"

namespace picket::failover {
namespace {

using namespace testing;

// --- Ordering: every criterion against every combination of later ones ----------------

/// The ordering criteria, most significant first.
enum Criterion { kPriority = 0, kOffset = 1, kPlacement = 2, kNodeId = 3, kCriteria = 4 };

/// Two replicas of a, X and Y: X is better at `decisive`, equal at the criteria before it,
/// and worse at every criterion after it that is in `worse_mask` (better or equal at the
/// others). X must win, and Y's reason must name the decisive criterion.
void check_order(int decisive, unsigned worse_mask) {
    SCOPED_TRACE("decisive " + std::to_string(decisive) + ", X worse at mask " +
                 std::to_string(worse_mask));
    auto worse = [&](int c) { return c > decisive && (worse_mask & (1U << c)) != 0; };
    const std::int64_t x_prio = decisive == kPriority ? 10 : 100;
    const std::int64_t y_prio = 100;
    std::int64_t x_off = 1500, y_off = 1500;
    if (decisive == kOffset) {
        x_off = 2000, y_off = 1000;
    } else if (worse(kOffset)) {
        x_off = 1000, y_off = 2000;
    }
    // On b's host (10.0.0.2) = sharing a host with another master.
    std::string x_addr = "10.0.0.4:7000", y_addr = "10.0.0.5:7000";
    if (decisive == kPlacement) {
        y_addr = "10.0.0.2:7002";
    } else if (worse(kPlacement)) {
        x_addr = "10.0.0.2:7001";
    }
    char x_id = 'd', y_id = 'e';
    if (worse(kNodeId)) {
        std::swap(x_id, y_id);
    }
    std::vector<Line> lines = {
        {'a', "10.0.0.1:7000", "master", 0, 1, "0-5460"},
        {'b', "10.0.0.2:7000", "master", 0, 2, "5461-16383"},
        {x_id, x_addr, "slave", 'a', 1, ""},
        {y_id, y_addr, "slave", 'a', 1, ""},
    };
    const auto topo = topology_of(lines, 'b');
    NodeStatuses nodes;
    nodes[x_addr] = replica_status(x_id, x_addr, x_off, x_prio);
    nodes[y_addr] = replica_status(y_id, y_addr, y_off, y_prio);
    const Choice choice = choose_replica(choice_input(topo, nodes));
    ASSERT_TRUE(choice.chosen) << choice.reason;
    EXPECT_EQ(*choice.chosen, id(x_id)) << choice.reason;
    ASSERT_EQ(choice.candidates.size(), 2U);
    EXPECT_EQ(choice.candidates[0].rank, 0U);
    EXPECT_EQ(choice.candidates[1].rank, 1U);
    EXPECT_EQ(choice.candidates[0].reason.rfind("chosen: ", 0), 0U) << choice.candidates[0].reason;
    const char* names[] = {"on priority", "on offset", "on placement", "on node id"};
    EXPECT_NE(choice.candidates[1].reason.find(names[decisive]), std::string::npos)
        << choice.candidates[1].reason;
    EXPECT_EQ(choice.candidates[0].shares_host_with_master, x_addr.starts_with("10.0.0.2"));
}

TEST(ChoiceOrder, EveryCriterionBeatsEveryCombinationOfLaterOnes) {
    int cases = 0;
    for (int decisive = 0; decisive < kCriteria; ++decisive) {
        for (unsigned mask = 0; mask < (1U << kCriteria); ++mask) {
            // Only masks over criteria after the decisive one.
            if ((mask & ((2U << decisive) - 1)) != 0) {
                continue;
            }
            check_order(decisive, mask);
            ++cases;
        }
    }
    EXPECT_EQ(cases, 8 + 4 + 2 + 1);
}

TEST(ChoiceOrder, RanksAllEligibleAndExplainsEach) {
    const auto topo = topology_of(three_masters(), 'b');
    const auto nodes = standard_nodes();
    const Choice choice = choose_replica(choice_input(topo, nodes));
    ASSERT_TRUE(choice.chosen);
    EXPECT_EQ(*choice.chosen, id('d'));
    ASSERT_EQ(choice.candidates.size(), 3U);
    EXPECT_EQ(choice.candidates[1].node_id, id('e'));
    EXPECT_EQ(choice.candidates[2].node_id, id('f'));
    EXPECT_EQ(choice.candidates[2].rank, 2U);
    EXPECT_EQ(choice.candidates[2].lag_bytes, 200);
    EXPECT_NE(choice.candidates[2].reason.find("eligible, rank 3"), std::string::npos);
    ASSERT_NE(choice.chosen_candidate(), nullptr);
    EXPECT_EQ(choice.chosen_candidate()->node_id, id('d'));
    EXPECT_EQ(choice.reason,
              "promote " + id('d') +
                  " (10.0.0.4:7000): priority 100, offset 1000 (0 bytes behind), placement ok; "
                  "2 other eligible, 0 excluded");
}

TEST(ChoiceOrder, PlacementMatchesHostnameToo) {
    // d shares no IP with a master but b announces the hostname d announces.
    auto lines = three_masters();
    lines[1].address = "10.0.0.2:7000,vm-shared";
    lines[3].address = "10.0.0.4:7000,vm-shared";
    const auto topo = topology_of(lines, 'b');
    auto nodes = standard_nodes();
    nodes["10.0.0.4:7000"].replication->slave_repl_offset = 900;  // tie with e
    const Choice choice = choose_replica(choice_input(topo, nodes));
    ASSERT_TRUE(choice.chosen);
    EXPECT_EQ(*choice.chosen, id('e'));
    EXPECT_TRUE(find(choice, 'd')->shares_host_with_master);
}

TEST(ChoiceOrder, SameHostAsTheFailedMasterIsNoPlacementPenalty) {
    auto lines = three_masters();
    lines[3].address = "10.0.0.1:7001";
    const auto topo = topology_of(lines, 'b');
    auto nodes = standard_nodes();
    nodes["10.0.0.1:7001"] = replica_status('d', "10.0.0.1:7001", 1000);
    nodes.erase("10.0.0.4:7000");
    const Choice choice = choose_replica(choice_input(topo, nodes));
    ASSERT_TRUE(choice.chosen);
    EXPECT_EQ(*choice.chosen, id('d'));
    EXPECT_FALSE(find(choice, 'd')->shares_host_with_master);
}

// --- Exclusions, each with its reason text ---------------------------------------------

struct ExclusionCase {
    std::string name;
    std::function<void(ChoiceInput&, NodeStatuses&)> setup;
    Exclusion expected;
    std::string reason;
};

class ChoiceExclusion : public ::testing::TestWithParam<int> {};

std::vector<ExclusionCase> exclusion_cases() {
    const std::string d = "10.0.0.4:7000";
    return {
        {"maintenance by id",
         [](ChoiceInput& in, NodeStatuses&) { in.maintenance.insert(id('d')); },
         Exclusion::kMaintenance, "excluded: in maintenance"},
        {"maintenance by address",
         [d](ChoiceInput& in, NodeStatuses&) { in.maintenance.insert(d); }, Exclusion::kMaintenance,
         "excluded: in maintenance"},
        {"never_promote by id",
         [](ChoiceInput& in, NodeStatuses&) { in.policy.never_promote.push_back(id('d')); },
         Exclusion::kNeverPromote, "excluded: listed in failover.never_promote"},
        {"never_promote by host:port",
         [d](ChoiceInput& in, NodeStatuses&) { in.policy.never_promote.push_back(d); },
         Exclusion::kNeverPromote, "excluded: listed in failover.never_promote"},
        {"not probed", [d](ChoiceInput&, NodeStatuses& n) { n.erase(d); }, Exclusion::kDown,
         "excluded: not probed by this watcher"},
        {"sdown",
         [d](ChoiceInput&, NodeStatuses& n) {
             n[d].state = detect::NodeState::kSdown;
             n[d].reason = "connection refused";
         },
         Exclusion::kDown, "excluded: state sdown (connection refused)"},
        {"failing",
         [d](ChoiceInput&, NodeStatuses& n) { n[d].state = detect::NodeState::kFailing; },
         Exclusion::kDown, "excluded: state failing"},
        {"loading",
         [d](ChoiceInput&, NodeStatuses& n) { n[d].state = detect::NodeState::kLoading; },
         Exclusion::kDown, "excluded: state loading"},
        {"unknown",
         [d](ChoiceInput&, NodeStatuses& n) { n[d].state = detect::NodeState::kUnknown; },
         Exclusion::kDown, "excluded: state unknown"},
        {"no INFO", [d](ChoiceInput&, NodeStatuses& n) { n[d].replication.reset(); },
         Exclusion::kNoReplicationInfo, "excluded: no INFO replication read from it yet"},
        {"INFO says master",
         [d](ChoiceInput&, NodeStatuses& n) {
             n[d].replication->role = cluster::ReplicationRole::kMaster;
         },
         Exclusion::kNotReplicating, "excluded: its INFO says it is a master"},
        {"INFO role unknown",
         [d](ChoiceInput&, NodeStatuses& n) {
             n[d].replication->role = cluster::ReplicationRole::kUnknown;
         },
         Exclusion::kNotReplicating, "excluded: its INFO role is unknown"},
        {"INFO says other master",
         [d](ChoiceInput&, NodeStatuses& n) { n[d].replication->master_host = "10.0.0.2"; },
         Exclusion::kNotReplicating,
         "excluded: its INFO says it replicates 10.0.0.2:7000, not 10.0.0.1:7000"},
        {"priority 0", [d](ChoiceInput&, NodeStatuses& n) { n[d].replication->slave_priority = 0; },
         Exclusion::kPriorityZero, "excluded: replica-priority is 0"},
        {"full sync running",
         [d](ChoiceInput&, NodeStatuses& n) { n[d].replication->master_sync_in_progress = true; },
         Exclusion::kNeverSynced, "excluded: a full sync from the master is still running"},
        {"too far behind",
         [d](ChoiceInput& in, NodeStatuses& n) {
             n[d].replication->slave_repl_offset = 499;
             in.policy.max_lag_on_failover = 400;
         },
         Exclusion::kTooFarBehind,
         "excluded: 401 bytes behind the master's last known offset 900 (max_lag_on_failover "
         "400)"},
        {"link down too long",
         [d](ChoiceInput&, NodeStatuses& n) {
             n[d].replication->master_link_status = cluster::MasterLinkStatus::kDown;
             // Read at kT0 with the link down 13 s; the master failed at kT0 − 2 s.
             n[d].replication->master_link_down_since_seconds = 13;
         },
         Exclusion::kLinkDownTooLong,
         "excluded: its link to the master was down 11s before the failure "
         "(replica_max_link_down 10s)"},
        {"link never up (no data of the master)",
         [d](ChoiceInput&, NodeStatuses& n) {
             n[d].replication->master_link_status = cluster::MasterLinkStatus::kDown;
             n[d].replication->master_link_down_since_seconds = -1;
             n[d].replication->slave_repl_offset = 0;
         },
         Exclusion::kLinkDownTooLong, "excluded: its link to the master never came up"},
    };
}

TEST_P(ChoiceExclusion, ExcludesWithReason) {
    const ExclusionCase c = exclusion_cases()[static_cast<std::size_t>(GetParam())];
    SCOPED_TRACE(c.name);
    const auto topo = topology_of(three_masters(), 'b');
    auto nodes = standard_nodes();
    auto in = choice_input(topo, nodes);
    c.setup(in, nodes);
    const Choice choice = choose_replica(in);
    const Candidate* d = find(choice, 'd');
    ASSERT_NE(d, nullptr);
    ASSERT_TRUE(d->exclusion);
    EXPECT_EQ(*d->exclusion, c.expected) << to_string(*d->exclusion);
    EXPECT_EQ(d->reason, c.reason);
    EXPECT_FALSE(d->rank);
    // The next best is chosen, and excluded candidates come after the eligible ones.
    ASSERT_TRUE(choice.chosen);
    EXPECT_EQ(*choice.chosen, id('e'));
    EXPECT_EQ(choice.candidates.back().node_id, id('d'));
    EXPECT_NE(choice.reason.find("1 excluded"), std::string::npos) << choice.reason;
    // The record says why the excluded one was passed over.
    EXPECT_NE(choice.reason.find("; " + id('d') + " (" + d->address + ") " + c.reason),
              std::string::npos)
        << choice.reason;
}

INSTANTIATE_TEST_SUITE_P(All, ChoiceExclusion,
                         ::testing::Range(0, static_cast<int>(exclusion_cases().size())));

TEST(ChoiceExclusion, FirstApplicableReasonWins) {
    const auto topo = topology_of(three_masters(), 'b');
    auto nodes = standard_nodes();
    auto in = choice_input(topo, nodes);
    nodes["10.0.0.4:7000"].replication->slave_priority = 0;
    nodes["10.0.0.4:7000"].state = detect::NodeState::kSdown;
    in.policy.never_promote.push_back(id('d'));
    EXPECT_EQ(find(choose_replica(in), 'd')->exclusion, Exclusion::kNeverPromote);
    in.policy.never_promote.clear();
    EXPECT_EQ(find(choose_replica(in), 'd')->exclusion, Exclusion::kDown);
}

TEST(ChoiceExclusion, LagBoundaryIsInclusive) {
    const auto topo = topology_of(three_masters(), 'b');
    auto nodes = standard_nodes();
    auto in = choice_input(topo, nodes);
    in.master_offset = 2000;
    in.policy.max_lag_on_failover = 1000;  // d is exactly 1000 behind
    const Choice choice = choose_replica(in);
    EXPECT_TRUE(find(choice, 'd')->eligible()) << find(choice, 'd')->reason;
    EXPECT_EQ(find(choice, 'd')->lag_bytes, 1000);
    EXPECT_EQ(find(choice, 'e')->exclusion, Exclusion::kTooFarBehind);
}

TEST(ChoiceExclusion, LagReferenceIsTheHighestKnownOffset) {
    // Master offset unknown (or older than a replica's): the best replica is the reference.
    const auto topo = topology_of(three_masters(), 'b');
    auto nodes = standard_nodes();
    auto in = choice_input(topo, nodes);
    in.master_offset = 500;
    in.policy.max_lag_on_failover = 150;
    const Choice choice = choose_replica(in);
    EXPECT_EQ(find(choice, 'd')->lag_bytes, 0);
    EXPECT_EQ(find(choice, 'e')->lag_bytes, 100);
    EXPECT_TRUE(find(choice, 'e')->eligible());
    EXPECT_EQ(find(choice, 'f')->exclusion, Exclusion::kTooFarBehind);
    // An offline replica's offset still counts as evidence of the master's offset.
    nodes["10.0.0.4:7000"].state = detect::NodeState::kSdown;
    EXPECT_EQ(find(choose_replica(in), 'f')->exclusion, Exclusion::kTooFarBehind);
}

TEST(ChoiceExclusion, LinkDownWindowIsMeasuredBeforeTheFailure) {
    const auto topo = topology_of(three_masters(), 'b');
    auto nodes = standard_nodes();
    auto in = choice_input(topo, nodes);
    auto& r = *nodes["10.0.0.4:7000"].replication;
    r.master_link_status = cluster::MasterLinkStatus::kDown;
    // Master failed at kT0 − 2 s (its failing_since); INFO at kT0 says down 12 s: down
    // exactly 10 s before the failure, the limit.
    r.master_link_down_since_seconds = 12;
    EXPECT_TRUE(find(choose_replica(in), 'd')->eligible());
    // Explicit failure time overrides the detector's: INFO read 30 s after the failure,
    // link down 35 s → 5 s before it.
    in.master_failed_at = kT0 - 30s;
    r.master_link_down_since_seconds = 35;
    EXPECT_TRUE(find(choose_replica(in), 'd')->eligible());
    r.master_link_down_since_seconds = 41;
    EXPECT_EQ(find(choose_replica(in), 'd')->exclusion, Exclusion::kLinkDownTooLong);
    // Failure time unknown: the raw value counts (stricter).
    in.master_failed_at.reset();
    nodes.erase("10.0.0.1:7000");
    r.master_link_down_since_seconds = 11;
    EXPECT_EQ(find(choose_replica(in), 'd')->exclusion, Exclusion::kLinkDownTooLong);
}

TEST(ChoiceExclusion, NofailoverIsNotAnExclusion) {
    auto lines = three_masters();
    lines[3].flags = "slave,nofailover";
    const auto topo = topology_of(lines, 'b');
    ASSERT_TRUE(topo.node(id('d'))->nofailover);
    const auto nodes = standard_nodes();
    const Choice choice = choose_replica(choice_input(topo, nodes));
    ASSERT_TRUE(choice.chosen);
    EXPECT_EQ(*choice.chosen, id('d'));
}

TEST(ChoiceExclusion, NoEligibleReplicaExplainsEveryOne) {
    const auto topo = topology_of(three_masters(), 'b');
    auto nodes = standard_nodes();
    nodes["10.0.0.4:7000"].replication->slave_priority = 0;
    nodes["10.0.0.5:7000"].state = detect::NodeState::kSdown;
    nodes.erase("10.0.0.6:7000");
    const Choice choice = choose_replica(choice_input(topo, nodes));
    EXPECT_FALSE(choice.chosen);
    EXPECT_EQ(choice.chosen_candidate(), nullptr);
    EXPECT_EQ(choice.reason, "no eligible replica: " + id('d') +
                                 " (10.0.0.4:7000) excluded: replica-priority is 0; " + id('e') +
                                 " (10.0.0.5:7000) excluded: state sdown; " + id('f') +
                                 " (10.0.0.6:7000) excluded: not probed by this watcher");
}

TEST(ChoiceCandidates, NoReplicaKnown) {
    auto lines = three_masters();
    lines.resize(3);
    const auto topo = topology_of(lines, 'b');
    const NodeStatuses nodes;
    const Choice choice = choose_replica(choice_input(topo, nodes));
    EXPECT_FALSE(choice.chosen);
    EXPECT_TRUE(choice.candidates.empty());
    EXPECT_EQ(choice.reason, "no eligible replica: no replica of " + id('a') + " is known");
}

TEST(ChoiceCandidates, DetectorNodesFollowingTheMasterAreCandidates) {
    // g is not (yet) in the topology, but its INFO says it replicates a; h only in the
    // detector's cluster attributes; i replicates b and is no candidate.
    const auto topo = topology_of(three_masters(), 'b');
    auto nodes = standard_nodes();
    nodes["10.0.0.7:7000"] = replica_status('9', "10.0.0.7:7000", 5000);
    auto h = replica_status('8', "10.0.0.8:7000", 100);
    h.replication.reset();
    nodes["10.0.0.8:7000"] = h;
    auto i = replica_status('7', "10.0.0.9:7000", 9000);
    i.master_address = "10.0.0.2:7000";
    i.replication->master_host = "10.0.0.2";
    nodes["10.0.0.9:7000"] = i;
    const Choice choice = choose_replica(choice_input(topo, nodes));
    ASSERT_TRUE(choice.chosen);
    EXPECT_EQ(*choice.chosen, id('9'));
    EXPECT_EQ(choice.candidates.size(), 5U);
    EXPECT_EQ(find(choice, '8')->exclusion, Exclusion::kNoReplicationInfo);
    EXPECT_EQ(find(choice, '7'), nullptr);
}

TEST(ChoiceCandidates, ReplicaNamingTheMasterByHostname) {
    auto lines = three_masters();
    lines[0].address = "10.0.0.1:7000,redis-a.example";
    const auto topo = topology_of(lines, 'b');
    auto nodes = standard_nodes();
    nodes["10.0.0.4:7000"].replication->master_host = "redis-a.example";
    auto in = choice_input(topo, nodes);
    in.master_hostname = "redis-a.example";
    EXPECT_TRUE(find(choose_replica(in), 'd')->eligible());
    in.master_hostname.clear();
    EXPECT_EQ(find(choose_replica(in), 'd')->exclusion, Exclusion::kNotReplicating);
}

TEST(ChoiceCandidates, WithoutDetectorNobodyIsUp) {
    const auto topo = topology_of(three_masters(), 'b');
    ChoiceInput in;
    in.master_id = id('a');
    in.master_address = "10.0.0.1:7000";
    in.topology = &topo;
    const Choice choice = choose_replica(in);
    EXPECT_FALSE(choice.chosen);
    EXPECT_EQ(choice.candidates.size(), 3U);
}

TEST(ChoiceNames, EveryExclusionHasAName) {
    for (int e = 0; e <= static_cast<int>(Exclusion::kLinkDownTooLong); ++e) {
        EXPECT_NE(to_string(static_cast<Exclusion>(e)), "unknown");
    }
}

}  // namespace
}  // namespace picket::failover
