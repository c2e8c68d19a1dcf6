#include "picket/failover/plan.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "world.h"

namespace picket::failover {
namespace {

using namespace testing;

/// Master a of three_masters(), dead, 2 s since last contact; b and c reachable.
struct PlanWorld {
    cluster::Topology topo = topology_of(three_masters(), 'b');
    NodeStatuses nodes = standard_nodes();

    PlanInput input() const {
        PlanInput in;
        in.master = *failed_master_from(topo, id('a'));
        in.evidence = proto::Evidence::kDead;
        in.since_last_contact = 2s;
        in.now = kT0;
        in.topology = &topo;
        in.nodes = &nodes;
        in.masters = master_liveness(topo, nodes);
        return in;
    }
};

TEST(PlanHelpers, FailedMasterShardNameAndKey) {
    PlanWorld w;
    const auto m = failed_master_from(w.topo, id('a'));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->address, "10.0.0.1:7000");
    EXPECT_EQ(m->config_epoch, 1U);
    EXPECT_EQ(shard_name(m->slots), "0-5460");
    EXPECT_EQ(shard_name({{0, 10}, {20, 20}}), "0-10,20");
    EXPECT_EQ(record_key(*m), (proto::RecordKey{"0-5460", id('a'), 1}));
    EXPECT_FALSE(failed_master_from(w.topo, id('d')));
    EXPECT_FALSE(failed_master_from(w.topo, id('9')));
}

TEST(PlanHelpers, Fences) {
    Policy p;
    EXPECT_EQ(timeouts_only_wait(p), 16s);
    EXPECT_EQ(takeover_fence(p), 24500ms);
    p.down_after_unresponsive = 20s;
    EXPECT_EQ(timeouts_only_wait(p), 20s);
    p.fast_on_timeouts = true;
    EXPECT_EQ(timeouts_only_wait(p), 20s);
    p.down_after_unresponsive = 5s;
    EXPECT_EQ(timeouts_only_wait(p), 5s);
    p.cluster_node_timeout = 2s;
    EXPECT_EQ(takeover_fence(p), 5s);
}

TEST(PlanHelpers, MasterLiveness) {
    PlanWorld w;
    auto& b = w.nodes["10.0.0.2:7000"];
    auto& c = w.nodes["10.0.0.3:7000"];
    auto l = master_liveness(w.topo, w.nodes);
    ASSERT_EQ(l.size(), 3U);
    EXPECT_EQ(l[0].liveness, Liveness::kKnownDead);  // a: refused, SDOWN
    EXPECT_EQ(l[1].liveness, Liveness::kReachable);
    EXPECT_EQ(l[2].liveness, Liveness::kReachable);
    // Timeouts: possibly alive. Dead only by the replicas' testimony: possibly alive.
    b.state = detect::NodeState::kSdown;
    b.probe_evidence = detect::Evidence::kUnresponsive;
    b.evidence = detect::Evidence::kDead;
    b.last_outcome = detect::ProbeOutcome::kTimeout;
    c.state = detect::NodeState::kLoading;
    l = master_liveness(w.topo, w.nodes);
    EXPECT_EQ(l[1].liveness, Liveness::kPossiblyAlive);
    EXPECT_EQ(l[2].liveness, Liveness::kReachable);
    // Refused but not yet SDOWN: still possibly alive (it may be restarting).
    b.state = detect::NodeState::kFailing;
    b.probe_evidence = detect::Evidence::kDead;
    b.last_outcome = detect::ProbeOutcome::kRefused;
    EXPECT_EQ(master_liveness(w.topo, w.nodes)[1].liveness, Liveness::kPossiblyAlive);
    // Reset / closed count as refused once SDOWN.
    b.state = detect::NodeState::kSdown;
    b.last_outcome = detect::ProbeOutcome::kReset;
    EXPECT_EQ(master_liveness(w.topo, w.nodes)[1].liveness, Liveness::kKnownDead);
    b.last_outcome = detect::ProbeOutcome::kClosed;
    EXPECT_EQ(master_liveness(w.topo, w.nodes)[1].liveness, Liveness::kKnownDead);
    // Not probed at all: possibly alive.
    w.nodes.erase("10.0.0.2:7000");
    EXPECT_EQ(master_liveness(w.topo, w.nodes)[1].liveness, Liveness::kPossiblyAlive);
}

// --- Branches in order -----------------------------------------------------------------

TEST(Plan, DeadEvidenceWithMajorityIsForceAtOnce) {
    PlanWorld w;
    auto in = w.input();
    in.since_last_contact = 0s;
    const Plan plan = plan_failover(in);
    const Act* act = plan.get<Act>();
    ASSERT_NE(act, nullptr) << plan.reason();
    EXPECT_EQ(act->mode, proto::FailoverMode::kForce);
    EXPECT_EQ(act->replica, id('d'));
    EXPECT_EQ(act->fence_wait, 0s);
    EXPECT_EQ(plan.masters.total, 3U);
    EXPECT_EQ(plan.masters.reachable, 2U);
    EXPECT_EQ(plan.reason().rfind("FORCE " + id('d') +
                                      ": 2 of 3 slot-owning masters reachable "
                                      "(majority 2), 1 known dead, 0 possibly "
                                      "alive; promote ",
                                  0),
              0U)
        << plan.reason();
}

TEST(Plan, AlreadyDoneFromFactsAndFromTopology) {
    PlanWorld w;
    auto in = w.input();
    in.facts.promoted_by_cluster = id('e');
    in.facts.in_cooldown = true;  // irrelevant: nothing to do anyway
    const Plan p1 = plan_failover(in);
    ASSERT_NE(p1.get<AlreadyDone>(), nullptr);
    EXPECT_EQ(p1.get<AlreadyDone>()->new_master, id('e'));

    // d now serves a's slots at a higher epoch.
    const auto promoted = topology_of(
        {
            {'a', "10.0.0.1:7000", "master,fail", 0, 1, ""},
            {'b', "10.0.0.2:7000", "master", 0, 2, "5461-10922"},
            {'c', "10.0.0.3:7000", "master", 0, 3, "10923-16383"},
            {'d', "10.0.0.4:7000", "master", 0, 7, "0-5460"},
            {'e', "10.0.0.5:7000", "slave", 'd', 7, ""},
        },
        'b');
    PlanInput in2 = w.input();
    in2.topology = &promoted;
    const Plan p2 = plan_failover(in2);
    ASSERT_NE(p2.get<AlreadyDone>(), nullptr) << p2.reason();
    EXPECT_EQ(p2.get<AlreadyDone>()->new_master, id('d'));
    EXPECT_EQ(p2.reason(), "the cluster already promoted " + id('d') + " for the slots of " +
                               id('a') + ": nothing to do");
    EXPECT_EQ(cluster_promotion(w.topo, in.master), std::nullopt);
}

struct VetoCase {
    std::string name;
    std::function<void(PlanInput&, NodeStatuses&)> setup;
    VetoReason why;
    std::string reason_starts;
};

class PlanVeto : public ::testing::TestWithParam<int> {};

std::vector<VetoCase> veto_cases() {
    return {
        {"no evidence", [](PlanInput& in, NodeStatuses&) { in.evidence = proto::Evidence::kNone; },
         VetoReason::kNoEvidence, "no failure evidence for " + id('a')},
        {"maintenance fact", [](PlanInput& in, NodeStatuses&) { in.facts.maintenance = true; },
         VetoReason::kMaintenance, "shard 0-5460 is in maintenance"},
        {"maintenance set",
         [](PlanInput& in, NodeStatuses&) { in.maintenance.insert("10.0.0.1:7000"); },
         VetoReason::kMaintenance, "shard 0-5460 is in maintenance"},
        {"cooldown",
         [](PlanInput& in, NodeStatuses&) {
             in.facts.in_cooldown = true;
             in.facts.cooldown_remaining = 90s;
         },
         VetoReason::kCooldown,
         "shard 0-5460 failed over recently: cooldown 90s left (picketctl ack lifts it)"},
        {"rate limit", [](PlanInput& in, NodeStatuses&) { in.facts.rate_limited = true; },
         VetoReason::kRateLimited, "global failover rate limit (failover.max_failovers) reached"},
        {"migrating fact", [](PlanInput& in, NodeStatuses&) { in.facts.slots_migrating = true; },
         VetoReason::kSlotsMigrating, "slots of shard 0-5460 are importing or migrating"},
        {"no eligible replica",
         [](PlanInput& in, NodeStatuses&) {
             in.policy.never_promote = {id('d'), id('e'), id('f')};
         },
         VetoReason::kNoEligibleReplica, "no eligible replica: " + id('d')},
    };
}

TEST_P(PlanVeto, VetoesWithReason) {
    const VetoCase c = veto_cases()[static_cast<std::size_t>(GetParam())];
    SCOPED_TRACE(c.name);
    PlanWorld w;
    auto in = w.input();
    c.setup(in, w.nodes);
    const Plan plan = plan_failover(in);
    const Veto* v = plan.get<Veto>();
    ASSERT_NE(v, nullptr) << plan.reason();
    EXPECT_EQ(v->why, c.why) << to_string(v->why);
    EXPECT_EQ(v->reason.rfind(c.reason_starts, 0), 0U) << v->reason;
    EXPECT_NE(to_string(v->why), "unknown");
}

INSTANTIATE_TEST_SUITE_P(All, PlanVeto, ::testing::Range(0, static_cast<int>(veto_cases().size())));

TEST(Plan, MigrationSeenInTheTopology) {
    // b imports slot 100 from a; and separately a replica of a shows a migration.
    auto lines = three_masters();
    lines[1].slots = "5461-10922 [100-<-" + id('a') + "]";
    PlanWorld w;
    w.topo = topology_of(lines, 'b');
    const auto m = *failed_master_from(w.topo, id('a'));
    EXPECT_TRUE(shard_migrating(w.topo, m));
    const Plan plan = plan_failover(w.input());
    ASSERT_NE(plan.get<Veto>(), nullptr);
    EXPECT_EQ(plan.get<Veto>()->why, VetoReason::kSlotsMigrating);
    // A migration between b and c only does not concern a's shard.
    lines[1].slots = "5461-10922 [6000->-" + id('c') + "]";
    w.topo = topology_of(lines, 'b');
    EXPECT_FALSE(shard_migrating(w.topo, m));
    EXPECT_NE(plan_failover(w.input()).get<Act>(), nullptr);
}

TEST(Plan, VetoOrderMaintenanceBeforeCooldownBeforeMigration) {
    PlanWorld w;
    auto in = w.input();
    in.facts.maintenance = in.facts.in_cooldown = in.facts.slots_migrating = true;
    EXPECT_EQ(plan_failover(in).get<Veto>()->why, VetoReason::kMaintenance);
    in.facts.maintenance = false;
    EXPECT_EQ(plan_failover(in).get<Veto>()->why, VetoReason::kCooldown);
    in.facts.in_cooldown = false;
    EXPECT_EQ(plan_failover(in).get<Veto>()->why, VetoReason::kSlotsMigrating);
}

// --- Timeouts-only evidence: the wait and the holistic veto ---------------------------

/// Timeouts-only evidence; the replicas' links are down (they lost the master too).
PlanInput timeouts_only(PlanWorld& w, Duration since) {
    for (auto& [addr, s] : w.nodes) {
        if (s.replication && s.replication->role == cluster::ReplicationRole::kReplica) {
            s.replication->master_link_status = cluster::MasterLinkStatus::kDown;
            s.replication->master_last_io_seconds_ago = -1;
            s.replication->master_link_down_since_seconds = 1;
        }
    }
    auto& a = w.nodes["10.0.0.1:7000"];
    a.probe_evidence = a.evidence = detect::Evidence::kUnresponsive;
    a.last_outcome = detect::ProbeOutcome::kTimeout;
    a.failing_since = kT0 - since;
    auto in = w.input();
    in.evidence = proto::Evidence::kUnresponsive;
    in.since_last_contact = since;
    return in;
}

TEST(PlanTimeoutsOnly, WaitsUntilClusterNodeTimeoutPlusOneSecond) {
    PlanWorld w;
    auto in = timeouts_only(w, 16s - 1ms);
    Plan plan = plan_failover(in);
    const Wait* wait = plan.get<Wait>();
    ASSERT_NE(wait, nullptr) << plan.reason();
    EXPECT_EQ(wait->until_since_last_contact, 16s);
    EXPECT_EQ(wait->reason,
              "timeouts-only evidence: waiting until 16s after the last contact (now 15999ms): a "
              "cut-off master serves until cluster-node-timeout");
    // The choice is already made, for "would fail over to" reports.
    ASSERT_TRUE(plan.choice.chosen);
    in = timeouts_only(w, 16s);
    plan = plan_failover(in);
    ASSERT_NE(plan.get<Act>(), nullptr) << plan.reason();
    // a is possibly alive now, b and c reachable: still a majority for FORCE.
    EXPECT_EQ(plan.get<Act>()->mode, proto::FailoverMode::kForce);
    EXPECT_EQ(plan.masters.possibly_alive, 1U);
}

TEST(PlanTimeoutsOnly, DownAfterUnresponsiveAboveNodeTimeout) {
    PlanWorld w;
    auto in = timeouts_only(w, 19s);
    in.policy.down_after_unresponsive = 20s;
    EXPECT_EQ(plan_failover(in).get<Wait>()->until_since_last_contact, 20s);
    in.since_last_contact = 20s;
    EXPECT_NE(plan_failover(in).get<Act>(), nullptr);
}

TEST(PlanTimeoutsOnly, FastOnTimeouts) {
    PlanWorld w;
    auto in = timeouts_only(w, 5s - 1ms);
    in.policy.fast_on_timeouts = true;
    const Plan plan = plan_failover(in);
    ASSERT_NE(plan.get<Wait>(), nullptr);
    EXPECT_EQ(plan.get<Wait>()->until_since_last_contact, 5s);
    EXPECT_NE(plan.reason().find("(fast_on_timeouts)"), std::string::npos);
    in.since_last_contact = 5s;
    EXPECT_NE(plan_failover(in).get<Act>(), nullptr);
}

TEST(PlanTimeoutsOnly, DeadEvidenceDoesNotWait) {
    PlanWorld w;
    auto in = timeouts_only(w, 1s);
    in.evidence = proto::Evidence::kDead;
    EXPECT_NE(plan_failover(in).get<Act>(), nullptr);
}

TEST(PlanTimeoutsOnly, HolisticVetoWhenAReplicaHearsFromTheMaster) {
    PlanWorld w;
    auto in = timeouts_only(w, 30s);
    auto& r = *w.nodes["10.0.0.5:7000"].replication;
    r.master_link_status = cluster::MasterLinkStatus::kUp;
    r.master_last_io_seconds_ago = 2;
    r.master_link_down_since_seconds.reset();
    Plan plan = plan_failover(in);
    const Veto* v = plan.get<Veto>();
    ASSERT_NE(v, nullptr) << plan.reason();
    EXPECT_EQ(v->why, VetoReason::kReplicasSeeMaster);
    EXPECT_EQ(v->reason, "replica " + id('e') +
                             " (10.0.0.5:7000) reports its link to the master up with data 2s "
                             "ago, after our last contact 30s ago: the master is alive and only "
                             "our path to it is broken");
    // The veto comes before the wait.
    in.since_last_contact = 4s;
    EXPECT_EQ(plan_failover(in).get<Veto>()->why, VetoReason::kReplicasSeeMaster);
    // Data from before our last contact proves nothing: (ago + 1) s must be after it.
    in.since_last_contact = 3s;
    EXPECT_NE(plan_failover(in).get<Wait>(), nullptr);
    // Stale INFO is no testimony.
    in.since_last_contact = 30s;
    in.now = kT0 + 5s + 1ms;
    EXPECT_NE(plan_failover(in).get<Act>(), nullptr) << plan_failover(in).reason();
    in.now = kT0 + 5s;
    EXPECT_NE(plan_failover(in).get<Veto>(), nullptr);
    // A replica we do not see up is no witness.
    w.nodes["10.0.0.5:7000"].state = detect::NodeState::kFailing;
    EXPECT_EQ(plan_failover(in).get<Veto>(), nullptr);
    w.nodes["10.0.0.5:7000"].state = detect::NodeState::kUp;
    // Dead evidence: no holistic veto (the process is gone whatever the replicas buffer).
    in.evidence = proto::Evidence::kDead;
    EXPECT_NE(plan_failover(in).get<Act>(), nullptr);
}

// --- FORCE / TAKEOVER arithmetic -------------------------------------------------------

/// n slot-owning masters: a (failed) plus others; `lost` of them (a included) lost,
/// `dead` of the lost ones known dead (a first), the rest possibly alive.
std::vector<MasterLiveness> masters(std::size_t n, std::size_t lost, std::size_t dead) {
    std::vector<MasterLiveness> out;
    const char names[] = {'a', 'b', 'c', '1', '2', '3', '4'};
    for (std::size_t i = 0; i < n; ++i) {
        Liveness l = Liveness::kReachable;
        if (i < lost) {
            l = i < dead ? Liveness::kKnownDead : Liveness::kPossiblyAlive;
        }
        out.push_back({id(names[i]), l});
    }
    return out;
}

struct ArithmeticCase {
    std::size_t n, lost, dead;
    bool allow_takeover, when_unreachable;
    // Expected: "FORCE", "TAKEOVER", "TAKEOVER fenced", or a veto reason.
    std::string expected;
};

TEST(PlanMajority, ForceAndTakeoverArithmetic) {
    const std::vector<ArithmeticCase> cases = {
        // 3 masters, majority 2.
        {3, 1, 0, false, false, "FORCE"},
        {3, 1, 1, false, false, "FORCE"},
        {3, 2, 0, false, false, "takeover_disabled"},
        {3, 2, 0, true, false, "takeover_unsafe"},  // 2 possibly alive ≥ 2
        {3, 2, 0, true, true, "TAKEOVER fenced"},
        {3, 2, 1, true, false, "TAKEOVER fenced"},  // 1 possibly alive < 2
        {3, 2, 2, true, false, "TAKEOVER"},         // all lost known dead: no fence
        {3, 2, 2, false, false, "takeover_disabled"},
        {3, 3, 3, true, false, "TAKEOVER"},
        {3, 3, 1, true, false, "takeover_unsafe"},
        // 5 masters, majority 3.
        {5, 1, 0, false, false, "FORCE"},
        {5, 2, 0, false, false, "FORCE"},
        {5, 2, 2, false, false, "FORCE"},
        {5, 3, 0, true, false, "takeover_unsafe"},  // 3 possibly alive ≥ 3
        {5, 3, 1, true, false, "TAKEOVER fenced"},  // 2 < 3
        {5, 3, 3, true, false, "TAKEOVER"},
        {5, 3, 0, false, false, "takeover_disabled"},
        {5, 4, 1, true, false, "takeover_unsafe"},
        {5, 4, 2, true, false, "TAKEOVER fenced"},
        {5, 4, 1, true, true, "TAKEOVER fenced"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::to_string(c.n) + " masters, " + std::to_string(c.lost) + " lost, " +
                     std::to_string(c.dead) + " dead, allow " + std::to_string(c.allow_takeover) +
                     ", unreachable " + std::to_string(c.when_unreachable));
        PlanWorld w;
        auto in = w.input();
        in.since_last_contact = 10s;
        in.masters = masters(c.n, c.lost, c.dead);
        in.policy.allow_takeover = c.allow_takeover;
        in.policy.takeover_when_unreachable = c.when_unreachable;
        const Plan plan = plan_failover(in);
        EXPECT_EQ(plan.masters.total, c.n);
        EXPECT_EQ(plan.masters.reachable, c.n - c.lost);
        std::string got;
        if (const Act* act = plan.get<Act>()) {
            EXPECT_EQ(act->replica, id('d'));
            if (act->mode == proto::FailoverMode::kForce) {
                got = "FORCE";
                EXPECT_EQ(act->fence_wait, 0s);
            } else if (act->fence_wait == 0s) {
                got = "TAKEOVER";
                EXPECT_EQ(act->fence_remaining, 0s);
            } else {
                got = "TAKEOVER fenced";
                EXPECT_EQ(act->fence_wait, 24500ms);
                EXPECT_EQ(act->fence_remaining, 14500ms);
            }
        } else if (const Veto* v = plan.get<Veto>()) {
            got = to_string(v->why);
        }
        EXPECT_EQ(got, c.expected) << plan.reason();
    }
}

TEST(PlanMajority, FailedMasterNeverCountsAsAVoter) {
    PlanWorld w;
    auto in = w.input();
    // The list says a is reachable (this watcher still reaches it) and b is lost.
    in.masters = {{id('a'), Liveness::kReachable},
                  {id('b'), Liveness::kPossiblyAlive},
                  {id('c'), Liveness::kReachable}};
    in.policy.allow_takeover = true;
    Plan plan = plan_failover(in);
    EXPECT_EQ(plan.masters.reachable, 1U);
    EXPECT_EQ(plan.get<Veto>()->why, VetoReason::kTakeoverUnsafe);
    // Missing from the list: added as possibly alive.
    in.masters = {{id('b'), Liveness::kReachable}, {id('c'), Liveness::kReachable}};
    plan = plan_failover(in);
    EXPECT_EQ(plan.masters.total, 3U);
    EXPECT_EQ(plan.masters.possibly_alive, 1U);
    EXPECT_EQ(plan.get<Act>()->mode, proto::FailoverMode::kForce);
}

TEST(PlanMajority, TwoOfThreeLostTakeoverThenForce) {
    // a and b killed (refused): TAKEOVER a's shard; re-evaluated afterwards with d as a
    // reachable master, b's shard has a majority again and gets FORCE.
    PlanWorld w;
    auto in = w.input();
    in.masters = {{id('a'), Liveness::kKnownDead},
                  {id('b'), Liveness::kKnownDead},
                  {id('c'), Liveness::kReachable}};
    in.policy.allow_takeover = true;
    const Plan first = plan_failover(in);
    ASSERT_NE(first.get<Act>(), nullptr) << first.reason();
    EXPECT_EQ(first.get<Act>()->mode, proto::FailoverMode::kTakeover);
    EXPECT_NE(first.reason().find("every lost master is known dead, no fence needed"),
              std::string::npos);
    in.masters = {{id('d'), Liveness::kReachable},
                  {id('b'), Liveness::kKnownDead},
                  {id('c'), Liveness::kReachable}};
    MasterCounts c = count_masters(in.masters);
    EXPECT_TRUE(c.force_possible());
}

TEST(PlanMajority, FenceRemainingFloorsAtZero) {
    PlanWorld w;
    auto in = w.input();
    in.masters = masters(3, 2, 1);
    in.policy.allow_takeover = true;
    in.since_last_contact = 30s;
    const Plan plan = plan_failover(in);
    const Act* act = plan.get<Act>();
    ASSERT_NE(act, nullptr);
    EXPECT_EQ(act->fence_wait, 24500ms);
    EXPECT_EQ(act->fence_remaining, 0s);
}

// --- Compare-and-set -------------------------------------------------------------------

proto::FailoverRecord record_for(char replica) {
    proto::FailoverRecord r;
    r.key = {"0-5460", id('a'), 1};
    r.replica = id(replica);
    return r;
}

TEST(StillValid, HoldsOnTheUnchangedCluster) {
    const auto topo = topology_of(three_masters(), 'b');
    const CasResult r = still_valid(record_for('d'), topo);
    EXPECT_TRUE(r) << r.reason;
    EXPECT_TRUE(r.reason.empty());
}

TEST(StillValid, RefusesEveryChange) {
    struct Case {
        std::string name;
        std::vector<Line> lines;
        char replica;
        std::string reason;
    };
    auto base = three_masters();
    auto without_a = base;
    without_a.erase(without_a.begin());
    for (auto& l : without_a) {
        l.master = l.master == 'a' ? 'b' : l.master;
    }
    auto a_replica = base;
    a_replica[0] = {'a', "10.0.0.1:7000", "slave", 'd', 7, ""};
    a_replica[3] = {'d', "10.0.0.4:7000", "master", 0, 7, "0-5460"};
    auto epoch = base;
    epoch[0].epoch = 4;
    auto no_slots = base;
    no_slots[0].slots = "";
    no_slots[1].slots = "0-10922";
    auto moved = base;
    moved[0].slots = "0-5460";
    moved[3] = {'d', "10.0.0.4:7000", "master", 0, 9, "0-5460"};
    auto d_other = base;
    d_other[3].master = 'b';
    const std::vector<Case> cases = {
        {"master gone", without_a, 'e',
         "failed master " + id('a') + " is no longer in the cluster view"},
        {"master demoted", a_replica, 'e', "failed master " + id('a') + " is now slave"},
        {"epoch moved", epoch, 'd',
         "failed master " + id('a') + " is at config epoch 4, the record is for epoch 1"},
        {"slots gone", no_slots, 'd', "failed master " + id('a') + " serves no slots any more"},
        {"slots claimed at a higher epoch", moved, 'e', "slot 0 is now served by " + id('d')},
        {"target gone", base, '9', "target " + id('9') + " is no longer in the cluster view"},
        {"target is a master", base, 'b', "target " + id('b') + " is now master"},
        {"target follows another master", d_other, 'd',
         "target " + id('d') + " now replicates " + id('b')},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto topo = topology_of(c.lines, 'c');
        const CasResult r = still_valid(record_for(c.replica), topo);
        EXPECT_FALSE(r);
        EXPECT_EQ(r.reason, c.reason);
    }
}

TEST(MasterLiveness, AMasterWhoseSlotsAreClaimedAtAHigherEpochDoesNotCount) {
    auto lines = three_masters();
    // A stale view: a still claims its slots at epoch 1, d (promoted) claims them at 4.
    lines[3] = {'d', "10.0.0.4:7000", "master", 0, 4, "0-5460"};
    const auto topo = topology_of(lines, 'b');
    const auto masters = master_liveness(topo, standard_nodes());
    std::vector<std::string> ids;
    for (const auto& m : masters) {
        ids.push_back(m.id);
    }
    EXPECT_EQ(ids, (std::vector<std::string>{id('b'), id('c'), id('d')}));
    EXPECT_EQ(count_masters(masters).majority(), 2U);
}

// --- Config drift ----------------------------------------------------------------------

TEST(ConfigDrift, AgreeingSettingsAreNoDrift) {
    const auto topo = topology_of(three_masters(), 'b');
    std::map<std::string, std::map<std::string, std::string, std::less<>>> settings;
    for (const auto* a : {"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}) {
        settings[a] = {{"cluster-node-timeout", "15000"}, {"cluster-require-full-coverage", "yes"}};
    }
    EXPECT_TRUE(config_drift(topo, settings, 15s).empty());
}

TEST(ConfigDrift, EachCheckIsReportedWithItsNodes) {
    auto lines = three_masters();
    lines[3].flags = "slave,nofailover";  // d only: e and f may still fail over by themselves
    const auto topo = topology_of(lines, 'b');
    std::map<std::string, std::map<std::string, std::string, std::less<>>> settings;
    settings["10.0.0.1:7000"] = {{"cluster-node-timeout", "15000"},
                                 {"cluster-require-full-coverage", "no"}};
    settings["10.0.0.2:7000"] = {{"cluster-node-timeout", "5000"},
                                 {"cluster-require-full-coverage", "yes"}};
    const auto d = config_drift(topo, settings, 15s);
    ASSERT_EQ(d.size(), 3U);
    EXPECT_NE(d.at("require_full_coverage").find("10.0.0.1:7000"), std::string::npos);
    EXPECT_NE(d.at("cluster_node_timeout").find("5000 ms on 1 node(s) (10.0.0.2:7000)"),
              std::string::npos)
        << d.at("cluster_node_timeout");
    EXPECT_NE(d.at("replica_no_failover").find("set on 1 replica(s) but not on 2"),
              std::string::npos)
        << d.at("replica_no_failover");
    // All nodes agree with each other but not with picket's setting: still drift.
    settings.erase("10.0.0.2:7000");
    settings["10.0.0.1:7000"]["cluster-require-full-coverage"] = "yes";
    const auto only = config_drift(topology_of(three_masters(), 'b'), settings, 5s);
    ASSERT_EQ(only.size(), 1U);
    EXPECT_NE(only.at("cluster_node_timeout").find("is 5000 ms"), std::string::npos);
}

// --- Convergence -----------------------------------------------------------------------

TEST(Convergence, AViewAgreesOnceTheTargetServesTheShardAtAHigherEpoch) {
    auto after = three_masters();
    after[0] = {'a', "10.0.0.1:7000", "master,fail", 0, 1, ""};
    after[3] = {'d', "10.0.0.4:7000", "master", 0, 4, "0-5460"};
    after[4].master = 'd';
    after[5].master = 'd';
    const ViewAgreement r = view_shows_promotion(view_of(after, 'b'), record_for('d'));
    EXPECT_TRUE(r.agrees) << r.reason;
    EXPECT_TRUE(r.reason.empty());
}

TEST(Convergence, EveryStaleViewSaysWhatIsMissing) {
    struct Case {
        std::string name;
        std::vector<Line> lines;
        std::string reason;
    };
    const auto before = three_masters();
    auto same_epoch = before;
    same_epoch[3] = {'d', "10.0.0.4:7000", "master", 0, 1, "0-5460"};
    auto partial = before;
    partial[0].slots = "5000-5460";
    partial[3] = {'d', "10.0.0.4:7000", "master", 0, 4, "0-4999"};
    auto old_claims = before;
    old_claims[3] = {'d', "10.0.0.4:7000", "master", 0, 4, "0-5460"};
    auto unknown = before;
    unknown.erase(unknown.begin() + 3);
    const std::vector<Case> cases = {
        {"still a replica", before, "node bbbbbbbb still sees dddddddd as a replica"},
        {"old epoch", same_epoch,
         "node bbbbbbbb sees dddddddd at config epoch 1, not above the failed master's 1"},
        {"part of the slots", partial,
         "node bbbbbbbb sees dddddddd serving [0-4999], not the shard's [0-5460]"},
        {"old master still claims", old_claims,
         "node bbbbbbbb still sees aaaaaaaa claiming slots 0-5460"},
        {"target unknown", unknown, "node bbbbbbbb does not list dddddddd"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const ViewAgreement r = view_shows_promotion(view_of(c.lines, 'b'), record_for('d'));
        EXPECT_FALSE(r.agrees);
        EXPECT_EQ(r.reason, c.reason);
    }
}

// --- Readiness -------------------------------------------------------------------------

ReadinessInput ready_input(const PlanWorld& w) {
    ReadinessInput in;
    in.master = *failed_master_from(w.topo, id('a'));
    in.topology = &w.topo;
    in.nodes = &w.nodes;
    in.reachable_voters = 3;
    in.voter_count = 3;
    in.quorum = 2;
    in.masters = {{id('a'), Liveness::kReachable},
                  {id('b'), Liveness::kReachable},
                  {id('c'), Liveness::kReachable}};
    return in;
}

TEST(Readiness, Ready) {
    PlanWorld w;
    const Readiness r = readiness(ready_input(w));
    EXPECT_TRUE(r.ready());
    EXPECT_EQ(r.reason, "ready: would promote " + id('d') + " (FORCE)");
    EXPECT_EQ(r.replica, id('d'));
}

TEST(Readiness, EveryProblemWithItsReason) {
    PlanWorld w;
    auto in = ready_input(w);
    in.policy.never_promote = {id('d'), id('e'), id('f')};
    in.reachable_voters = 1;
    in.masters[1].liveness = Liveness::kPossiblyAlive;
    in.facts.in_cooldown = true;
    in.facts.cooldown_remaining = 60s;
    in.facts.slots_migrating = true;
    in.facts.maintenance = true;
    const Readiness r = readiness(in);
    EXPECT_FALSE(r.ready());
    EXPECT_EQ(r.problems, (std::vector<ReadinessProblem>{
                              ReadinessProblem::kNoEligibleReplica, ReadinessProblem::kNoQuorum,
                              ReadinessProblem::kNoMajority, ReadinessProblem::kCooldown,
                              ReadinessProblem::kMigration, ReadinessProblem::kMaintenance}));
    EXPECT_NE(r.reason.find("no_eligible_replica: no eligible replica: "), std::string::npos);
    EXPECT_NE(r.reason.find("; no_quorum: 1 of 3 watchers reachable; need 2 for ODOWN and 2 to "
                            "commit"),
              std::string::npos)
        << r.reason;
    EXPECT_NE(r.reason.find("; no_majority: 1 of 3 slot-owning masters reachable (majority 2), 0 "
                            "known dead, 2 possibly alive without this master; allow_takeover "
                            "is off"),
              std::string::npos)
        << r.reason;
    EXPECT_NE(r.reason.find("; cooldown: 60s of cooldown left"), std::string::npos);
    EXPECT_NE(r.reason.find("; migration: slots importing or migrating"), std::string::npos);
    EXPECT_NE(r.reason.find("; maintenance: in maintenance"), std::string::npos);
}

TEST(Readiness, TakeoverDecidesTheMajorityProblem) {
    PlanWorld w;
    auto in = ready_input(w);
    in.masters[1].liveness = Liveness::kKnownDead;
    EXPECT_EQ(readiness(in).problems, std::vector<ReadinessProblem>{ReadinessProblem::kNoMajority});
    in.policy.allow_takeover = true;
    const Readiness r = readiness(in);
    EXPECT_TRUE(r.ready()) << r.reason;
    EXPECT_EQ(r.reason, "ready: would promote " + id('d') + " (TAKEOVER)");
    in.masters[1].liveness = Liveness::kPossiblyAlive;
    EXPECT_NE(readiness(in).reason.find("TAKEOVER would be refused"), std::string::npos);
    in.policy.takeover_when_unreachable = true;
    EXPECT_TRUE(readiness(in).ready());
}

TEST(Readiness, QuorumNeedsBothOdownQuorumAndVoterMajority) {
    PlanWorld w;
    auto in = ready_input(w);
    in.voter_count = 5;
    in.quorum = 2;
    in.reachable_voters = 2;  // enough for ODOWN, not to commit (3 of 5)
    EXPECT_EQ(readiness(in).problems, std::vector<ReadinessProblem>{ReadinessProblem::kNoQuorum});
    in.reachable_voters = 3;
    EXPECT_TRUE(readiness(in).ready());
    in.quorum = 4;
    EXPECT_FALSE(readiness(in).ready());
}

TEST(Names, EveryEnumHasAName) {
    for (int i = 0; i <= static_cast<int>(VetoReason::kTakeoverUnsafe); ++i) {
        EXPECT_NE(to_string(static_cast<VetoReason>(i)), "unknown");
    }
    for (int i = 0; i <= static_cast<int>(ReadinessProblem::kMaintenance); ++i) {
        EXPECT_NE(to_string(static_cast<ReadinessProblem>(i)), "unknown");
    }
    for (int i = 0; i <= static_cast<int>(Liveness::kPossiblyAlive); ++i) {
        EXPECT_NE(to_string(static_cast<Liveness>(i)), "unknown");
    }
}

}  // namespace
}  // namespace picket::failover

namespace picket::failover {
namespace {
using namespace testing;

/// Attempt 0 of master a's failure chose d (10.0.0.4:7000), sent FORCE at kT0 and was
/// aborted at kT0 + 1 s; the leader was elected long before. `now` is kT0 + 8 s, past
/// 2 x cluster-node-timeout (3 s) after the command.
struct SwitchWorld {
    cluster::Topology topo = topology_of(three_masters(), 'b');
    NodeStatuses nodes = standard_nodes();

    SwitchInput input() const {
        SwitchInput in;
        in.replica = id('d');
        in.replica_address = "10.0.0.4:7000";
        in.mode = proto::FailoverMode::kForce;
        in.abort_committed = true;
        in.aborted_at = kT0 + 1s;
        in.command_sent_at = kT0;
        in.leader_since = kT0 - 1min;
        in.now = kT0 + 8s;
        in.probe_delay = 1100ms;
        in.cluster_node_timeout = 3s;
        in.topology = &topo;
        in.nodes = &nodes;
        return in;
    }
    void kill_d(TimePoint since) {
        auto& d = nodes.at("10.0.0.4:7000");
        d.state = detect::NodeState::kSdown;
        d.last_outcome = detect::ProbeOutcome::kRefused;
        d.failing_since = since;
        d.reason = "connection refused";
    }
    void hang_d(TimePoint since) {
        auto& d = nodes.at("10.0.0.4:7000");
        d.state = detect::NodeState::kSdown;
        d.last_outcome = detect::ProbeOutcome::kTimeout;
        d.failing_since = since;
        d.reason = "timeout";
    }
};

TEST(SwitchCandidate, ADeadCandidateIsLeftBehindOnceNothingCanLand) {
    SwitchWorld w;
    w.kill_d(kT0 + 2s);
    const auto v = switch_candidate(w.input());
    EXPECT_TRUE(v.may_switch) << v.reason;
    EXPECT_TRUE(v.dead);
    EXPECT_NE(v.reason.find("previous attempt's candidate 10.0.0.4:7000 dead (refused"),
              std::string::npos)
        << v.reason;
}

TEST(SwitchCandidate, ACandidateStillAReplicaAfterTheAbortIsLeftBehind) {
    SwitchWorld w;
    w.nodes.at("10.0.0.4:7000").replication_at = kT0 + 5s;  // INFO read after the abort
    const auto v = switch_candidate(w.input());
    EXPECT_TRUE(v.may_switch) << v.reason;
    EXPECT_TRUE(v.still_replica);
    EXPECT_NE(v.reason.find("not promoted"), std::string::npos) << v.reason;
    // INFO from before the abort says nothing about what it did with the command.
    w.nodes.at("10.0.0.4:7000").replication_at = kT0 + 500ms;
    EXPECT_FALSE(switch_candidate(w.input()).may_switch);
    // Nor does a replica the cluster model already shows as a master.
    w.nodes.at("10.0.0.4:7000").replication_at = kT0 + 5s;
    auto lines = three_masters();
    lines[3] = {'d', "10.0.0.4:7000", "master", 0, 4, ""};
    w.topo = topology_of(lines, 'b');
    EXPECT_FALSE(switch_candidate(w.input()).may_switch);
}

TEST(SwitchCandidate, AHungCandidateMayStillActOnABufferedCommand) {
    SwitchWorld w;
    w.hang_d(kT0 + 2s);
    auto v = switch_candidate(w.input());
    EXPECT_FALSE(v.may_switch);
    EXPECT_FALSE(v.dead);
    EXPECT_FALSE(v.still_replica);
    EXPECT_NE(v.reason.find("may still act on a command it received"), std::string::npos)
        << v.reason;
    // However long: a stopped process runs its buffer when it resumes.
    auto in = w.input();
    in.now = kT0 + 1h;
    EXPECT_FALSE(switch_candidate(in).may_switch);
}

TEST(SwitchCandidate, TheVerdictMustRestOnAProbeSentAfterTheAbort) {
    SwitchWorld w;
    w.kill_d(kT0 - 1s);
    auto in = w.input();
    in.now = in.aborted_at + 500ms;  // the refusal seen may predate the abort
    in.leader_since = kT0 - 1h;
    in.command_sent_at.reset();
    auto v = switch_candidate(in);
    EXPECT_FALSE(v.may_switch) << v.reason;
    EXPECT_EQ(v.wait, 600ms);
    in.now = in.aborted_at + 1100ms;
    EXPECT_TRUE(switch_candidate(in).may_switch);
}

TEST(SwitchCandidate, WaitsForTheCommittedAbortAndTheVoteThrottle) {
    SwitchWorld w;
    w.kill_d(kT0 + 2s);
    auto in = w.input();
    in.abort_committed = false;
    auto v = switch_candidate(in);
    EXPECT_FALSE(v.may_switch);
    EXPECT_TRUE(v.dead);
    EXPECT_NE(v.reason.find("not yet held by a majority"), std::string::npos) << v.reason;
    // 2 x cluster-node-timeout after the last command (either mode: a TAKEOVER held by
    // a pause lands just as well)...
    in = w.input();
    in.now = kT0 + 5s;
    v = switch_candidate(in);
    EXPECT_FALSE(v.may_switch);
    EXPECT_EQ(v.wait, 1s);
    in.mode = proto::FailoverMode::kTakeover;
    EXPECT_FALSE(switch_candidate(in).may_switch);
    in.now = kT0 + 6s;
    EXPECT_TRUE(switch_candidate(in).may_switch);
    // ...and after this leader's election: an earlier leader's command, checked before
    // it, may be held by a pause until then.
    in = w.input();
    in.command_sent_at.reset();
    in.leader_since = kT0 + 4s;
    EXPECT_FALSE(switch_candidate(in).may_switch);
    in.now = kT0 + 10s;
    EXPECT_TRUE(switch_candidate(in).may_switch);
}

TEST(SwitchCandidate, TheFailedCandidateIsExcludedFromTheNextChoiceWithTheReason) {
    PlanWorld w;
    auto in = w.input();
    in.failed_candidates.insert(id('d'));
    const Plan plan = plan_failover(in);
    const Act* act = plan.get<Act>();
    ASSERT_NE(act, nullptr) << plan.reason();
    EXPECT_EQ(act->replica, id('e'));
    bool said = false;
    for (const auto& c : plan.choice.candidates) {
        if (c.node_id == id('d')) {
            said = c.exclusion == Exclusion::kFailedAttempt &&
                   c.reason == "excluded: previous attempt's candidate dead/not promoted";
        }
    }
    EXPECT_TRUE(said) << plan.choice.reason;
}

}  // namespace
}  // namespace picket::failover
