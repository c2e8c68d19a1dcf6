// Unit tests of picket::consensus::Consensus, ScyllaDB fsm_test style: elections (§5.2),
// pre-vote and check-quorum (thesis §9.6), stickiness and the restart rule, the lease,
// failure agreement and failover records (Paxos phase 1 on leader change). Invariants
// are checked after every step by the harness.

#include <gtest/gtest.h>

#include "harness.h"

namespace picket::consensus::testing {
namespace {

using proto::Message;
using proto::RecordPhase;

TEST(Election, SingleVoterLeadsAfterItsTimeout) {
    Net net(1);
    net.advance(net.base.election_timeout_max + 10ms);
    EXPECT_TRUE(net.at("w1").is_leader());
    EXPECT_EQ(net.at("w1").term(), 1u);
    EXPECT_EQ(net.disk["w1"].voted_for, "w1");
}

TEST(Election, ALeaderIsElectedAndEveryoneFollows) {
    Net net(3);
    net.elect("w2");
    EXPECT_EQ(net.at("w2").term(), 1u);
    for (const auto& id : {"w1", "w3"}) {
        EXPECT_EQ(net.at(id).role(), Role::kFollower);
        EXPECT_EQ(net.at(id).leader(), "w2");
        EXPECT_EQ(net.disk[id].voted_for, "w2");  // durable before the reply left
        EXPECT_EQ(net.disk[id].term, 1u);
    }
    EXPECT_EQ(net.count_events(Event::Kind::kBecameLeader), 1u);
    // Stable: heartbeats keep it for a long time.
    net.advance(20s);
    EXPECT_TRUE(net.at("w2").is_leader());
    EXPECT_EQ(net.at("w2").term(), 1u);
}

TEST(Election, ElectsWithinBoundedTimeFromAnyStart) {
    for (std::uint64_t seed = 1; seed < 30; ++seed) {
        Net net(5);
        net.seed = seed * 100;
        for (const auto& id : net.ids) {
            net.start(id);
        }
        net.advance(net.base.election_timeout_max * 3);
        std::size_t leaders = 0;
        for (const auto& id : net.ids) {
            leaders += net.at(id).is_leader();
        }
        EXPECT_EQ(leaders, 1u) << "seed " << seed;
    }
}

TEST(Election, TheVoteIsPersistedInTheSameOutputAsTheReply) {
    Net net(3);
    net.now += net.base.election_timeout_max + 1ms;
    Consensus& w3 = net.at("w3");
    w3.step("w1", Message{4, proto::RequestVote{}}, net.now);
    Output out = w3.get_output();
    ASSERT_TRUE(out.persist);
    EXPECT_EQ(out.persist->term, 4u);
    EXPECT_EQ(out.persist->voted_for, "w1");
    ASSERT_EQ(out.messages.size(), 1u);
    const auto& reply = std::get<proto::VoteReply>(out.messages[0].message.body);
    EXPECT_TRUE(reply.granted);
}

TEST(Election, AtMostOneVotePerTermAcrossRestarts) {
    Net net(3);
    net.now += net.base.election_timeout_max + 1ms;
    net.at("w3").step("w1", Message{5, proto::RequestVote{}}, net.now);
    net.drain("w3");
    net.queue.clear();
    // Restart: the vote comes back from disk, and the restart withholds votes anyway.
    net.start("w3");
    net.now += net.base.election_timeout_max + 1ms;
    net.at("w3").step("w2", Message{5, proto::RequestVote{}}, net.now);
    Output out = net.at("w3").get_output();
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_FALSE(std::get<proto::VoteReply>(out.messages[0].message.body).granted);
    EXPECT_EQ(net.at("w3").voted_for(), "w1");
    // The same candidate may ask again (a lost reply) and gets the same answer.
    net.at("w3").step("w1", Message{5, proto::RequestVote{}}, net.now);
    out = net.at("w3").get_output();
    EXPECT_TRUE(std::get<proto::VoteReply>(out.messages[0].message.body).granted);
}

TEST(Election, ARestartedWatcherWithholdsVotesForTheMaxElectionTimeout) {
    Net net(3);
    Consensus& w3 = net.at("w3");
    w3.step("w1", Message{1, proto::RequestVote{}}, net.now + 10ms);
    Output out = w3.get_output();
    EXPECT_FALSE(std::get<proto::VoteReply>(out.messages.at(0).message.body).granted);
    EXPECT_EQ(w3.term(), 0u);  // not even the term was adopted
    w3.step("w1", Message{1, proto::PreVote{}}, net.now + 10ms);
    out = w3.get_output();
    EXPECT_FALSE(std::get<proto::VoteReply>(out.messages.at(0).message.body).granted);
    const TimePoint later = net.now + net.base.election_timeout_max;
    w3.step("w1", Message{1, proto::RequestVote{}}, later);
    out = w3.get_output();
    EXPECT_TRUE(std::get<proto::VoteReply>(out.messages.at(0).message.body).granted);
}

TEST(Election, AWatcherStartingFromAnOperatorsResetWithholdsVotes) {
    // picketd --reset-state writes reset_state(): term 0, no vote. The start withholds
    // (pre)votes for election_timeout_max like any start; no flag in the file is needed.
    Net net(3);
    Config c = net.base;
    c.self = "w3";
    Consensus w3(c, reset_state(41, 0), 7, net.now);
    EXPECT_EQ(w3.incarnation(), 43u);  // the start bumps it again, persisted first
    w3.step("w1", Message{6, proto::RequestVote{}}, net.now + net.base.election_timeout_max - 1ms);
    Output out = w3.get_output();
    ASSERT_TRUE(out.persist);
    EXPECT_EQ(out.persist->incarnation, 43u);
    EXPECT_FALSE(std::get<proto::VoteReply>(out.messages.at(0).message.body).granted);
    w3.step("w1", Message{6, proto::RequestVote{}}, net.now + net.base.election_timeout_max);
    out = w3.get_output();
    EXPECT_TRUE(std::get<proto::VoteReply>(out.messages.at(0).message.body).granted);
}

TEST(Election, AFollowerIgnoresLateVoteRepliesWithAHigherTerm) {
    // w2 campaigned (pre-vote) in term 3, then voted for w3 in term 4 and acknowledged its
    // heartbeat. A late refusal of its pre-vote from w1, now a candidate of term 5, must
    // not make it adopt term 5 (dropping the stickiness w3's lease counts on), and w1's
    // vote request must be refused.
    Net net(3);
    Config c = net.base;
    c.self = "w2";
    consensus::PersistentState loaded;
    loaded.term = 3;
    Consensus w2(c, loaded, 7, net.now);
    const TimePoint t = net.now + net.base.election_timeout_max;
    w2.step("w3", Message{4, proto::Heartbeat{1, {}, {}, {}}}, t);
    (void)w2.get_output();
    ASSERT_EQ(w2.term(), 4u);
    ASSERT_EQ(w2.leader(), "w3");
    w2.step("w1", Message{5, proto::VoteReply{false, true, {}, {}}}, t + 10ms);
    w2.step("w1", Message{5, proto::VoteReply{false, false, {}, {}}}, t + 10ms);
    EXPECT_EQ(w2.term(), 4u);
    EXPECT_EQ(w2.leader(), "w3");
    (void)w2.get_output();
    w2.step("w1", Message{5, proto::RequestVote{}}, t + 20ms);
    Output out = w2.get_output();
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_FALSE(std::get<proto::VoteReply>(out.messages[0].message.body).granted);
    EXPECT_EQ(w2.term(), 4u);
}

TEST(Election, FollowersIgnoreCandidatesWhileTheyHearALeader) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    // w3 cannot hear w1 (one-way cut) and campaigns; w2 still hears w1 and refuses.
    net.cut.insert({"w1", "w3"});
    net.advance(5s);
    EXPECT_TRUE(net.at("w1").is_leader());
    EXPECT_EQ(net.at("w1").term(), 1u);
    EXPECT_EQ(net.at("w2").term(), 1u);
    EXPECT_EQ(net.at("w3").term(), 1u) << "pre-vote kept w3 from inflating its term";
    EXPECT_GT(net.count_events(Event::Kind::kElectionStarted, "w3"), 0u);
}

TEST(Election, PreVoteKeepsAPartitionedWatcherFromDeposingTheLeader) {
    Net net(5);
    net.elect("w1");
    net.isolate("w5");
    net.advance(10s);
    EXPECT_EQ(net.at("w5").term(), 1u);
    net.heal();
    net.advance(2s);
    EXPECT_TRUE(net.at("w1").is_leader());
    EXPECT_EQ(net.at("w1").term(), 1u);
}

TEST(Election, CheckQuorumStepsDownAnIsolatedLeader) {
    Net net(3);
    net.elect("w1");
    net.isolate("w1");
    net.advance(net.base.election_timeout_min + 50ms);
    EXPECT_FALSE(net.at("w1").is_leader());
    EXPECT_EQ(net.count_events(Event::Kind::kQuorumLost, "w1"), 1u);
    EXPECT_EQ(net.count_events(Event::Kind::kSteppedDown, "w1"), 1u);
    // The others elect a new leader once the stickiness window passes.
    net.advance(5s);
    EXPECT_TRUE(net.at("w2").is_leader() || net.at("w3").is_leader());
    net.heal();
    net.advance(1s);
    EXPECT_EQ(net.at("w1").role(), Role::kFollower);
    EXPECT_EQ(net.count_events(Event::Kind::kQuorumRegained, "w1"), 1u);
}

TEST(Election, AHigherTermDeposesALeader) {
    Net net(3);
    net.elect("w1");
    net.at("w1").step("w2", Message{9, proto::HeartbeatReply{1, false, {}}}, net.now);
    EXPECT_EQ(net.at("w1").role(), Role::kFollower);
    EXPECT_EQ(net.at("w1").term(), 9u);
    net.drain("w1");
}

TEST(Lease, StartsWhenTheAcknowledgedRoundWasSent) {
    Net net(3);
    net.elect("w1");
    Consensus& w1 = net.at("w1");
    // Round sent now; replies arrive 300 ms later: the lease still counts from the send.
    net.advance(net.base.heartbeat_interval);
    const TimePoint sent = net.now + net.base.heartbeat_interval;
    net.now = sent;
    w1.tick(net.now);
    Output out = w1.get_output();
    ASSERT_FALSE(out.messages.empty());
    net.now += 300ms;
    for (auto& m : out.messages) {
        net.at(m.to).step("w1", m.message, net.now);
        Output reply = net.at(m.to).get_output();
        for (auto& r : reply.messages) {
            w1.step(m.to, r.message, net.now);
        }
    }
    EXPECT_TRUE(w1.lease_valid(net.now));
    EXPECT_EQ(w1.lease_until(), sent + net.base.lease_duration());
    // Default timers: 1000 ms × (1 − 5 %) − 50 ms.
    EXPECT_EQ(net.base.lease_duration(), 900ms);
    EXPECT_FALSE(w1.lease_valid(sent + net.base.lease_duration()));
}

TEST(Lease, NoLeaseWithoutAMajority) {
    Net net(3);
    net.elect("w1");
    net.isolate("w1");
    net.advance(net.base.lease_duration() + 10ms, 10ms);
    EXPECT_FALSE(net.at("w1").lease_valid(net.now));
}

TEST(Lease, SafeModeDropsItUntilAFreshRound) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    Consensus& w1 = net.at("w1");
    ASSERT_TRUE(w1.lease_valid(net.now));
    w1.set_safe_mode(true, net.now);
    EXPECT_FALSE(w1.lease_valid(net.now));
    net.advance(300ms);
    EXPECT_FALSE(w1.lease_valid(net.now));
    w1.set_safe_mode(false, net.now);
    EXPECT_FALSE(w1.lease_valid(net.now)) << "rounds sent during safe mode give no lease";
    net.advance(200ms);
    EXPECT_TRUE(w1.lease_valid(net.now));
}

TEST(Odown, NeedsAQuorumOfFreshOpinionsAndIsDecidedAtOnce) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    EXPECT_TRUE(net.at("w1").odown().empty()) << "one of three is not a quorum";
    // The second SDOWN travels at once: ODOWN without any time passing.
    net.opine("w3", sdown("m1", true, proto::Evidence::kUnresponsive));
    net.deliver_until_quiet();
    ASSERT_EQ(net.at("w1").odown().count("m1"), 1u);
    const OdownState& st = net.at("w1").odown().at("m1");
    EXPECT_EQ(st.sdown_watchers, (std::vector<WatcherId>{"w2", "w3"}));
    EXPECT_EQ(st.evidence, proto::Evidence::kDead);
    EXPECT_EQ(net.count_events(Event::Kind::kOdownDeclared, "w1"), 1u);
    // A recovery clears it at once too.
    net.opine("w3", sdown("m1", false));
    net.deliver_until_quiet();
    EXPECT_TRUE(net.at("w1").odown().empty());
    EXPECT_EQ(net.count_events(Event::Kind::kOdownCleared, "w1"), 1u);
}

TEST(Odown, OpinionsAgeOutWhenTheirSenderGoesQuiet) {
    Net net(5);
    net.elect("w1");
    for (const auto& id : {"w2", "w3", "w4"}) {
        net.opine(id, sdown("m1"));
    }
    net.advance(100ms);
    ASSERT_EQ(net.at("w1").odown().count("m1"), 1u);
    net.cut.insert({"w3", "w1"});
    net.cut.insert({"w4", "w1"});
    net.advance(net.base.effective_opinion_validity() + 100ms);
    EXPECT_TRUE(net.at("w1").odown().empty());
}

TEST(Odown, TheLeadersOwnOpinionCountsAndHeartbeatRepliesRefreshOthers) {
    Net net(3);
    net.elect("w2");
    net.opine("w2", sdown("m1"));
    EXPECT_TRUE(net.at("w2").odown().empty());
    net.opine("w1", sdown("m1"));
    net.deliver_until_quiet();
    EXPECT_EQ(net.at("w2").odown().count("m1"), 1u);
    net.advance(5s);
    EXPECT_EQ(net.at("w2").odown().count("m1"), 1u) << "heartbeat replies keep it fresh";
    // Durations are aged on the leader's clock from the sender's last report.
    EXPECT_GE(net.at("w2").odown().at("m1").min_down_for, 1200ms);
}

TEST(Odown, AnOpinionNotRefreshedIsNotReported) {
    Net net(3);
    net.elect("w1");
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"), /*refresh=*/false);  // a detector that stalled
    net.deliver_until_quiet();
    EXPECT_EQ(net.at("w1").odown().count("m1"), 1u);
    // Its last reply vouching for it left within the validity; that reply ages out too.
    net.advance(2 * net.base.effective_opinion_validity() + 100ms);
    EXPECT_TRUE(net.at("w1").odown().empty()) << "w2 stopped vouching for its old opinion";
}

TEST(Records, ProposeNeedsLeadershipAndOdown) {
    Net net(3);
    net.elect("w1");
    EXPECT_EQ(net.at("w2").propose(record_for("m1"), net.now).error(), ProposeError::kNotLeader);
    EXPECT_EQ(net.at("w1").propose(record_for("m1"), net.now).error(), ProposeError::kNotOdown);
}

TEST(Records, ACommittedRecordIsExecutedOnceInsideTheLease) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    auto r = net.at("w1").propose(record_for("m1"), net.now);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->term, 1u);
    EXPECT_EQ(r->odown_watchers, (std::vector<WatcherId>{"w1", "w2"}));
    net.drain("w1");
    EXPECT_TRUE(net.actions.empty()) << "not before a majority holds it";
    EXPECT_EQ(net.disk["w1"].records.size(), 1u);
    net.deliver_until_quiet();
    ASSERT_EQ(net.actions.size(), 1u);
    EXPECT_EQ(net.actions[0].first, "w1");
    EXPECT_EQ(net.actions[0].second.record.replica, "r1");
    EXPECT_TRUE(net.actions[0].second.record.committed);
    EXPECT_EQ(net.actions[0].second.lease_until, net.at("w1").lease_until());
    for (const auto& id : {"w2", "w3"}) {
        ASSERT_EQ(net.disk[id].records.size(), 1u) << id;
    }
    EXPECT_EQ(net.at("w1").propose(record_for("m1", "r2"), net.now).error(),
              ProposeError::kKeyExists);
    net.advance(2s);
    EXPECT_EQ(net.actions.size(), 1u) << "executed once per term";
    EXPECT_TRUE(net.at("w1").report_progress(record_for("m1").key, RecordPhase::kDone, net.now));
    EXPECT_FALSE(
        net.at("w1").report_progress(record_for("m1").key, RecordPhase::kCommandSent, net.now));
    net.advance(200ms);
    EXPECT_EQ(net.disk["w3"].records.at(0).phase, RecordPhase::kDone);
}

TEST(Records, OneAcknowledgementIsNotAMajorityOfFive) {
    Net net(5);
    net.elect("w1");
    net.advance(200ms);
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.opine("w3", sdown("m1"));
    net.deliver_until_quiet();
    for (const auto& id : {"w3", "w4", "w5"}) {
        net.cut.insert({"w1", id});
    }
    ASSERT_TRUE(net.at("w1").propose(record_for("m1"), net.now));
    net.deliver_until_quiet();
    EXPECT_FALSE(net.at("w1").records().begin()->second.committed);
    EXPECT_TRUE(net.actions.empty());
    net.cut.erase({"w1", "w3"});
    net.advance(150ms);
    EXPECT_TRUE(net.at("w1").records().begin()->second.committed);
    EXPECT_EQ(net.actions.size(), 1u);
}

TEST(Records, NoActionWithoutALease) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    net.at("w1").set_safe_mode(true, net.now);
    ASSERT_TRUE(net.at("w1").propose(record_for("m1"), net.now));
    net.deliver_until_quiet();
    EXPECT_TRUE(net.actions.empty());
    net.at("w1").set_safe_mode(false, net.now);
    net.advance(200ms);
    EXPECT_EQ(net.actions.size(), 1u);
}

TEST(Records, ANewLeaderFinishesTheFailoverItsVotersAccepted) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    net.opine("w1", sdown("m1"));
    net.opine("w3", sdown("m1"));
    net.deliver_until_quiet();
    // Only w2 receives the record before w1 dies.
    net.cut.insert({"w1", "w3"});
    ASSERT_TRUE(net.at("w1").propose(record_for("m1", "r7"), net.now));
    net.deliver_until_quiet();
    ASSERT_EQ(net.actions.size(), 1u);
    EXPECT_TRUE(net.disk["w3"].records.empty());
    net.nodes.erase("w1");
    net.ids = {"w2", "w3"};
    net.actions.clear();
    net.elect("w3");  // w3 never saw the record; w2's vote brings it
    ASSERT_EQ(net.at("w3").records().size(), 1u);
    const FailoverRecord& adopted = net.at("w3").records().begin()->second;
    EXPECT_EQ(adopted.replica, "r7");
    EXPECT_EQ(adopted.term, net.at("w3").term());
    EXPECT_EQ(net.count_events(Event::Kind::kRecordAdopted, "w3"), 1u);
    net.advance(200ms);
    ASSERT_EQ(net.actions.size(), 1u);
    EXPECT_EQ(net.actions[0].first, "w3");
    EXPECT_EQ(net.actions[0].second.record.replica, "r7");
}

TEST(Records, TheHighestTermRecordAmongTheVotesWins) {
    Net net(5);
    net.now += net.base.election_timeout_max + 1ms;
    Consensus& w1 = net.at("w1");
    w1.tick(net.now);  // pre-vote
    net.drain("w1");
    net.queue.clear();
    for (const auto& id : {"w2", "w3"}) {
        w1.step(id, Message{1, proto::VoteReply{true, true, {}, {}}}, net.now);
    }
    ASSERT_EQ(w1.role(), Role::kCandidate);
    FailoverRecord old_choice = record_for("m1", "r-old");
    old_choice.term = 0;
    FailoverRecord newer = record_for("m1", "r-new");
    newer.term = 0;
    // Terms below ours: w2 holds the record of an older term, w3 of a newer one.
    old_choice.term = 0;
    w1.step("w2", Message{1, proto::VoteReply{true, false, {old_choice}, {}}}, net.now);
    newer.term = 1;
    w1.step("w3", Message{1, proto::VoteReply{true, false, {newer}, {}}}, net.now);
    ASSERT_TRUE(w1.is_leader());
    EXPECT_EQ(w1.records().begin()->second.replica, "r-new");
    net.drain("w1");
}

TEST(Records, FollowersMirrorTheLeaderAndPersistBeforeAcknowledging) {
    Net net(3);
    net.elect("w1");
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    ASSERT_TRUE(net.at("w1").propose(record_for("m1"), net.now));
    Output out = net.at("w1").get_output();
    ASSERT_TRUE(out.persist);
    net.at("w2").step("w1", out.messages.at(0).message, net.now);
    Output reply = net.at("w2").get_output();
    ASSERT_TRUE(reply.persist) << "the record must be durable before the ack leaves";
    EXPECT_EQ(reply.persist->records.size(), 1u);
    EXPECT_EQ(reply.messages.size(), 1u);
}

/// A 3-watcher net whose leader w1 committed a record for m1 -> r1 and executed it.
void committed_and_acted(Net& net) {
    net.elect("w1");
    net.advance(200ms);
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    ASSERT_TRUE(net.at("w1").propose(record_for("m1", "r1"), net.now));
    net.deliver_until_quiet();
    ASSERT_EQ(net.actions.size(), 1u);
}

TEST(Attempts, ANewAttemptNeedsTheAbortHeldByAMajority) {
    Net net(3);
    committed_and_acted(net);
    Consensus& w1 = net.at("w1");
    const auto key = record_for("m1").key;
    EXPECT_EQ(w1.propose_attempt(record_for("m1", "r2"), net.now).error(),
              ProposeError::kNotAborted);
    EXPECT_EQ(w1.propose_attempt(record_for("m9", "r2"), net.now).error(), ProposeError::kNoRecord);
    EXPECT_EQ(net.at("w2").propose_attempt(record_for("m1", "r2"), net.now).error(),
              ProposeError::kNotLeader);
    ASSERT_TRUE(w1.report_progress(key, RecordPhase::kAborted, net.now));
    // The abort left in a heartbeat round at once, but nobody has acknowledged it yet.
    EXPECT_FALSE(w1.abort_committed(key));
    EXPECT_EQ(w1.propose_attempt(record_for("m1", "r2"), net.now).error(),
              ProposeError::kAbortNotCommitted);
    net.drain("w1");
    net.deliver_until_quiet();
    EXPECT_TRUE(w1.abort_committed(key));
    for (const auto& id : {"w2", "w3"}) {
        EXPECT_EQ(net.disk[id].records.at(0).phase, RecordPhase::kAborted) << id;
    }
    net.actions.clear();
    auto r = w1.propose_attempt(record_for("m1", "r2"), net.now);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(r->attempt, 1u);
    EXPECT_EQ(r->replica, "r2");
    EXPECT_EQ(r->phase, RecordPhase::kDecided);
    EXPECT_FALSE(w1.abort_committed(key));
    net.drain("w1");
    EXPECT_TRUE(net.actions.empty()) << "not before a majority holds the new attempt";
    net.deliver_until_quiet();
    ASSERT_EQ(net.actions.size(), 1u);
    EXPECT_EQ(net.actions[0].second.record.replica, "r2");
    EXPECT_EQ(net.actions[0].second.record.attempt, 1u);
    EXPECT_EQ(net.disk["w3"].records.at(0).attempt, 1u);
    // The new attempt is a record like any other: a second one needs its own abort.
    EXPECT_EQ(w1.propose_attempt(record_for("m1", "r3"), net.now).error(),
              ProposeError::kNotAborted);
}

TEST(Attempts, NoNewAttemptOnceTheMasterIsNoLongerOdown) {
    Net net(3);
    committed_and_acted(net);
    Consensus& w1 = net.at("w1");
    ASSERT_TRUE(w1.report_progress(record_for("m1").key, RecordPhase::kAborted, net.now));
    net.drain("w1");
    net.deliver_until_quiet();
    net.opine("w1", sdown("m1", false));
    net.opine("w2", sdown("m1", false));
    net.deliver_until_quiet();
    EXPECT_EQ(w1.propose_attempt(record_for("m1", "r2"), net.now).error(), ProposeError::kNotOdown);
}

TEST(Attempts, ANewLeaderAdoptsTheLatestAttemptOverAnEarlierAttemptsAbort) {
    Net net(3);
    committed_and_acted(net);
    Consensus& w1 = net.at("w1");
    ASSERT_TRUE(w1.report_progress(record_for("m1").key, RecordPhase::kAborted, net.now));
    net.drain("w1");
    net.deliver_until_quiet();
    // Attempt 1 reaches w2 only; w3 holds attempt 0, aborted, of the same term. The
    // merge by (term, phase) alone would give a new leader the abort back.
    net.cut.insert({"w1", "w3"});
    ASSERT_TRUE(w1.propose_attempt(record_for("m1", "r2"), net.now));
    net.drain("w1");
    net.deliver_until_quiet();
    EXPECT_EQ(net.disk["w3"].records.at(0).attempt, 0u);
    EXPECT_EQ(net.disk["w3"].records.at(0).phase, RecordPhase::kAborted);
    EXPECT_EQ(net.disk["w2"].records.at(0).attempt, 1u);
    net.nodes.erase("w1");
    net.ids = {"w2", "w3"};
    net.actions.clear();
    net.elect("w3");
    const FailoverRecord& adopted = net.at("w3").records().begin()->second;
    EXPECT_EQ(adopted.attempt, 1u);
    EXPECT_EQ(adopted.replica, "r2");
    EXPECT_EQ(adopted.phase, RecordPhase::kDecided);
    net.advance(200ms);
    ASSERT_EQ(net.actions.size(), 1u);
    EXPECT_EQ(net.actions[0].second.record.replica, "r2");
}

proto::MaintenanceEntry window(std::string target, std::string kind,
                               std::optional<Duration> for_ = std::nullopt) {
    proto::MaintenanceEntry e;
    e.target = std::move(target);
    e.kind = std::move(kind);
    e.timed = for_.has_value();
    e.remaining = for_.value_or(Duration::zero());
    e.by = "ops";
    return e;
}

TEST(Maintenance, OnlyTheLeaderChangesItAndFollowersPersistItBeforeAcknowledging) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    EXPECT_EQ(net.at("w2").set_maintenance(window("cluster", "cluster"), true, net.now).error(),
              ProposeError::kNotLeader);
    EXPECT_EQ(net.at("w1").set_maintenance(window("", "node"), true, net.now).error(),
              ProposeError::kInvalid);
    ASSERT_TRUE(net.at("w1").set_maintenance(window("n1", "node", 10s), true, net.now));
    EXPECT_FALSE(net.at("w1").maintenance_committed());
    Output out = net.at("w1").get_output();
    ASSERT_TRUE(out.persist);
    ASSERT_EQ(out.persist->maintenance.entries.size(), 1u);
    ASSERT_FALSE(out.messages.empty());
    net.at("w2").step("w1", out.messages.at(0).message, net.now);
    Output reply = net.at("w2").get_output();
    ASSERT_TRUE(reply.persist) << "the set must be durable before the ack leaves";
    ASSERT_EQ(reply.persist->maintenance.entries.size(), 1u);
    EXPECT_EQ(reply.persist->maintenance.entries[0].target, "n1");
    EXPECT_TRUE(reply.persist->maintenance.entries[0].timed);
    net.deliver_until_quiet();
    net.advance(200ms);
    EXPECT_TRUE(net.at("w1").maintenance_committed());
    for (const auto& id : {"w1", "w2", "w3"}) {
        auto m = net.at(id).maintenance(net.now);
        ASSERT_EQ(m.size(), 1u) << id;
        EXPECT_EQ(m[0].kind, "node");
        EXPECT_LE(m[0].remaining, 10s);
        EXPECT_GT(m[0].remaining, 9s);
        EXPECT_EQ(net.at(id).status(net.now).maintenance.size(), 1u);
    }
    ASSERT_TRUE(net.at("w1").set_maintenance(window("n1", "node"), false, net.now));
    ASSERT_TRUE(net.at("w1").set_maintenance(window("n1", "node"), false, net.now))
        << "off for a target not in maintenance changes nothing";
    net.advance(200ms);
    for (const auto& id : {"w1", "w2", "w3"}) {
        EXPECT_TRUE(net.at(id).maintenance(net.now).empty()) << id;
        EXPECT_TRUE(net.disk[id].maintenance.entries.empty()) << id;
    }
}

TEST(Maintenance, ADelayedHeartbeatWithAnOlderSetIsIgnored) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    net.at("w1").tick(net.now + 150ms);  // a heartbeat round with the empty set
    net.now += 150ms;
    std::optional<Message> stale;
    for (const auto& m : net.at("w1").get_output().messages) {
        if (m.to == "w2" && std::holds_alternative<proto::Heartbeat>(m.message.body)) {
            stale = m.message;
        }
    }
    ASSERT_TRUE(stale.has_value());
    ASSERT_TRUE(net.at("w1").set_maintenance(window("n1", "node"), true, net.now));
    net.deliver_until_quiet();
    ASSERT_EQ(net.at("w2").maintenance(net.now).size(), 1u);
    net.at("w2").step("w1", *stale, net.now);  // arrives late
    net.drain("w2");
    EXPECT_EQ(net.at("w2").maintenance(net.now).size(), 1u) << "an older version never wins";
    EXPECT_EQ(net.disk["w2"].maintenance.entries.size(), 1u);
}

TEST(Maintenance, ANewLeaderStartsFromTheCommittedSet) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    ASSERT_TRUE(net.at("w1").set_maintenance(window("0-5460", "shard"), true, net.now));
    net.advance(200ms);
    ASSERT_TRUE(net.at("w1").maintenance_committed());
    // Then a change reaches only w2 before w1 dies: w3 must get it through w2's vote.
    net.cut.insert({"w1", "w3"});
    ASSERT_TRUE(net.at("w1").set_maintenance(window("n7", "node", 1h), true, net.now));
    net.drain("w1");
    net.deliver_until_quiet();
    EXPECT_EQ(net.disk["w3"].maintenance.entries.size(), 1u);
    EXPECT_EQ(net.disk["w2"].maintenance.entries.size(), 2u);
    net.nodes.erase("w1");
    net.ids = {"w2", "w3"};
    net.elect("w3");
    auto m = net.at("w3").maintenance(net.now);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].target, "0-5460");
    EXPECT_EQ(m[1].target, "n7");
    EXPECT_TRUE(m[1].timed);
    net.advance(200ms);
    EXPECT_TRUE(net.at("w3").maintenance_committed());
}

TEST(Maintenance, TimedWindowsEndOnEveryWatcherAndSurviveARestart) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    ASSERT_TRUE(net.at("w1").set_maintenance(window("n1", "node", 2s), true, net.now));
    ASSERT_TRUE(net.at("w1").set_maintenance(window("cluster", "cluster"), true, net.now));
    net.advance(500ms);
    // A follower restarted from its disk still has both windows (the timed one counted
    // from its restart: never shorter), and the leader's next heartbeat corrects it.
    net.start("w3");
    EXPECT_EQ(net.at("w3").maintenance(net.now).size(), 2u);
    net.advance(1600ms);
    EXPECT_EQ(net.count_events(Event::Kind::kMaintenanceExpired, "w1"), 1u);
    for (const auto& id : {"w1", "w2", "w3"}) {
        auto m = net.at(id).maintenance(net.now);
        ASSERT_EQ(m.size(), 1u) << id;
        EXPECT_EQ(m[0].target, "cluster");
        EXPECT_FALSE(m[0].timed);
    }
}

TEST(Restart, BumpsTheIncarnationAndPersistsItFirst) {
    Net net(3);
    EXPECT_EQ(net.disk["w1"].incarnation, 1u);
    net.start("w1");
    EXPECT_EQ(net.disk["w1"].incarnation, 2u);
    Consensus c(net.config_of("w1"), net.disk["w1"], 7, net.now);
    EXPECT_TRUE(c.has_output());
    Output out = c.get_output();
    ASSERT_TRUE(out.persist);
    EXPECT_EQ(out.persist->incarnation, 3u);
    EXPECT_TRUE(out.messages.empty());
}

TEST(Restart, ARestartedLeaderComesBackAsAFollower) {
    Net net(3);
    net.elect("w1");
    net.start("w1");
    EXPECT_EQ(net.at("w1").role(), Role::kFollower);
    EXPECT_EQ(net.at("w1").term(), 1u);
    net.advance(5s);
    std::size_t leaders = 0;
    for (const auto& id : net.ids) {
        leaders += net.at(id).is_leader();
    }
    EXPECT_EQ(leaders, 1u);
}

TEST(Messages, DuplicatedAndReorderedDeliveryChangesNothing) {
    Net net(3);
    net.elect("w1");
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    ASSERT_TRUE(net.at("w1").propose(record_for("m1"), net.now));
    net.drain("w1");
    // Deliver every message twice, newest first.
    std::deque<InFlight> doubled;
    for (auto it = net.queue.rbegin(); it != net.queue.rend(); ++it) {
        doubled.push_back(*it);
        doubled.push_back(*it);
    }
    net.queue = doubled;
    net.deliver_until_quiet();
    EXPECT_EQ(net.actions.size(), 1u);
    EXPECT_TRUE(net.at("w1").is_leader());
    EXPECT_EQ(net.at("w1").term(), 1u);
    // Stale heartbeat replies of earlier rounds do not move anything backwards.
    net.at("w1").step("w2", Message{1, proto::HeartbeatReply{1, true, {}}}, net.now);
    net.drain("w1");
    EXPECT_TRUE(net.at("w1").records().begin()->second.committed);
    // A reply for a round never sent is not an acknowledgement.
    net.at("w1").step("w3", Message{1, proto::HeartbeatReply{999, true, {}}}, net.now);
    net.drain("w1");
}

TEST(Messages, ADelayedHeartbeatFromBeforeAProposalDoesNotMakeAFollowerForgetIt) {
    // Sim seed 41373: a follower mirrored a delayed heartbeat of the same term sent before
    // the proposal, dropped the committed record, and the next leader's voters lacked it.
    Net net(3);
    net.elect("w1");
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    net.at("w1").tick(net.now + 150ms);  // a heartbeat round without any record
    net.now += 150ms;
    Output before = net.at("w1").get_output();
    std::optional<Message> stale;
    for (const auto& m : before.messages) {
        if (m.to == "w2" && std::holds_alternative<proto::Heartbeat>(m.message.body)) {
            stale = m.message;
        }
    }
    ASSERT_TRUE(stale.has_value()) << "the leader sends heartbeats on its tick";
    ASSERT_TRUE(std::get<proto::Heartbeat>(stale->body).records.empty());
    ASSERT_TRUE(net.at("w1").propose(record_for("m1", "r1"), net.now));
    net.deliver_until_quiet();
    ASSERT_EQ(net.at("w2").records().size(), 1u);
    ASSERT_EQ(net.actions.size(), 1u) << "committed";

    net.at("w2").step("w1", *stale, net.now);  // arrives late
    net.drain("w2");
    ASSERT_EQ(net.at("w2").records().size(), 1u) << "an acceptor never forgets an accepted value";
    EXPECT_EQ(net.at("w2").records().begin()->second.replica, "r1");
}

TEST(Messages, AStaleLeaderIsToldTheNewTermAndStepsDown) {
    Net net(3);
    net.elect("w1");
    net.isolate("w1");
    net.advance(net.base.election_timeout_max * 2);
    ASSERT_FALSE(net.at("w1").is_leader());  // check-quorum
    ASSERT_TRUE(net.at("w2").is_leader() || net.at("w3").is_leader());
    // An old heartbeat of term 1 reaches a follower of term 2: refused with the new term.
    const WatcherId follower = net.at("w2").is_leader() ? "w3" : "w2";
    net.at(follower).step("w1", Message{1, proto::Heartbeat{7, {}, {}, {}}}, net.now);
    Output out = net.at(follower).get_output();
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(out.messages[0].message.term, 2u);
    EXPECT_FALSE(std::get<proto::HeartbeatReply>(out.messages[0].message.body).ok);
    net.heal();
    net.advance(1s);
    EXPECT_EQ(net.at("w1").term(), 2u);
    EXPECT_EQ(net.at("w1").role(), Role::kFollower);
}

TEST(Messages, OpinionsOnlyCountAtTheLeaderOfTheirTerm) {
    Net net(3);
    net.elect("w1");
    // A follower receiving an opinion ignores it; a leader ignores opinions of old terms.
    net.at("w2").step("w3", Message{1, proto::OpinionUpdate{{sdown("m1")}}}, net.now);
    EXPECT_TRUE(net.at("w2").odown().empty());
    net.at("w1").step("w3", Message{0, proto::OpinionUpdate{{sdown("m1")}}}, net.now);
    net.opine("w1", sdown("m1"));
    EXPECT_TRUE(net.at("w1").odown().empty());
    net.at("w1").step("w3", Message{1, proto::OpinionUpdate{{sdown("m1")}}}, net.now);
    net.drain("w1");
    EXPECT_EQ(net.at("w1").odown().count("m1"), 1u);
}

TEST(Messages, OnlyTheLeaderReportsProgress) {
    Net net(3);
    net.elect("w1");
    EXPECT_FALSE(net.at("w2").report_progress(record_for("m1").key, RecordPhase::kDone, net.now));
    EXPECT_FALSE(net.at("w1").report_progress(record_for("m1").key, RecordPhase::kDone, net.now));
}

TEST(Status, ReportsWhatMetricsAndStatusPagesNeed) {
    Net net(3);
    net.elect("w1");
    net.advance(200ms);
    net.opine("w1", sdown("m1"));
    net.opine("w2", sdown("m1"));
    net.deliver_until_quiet();
    Status st = net.at("w1").status(net.now);
    EXPECT_EQ(st.role, Role::kLeader);
    EXPECT_EQ(st.term, 1u);
    EXPECT_EQ(st.leader, "w1");
    EXPECT_TRUE(st.lease_valid);
    EXPECT_GT(st.lease_remaining, Duration::zero());
    EXPECT_EQ(st.peers_up, (std::vector<WatcherId>{"w2", "w3"}));
    EXPECT_TRUE(st.quorum_available);
    EXPECT_EQ(st.odown, (std::vector<std::string>{"m1"}));
    Status f = net.at("w2").status(net.now);
    EXPECT_EQ(f.role, Role::kFollower);
    EXPECT_EQ(f.leader, "w1");
    EXPECT_FALSE(f.lease_valid);
    EXPECT_TRUE(f.peers_up.empty());
    net.isolate("w1");
    net.advance(net.base.election_timeout_min / 2);
    st = net.at("w1").status(net.now);
    EXPECT_EQ(st.peers_up.size(), 2u) << "replies are recent enough for half a timeout";
    net.advance(net.base.election_timeout_min / 2 + 50ms);
    st = net.at("w1").status(net.now);
    EXPECT_EQ(st.role, Role::kFollower);
    EXPECT_FALSE(st.quorum_available);
    EXPECT_TRUE(st.peers_up.empty());
}

TEST(Messages, FromStrangersAreIgnored) {
    Net net(3);
    net.at("w1").step("w9", Message{5, proto::RequestVote{}}, net.now);
    net.at("w1").step("w1", Message{5, proto::RequestVote{}}, net.now);
    EXPECT_FALSE(net.at("w1").get_output().messages.size());
    EXPECT_EQ(net.at("w1").term(), 0u);
}

}  // namespace
}  // namespace picket::consensus::testing
