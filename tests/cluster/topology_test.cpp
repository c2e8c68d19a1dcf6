#include "picket/cluster/topology.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "test_data.h"

namespace picket::cluster {
namespace {

using testing::read_data;

/// A valid node id made of one repeated hex digit.
std::string id(char c) {
    return std::string(40, c);
}

/// One line of a synthetic CLUSTER NODES reply.
struct Line {
    char node;
    std::string address;  // "10.0.0.1:7000@17000"
    std::string flags;    // "master", "slave", "master,fail", ...
    char master = 0;      // 0 for "-"
    std::uint64_t epoch = 0;
    std::string slots;  // "0-5460"
};

/// Renders `lines` as node `self` would print them and parses them into a view.
ClusterView view_of(char self, const std::vector<Line>& lines) {
    std::string text;
    for (const auto& l : lines) {
        const bool failing = l.flags.find("fail") != std::string::npos;
        text += id(l.node) + " " + l.address + " " + (l.node == self ? "myself," : "") + l.flags +
                " " + (l.master != 0 ? id(l.master) : "-") + " 0 0 " + std::to_string(l.epoch) +
                (failing ? " disconnected" : " connected") + (l.slots.empty() ? "" : " ") +
                l.slots + "\n";
    }
    auto nodes = parse_cluster_nodes(text);
    EXPECT_TRUE(nodes.has_value()) << nodes.error().to_string() << "\n" << text;
    auto view = make_view(nodes ? *nodes : std::vector<ClusterNode>{});
    EXPECT_TRUE(view.has_value()) << text;
    return view ? *view : ClusterView{};
}

/// A healthy cluster on six hosts: masters a, b, c; replicas d (of a), e (of b), f (of c).
std::vector<Line> healthy() {
    return {
        {'a', "10.0.0.1:7000@17000", "master", 0, 1, "0-5460"},
        {'b', "10.0.0.2:7000@17000", "master", 0, 2, "5461-10922"},
        {'c', "10.0.0.3:7000@17000", "master", 0, 3, "10923-16383"},
        {'d', "10.0.0.4:7000@17000", "slave", 'a', 1, ""},
        {'e', "10.0.0.5:7000@17000", "slave", 'b', 2, ""},
        {'f', "10.0.0.6:7000@17000", "slave", 'c', 3, ""},
    };
}

std::vector<ClusterView> all_views(const std::vector<Line>& lines) {
    std::vector<ClusterView> views;
    for (const auto& l : lines) {
        views.push_back(view_of(l.node, lines));
    }
    return views;
}

std::vector<FindingKind> kinds(const std::vector<Finding>& findings) {
    std::vector<FindingKind> out;
    for (const auto& f : findings) {
        out.push_back(f.kind);
    }
    return out;
}

std::vector<DisagreementKind> kinds(const std::vector<Disagreement>& ds) {
    std::vector<DisagreementKind> out;
    for (const auto& d : ds) {
        out.push_back(d.kind);
    }
    return out;
}

std::string dump(const std::vector<Disagreement>& ds) {
    std::string out;
    for (const auto& d : ds) {
        out += std::string(to_string(d.kind)) + ": " + d.reason + "\n";
    }
    return out;
}

std::string dump(const std::vector<Finding>& fs) {
    std::string out;
    for (const auto& f : fs) {
        out += std::string(to_string(f.kind)) + ": " + f.reason + "\n";
    }
    return out;
}

/// Invariants every model must satisfy, whatever the input (LogCabin-style checker).
void check_invariants(const Topology& t) {
    for (std::size_t i = 1; i < t.nodes().size(); ++i) {
        EXPECT_LT(t.nodes()[i - 1].id, t.nodes()[i].id);
    }
    for (std::size_t i = 1; i < t.shards().size(); ++i) {
        EXPECT_LT(t.shards()[i - 1].master_id, t.shards()[i].master_id);
    }
    EXPECT_TRUE(std::is_sorted(t.reporters().begin(), t.reporters().end()));
    for (const auto& n : t.nodes()) {
        EXPECT_EQ(t.node(n.id), &n);
        EXPECT_FALSE(n.known_by.empty());
        EXPECT_TRUE(std::is_sorted(n.known_by.begin(), n.known_by.end()));
        EXPECT_NE(std::find(n.known_by.begin(), n.known_by.end(), n.described_by),
                  n.known_by.end());
        EXPECT_TRUE(n.known_by.contains(n.described_by));
        EXPECT_FALSE(n.known_by.contains("not a reporter"));
    }
    for (const auto& s : t.shards()) {
        ASSERT_NE(t.node(s.master_id), nullptr);
        EXPECT_EQ(t.node(s.master_id)->role, NodeRole::kMaster);
        EXPECT_EQ(t.shard_of(s.master_id), &s);
        for (const auto& r : s.replica_ids) {
            EXPECT_EQ(t.node(r)->master_id, s.master_id);
            EXPECT_EQ(t.shard_of(r), &s);
        }
        for (const auto& range : s.slots) {
            // The owner of a claimed slot is this shard or a conflicting one.
            EXPECT_NE(t.shard_for_slot(range.first), nullptr);
        }
    }
    for (const auto& d : t.disagreements()) {
        EXPECT_FALSE(d.reason.empty());
        EXPECT_GE(d.claims.size(), 2u);
    }
}

TEST(TopologyTest, ConsistentSynthetic3x3) {
    const auto t = Topology::build(all_views(healthy()));
    check_invariants(t);
    EXPECT_EQ(t.reporters().size(), 6u);
    EXPECT_EQ(t.nodes().size(), 6u);
    ASSERT_EQ(t.shards().size(), 3u);
    EXPECT_TRUE(t.disagreements().empty()) << dump(t.disagreements());
    EXPECT_TRUE(t.check_all({}).empty()) << dump(t.check_all({}));

    const auto& shard_a = t.shards()[0];
    EXPECT_EQ(shard_a.master_id, id('a'));
    EXPECT_EQ(shard_a.replica_ids, std::vector<std::string>{id('d')});
    EXPECT_EQ(shard_a.slots, (std::vector<SlotRange>{{0, 5460}}));
    EXPECT_EQ(shard_a.slot_count, 5461u);
    EXPECT_EQ(shard_a.config_epoch, 1u);

    const auto* d = t.node(id('d'));
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->role, NodeRole::kReplica);
    EXPECT_EQ(d->master_id, id('a'));
    EXPECT_TRUE(d->has_own_view());
    EXPECT_EQ(d->known_by.size(), 6u);

    EXPECT_EQ(t.node_by_address("10.0.0.2", 7000), t.node(id('b')));
    EXPECT_EQ(t.node_by_address("10.0.0.2", 7001), nullptr);
    EXPECT_EQ(t.shard_of(id('d')), &t.shards()[0]);
    EXPECT_EQ(t.shard_for_slot(0), &t.shards()[0]);
    EXPECT_EQ(t.shard_for_slot(5461), &t.shards()[1]);
    EXPECT_EQ(t.shard_for_slot(16383), &t.shards()[2]);
    EXPECT_EQ(t.node(id('9')), nullptr);
    EXPECT_EQ(t.shard_of(id('9')), nullptr);
}

TEST(TopologyTest, RealHealthyClusterFromAMasterAndAReplica) {
    auto master_view =
        make_view(*parse_cluster_nodes(read_data("redis-7.0/cluster_nodes_master.txt")));
    auto replica_view =
        make_view(*parse_cluster_nodes(read_data("redis-7.0/cluster_nodes_replica.txt")));
    ASSERT_TRUE(master_view && replica_view);
    const auto t = Topology::build({*master_view, *replica_view});
    check_invariants(t);
    EXPECT_EQ(t.nodes().size(), 6u);
    ASSERT_EQ(t.shards().size(), 3u);
    for (const auto& s : t.shards()) {
        EXPECT_EQ(s.replica_ids.size(), 1u);
        EXPECT_GT(s.slot_count, 5000u);
    }
    EXPECT_TRUE(t.disagreements().empty()) << dump(t.disagreements());
    EXPECT_TRUE(t.check_slot_coverage().empty());
    EXPECT_TRUE(t.check_replicas().empty());
    EXPECT_TRUE(t.check_failures().empty());
    // A test cluster on one machine: every master shares 127.0.0.1 with its replica.
    const auto same_host = t.check_same_host();
    EXPECT_EQ(same_host.size(), 3u) << dump(same_host);
    for (const auto& f : same_host) {
        EXPECT_EQ(f.kind, FindingKind::kSameHost);
        EXPECT_NE(f.reason.find("IP 127.0.0.1"), std::string::npos);
    }

    // INFO replication of the replica that gave its view.
    const auto* self = t.node(replica_view->reporter_id);
    ASSERT_NE(self, nullptr);
    auto info = parse_info(read_data("redis-7.0/info_replication_replica.txt"));
    auto replication = parse_replication(*info);
    ASSERT_TRUE(replication.has_value());
    TopologyInput input{{*master_view, *replica_view}, {{self->id, *replication}}};
    const auto with_info = Topology::build(input);
    EXPECT_EQ(with_info.node(self->id)->repl_offset, replication->slave_repl_offset);
    EXPECT_EQ(with_info.node(self->id)->master_link_status, MasterLinkStatus::kUp);
    EXPECT_TRUE(with_info.disagreements().empty()) << dump(with_info.disagreements());
}

TEST(TopologyTest, RealClusterAfterFailover) {
    std::vector<ClusterView> views;
    for (const char* file : {"redis-7.0/cluster_nodes_after_failover.txt",
                             "redis-7.0/cluster_nodes_after_failover_promoted.txt"}) {
        auto v = make_view(*parse_cluster_nodes(read_data(file)));
        ASSERT_TRUE(v.has_value());
        views.push_back(*v);
    }
    const auto t = Topology::build(views);
    check_invariants(t);
    EXPECT_EQ(t.shards().size(), 4u) << "the failed master keeps a shard without slots";
    const auto failures = t.check_failures();
    ASSERT_EQ(failures.size(), 1u) << dump(failures);
    EXPECT_EQ(failures[0].kind, FindingKind::kNodeFailed);
    const auto* dead = t.node(failures[0].node_ids[0]);
    EXPECT_EQ(dead->failed_by.size(), 2u);
    EXPECT_EQ(dead->disconnected_from.size(), 2u);
    EXPECT_TRUE(dead->slots.empty());
    EXPECT_FALSE(dead->has_own_view());
    EXPECT_NE(failures[0].reason.find("flagged fail by 2 of 2 views"), std::string::npos)
        << failures[0].reason;
    // The promoted replica serves its old master's slots, and has no replica of its own.
    const auto replicas = t.check_replicas();
    ASSERT_EQ(replicas.size(), 1u) << dump(replicas);
    EXPECT_EQ(replicas[0].kind, FindingKind::kMasterWithoutReplica);
    EXPECT_NE(replicas[0].reason.find("has no replica"), std::string::npos);
    EXPECT_TRUE(t.check_slot_coverage().empty());
    EXPECT_TRUE(t.disagreements().empty()) << dump(t.disagreements());
}

/// b has seen a's failover to d; c has not yet.
std::vector<ClusterView> split_failover_views() {
    auto after = healthy();
    after[0] = {'a', "10.0.0.1:7000@17000", "master,fail", 0, 1, ""};
    after[3] = {'d', "10.0.0.4:7000@17000", "master", 0, 7, "0-5460"};
    return {view_of('b', after), view_of('c', healthy())};
}

TEST(TopologyTest, TwoViewsDisagreeAboutAFailover) {
    const auto t = Topology::build(split_failover_views());
    check_invariants(t);
    const auto& ds = t.disagreements();
    EXPECT_EQ(kinds(ds), (std::vector<DisagreementKind>{
                             DisagreementKind::kSlotOwner, DisagreementKind::kFailure,
                             DisagreementKind::kRole, DisagreementKind::kConfigEpoch}))
        << dump(ds);

    const auto& owner = ds[0];
    EXPECT_EQ(owner.slots, (std::vector<SlotRange>{{0, 5460}}));
    EXPECT_EQ(owner.claims, (std::vector<Claim>{{id('b'), id('d')}, {id('c'), id('a')}}));
    EXPECT_NE(owner.reason.find("who serves slots 0-5460"), std::string::npos) << owner.reason;

    EXPECT_EQ(ds[1].node_id, id('a'));
    EXPECT_EQ(ds[1].claims, (std::vector<Claim>{{id('b'), "fail"}, {id('c'), "ok"}}));
    EXPECT_EQ(ds[2].node_id, id('d'));
    EXPECT_EQ(ds[2].claims, (std::vector<Claim>{{id('b'), "master"}, {id('c'), "slave"}}));
    EXPECT_EQ(ds[3].claims, (std::vector<Claim>{{id('b'), "epoch 7"}, {id('c'), "epoch 1"}}));

    // Neither a nor d gave a view: the record with the highest epoch describes d, the
    // lowest reporter breaks a's tie.
    const auto* d = t.node(id('d'));
    EXPECT_EQ(d->described_by, id('b'));
    EXPECT_EQ(d->role, NodeRole::kMaster);
    EXPECT_EQ(t.node(id('a'))->described_by, id('b'));
    EXPECT_EQ(t.node(id('a'))->failed_by, std::vector<std::string>{id('b')});
    EXPECT_EQ(t.shard_for_slot(0)->master_id, id('d'));

    const auto findings = t.check_all();
    EXPECT_EQ(kinds(findings), (std::vector<FindingKind>{FindingKind::kMasterWithoutReplica,
                                                         FindingKind::kNodeFailed}))
        << dump(findings);
    EXPECT_NE(findings[1].reason.find("flagged fail by 1 of 2 views"), std::string::npos);
}

TEST(TopologyTest, OutputDoesNotDependOnViewOrder) {
    auto views = split_failover_views();
    const auto a = Topology::build(views);
    std::reverse(views.begin(), views.end());
    views.push_back(views.front());  // a duplicate view is ignored
    const auto b = Topology::build(views);
    EXPECT_EQ(b.ignored_views().size(), 1u);
    EXPECT_EQ(dump(a.disagreements()), dump(b.disagreements()));
    EXPECT_EQ(dump(a.check_all()), dump(b.check_all()));
    EXPECT_EQ(a.reporters(), b.reporters());
}

TEST(TopologyTest, PartitionedOldMasterConflictsWithItsPromotedReplica) {
    // a (partitioned away) still claims its slots; the majority promoted d with epoch 7.
    auto majority = healthy();
    majority[0] = {'a', "10.0.0.1:7000@17000", "master,fail", 0, 1, ""};
    majority[3] = {'d', "10.0.0.4:7000@17000", "master", 0, 7, "0-5460"};
    auto minority = healthy();
    const auto t = Topology::build({view_of('a', minority), view_of('b', majority)});
    check_invariants(t);
    const auto coverage = t.check_slot_coverage();
    ASSERT_EQ(coverage.size(), 1u) << dump(coverage);
    EXPECT_EQ(coverage[0].kind, FindingKind::kSlotConflict);
    EXPECT_EQ(coverage[0].node_ids, (std::vector<std::string>{id('a'), id('d')}));
    EXPECT_EQ(coverage[0].slots, (std::vector<SlotRange>{{0, 5460}}));
    EXPECT_NE(coverage[0].reason.find("claimed by 2 masters"), std::string::npos);
    // Redis's rule: the higher config epoch wins.
    EXPECT_EQ(t.shard_for_slot(100)->master_id, id('d'));
    // a describes itself as a healthy master; b's fail flag is kept, not merged away.
    EXPECT_EQ(t.node(id('a'))->described_by, id('a'));
    EXPECT_EQ(t.node(id('a'))->failed_by, std::vector<std::string>{id('b')});
}

TEST(TopologyTest, UncoveredSlots) {
    auto lines = healthy();
    lines[2].slots = "10923-16000";
    lines[1].slots = "5461-10000 10002-10922";
    const auto t = Topology::build(all_views(lines));
    check_invariants(t);
    const auto coverage = t.check_slot_coverage();
    ASSERT_EQ(coverage.size(), 1u) << dump(coverage);
    EXPECT_EQ(coverage[0].kind, FindingKind::kUncoveredSlots);
    EXPECT_EQ(coverage[0].slots, (std::vector<SlotRange>{{10001, 10001}, {16001, 16383}}));
    EXPECT_NE(coverage[0].reason.find("384 slots not served"), std::string::npos)
        << coverage[0].reason;
    EXPECT_EQ(t.shard_for_slot(10001), nullptr);
    EXPECT_EQ(t.shard_for_slot(16383), nullptr);
    EXPECT_TRUE(t.disagreements().empty());

    // No views at all: everything is uncovered.
    const Topology empty;
    const auto all = empty.check_slot_coverage();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].slots, (std::vector<SlotRange>{{0, 16383}}));
    EXPECT_TRUE(empty.check_all().size() == 1u);
}

TEST(TopologyTest, SlotsClaimedByTwoMasters) {
    auto lines = healthy();
    lines[1].slots = "5000-10922";  // overlaps a's 0-5460 on 5000-5460
    const auto t = Topology::build(all_views(lines));
    const auto coverage = t.check_slot_coverage();
    ASSERT_EQ(coverage.size(), 1u) << dump(coverage);
    EXPECT_EQ(coverage[0].kind, FindingKind::kSlotConflict);
    EXPECT_EQ(coverage[0].slots, (std::vector<SlotRange>{{5000, 5460}}));
    EXPECT_EQ(t.shard_for_slot(5000)->master_id, id('b')) << "higher epoch";
    EXPECT_EQ(t.shard_for_slot(4999)->master_id, id('a'));
}

TEST(TopologyTest, MasterWithoutReplica) {
    auto lines = healthy();
    lines.pop_back();  // c loses f
    const auto t = Topology::build(all_views(lines));
    const auto findings = t.check_replicas();
    ASSERT_EQ(findings.size(), 1u) << dump(findings);
    EXPECT_EQ(findings[0].kind, FindingKind::kMasterWithoutReplica);
    EXPECT_EQ(findings[0].node_ids, std::vector<std::string>{id('c')});
    EXPECT_EQ(findings[0].slots, (std::vector<SlotRange>{{10923, 16383}}));
    EXPECT_NE(findings[0].reason.find("10.0.0.3:7000"), std::string::npos) << findings[0].reason;

    // A replica flagged fail does not count.
    auto failed = healthy();
    failed[5].flags = "slave,fail";
    const auto t2 = Topology::build(all_views(failed));
    const auto f2 = t2.check_replicas();
    ASSERT_EQ(f2.size(), 1u) << dump(f2);
    EXPECT_NE(f2[0].reason.find("flagged fail"), std::string::npos);
    EXPECT_EQ(f2[0].node_ids, (std::vector<std::string>{id('c'), id('f')}));

    // A master without slots needs no replica.
    auto empty_master = healthy();
    empty_master.push_back({'9', "10.0.0.9:7000@17000", "master", 0, 0, ""});
    EXPECT_TRUE(Topology::build(all_views(empty_master)).check_replicas().empty());
}

TEST(TopologyTest, OrphanReplicas) {
    auto lines = healthy();
    lines.push_back({'7', "10.0.0.7:7000@17000", "slave", '8', 0, ""});  // unknown master
    lines.push_back({'8', "10.0.0.8:7000@17000", "slave", 'd', 0, ""});  // follows a replica
    const auto t = Topology::build({view_of('a', lines)});
    const auto findings = t.check_replicas();
    ASSERT_EQ(kinds(findings),
              (std::vector<FindingKind>{FindingKind::kOrphanReplica, FindingKind::kOrphanReplica}))
        << dump(findings);
    EXPECT_NE(findings[0].reason.find("not a master"), std::string::npos) << dump(findings);
    EXPECT_NE(findings[1].reason.find("not a master"), std::string::npos) << dump(findings);
}

TEST(TopologyTest, MasterAndReplicaOnTheSameHost) {
    auto lines = healthy();
    lines[4].address = "10.0.0.2:7001@17001";              // e on b's IP
    lines[2].address = "10.0.0.3:7000@17000,rack1-host3";  // c and f: same hostname
    lines[5].address = "10.0.1.6:7000@17000,rack1-host3";
    lines[3].address = "10.0.0.2:7002@17002";  // d on b's host, not a's: fine
    const auto t = Topology::build(all_views(lines));
    const auto findings = t.check_same_host();
    ASSERT_EQ(findings.size(), 2u) << dump(findings);
    EXPECT_EQ(findings[0].node_ids, (std::vector<std::string>{id('b'), id('e')}));
    EXPECT_NE(findings[0].reason.find("IP 10.0.0.2"), std::string::npos);
    EXPECT_EQ(findings[1].node_ids, (std::vector<std::string>{id('c'), id('f')}));
    EXPECT_NE(findings[1].reason.find("host rack1-host3"), std::string::npos);
    // Lookups by hostname work too.
    EXPECT_EQ(t.node_by_address("rack1-host3", 7000), nullptr) << "ambiguous: c and f";
    EXPECT_EQ(t.nodes_at("rack1-host3", 7000).size(), 2u);
    EXPECT_EQ(t.node_by_address("10.0.1.6", 7000), t.node(id('f')));
}

TEST(TopologyTest, NodeTimeoutMismatch) {
    const auto t = Topology::build(all_views(healthy()));
    EXPECT_TRUE(t.check_node_timeouts({}).empty());
    EXPECT_TRUE(t.check_node_timeouts({{id('a'), 15000}, {id('b'), 15000}}).empty());
    const auto findings =
        t.check_node_timeouts({{id('a'), 15000}, {id('b'), 2000}, {id('c'), 15000}});
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].kind, FindingKind::kNodeTimeoutMismatch);
    EXPECT_EQ(findings[0].node_ids, (std::vector<std::string>{id('a'), id('b'), id('c')}));
    EXPECT_EQ(findings[0].reason,
              "cluster-node-timeout differs between nodes: 2000 ms on 1 node (bbbbbbbb); "
              "15000 ms on 2 nodes (aaaaaaaa, cccccccc)");
    EXPECT_EQ(t.check_all({{id('a'), 1}, {id('b'), 2}}).size(), 1u);
}

TEST(TopologyTest, SuspectedAndFailedNodes) {
    auto lines = healthy();
    lines[5].flags = "slave,fail?";
    const auto t = Topology::build({view_of('a', lines), view_of('b', healthy())});
    const auto findings = t.check_failures();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].kind, FindingKind::kNodeSuspected);
    EXPECT_EQ(t.node(id('f'))->suspected_by, std::vector<std::string>{id('a')});
    ASSERT_EQ(t.disagreements().size(), 1u) << dump(t.disagreements());
    EXPECT_EQ(t.disagreements()[0].kind, DisagreementKind::kFailure);
    EXPECT_EQ(t.disagreements()[0].claims,
              (std::vector<Claim>{{id('a'), "fail?"}, {id('b'), "ok"}}));
}

TEST(TopologyTest, ANodeOnlyOneViewKnows) {
    auto lines = healthy();
    lines.push_back({'9', "10.0.0.9:7000@17000", "handshake", 0, 0, ""});
    const auto t = Topology::build({view_of('a', lines), view_of('b', healthy())});
    check_invariants(t);
    ASSERT_EQ(t.disagreements().size(), 1u) << dump(t.disagreements());
    const auto& d = t.disagreements()[0];
    EXPECT_EQ(d.kind, DisagreementKind::kUnknownNode);
    EXPECT_EQ(d.node_id, id('9'));
    EXPECT_EQ(d.claims, (std::vector<Claim>{{id('a'), "knows it"}, {id('b'), "does not know it"}}));
    EXPECT_NE(d.reason.find("(in handshake) is known to 1 of 2 views"), std::string::npos)
        << d.reason;
    EXPECT_EQ(t.node(id('9'))->role, NodeRole::kUnknown);
    EXPECT_EQ(t.shard_of(id('9')), nullptr);
}

TEST(TopologyTest, ReplicaMasterAndAddressDisagreements) {
    auto lines = healthy();
    lines[3].master = 'b';                      // a says d follows b
    lines[4].address = "10.0.0.55:7000@17000";  // and that e moved
    const auto t = Topology::build({view_of('a', lines), view_of('b', healthy())});
    EXPECT_EQ(kinds(t.disagreements()), (std::vector<DisagreementKind>{DisagreementKind::kMaster,
                                                                       DisagreementKind::kAddress}))
        << dump(t.disagreements());
    EXPECT_EQ(t.disagreements()[0].node_id, id('d'));
    EXPECT_EQ(t.disagreements()[1].node_id, id('e'));
}

TEST(TopologyTest, ReplicationInfoThatContradictsTheViews) {
    auto replica = *parse_replication(
        *parse_info("# Replication\r\nrole:slave\r\nmaster_host:10.9.9.9\r\nmaster_port:7000\r\n"
                    "master_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\n"
                    "master_sync_in_progress:0\r\nslave_repl_offset:42\r\nslave_priority:100\r\n"
                    "slave_read_only:1\r\nconnected_slaves:0\r\nmaster_replid:x\r\n"
                    "master_repl_offset:42\r\n"));
    auto master = *parse_replication(
        *parse_info("# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_replid:x\r\n"
                    "master_repl_offset:99\r\n"));
    TopologyInput input{all_views(healthy()),
                        {{id('d'), replica}, {id('e'), master}, {id('a'), master}}};
    const auto t = Topology::build(input);
    EXPECT_EQ(t.node(id('a'))->repl_offset, 99);
    EXPECT_EQ(t.node(id('d'))->repl_offset, 42);
    EXPECT_EQ(t.node(id('d'))->master_link_status, MasterLinkStatus::kDown);
    ASSERT_EQ(kinds(t.disagreements()),
              (std::vector<DisagreementKind>{DisagreementKind::kReplication,
                                             DisagreementKind::kReplication}))
        << dump(t.disagreements());
    EXPECT_NE(t.disagreements()[0].reason.find("INFO: slave of 10.9.9.9:7000"), std::string::npos)
        << t.disagreements()[0].reason;
    EXPECT_NE(t.disagreements()[1].reason.find("INFO: master"), std::string::npos);
}

/// Everything a model says, as text: two models are the same when their summaries are.
std::string summary(const Topology& t) {
    auto join = [](const auto& v) {
        std::string out;
        for (const auto& s : v) {
            out += s.substr(0, 4) + ",";
        }
        return out;
    };
    std::string out =
        "reporters " + join(t.reporters()) + " ignored " + join(t.ignored_views()) + "\n";
    for (const auto& n : t.nodes()) {
        out +=
            n.id.substr(0, 4) + " by " + n.described_by.substr(0, 4) + " " + n.address.endpoint() +
            " " + std::string(to_string(n.role)) + " m " +
            (n.master_id ? n.master_id->substr(0, 4) : "-") + " e " +
            std::to_string(n.config_epoch) + " slots " + format_slot_ranges(n.slots) + " known " +
            join(n.known_by) + " failed " + join(n.failed_by) + " susp " + join(n.suspected_by) +
            " disc " + join(n.disconnected_from) + " off " +
            (n.repl_offset ? std::to_string(*n.repl_offset) : "-") + " link " +
            (n.master_link_status ? std::to_string(static_cast<int>(*n.master_link_status)) : "-") +
            "\n";
    }
    for (const auto& sh : t.shards()) {
        out += "shard " + sh.master_id.substr(0, 4) + " " + join(sh.replica_ids) + " " +
               std::to_string(sh.slot_count) + "\n";
    }
    for (const auto& d : t.disagreements()) {
        out += std::string(to_string(d.kind)) + " " + d.node_id.substr(0, 4) + " " +
               format_slot_ranges(d.slots) + " " + d.reason + " |";
        for (const auto& c : d.claims) {
            out += " " + c.reporter.substr(0, 4) + "=" + c.value;
        }
        out += "\n";
    }
    return out;
}

/// Views that disagree in every way a node can (role, master, failure, epoch, address,
/// unknown node, slot owner), plus a duplicate reporter.
std::vector<ClusterView> disagreeing_views() {
    auto moved = healthy();
    moved[3].master = 'b';
    moved[4].address = "10.0.0.55:7000@17000";
    moved[2].flags = "master,fail?";
    moved[1].epoch = 7;
    auto failed_over = healthy();
    failed_over[0].flags = "master,fail";
    failed_over[0].slots = "";
    failed_over[3].flags = "master";
    failed_over[3].master = 0;
    failed_over[3].slots = "0-5460";
    failed_over.push_back({'9', "10.0.0.9:7000@17000", "slave", 'c', 3, ""});
    return {view_of('a', healthy()), view_of('b', moved), view_of('c', failed_over),
            view_of('e', healthy()), view_of('b', healthy())};
}

TEST(TopologyTest, ViewsByReferenceBuildTheSameModel) {
    const auto views = disagreeing_views();
    ReplicationById replication{
        {id('d'),
         *parse_replication(*parse_info("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
                                        "master_replid:x\r\nmaster_repl_offset:5\r\n"))}};
    // Each distinct line stored once, shared by the views that print it (as the watcher
    // keeps them).
    std::vector<ClusterNode> pool;
    for (const auto& v : views) {
        pool.insert(pool.end(), v.nodes.begin(), v.nodes.end());
    }
    std::vector<std::vector<const ClusterNode*>> lines(views.size());
    std::vector<ViewRef> refs;
    std::size_t next = 0;
    for (std::size_t v = 0; v < views.size(); ++v) {
        for (std::size_t k = 0; k < views[v].nodes.size(); ++k) {
            lines[v].push_back(&pool[next++]);
        }
        refs.push_back(ViewRef{views[v].reporter_id, lines[v]});
    }
    const auto by_value = Topology::build(TopologyInput{views, replication});
    const auto by_ref = Topology::build(refs, replication);
    check_invariants(by_ref);
    EXPECT_EQ(summary(by_ref), summary(by_value));
    EXPECT_EQ(by_ref.ignored_views(), std::vector<std::string>{id('b')});
    // Every kind of disagreement is there, so the shortcut for agreeing records was not
    // taken where records differ.
    std::set<DisagreementKind> seen;
    for (const auto& d : by_ref.disagreements()) {
        seen.insert(d.kind);
    }
    for (auto k :
         {DisagreementKind::kUnknownNode, DisagreementKind::kRole, DisagreementKind::kMaster,
          DisagreementKind::kFailure, DisagreementKind::kConfigEpoch, DisagreementKind::kAddress,
          DisagreementKind::kSlotOwner, DisagreementKind::kReplication}) {
        EXPECT_EQ(seen.count(k), 1u) << to_string(k) << "\n" << dump(by_ref.disagreements());
    }
}

TEST(TopologyTest, RefreshReplicationEqualsARebuild) {
    const auto views = disagreeing_views();
    auto info = [](const std::string& text) {
        const bool replica = text.find("role:slave") != std::string::npos;
        const std::string rest =
            replica ? "master_last_io_seconds_ago:1\r\nmaster_sync_in_progress:0\r\n"
                      "slave_priority:100\r\nslave_read_only:1\r\nconnected_slaves:0\r\n"
                      "master_replid:x\r\nmaster_repl_offset:1\r\n"
                    : "connected_slaves:0\r\nmaster_replid:x\r\n";
        auto parsed = parse_replication(*parse_info("# Replication\r\n" + text + rest));
        EXPECT_TRUE(parsed.has_value()) << text;
        return parsed ? *parsed : ReplicationInfo{};
    };
    const ReplicationById before{
        {id('a'), info("role:master\r\nmaster_repl_offset:10\r\n")},
        {id('e'), info("role:master\r\nmaster_repl_offset:11\r\n")},
        {id('f'), info("role:slave\r\nmaster_host:10.0.0.9\r\nmaster_port:7000\r\n"
                       "master_link_status:down\r\nslave_repl_offset:3\r\n")}};
    const ReplicationById after{
        {id('a'), info("role:master\r\nmaster_repl_offset:20\r\n")},
        {id('d'), info("role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:7000\r\n"
                       "master_link_status:up\r\nslave_repl_offset:19\r\n")},
        {id('f'), info("role:slave\r\nmaster_host:10.0.0.3\r\nmaster_port:7000\r\n"
                       "master_link_status:up\r\nslave_repl_offset:4\r\n")}};
    auto refreshed = Topology::build(TopologyInput{views, before});
    const auto rebuilt_before = summary(refreshed);
    refreshed.refresh_replication(after);
    const auto rebuilt = Topology::build(TopologyInput{views, after});
    EXPECT_EQ(summary(refreshed), summary(rebuilt));
    EXPECT_NE(summary(refreshed), rebuilt_before);  // the inputs did change the model
    refreshed.refresh_replication({});
    EXPECT_EQ(summary(refreshed), summary(Topology::build(TopologyInput{views, {}})));
}

TEST(TopologyTest, MakeViewNeedsAMyselfLine) {
    auto nodes = parse_cluster_nodes(id('a') + " 10.0.0.1:7000@17000 master - 0 0 1 connected\n");
    ASSERT_TRUE(nodes.has_value());
    auto view = make_view(*nodes);
    ASSERT_FALSE(view.has_value());
    EXPECT_NE(view.error().message.find("myself"), std::string::npos);
}

TEST(TopologyTest, HostileOverlappingClaimsStayBounded) {
    // 2000 masters all claiming every slot, seen differently by two views: the output
    // names at most 16 claimants per conflict instead of growing quadratically.
    std::string a_view;
    std::string b_view;
    for (int m = 0; m < 2000; ++m) {
        char hex_id[41];
        std::snprintf(hex_id, sizeof hex_id, "%040x", m);
        const std::string line = std::string(hex_id) + " 10.1." + std::to_string(m / 250) + "." +
                                 std::to_string(m % 250) + ":7000@17000 ";
        a_view += line + (m == 0 ? "myself," : "") + "master - 0 0 " + std::to_string(m) +
                  " connected 0-16383\n";
        b_view += line + (m == 1 ? "myself," : "") + "master - 0 0 " + std::to_string(m) +
                  " connected " + (m % 2 == 0 ? "0-8191" : "8192-16383") + "\n";
    }
    auto a = make_view(*parse_cluster_nodes(a_view));
    auto b = make_view(*parse_cluster_nodes(b_view));
    ASSERT_TRUE(a && b);
    const auto t = Topology::build({*a, *b});
    // Node 1 (own view) claims only 8192-16383; every other node is described by view a.
    const auto coverage = t.check_slot_coverage();
    ASSERT_EQ(coverage.size(), 2u) << dump(coverage);
    for (const auto& f : coverage) {
        EXPECT_EQ(f.kind, FindingKind::kSlotConflict);
        EXPECT_EQ(f.node_ids.size(), 16u);
        EXPECT_LT(f.reason.size(), 1000u);
    }
    EXPECT_EQ(coverage[0].slots, (std::vector<SlotRange>{{0, 8191}}));
    EXPECT_NE(coverage[0].reason.find("claimed by 1999 masters"), std::string::npos);
    EXPECT_NE(coverage[1].reason.find("claimed by 2000 masters"), std::string::npos);
    EXPECT_NE(coverage[1].reason.find("and 1992 more"), std::string::npos);
    // The highest epoch wins the slot, as in Redis.
    EXPECT_EQ(t.shard_for_slot(0)->config_epoch, 1999u);
    for (const auto& d : t.disagreements()) {
        EXPECT_LT(d.reason.size(), 4000u) << d.reason.substr(0, 200);
    }
}

TEST(TopologyTest, ManyViewsOfALargeClusterStayFast) {
    // 100 masters with 2 replicas each, fragmented slots, 20 views: a smoke test that
    // a rebuild per refresh is cheap (the test time limit would catch a blow-up).
    std::vector<Line> lines;
    const std::string hex = "0123456789abcdef";
    std::vector<std::string> ids;
    std::string text_all;
    for (int m = 0; m < 300; ++m) {
        std::string node_id = std::string(37, '0') + hex[static_cast<std::size_t>(m / 256)] +
                              hex[static_cast<std::size_t>(m / 16 % 16)] +
                              hex[static_cast<std::size_t>(m % 16)];
        ids.push_back(node_id);
    }
    std::vector<ClusterView> views;
    for (int v = 0; v < 20; ++v) {
        std::string text;
        for (int m = 0; m < 300; ++m) {
            const bool is_master = m < 100;
            text += ids[static_cast<std::size_t>(m)] + " 10.0." + std::to_string(m / 100) + "." +
                    std::to_string(m % 100) + ":7000@17000 " + (m == v ? "myself," : "") +
                    (is_master ? "master - "
                               : "slave " + ids[static_cast<std::size_t>(m % 100)] + " ") +
                    "0 0 1 connected";
            if (is_master) {
                for (int s = m; s < 16384; s += 100) {
                    text += " " + std::to_string(s);
                }
            }
            text += "\n";
        }
        auto nodes = parse_cluster_nodes(text);
        ASSERT_TRUE(nodes.has_value()) << nodes.error().to_string();
        views.push_back(*make_view(*nodes));
    }
    const auto t = Topology::build(views);
    check_invariants(t);
    EXPECT_EQ(t.shards().size(), 100u);
    EXPECT_TRUE(t.disagreements().empty());
    EXPECT_TRUE(t.check_slot_coverage().empty());
    EXPECT_EQ(t.shard_for_slot(16383)->master_id, ids[83]);
}

TEST(ReporterSet, BitsIterateInOrderAcrossWords) {
    auto names = std::make_shared<std::vector<std::string>>();
    for (int i = 0; i < 130; ++i) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "r%03d", i);
        names->push_back(buf);
    }
    const std::vector<std::uint32_t> indexes = {129, 0, 64, 63, 1, 64};  // unordered, a repeat
    const ReporterSet set(names, indexes);
    EXPECT_EQ(set.size(), 5U);
    EXPECT_FALSE(set.empty());
    EXPECT_EQ(set, (std::vector<std::string>{"r000", "r001", "r063", "r064", "r129"}));
    EXPECT_TRUE(set.contains("r063"));
    EXPECT_TRUE(set.contains("r129"));
    EXPECT_FALSE(set.contains("r062"));
    EXPECT_FALSE(set.contains("r128"));
    EXPECT_FALSE(set.contains("nobody"));
    EXPECT_EQ(std::distance(set.begin(), set.end()), 5);
    const ReporterSet low(names, std::vector<std::uint32_t>{0, 1, 63, 64});
    EXPECT_FALSE(low == set);
    EXPECT_FALSE(low.contains("r129"));  // beyond its last word
    const ReporterSet none(names, std::vector<std::uint32_t>{});
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(none.begin(), none.end());
    EXPECT_FALSE(none.contains("r000"));
    EXPECT_EQ(ReporterSet{}, std::vector<std::string>{});
    EXPECT_FALSE(ReporterSet{}.contains("r000"));
}

}  // namespace
}  // namespace picket::cluster
