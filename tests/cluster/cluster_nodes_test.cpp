#include "picket/cluster/cluster_nodes.h"

#include <gtest/gtest.h>

#include <set>

#include "test_data.h"

namespace picket::cluster {
namespace {

using testing::read_data;

/// A valid node id made of one repeated hex digit.
std::string id(char c) {
    return std::string(40, c);
}

std::vector<ClusterNode> parse_ok(std::string_view text) {
    auto nodes = parse_cluster_nodes(text);
    EXPECT_TRUE(nodes.has_value()) << nodes.error().to_string();
    return nodes ? *nodes : std::vector<ClusterNode>{};
}

ParseError parse_error(std::string_view text) {
    auto nodes = parse_cluster_nodes(text);
    EXPECT_FALSE(nodes.has_value()) << "parsed: " << text.substr(0, 200);
    return nodes ? ParseError{} : nodes.error();
}

/// Checks the shape of a healthy 3 masters + 3 replicas view.
void expect_healthy_3x3(const std::vector<ClusterNode>& nodes) {
    ASSERT_EQ(nodes.size(), 6u);
    std::set<std::string> masters;
    std::vector<SlotRange> slots;
    int myself = 0;
    for (const auto& n : nodes) {
        EXPECT_TRUE(is_node_id(n.id));
        EXPECT_EQ(n.address.ip, "127.0.0.1");
        EXPECT_EQ(n.address.cport, n.address.port + 10000);
        EXPECT_TRUE(n.address.hostname.empty());
        EXPECT_EQ(n.link_state, LinkState::kConnected);
        EXPECT_FALSE(n.is_failing());
        EXPECT_TRUE(n.flags.unknown.empty());
        EXPECT_TRUE(n.migrations.empty());
        myself += n.flags.myself ? 1 : 0;
        if (n.is_master()) {
            masters.insert(n.id);
            EXPECT_FALSE(n.master_id.has_value());
            slots.insert(slots.end(), n.slots.begin(), n.slots.end());
        }
    }
    EXPECT_EQ(myself, 1);
    EXPECT_EQ(masters.size(), 3u);
    EXPECT_EQ(normalize_slot_ranges(slots), (std::vector<SlotRange>{{0, 16383}}));
    for (const auto& n : nodes) {
        if (n.is_replica()) {
            ASSERT_TRUE(n.master_id.has_value());
            EXPECT_EQ(masters.count(*n.master_id), 1u);
            EXPECT_TRUE(n.slots.empty());
        }
    }
}

TEST(ClusterNodesTest, RealMasterView) {
    const auto nodes = parse_ok(read_data("redis-7.0/cluster_nodes_master.txt"));
    expect_healthy_3x3(nodes);
    for (const auto& n : nodes) {
        if (n.flags.myself) {
            EXPECT_TRUE(n.is_master());
            EXPECT_EQ(n.flags.to_string(), "myself,master");
        }
    }
}

TEST(ClusterNodesTest, RealReplicaView) {
    const auto replica_view = parse_ok(read_data("redis-7.0/cluster_nodes_replica.txt"));
    expect_healthy_3x3(replica_view);
    const auto master_view = parse_ok(read_data("redis-7.0/cluster_nodes_master.txt"));
    std::string replica_self;
    for (const auto& n : replica_view) {
        if (n.flags.myself) {
            EXPECT_TRUE(n.is_replica());
            replica_self = n.id;
        }
    }
    // The same node is in the master's view without the myself flag.
    bool found = false;
    for (const auto& n : master_view) {
        if (n.id == replica_self) {
            found = true;
            EXPECT_FALSE(n.flags.myself);
            EXPECT_EQ(n.flags.to_string(), "slave");
        }
    }
    EXPECT_TRUE(found);
}

TEST(ClusterNodesTest, RealViewAfterFailover) {
    const auto nodes = parse_ok(read_data("redis-7.0/cluster_nodes_after_failover.txt"));
    ASSERT_EQ(nodes.size(), 6u);
    int failed = 0;
    std::uint64_t max_epoch = 0;
    for (const auto& n : nodes) {
        max_epoch = std::max(max_epoch, n.config_epoch);
        if (n.flags.fail) {
            ++failed;
            EXPECT_TRUE(n.is_master());
            EXPECT_EQ(n.flags.to_string(), "master,fail");
            EXPECT_EQ(n.link_state, LinkState::kDisconnected);
            EXPECT_TRUE(n.slots.empty()) << "its slots moved to the promoted replica";
            EXPECT_GT(n.ping_sent, 0) << "a ping is pending";
        }
    }
    EXPECT_EQ(failed, 1);
    EXPECT_GT(max_epoch, 3u) << "the promotion bumped the epoch";
}

TEST(ClusterNodesTest, Redis60LineWithoutHostname) {
    const auto nodes = parse_ok(
        "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave "
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n"
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 "
        "connected 0-5460\n");
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_EQ(nodes[0].address.ip, "127.0.0.1");
    EXPECT_EQ(nodes[0].address.port, 30004);
    EXPECT_EQ(nodes[0].address.cport, 31004);
    EXPECT_EQ(nodes[0].master_id, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca");
    EXPECT_EQ(nodes[0].pong_recv, 1426238317239);
    EXPECT_EQ(nodes[0].config_epoch, 4u);
    EXPECT_EQ(nodes[1].slots, (std::vector<SlotRange>{{0, 5460}}));
    EXPECT_EQ(nodes[1].address.endpoint(), "127.0.0.1:30001");
}

TEST(ClusterNodesTest, Redis7Hostnames) {
    const auto nodes = parse_ok(
        id('a') + " 10.0.0.1:6379@16379,redis-a.example.com myself,master - 0 0 1 connected 0\n" +
        id('b') + " 10.0.0.2:6379@16379, master - 0 0 2 connected 1\n" +
        // nodes.conf style auxiliary fields (7.2+) are tolerated.
        id('c') + " 10.0.0.3:6379@16379,redis-c,shard-id=abc master - 0 0 3 connected 2\n" +
        id('d') + " 10.0.0.4:6379@16379,,shard-id=abc master - 0 0 4 connected 3\n");
    ASSERT_EQ(nodes.size(), 4u);
    EXPECT_EQ(nodes[0].address.hostname, "redis-a.example.com");
    EXPECT_EQ(nodes[1].address.hostname, "");
    EXPECT_EQ(nodes[2].address.hostname, "redis-c");
    EXPECT_EQ(nodes[3].address.hostname, "");
}

TEST(ClusterNodesTest, Ipv6AddressesSplitOnTheLastColon) {
    const auto nodes =
        parse_ok(id('a') + " ::1:7000@17000 myself,master - 0 0 1 connected\n" + id('b') +
                 " 2001:db8::12:6380@16380 slave " + id('a') + " 0 0 1 connected\n");
    EXPECT_EQ(nodes[0].address.ip, "::1");
    EXPECT_EQ(nodes[0].address.port, 7000);
    EXPECT_EQ(nodes[0].address.cport, 17000);
    EXPECT_EQ(nodes[0].address.endpoint(), "[::1]:7000");
    EXPECT_EQ(nodes[1].address.ip, "2001:db8::12");
    EXPECT_EQ(nodes[1].address.port, 6380);
}

TEST(ClusterNodesTest, NoaddrHandshakeAndFreshNodes) {
    const auto nodes = parse_ok(
        id('a') + " :7000@17000 myself,master - 0 0 0 connected\n" +  // fresh: own ip unknown
        id('b') + " :0@0 slave,fail,noaddr " + id('a') + " 1700000000000 1699999990000 5 " +
        "disconnected\n" + id('c') + " 127.0.0.1:7005@17005 handshake - 1700000000000 0 0 " +
        "disconnected\n" + id('d') + " 127.0.0.1:7006@17006 noflags - 0 0 0 connected\n" + id('e') +
        " 127.0.0.1:7007@17007 slave,nofailover,fail? " + id('a') + " 0 0 0 connected\n");
    ASSERT_EQ(nodes.size(), 5u);
    EXPECT_EQ(nodes[0].address.ip, "");
    EXPECT_EQ(nodes[0].address.port, 7000);
    EXPECT_TRUE(nodes[1].flags.noaddr);
    EXPECT_TRUE(nodes[1].flags.fail);
    EXPECT_EQ(nodes[1].address, (NodeAddress{"", 0, 0, ""}));
    EXPECT_EQ(nodes[1].link_state, LinkState::kDisconnected);
    EXPECT_TRUE(nodes[2].flags.handshake);
    EXPECT_FALSE(nodes[2].is_master() || nodes[2].is_replica());
    EXPECT_EQ(nodes[3].flags, NodeFlags{});
    EXPECT_EQ(nodes[3].flags.to_string(), "noflags");
    EXPECT_TRUE(nodes[4].flags.nofailover);
    EXPECT_TRUE(nodes[4].flags.pfail);
    EXPECT_TRUE(nodes[4].is_failing());
    EXPECT_EQ(nodes[4].flags.to_string(), "slave,fail?,nofailover");
}

TEST(ClusterNodesTest, UnknownFlagsAreKept) {
    const auto nodes =
        parse_ok(id('a') + " 127.0.0.1:7000@17000 myself,master,shiny-new - 0 0 1 connected\n");
    EXPECT_EQ(nodes[0].flags.unknown, std::vector<std::string>{"shiny-new"});
    EXPECT_EQ(nodes[0].flags.to_string(), "myself,master,shiny-new");
}

TEST(ClusterNodesTest, ImportingAndMigratingSlots) {
    const auto nodes = parse_ok(id('a') + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected " +
                                "0-5460 5462 [5461->-" + id('b') + "] [16383-<-" + id('c') + "]\n");
    const auto& n = nodes[0];
    EXPECT_EQ(n.slots, (std::vector<SlotRange>{{0, 5460}, {5462, 5462}}));
    ASSERT_EQ(n.migrations.size(), 2u);
    EXPECT_EQ(n.migrations[0],
              (SlotMigration{5461, SlotMigration::Direction::kMigrating, id('b')}));
    EXPECT_EQ(n.migrations[1],
              (SlotMigration{16383, SlotMigration::Direction::kImporting, id('c')}));
}

TEST(ClusterNodesTest, CrlfAndLfAndExtraSpaces) {
    const std::string line =
        id('a') + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383";
    const auto lf = parse_ok(line + "\n");
    const auto crlf = parse_ok(line + "\r\n");
    const auto no_newline = parse_ok(line);
    const auto spaced = parse_ok(
        "\n" + id('a') + "  127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383 \n\n");
    for (const auto* nodes : {&lf, &crlf, &no_newline, &spaced}) {
        ASSERT_EQ(nodes->size(), 1u);
        EXPECT_EQ((*nodes)[0].slots, (std::vector<SlotRange>{{0, 16383}}));
        EXPECT_EQ((*nodes)[0].link_state, LinkState::kConnected);
    }
}

TEST(ClusterNodesTest, EmptyInputIsAnError) {
    EXPECT_NE(parse_error("").message.find("empty"), std::string::npos);
    EXPECT_NE(parse_error("\r\n\n  \n").message.find("empty"), std::string::npos);
}

TEST(ClusterNodesTest, TruncatedLines) {
    const std::string good = id('a') + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected\n";
    auto e = parse_error(good + id('b') + " 127.0.0.1:7001@17001 master - 0 0\n");
    EXPECT_EQ(e.line, 2u);
    EXPECT_NE(e.message.find("at least 8 fields"), std::string::npos);
    e = parse_error(good + id('b').substr(0, 17));
    EXPECT_EQ(e.line, 2u);
}

TEST(ClusterNodesTest, BadSlots) {
    const std::string head = id('a') + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected ";
    for (const char* slot : {"16384", "5-3", "x", "0-16384", "-1", "1-", "[5461->-", "[5461]",
                             "[x->-aaaa]", "[5461->-abc]", "[5461-<-", "[16384->-"}) {
        auto e = parse_error(head + "0-10 " + slot + "\n");
        EXPECT_EQ(e.line, 1u) << slot;
        EXPECT_NE(e.message.find("slot"), std::string::npos) << slot << ": " << e.message;
    }
}

TEST(ClusterNodesTest, BadIds) {
    const std::string rest = " 127.0.0.1:7000@17000 master - 0 0 1 connected\n";
    EXPECT_NE(parse_error(id('a') + "a" + rest).message.find("node id"), std::string::npos);
    EXPECT_NE(parse_error(id('a').substr(1) + rest).message.find("node id"), std::string::npos);
    EXPECT_NE(parse_error(std::string(40, 'A') + rest).message.find("node id"), std::string::npos);
    EXPECT_NE(parse_error(std::string(40, 'g') + rest).message.find("node id"), std::string::npos);
    // Master id: "-" or a node id.
    EXPECT_NE(
        parse_error(id('a') + " 127.0.0.1:7000@17000 slave " + id('b') + "0 0 0 1 connected\n")
            .message.find("master id"),
        std::string::npos);
    EXPECT_NE(parse_error(id('a') + " 127.0.0.1:7000@17000 slave x 0 0 1 connected\n")
                  .message.find("master id"),
              std::string::npos);
}

TEST(ClusterNodesTest, BadFields) {
    const std::string a = id('a');
    for (const std::string& line : {
             a + " 127.0.0.1:7000 master - 0 0 1 connected",               // no @cport (pre-4.0)
             a + " 127.0.0.1@17000 master - 0 0 1 connected",              // no port
             a + " 127.0.0.1:70000@17000 master - 0 0 1 connected",        // port range
             a + " 127.0.0.1:7000@x master - 0 0 1 connected",             // cport
             a + " 127.0.0.1:7000@17000 master,,slave - 0 0 1 connected",  // empty flag
             a + " 127.0.0.1:7000@17000 master - -1 0 1 connected",        // ping
             a + " 127.0.0.1:7000@17000 master - 0 x 1 connected",         // pong
             a + " 127.0.0.1:7000@17000 master - 0 0 -1 connected",        // epoch
             a + " 127.0.0.1:7000@17000 master - 0 0 1 linked",            // link state
         }) {
        const auto e = parse_error(line + "\n");
        EXPECT_EQ(e.line, 1u) << line;
        EXPECT_FALSE(e.message.empty());
    }
}

TEST(ClusterNodesTest, DuplicateIdsAndTwoMyselfLinesAreErrors) {
    const std::string a = id('a') + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected\n";
    const std::string b = id('b') + " 127.0.0.1:7001@17001 master - 0 0 1 connected\n";
    auto e = parse_error(a + b + b);
    EXPECT_EQ(e.line, 3u);
    EXPECT_NE(e.message.find("twice"), std::string::npos);
    e = parse_error(a + id('c') + " 127.0.0.1:7002@17002 myself,slave - 0 0 1 connected\n");
    EXPECT_EQ(e.line, 2u);
    EXPECT_NE(e.message.find("myself"), std::string::npos);
}

TEST(ClusterNodesTest, HostileInputs) {
    // A very long junk token: rejected, and the message stays short.
    const std::string head = id('a') + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected ";
    auto e = parse_error(head + std::string(1 << 20, '9') + "\n");
    EXPECT_LT(e.message.size(), 300u);

    // Many valid fields: every slot listed singly (what a fragmented master looks like).
    std::string many = head;
    for (int s = 0; s < 16384; ++s) {
        many += std::to_string(s) + " ";
    }
    const auto nodes = parse_ok(many);
    ASSERT_EQ(nodes.size(), 1u);
    EXPECT_EQ(nodes[0].slots.size(), 16384u);
    EXPECT_EQ(count_slots(nodes[0].slots), 16384u);

    // Binary junk, NUL bytes and a lone '['.
    constexpr char kBinary[] = "\0\xff\x01 x y z w v u t\n";
    parse_error(std::string(kBinary, sizeof kBinary - 1));
    parse_error(head + "[");
    parse_error(head + "[]");
    parse_error(":::::::: :::::::: ::: :: : : : :");
}

}  // namespace
}  // namespace picket::cluster
