// Unit tests of picket::detect::Detector, in the style of Envoy's outlier detection
// tests: a manual clock, probe results fed one by one, events and state asserted after
// each step. No sleeps, no sockets.

#include "picket/detect/detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace picket::detect {
namespace {

using namespace std::chrono_literals;

constexpr const char* kMaster = "10.0.0.1:6379";
constexpr const char* kReplica = "10.0.0.2:6379";
constexpr const char* kOther = "10.0.0.3:6379";

class DetectorTest : public ::testing::Test {
  protected:
    DetectorTest() : detector_(config()) {
        detector_.set_nodes(
            {{kMaster, "m1", true, ""}, {kReplica, "r1", false, kMaster}, {kOther, "m2", true, ""}},
            now_);
        detector_.take_output();
    }

    static DetectorConfig config() {
        DetectorConfig c;
        c.down_after = 1s;
        c.down_after_unresponsive = 5s;
        c.loading_grace = 3s;
        c.tick_interval = 100ms;
        c.loop_lag = 500ms;
        c.safe_mode_hold = 10s;
        return c;
    }

    /// One probe that takes `rtt`; advances the clock by it.
    void probe(const char* address, ProbeOutcome outcome, Duration rtt = 1ms) {
        Probe p{outcome, now_, now_ + rtt, {}};
        now_ += rtt;
        detector_.on_probe(address, p);
    }
    /// Advances the clock in ticks of 100 ms, probing `address` with `outcome` on each
    /// (the way the shell's loop does), and ticking.
    void run_for(Duration d, const char* address, ProbeOutcome outcome, Duration rtt = 1ms) {
        const TimePoint end = now_ + d;
        while (now_ < end) {
            probe(address, outcome, rtt);
            probe(kOther, ProbeOutcome::kPong);
            now_ += 100ms - 2 * rtt;
            detector_.tick(now_);
        }
    }
    void tick(Duration d) {
        now_ += d;
        detector_.tick(now_);
    }

    std::vector<Event> events_of(Event::Kind kind) {
        auto out = detector_.take_output();
        std::vector<Event> matching;
        for (auto& e : out.events) {
            if (e.kind == kind) {
                matching.push_back(e);
            }
        }
        return matching;
    }

    const NodeStatus& status(const char* address) { return *detector_.node(address); }

    Opinion opinion_of(const char* address) {
        for (auto& o : detector_.opinions(now_)) {
            if (o.address == address) {
                return o;
            }
        }
        ADD_FAILURE() << "no opinion of " << address;
        return {};
    }

    static cluster::ReplicationInfo replica_info(bool link_up, std::int64_t offset = 1000) {
        cluster::ReplicationInfo r;
        r.role = cluster::ReplicationRole::kReplica;
        r.master_host = "10.0.0.1";
        r.master_port = 6379;
        r.master_link_status =
            link_up ? cluster::MasterLinkStatus::kUp : cluster::MasterLinkStatus::kDown;
        r.slave_repl_offset = offset;
        return r;
    }
    static cluster::ReplicationInfo master_info(std::int64_t offset) {
        cluster::ReplicationInfo r;
        r.role = cluster::ReplicationRole::kMaster;
        r.master_repl_offset = offset;
        return r;
    }

    TimePoint now_{std::chrono::seconds(1000)};
    Detector detector_;
};

TEST_F(DetectorTest, NewNodesAreUnknownAndAskForReplicationInfo) {
    Detector d(config());
    d.set_nodes({{kMaster, "m1", true, ""}}, now_);
    auto out = d.take_output();
    ASSERT_EQ(out.events.size(), 1u);
    EXPECT_EQ(out.events[0].kind, Event::Kind::kNodeAdded);
    EXPECT_EQ(out.actions, (std::vector<Action>{{Action::Kind::kRefreshReplication, kMaster}}));
    EXPECT_EQ(d.node(kMaster)->state, NodeState::kUnknown);
}

TEST_F(DetectorTest, PongKeepsANodeUp) {
    run_for(3s, kMaster, ProbeOutcome::kPong);
    EXPECT_EQ(status(kMaster).state, NodeState::kUp);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kNone);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
    EXPECT_FALSE(opinion_of(kMaster).sdown);
}

TEST_F(DetectorTest, RefusedIsDeadEvidenceAndSdownAfterDownAfter) {
    run_for(500ms, kMaster, ProbeOutcome::kPong);
    const TimePoint last_reply = *status(kMaster).last_reply;
    const TimePoint first_failure = now_;
    ASSERT_EQ(first_failure - last_reply, 99ms);
    run_for(900ms, kMaster, ProbeOutcome::kRefused);
    EXPECT_EQ(status(kMaster).state, NodeState::kFailing);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kDead);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
    EXPECT_FALSE(opinion_of(kMaster).sdown);

    run_for(200ms, kMaster, ProbeOutcome::kRefused);
    auto sdown = events_of(Event::Kind::kSdown);
    ASSERT_EQ(sdown.size(), 1u);
    EXPECT_EQ(sdown[0].address, kMaster);
    EXPECT_EQ(sdown[0].evidence, Evidence::kDead);
    EXPECT_EQ(sdown[0].detail, "connection refused");
    // Silent for down_after: counted from the last reply (Sentinel's convention), so
    // declared at the first probe completing past last_reply + 1 s.
    EXPECT_GE(sdown[0].at - last_reply, 1s);
    EXPECT_LE(sdown[0].at - last_reply, 1s + 100ms);
    EXPECT_EQ(sdown[0].duration, sdown[0].at - last_reply);
    EXPECT_EQ(*status(kMaster).failing_since, first_failure);
    EXPECT_EQ(*status(kMaster).silent_since, last_reply);

    auto o = opinion_of(kMaster);
    EXPECT_TRUE(o.sdown);
    EXPECT_EQ(o.node_id, "m1");
    EXPECT_EQ(o.evidence, Evidence::kDead);
    // The vote's down_for still counts from the first failed probe: the timeouts-only
    // fence builds on it and must not start early.
    EXPECT_EQ(o.down_for, now_ - first_failure);
}

TEST_F(DetectorTest, AGapInOurOwnProbingIsNotTheNodesSilence) {
    run_for(300ms, kMaster, ProbeOutcome::kPong);
    // Ticks go on but the master is not probed for 3 s (a reconnect backoff, a slow
    // connect): its last reply is old when the next probe is refused.
    for (int i = 0; i < 30; ++i) {
        tick(100ms);
    }
    const TimePoint first_failure = now_;
    probe(kMaster, ProbeOutcome::kRefused);
    EXPECT_EQ(status(kMaster).state, NodeState::kFailing) << "not SDOWN on the old reply";
    EXPECT_EQ(*status(kMaster).silent_since, first_failure - 100ms);
    EXPECT_EQ(*detector_.next_deadline(), first_failure - 100ms + 1s);
    now_ = first_failure + 899ms;
    detector_.tick(now_);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
    now_ = first_failure + 900ms;
    detector_.tick(now_);
    EXPECT_EQ(events_of(Event::Kind::kSdown).size(), 1u);
}

TEST_F(DetectorTest, TimeoutsCountFromTheFirstUnansweredProbeNotTheLastReply) {
    run_for(300ms, kMaster, ProbeOutcome::kPong);
    const TimePoint first_failure = now_;
    probe(kMaster, ProbeOutcome::kTimeout, 50ms);
    EXPECT_EQ(*detector_.next_deadline(), first_failure + 5s);
    now_ = first_failure + 5s - 1ms;
    detector_.tick(now_);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
    now_ = first_failure + 5s;
    detector_.tick(now_);
    EXPECT_EQ(events_of(Event::Kind::kSdown).size(), 1u);
}

TEST_F(DetectorTest, NextDeadlineIsTheThresholdOfTheEarliestFailingNode) {
    run_for(300ms, kMaster, ProbeOutcome::kPong);
    EXPECT_FALSE(detector_.next_deadline().has_value()) << "nothing failing, nothing due";

    // A timeout first: due down_after_unresponsive after the probe was sent.
    const TimePoint first = now_;
    const TimePoint last_reply = *status(kMaster).last_reply;
    probe(kMaster, ProbeOutcome::kTimeout, 50ms);
    ASSERT_TRUE(detector_.next_deadline().has_value());
    EXPECT_EQ(*detector_.next_deadline(), first + 5s);
    // Then a refusal: dead evidence, due down_after after the last reply.
    probe(kMaster, ProbeOutcome::kRefused);
    EXPECT_EQ(*detector_.next_deadline(), last_reply + 1s);
    // A later failure of another node does not move the earliest deadline. Its last
    // reply is older than one probe interval before its failed probe: it counts from there.
    now_ += 200ms;
    probe(kOther, ProbeOutcome::kRefused);
    EXPECT_EQ(*detector_.next_deadline(), last_reply + 1s);

    // A tick exactly at the deadline declares SDOWN — not a tick later.
    now_ = last_reply + 1s;
    detector_.tick(now_);
    auto sdown = events_of(Event::Kind::kSdown);
    ASSERT_EQ(sdown.size(), 1u);
    EXPECT_EQ(sdown[0].address, kMaster);
    EXPECT_EQ(sdown[0].at - last_reply, 1s);
    // SDOWN nodes are done; the next deadline is the other node's.
    EXPECT_EQ(*detector_.next_deadline(), first + 200ms + 51ms - 100ms + 1s);
}

TEST_F(DetectorTest, NextDeadlineCoversALoadingMastersGrace) {
    const TimePoint first = now_;
    probe(kMaster, ProbeOutcome::kLoading);
    ASSERT_TRUE(detector_.next_deadline().has_value());
    EXPECT_EQ(*detector_.next_deadline(), first + 3s);
    // A loading replica is never down: no deadline for it.
    Detector d(config());
    d.set_nodes({{kReplica, "r1", false, kMaster}}, now_);
    d.on_probe(kReplica, Probe{ProbeOutcome::kLoading, now_, now_ + 1ms, {}});
    EXPECT_FALSE(d.next_deadline().has_value());
}

TEST_F(DetectorTest, ResetAndClosedAreDeadEvidenceToo) {
    probe(kMaster, ProbeOutcome::kClosed);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kDead);
    probe(kMaster, ProbeOutcome::kReset);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kDead);
    EXPECT_EQ(status(kMaster).reason, "connection reset");
}

TEST_F(DetectorTest, TimeoutsOnlyNeedDownAfterUnresponsive) {
    run_for(4900ms, kMaster, ProbeOutcome::kTimeout, 50ms);
    EXPECT_EQ(status(kMaster).state, NodeState::kFailing);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kUnresponsive);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
    run_for(200ms, kMaster, ProbeOutcome::kTimeout, 50ms);
    auto sdown = events_of(Event::Kind::kSdown);
    ASSERT_EQ(sdown.size(), 1u);
    EXPECT_EQ(sdown[0].evidence, Evidence::kUnresponsive);
    EXPECT_EQ(sdown[0].detail, "no reply before the deadline");
}

TEST_F(DetectorTest, UnreachableCountsAsUnresponsiveNotDead) {
    run_for(2s, kMaster, ProbeOutcome::kUnreachable);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kUnresponsive);
    EXPECT_EQ(status(kMaster).state, NodeState::kFailing);
}

TEST_F(DetectorTest, TimeoutsTurningIntoRefusalsBecomeDeadAtOnce) {
    // A VM reboots: silence, then its kernel answers while Redis is still down.
    run_for(2s, kMaster, ProbeOutcome::kTimeout, 50ms);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
    probe(kMaster, ProbeOutcome::kRefused);
    auto sdown = events_of(Event::Kind::kSdown);
    ASSERT_EQ(sdown.size(), 1u) << "failing for 2 s already, past down_after";
    EXPECT_EQ(sdown[0].evidence, Evidence::kDead);
}

TEST_F(DetectorTest, AnyReplyRecoversAndReportsHowLongItWasDown) {
    run_for(1500ms, kMaster, ProbeOutcome::kRefused);
    ASSERT_EQ(status(kMaster).state, NodeState::kSdown);
    detector_.take_output();
    probe(kMaster, ProbeOutcome::kPong);
    auto out = detector_.take_output();
    auto rec = std::find_if(out.events.begin(), out.events.end(),
                            [](const Event& e) { return e.kind == Event::Kind::kRecovered; });
    ASSERT_NE(rec, out.events.end());
    EXPECT_GE(rec->duration, 1500ms);
    EXPECT_NE(std::find(out.actions.begin(), out.actions.end(),
                        Action{Action::Kind::kRefreshReplication, kMaster}),
              out.actions.end())
        << "a state change asks for INFO replication at once";
    EXPECT_EQ(status(kMaster).state, NodeState::kUp);
    EXPECT_FALSE(status(kMaster).failing_since.has_value());
    EXPECT_FALSE(opinion_of(kMaster).sdown);
}

TEST_F(DetectorTest, BusyAndMasterDownAndErrorRepliesMeanAlive) {
    for (auto outcome :
         {ProbeOutcome::kBusy, ProbeOutcome::kMasterDown, ProbeOutcome::kErrorReply}) {
        run_for(800ms, kMaster, ProbeOutcome::kRefused);  // silent 0.9 s < down_after
        run_for(200ms, kMaster, outcome);
        EXPECT_EQ(status(kMaster).state, NodeState::kUp) << to_string(outcome);
        run_for(2s, kMaster, outcome);
        EXPECT_EQ(status(kMaster).state, NodeState::kUp) << to_string(outcome);
    }
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
}

TEST_F(DetectorTest, ErrorCodesMapToOutcomes) {
    EXPECT_EQ(probe_outcome_for_error_code("BUSY"), ProbeOutcome::kBusy);
    EXPECT_EQ(probe_outcome_for_error_code("MASTERDOWN"), ProbeOutcome::kMasterDown);
    EXPECT_EQ(probe_outcome_for_error_code("LOADING"), ProbeOutcome::kLoading);
    EXPECT_EQ(probe_outcome_for_error_code("NOAUTH"), ProbeOutcome::kErrorReply);
}

TEST_F(DetectorTest, IndeterminateErrorsAreNoEvidence) {
    run_for(10s, kMaster, ProbeOutcome::kIndeterminate);
    EXPECT_NE(status(kMaster).state, NodeState::kSdown);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kNone);
}

TEST_F(DetectorTest, LoadingIsAliveWithinGraceThenAMasterCountsAsDown) {
    run_for(2900ms, kMaster, ProbeOutcome::kLoading);
    EXPECT_EQ(status(kMaster).state, NodeState::kLoading);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
    run_for(200ms, kMaster, ProbeOutcome::kLoading);
    auto sdown = events_of(Event::Kind::kSdown);
    ASSERT_EQ(sdown.size(), 1u);
    EXPECT_EQ(sdown[0].evidence, Evidence::kDead);
    EXPECT_NE(sdown[0].detail.find("still loading"), std::string::npos);
    EXPECT_TRUE(opinion_of(kMaster).sdown);
    // Done loading: recovered.
    probe(kMaster, ProbeOutcome::kPong);
    EXPECT_EQ(status(kMaster).state, NodeState::kUp);
    EXPECT_EQ(events_of(Event::Kind::kRecovered).size(), 1u);
}

TEST_F(DetectorTest, LoadingReplicaIsNotDown) {
    run_for(10s, kReplica, ProbeOutcome::kLoading);
    EXPECT_EQ(status(kReplica).state, NodeState::kLoading);
    EXPECT_TRUE(events_of(Event::Kind::kSdown).empty());
}

TEST_F(DetectorTest, KilledThenRestartedWithLoadingEndsTheFailure) {
    run_for(1500ms, kMaster, ProbeOutcome::kRefused);
    ASSERT_EQ(status(kMaster).state, NodeState::kSdown);
    run_for(500ms, kMaster, ProbeOutcome::kLoading);
    EXPECT_EQ(status(kMaster).state, NodeState::kLoading);
    EXPECT_FALSE(status(kMaster).failing_since.has_value());
}

TEST_F(DetectorTest, ReplicasReportingLinkDownCorroborateButDoNotMakeTimeoutsDead) {
    // A master cut off from us and from its replicas (restarted behind a partition, or cut
    // off before its replica's first sync) looks exactly like a dead one and still serves
    // writes until cluster-node-timeout: the testimony is recorded, the evidence stays
    // timeouts only (sim seeds 84303, 17735; chaos finding 5).
    detector_.on_replication(kReplica, replica_info(true), now_);
    run_for(1500ms, kMaster, ProbeOutcome::kTimeout, 50ms);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kUnresponsive);
    detector_.on_replication(kReplica, replica_info(false), now_);
    tick(1ms);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kUnresponsive);
    EXPECT_EQ(status(kMaster).state, NodeState::kFailing) << "not SDOWN before 5 s of timeouts";
    auto o = opinion_of(kMaster);
    EXPECT_TRUE(o.replicas_report_link_down) << "corroboration for the vote and the record";
    EXPECT_EQ(o.evidence, Evidence::kUnresponsive);
    EXPECT_NE(status(kMaster).reason.find("replicas report master_link_status:down"),
              std::string::npos);
    run_for(3600ms, kMaster, ProbeOutcome::kTimeout, 50ms);
    EXPECT_EQ(status(kMaster).state, NodeState::kSdown);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kUnresponsive);
}

TEST_F(DetectorTest, ReplicaTestimonyFollowsWhichMasterTheReplicaNamesNow) {
    // The replica testifies for the master its latest INFO names, and only that one.
    detector_.on_replication(kReplica, replica_info(false), now_);
    probe(kMaster, ProbeOutcome::kTimeout, 50ms);
    EXPECT_EQ(status(kMaster).replicas_report_link_down, std::set<std::string>{kReplica});
    auto other = replica_info(false);
    other.master_host = "10.0.0.3";  // now replicates kOther
    detector_.on_replication(kReplica, other, now_);
    EXPECT_TRUE(status(kMaster).replicas_report_link_down.empty());
    probe(kOther, ProbeOutcome::kTimeout, 50ms);
    EXPECT_EQ(status(kOther).replicas_report_link_down, std::set<std::string>{kReplica});
    EXPECT_EQ(status(kOther).evidence, Evidence::kUnresponsive) << "corroboration only";
    // A removed replica testifies no more.
    detector_.set_nodes({{kMaster, "m1", true, ""}, {kOther, "m2", true, ""}}, now_);
    tick(100ms);
    EXPECT_TRUE(status(kOther).replicas_report_link_down.empty());
}

TEST_F(DetectorTest, SdownOnlyOpinionsAreWhatTheVoteKeeps) {
    run_for(1500ms, kMaster, ProbeOutcome::kRefused);
    const auto all = detector_.opinions(now_);
    EXPECT_EQ(all.size(), 3u);
    const auto sdown = detector_.opinions(now_, /*sdown_only=*/true);
    ASSERT_EQ(sdown.size(), 1u);
    EXPECT_EQ(sdown[0].address, kMaster);
    EXPECT_TRUE(sdown[0].sdown);
}

TEST_F(DetectorTest, StaleReplicaTestimonyDoesNotCount) {
    detector_.on_replication(kReplica, replica_info(false), now_);
    tick(6s);  // older than replica_report_max_age (5 s)
    run_for(1500ms, kMaster, ProbeOutcome::kTimeout, 50ms);
    EXPECT_EQ(status(kMaster).evidence, Evidence::kUnresponsive);
}

TEST_F(DetectorTest, ReplicaLinkEventsAndLag) {
    detector_.on_replication(kMaster, master_info(5000), now_);
    detector_.on_replication(kReplica, replica_info(true, 4200), now_);
    EXPECT_EQ(status(kReplica).lag_bytes, 800);
    detector_.take_output();
    detector_.on_replication(kReplica, replica_info(false, 4200), now_);
    EXPECT_EQ(events_of(Event::Kind::kReplicaLinkDown).size(), 1u);
    detector_.on_replication(kReplica, replica_info(true, 5000), now_);
    EXPECT_EQ(events_of(Event::Kind::kReplicaLinkUp).size(), 1u);
    EXPECT_EQ(status(kReplica).lag_bytes, 0);
}

TEST_F(DetectorTest, RoleChangeIsAnEventAndContradictionsAreFlagged) {
    detector_.on_replication(kReplica, replica_info(true), now_);
    detector_.take_output();
    detector_.on_replication(kReplica, master_info(10), now_);  // promoted
    auto changed = events_of(Event::Kind::kRoleChanged);
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_EQ(changed[0].detail, "slave -> master");
    EXPECT_TRUE(status(kReplica).role_contradicts_cluster) << "cluster view still says replica";
    detector_.set_nodes(
        {{kMaster, "m1", true, ""}, {kReplica, "r1", true, ""}, {kOther, "m2", true, ""}}, now_);
    EXPECT_FALSE(status(kReplica).role_contradicts_cluster);
}

TEST_F(DetectorTest, ClusterFlagsAreRecordedAsCorroboration) {
    cluster::ClusterNode seen;
    seen.id = "m1";
    seen.address.ip = "10.0.0.1";
    seen.address.port = 6379;
    seen.flags.master = true;
    seen.flags.pfail = true;
    detector_.on_cluster_view(kReplica, {seen}, now_);
    seen.flags.pfail = false;
    seen.flags.fail = true;
    detector_.on_cluster_view(kOther, {seen}, now_);
    EXPECT_EQ(status(kMaster).flagged_pfail_by, std::set<std::string>{kReplica});
    EXPECT_EQ(status(kMaster).flagged_fail_by, std::set<std::string>{kOther});
    auto o = opinion_of(kMaster);
    EXPECT_TRUE(o.cluster_flags_pfail);
    EXPECT_TRUE(o.cluster_flags_fail);
    EXPECT_FALSE(o.sdown) << "flags corroborate; they are not our own evidence";
}

/// One CLUSTER NODES line for `address` ("ip:port") with the given flags.
cluster::ClusterNode line(const std::string& address, bool pfail, bool fail) {
    cluster::ClusterNode n;
    n.id = "id-" + address;
    n.address.ip = address.substr(0, address.find(':'));
    n.address.port = static_cast<std::uint16_t>(std::stoi(address.substr(address.find(':') + 1)));
    n.flags.master = true;
    n.flags.pfail = pfail;
    n.flags.fail = fail;
    return n;
}

TEST_F(DetectorTest, ClusterFlagsFollowEachViewersLatestViewOnly) {
    using Set = std::set<std::string>;
    detector_.on_cluster_view(kReplica, {line(kMaster, true, false)}, now_);
    detector_.on_cluster_view(kOther, {line(kMaster, false, true)}, now_);
    EXPECT_EQ(status(kMaster).flagged_pfail_by, Set{kReplica});
    EXPECT_EQ(status(kMaster).flagged_fail_by, Set{kOther});
    // The replica's next view no longer flags the master: its testimony is gone at once.
    detector_.on_cluster_view(kReplica, {line(kMaster, false, false)}, now_);
    EXPECT_EQ(status(kMaster).flagged_pfail_by, Set{});
    EXPECT_EQ(status(kMaster).flagged_fail_by, Set{kOther});
    // Another view of the other master moves its flag from the master to the replica.
    detector_.on_cluster_view(kOther, {line(kMaster, false, false), line(kReplica, true, false)},
                              now_);
    EXPECT_EQ(status(kMaster).flagged_fail_by, Set{});
    EXPECT_EQ(status(kReplica).flagged_pfail_by, Set{kOther});
    EXPECT_FALSE(opinion_of(kMaster).cluster_flags_fail);
    // A later line for the same address overrides an earlier one (a forgotten node and
    // its replacement): the last says not flagged.
    detector_.on_cluster_view(kMaster, {line(kReplica, false, true), line(kReplica, false, false)},
                              now_);
    EXPECT_EQ(status(kReplica).flagged_fail_by, Set{});
    detector_.on_cluster_view(kMaster, {line(kReplica, false, false), line(kReplica, true, true)},
                              now_);
    EXPECT_EQ(status(kReplica).flagged_fail_by, Set{kMaster});
    EXPECT_EQ(status(kReplica).flagged_pfail_by, (Set{kMaster, kOther}));
    // A viewer's own line ('myself') and lines without an address are not testimony.
    auto self = line(kOther, true, true);
    self.flags.myself = true;
    auto noaddr = line(kMaster, true, true);
    noaddr.address.port = 0;
    detector_.on_cluster_view(kOther, {self, noaddr}, now_);
    EXPECT_EQ(status(kOther).flagged_pfail_by, Set{});
    EXPECT_EQ(status(kReplica).flagged_pfail_by, Set{kMaster});
    // Views from an address that is not a known node are ignored.
    detector_.on_cluster_view("10.0.0.9:6379", {line(kMaster, true, true)}, now_);
    EXPECT_EQ(status(kMaster).flagged_fail_by, Set{});
    // A node removed from the set takes its testimony with it; a node added takes what
    // the stored views already say of its address.
    constexpr const char* kNew = "10.0.0.4:6379";
    detector_.on_cluster_view(kOther, {line(kNew, true, false), line(kReplica, false, true)}, now_);
    EXPECT_EQ(status(kReplica).flagged_fail_by, (Set{kMaster, kOther}));
    detector_.set_nodes(
        {{kMaster, "m1", true, ""}, {kReplica, "r1", false, kMaster}, {kNew, "m3", true, ""}},
        now_);
    EXPECT_EQ(status(kReplica).flagged_fail_by, Set{kMaster});
    EXPECT_EQ(status(kReplica).flagged_pfail_by, Set{kMaster});
    EXPECT_EQ(status(kNew).flagged_pfail_by, Set{}) << "the viewer that said so was removed";
    detector_.set_nodes({{kMaster, "m1", true, ""},
                         {kReplica, "r1", false, kMaster},
                         {kOther, "m2", true, ""},
                         {kNew, "m3", true, ""}},
                        now_);
    detector_.on_cluster_view(kOther, {line(kNew, true, false)}, now_);
    detector_.set_nodes(
        {{kMaster, "m1", true, ""}, {kReplica, "r1", false, kMaster}, {kOther, "m2", true, ""}},
        now_);
    EXPECT_EQ(detector_.node(kNew), nullptr);
    detector_.set_nodes({{kMaster, "m1", true, ""},
                         {kReplica, "r1", false, kMaster},
                         {kOther, "m2", true, ""},
                         {kNew, "m3", true, ""}},
                        now_);
    EXPECT_EQ(status(kNew).flagged_pfail_by, Set{kOther});
}

TEST_F(DetectorTest, StalledLoopEntersSafeModeAndIgnoresProbesFromBeforeTheStall) {
    run_for(1s, kMaster, ProbeOutcome::kPong);
    // The watcher is paused for 20 s with a PING in flight; when it runs again, that
    // probe's deadline fires first.
    const TimePoint sent = now_;
    now_ += 20s;
    detector_.on_probe(kMaster, Probe{ProbeOutcome::kTimeout, sent, now_, {}});
    EXPECT_TRUE(detector_.in_safe_mode(now_));
    EXPECT_EQ(detector_.stale_probes_ignored(), 1u);
    EXPECT_EQ(status(kMaster).state, NodeState::kUp) << "no false failure from our own pause";
    auto entered = events_of(Event::Kind::kSafeModeEntered);
    ASSERT_EQ(entered.size(), 1u);
    EXPECT_NE(entered[0].detail.find("stalled for 20"), std::string::npos);

    // Real failures during safe mode are tracked but not reported to the vote.
    run_for(2s, kMaster, ProbeOutcome::kRefused);
    EXPECT_EQ(status(kMaster).state, NodeState::kSdown);
    EXPECT_FALSE(opinion_of(kMaster).sdown);
    run_for(9s, kMaster, ProbeOutcome::kRefused);
    EXPECT_FALSE(detector_.in_safe_mode(now_));
    EXPECT_EQ(events_of(Event::Kind::kSafeModeLeft).size(), 1u);
    EXPECT_TRUE(opinion_of(kMaster).sdown);
}

TEST_F(DetectorTest, TimeGoingBackwardsEntersSafeMode) {
    tick(100ms);
    now_ -= 1s;
    detector_.tick(now_);
    EXPECT_TRUE(detector_.in_safe_mode(now_));
    EXPECT_NE(events_of(Event::Kind::kSafeModeEntered).at(0).detail.find("backwards"),
              std::string::npos);
}

TEST_F(DetectorTest, RemovedNodesAreForgotten) {
    detector_.set_nodes({{kMaster, "m1", true, ""}}, now_);
    EXPECT_EQ(detector_.nodes().size(), 1u);
    EXPECT_EQ(events_of(Event::Kind::kNodeRemoved).size(), 2u);
    probe(kReplica, ProbeOutcome::kRefused);  // ignored, no crash
    EXPECT_EQ(detector_.node(kReplica), nullptr);
}

}  // namespace
}  // namespace picket::detect
