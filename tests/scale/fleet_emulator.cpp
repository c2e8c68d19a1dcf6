// fleet_emulator: one process that answers on N loopback ports as the N nodes of one Redis
// Cluster (N/2 masters with one replica each), so that one picketd can be measured watching
// hundreds of nodes without hundreds of redis-server processes (issue #8, "Scale and cost").
//
//   fleet_emulator --nodes N --ports-file FILE [--base-port P] [--node-timeout-ms MS]
//
// Each node answers what picketd and a person send: PING, AUTH, CLIENT SETNAME, INFO
// (server, replication, persistence, cluster), CLUSTER NODES / INFO / MYID / SHARDS,
// CONFIG GET (cluster-node-timeout and a few others), ROLE, QUIT. The answers are
// consistent across nodes: node 2s is the master of shard s, node 2s+1 its replica; the
// 16384 slots are split evenly over the masters; node ids are stable 40-hex strings; the
// master of shard s has config epoch s+1; replication offsets advance with time.
//
// Failures are driven through a line-based control port (its port is the first line of
// the ports file):
//   refuse K   node K behaves like a killed process: its listener and connections close,
//              new connections are refused; its replica reports master_link_status:down
//   hang K     node K behaves like a SIGSTOPped process: connections are accepted but
//              nothing is answered (requests are kept and answered on recover)
//   recover K  node K is back (listener re-opened on the same port)
//   stats      connections and commands served so far
// Every command is answered with one line starting with "OK" or "ERR".
//
// The other emulated nodes flag a node that is down in CLUSTER NODES as "fail?" after
// node-timeout and "fail" after twice that, as a real cluster would.
//
// The ports file is written (atomically, by rename) once every listener is bound:
//   control <port>
//   <index> <port> <node id> <master|replica>      one line per node
//
// Single-threaded Boost.Asio; SIGINT/SIGTERM stop it.

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr int kSlots = 16384;
constexpr std::size_t kMaxBuffered = 1u << 20;   // per connection, unanswered request bytes
constexpr std::int64_t kBytesPerSecond = 10000;  // emulated write traffic per master

std::string hex_id(std::uint64_t seed) {
    // splitmix64: stable, well-spread ids; 40 hex digits like a Redis node id.
    std::string out;
    std::uint64_t x = seed * 4 * 0x9E3779B97F4A7C15ull;  // 3 outputs per id: no overlap
    while (out.size() < 40) {
        x += 0x9E3779B97F4A7C15ull;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(z));
        out += buf;
    }
    out.resize(40);
    return out;
}

std::string bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string integer(std::int64_t v) {
    return ":" + std::to_string(v) + "\r\n";
}
std::string array_header(std::size_t n) {
    return "*" + std::to_string(n) + "\r\n";
}
std::string lower(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

enum class Mode { kUp, kRefuse, kHang };

class Session;
class Fleet;

/// One emulated Redis node: its listener, its open connections and its failure mode.
struct Node {
    int index = 0;
    std::uint16_t port = 0;
    std::string id;
    bool master = false;
    int shard = 0;
    int slot_first = 0, slot_last = -1;  // masters only
    Mode mode = Mode::kUp;
    Clock::time_point down_since{};
    std::int64_t frozen_offset = -1;  // offset when it stopped (refuse/hang), -1 = running
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unordered_set<std::shared_ptr<Session>> sessions;
};

/// One client connection to one node. Owned by its node's session set.
class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket socket, Node& node, Fleet& fleet)
        : socket_(std::move(socket)), node_(node), fleet_(fleet) {}
    void start() { read(); }
    void close() {
        boost::system::error_code ec;
        socket_.close(ec);
    }
    /// Answers what was buffered while the node hung.
    void resume() { process(); }

  private:
    void read();
    void process();
    void write(std::string data);
    void flush();
    void finish();

    tcp::socket socket_;
    Node& node_;
    Fleet& fleet_;
    std::array<char, 16384> buf_{};
    std::string in_;
    std::string out_;      // replies waiting for the write in flight
    std::string writing_;  // the write in flight
    bool write_in_flight_ = false;
    bool reading_ = false;
    bool closing_ = false;  // QUIT or a protocol error: close after the write
};

/// The whole emulated cluster: nodes, the answers they give, the control port.
class Fleet {
  public:
    Fleet(asio::io_context& io, int n, std::uint16_t base_port, std::chrono::milliseconds nt)
        : io_(io), control_(io), node_timeout_(nt), start_(Clock::now()) {
        nodes_.resize(static_cast<std::size_t>(n));
        const int masters = n / 2;
        for (int i = 0; i < n; ++i) {
            auto& node = nodes_[static_cast<std::size_t>(i)];
            node.index = i;
            node.shard = i / 2;
            node.master = i % 2 == 0 && node.shard < masters;
            node.id = hex_id(static_cast<std::uint64_t>(i));
            if (node.master) {
                node.slot_first = node.shard * kSlots / masters;
                node.slot_last = (node.shard + 1) * kSlots / masters - 1;
            }
            if (base_port != 0) {
                node.port = static_cast<std::uint16_t>(base_port + i);
            }
            open(node);
        }
        control_.open(tcp::v4());
        control_.set_option(tcp::acceptor::reuse_address(true));
        control_.bind({asio::ip::make_address("127.0.0.1"), 0});
        control_.listen();
        accept_control();
    }

    void write_ports_file(const std::string& path) const {
        const std::string tmp = path + ".tmp";
        {
            std::ofstream f(tmp);
            f << "control " << control_.local_endpoint().port() << "\n";
            for (const auto& n : nodes_) {
                f << n.index << " " << n.port << " " << n.id << " "
                  << (n.master ? "master" : "replica") << "\n";
            }
        }
        if (std::rename(tmp.c_str(), path.c_str()) != 0) {
            throw std::runtime_error("cannot write " + path);
        }
    }

    void count_command() { ++commands_; }

    /// The reply to one command (argv non-empty) sent to `node`.
    std::string answer(Node& node, const std::vector<std::string>& argv, bool& close_after) {
        const std::string cmd = lower(argv[0]);
        const std::string sub = argv.size() > 1 ? lower(argv[1]) : std::string();
        if (cmd == "ping") {
            return argv.size() > 1 ? bulk(argv[1]) : "+PONG\r\n";
        }
        if (cmd == "auth" || cmd == "select" || cmd == "readonly" || cmd == "readwrite") {
            return "+OK\r\n";
        }
        if (cmd == "client") {
            if (sub == "setname" || sub == "setinfo" || sub == "reply") {
                return "+OK\r\n";
            }
            if (sub == "getname" || sub == "id") {
                return sub == "id" ? integer(node.index) : "$-1\r\n";
            }
            return "-ERR unknown subcommand '" + sub + "'\r\n";
        }
        if (cmd == "quit") {
            close_after = true;
            return "+OK\r\n";
        }
        if (cmd == "info") {
            return bulk(info(node, argv));
        }
        if (cmd == "role") {
            return role(node);
        }
        if (cmd == "config" && sub == "get" && argv.size() >= 3) {
            return config_get(argv);
        }
        if (cmd == "cluster") {
            if (sub == "nodes") {
                return bulk(cluster_nodes(node));
            }
            if (sub == "info") {
                return bulk(cluster_info(node));
            }
            if (sub == "myid") {
                return bulk(node.id);
            }
            if (sub == "shards") {
                return cluster_shards();
            }
            return "-ERR unknown subcommand '" + sub + "'. Try CLUSTER HELP.\r\n";
        }
        return "-ERR unknown command '" + argv[0] + "'\r\n";
    }

  private:
    friend class Session;

    void open(Node& node) {
        node.acceptor = std::make_unique<tcp::acceptor>(io_);
        node.acceptor->open(tcp::v4());
        node.acceptor->set_option(tcp::acceptor::reuse_address(true));
        node.acceptor->bind({asio::ip::make_address("127.0.0.1"), node.port});
        node.acceptor->listen(512);
        node.port = node.acceptor->local_endpoint().port();
        accept(node);
    }

    void accept(Node& node) {
        auto* acc = node.acceptor.get();
        acc->async_accept([this, &node, acc](boost::system::error_code ec, tcp::socket s) {
            if (ec || node.acceptor.get() != acc) {
                return;  // closed (refuse) — a new acceptor has its own loop
            }
            s.set_option(tcp::no_delay(true));
            auto session = std::make_shared<Session>(std::move(s), node, *this);
            node.sessions.insert(session);
            ++connections_;
            session->start();
            accept(node);
        });
    }

    std::int64_t now_offset(const Node& master) const {
        if (master.frozen_offset >= 0) {
            return master.frozen_offset;
        }
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
        return 1 + (master.shard + 1) * 1000 + ms * kBytesPerSecond / 1000;
    }
    Node& master_of(const Node& n) { return nodes_[static_cast<std::size_t>(n.shard * 2)]; }
    Node* replica_of(const Node& m) {
        const auto i = static_cast<std::size_t>(m.index + 1);
        return i < nodes_.size() ? &nodes_[i] : nullptr;
    }
    std::int64_t replica_offset(Node& r) {
        // A replica trails its master by ~50 ms of traffic while the link is up.
        auto& m = master_of(r);
        const auto mo = now_offset(m);
        if (r.frozen_offset >= 0) {
            return r.frozen_offset;
        }
        return m.mode == Mode::kRefuse ? mo : std::max<std::int64_t>(1, mo - kBytesPerSecond / 20);
    }
    std::string replid(const Node& master) const {
        return hex_id(std::uint64_t{0xABCDEF00} + static_cast<std::uint64_t>(master.shard));
    }
    std::int64_t config_epoch(const Node& n) const { return n.shard + 1; }
    std::int64_t current_epoch() const { return static_cast<std::int64_t>(nodes_.size() / 2); }

    std::string info(Node& node, const std::vector<std::string>& argv) {
        std::vector<std::string> want;
        for (std::size_t i = 1; i < argv.size(); ++i) {
            want.push_back(lower(argv[i]));
        }
        const bool all =
            want.empty() || want[0] == "all" || want[0] == "everything" || want[0] == "default";
        auto wants = [&](std::string_view s) {
            return all || std::find(want.begin(), want.end(), s) != want.end();
        };
        const auto up_s =
            std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start_).count();
        std::string out;
        if (wants("server")) {
            out +=
                "# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\nos:fleet_emulator\r\n";
            out += "process_id:" + std::to_string(100000 + node.index) + "\r\n";
            out += "run_id:" +
                   hex_id(std::uint64_t{0x5000000} + static_cast<std::uint64_t>(node.index)) +
                   "\r\ntcp_port:" + std::to_string(node.port) +
                   "\r\nuptime_in_seconds:" + std::to_string(up_s) + "\r\n\r\n";
        }
        if (wants("persistence")) {
            out += "# Persistence\r\nloading:0\r\nasync_loading:0\r\naof_enabled:0\r\n\r\n";
        }
        if (wants("replication")) {
            out += replication(node);
        }
        if (wants("cluster")) {
            out += "# Cluster\r\ncluster_enabled:1\r\n\r\n";
        }
        return out;
    }

    std::string replication(Node& node) {
        std::string out = "# Replication\r\n";
        if (node.master) {
            auto* r = replica_of(node);
            const bool r_up = r != nullptr && r->mode != Mode::kRefuse;
            const auto off = now_offset(node);
            out += "role:master\r\nconnected_slaves:" + std::to_string(r_up ? 1 : 0) + "\r\n";
            if (r_up) {
                out += "slave0:ip=127.0.0.1,port=" + std::to_string(r->port) +
                       ",state=online,offset=" + std::to_string(replica_offset(*r)) + ",lag=0\r\n";
            }
            out += "master_failover_state:no-failover\r\nmaster_replid:" + replid(node) +
                   "\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
                   "master_repl_offset:" +
                   std::to_string(off) +
                   "\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:1\r\n"
                   "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:1\r\n"
                   "repl_backlog_histlen:" +
                   std::to_string(off) + "\r\n\r\n";
            return out;
        }
        auto& m = master_of(node);
        const bool link_up = m.mode != Mode::kRefuse;
        const auto off = replica_offset(node);
        out += "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:" + std::to_string(m.port) +
               "\r\nmaster_link_status:" + (link_up ? "up" : "down") +
               "\r\nmaster_last_io_seconds_ago:" + (link_up ? "0" : "-1") +
               "\r\nmaster_sync_in_progress:0\r\nslave_read_repl_offset:" + std::to_string(off) +
               "\r\nslave_repl_offset:" + std::to_string(off) + "\r\n";
        if (!link_up) {
            const auto down_s =
                std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - m.down_since)
                    .count();
            out += "master_link_down_since_seconds:" + std::to_string(down_s) + "\r\n";
        }
        out +=
            "slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n"
            "connected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:" +
            replid(m) +
            "\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
            "master_repl_offset:" +
            std::to_string(off) +
            "\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:1\r\n"
            "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:1\r\n"
            "repl_backlog_histlen:" +
            std::to_string(off) + "\r\n\r\n";
        return out;
    }

    std::string role(Node& node) {
        if (node.master) {
            auto* r = replica_of(node);
            std::string out = array_header(3) + bulk("master") + integer(now_offset(node));
            if (r != nullptr && r->mode != Mode::kRefuse) {
                out += array_header(1) + array_header(3) + bulk("127.0.0.1") +
                       bulk(std::to_string(r->port)) + bulk(std::to_string(replica_offset(*r)));
            } else {
                out += array_header(0);
            }
            return out;
        }
        auto& m = master_of(node);
        return array_header(5) + bulk("slave") + bulk("127.0.0.1") + integer(m.port) +
               bulk(m.mode == Mode::kRefuse ? "connect" : "connected") +
               integer(replica_offset(node));
    }

    std::string config_get(const std::vector<std::string>& argv) {
        const std::pair<const char*, std::string> known[] = {
            {"cluster-node-timeout", std::to_string(node_timeout_.count())},
            {"cluster-enabled", "yes"},
            {"cluster-replica-validity-factor", "10"},
            {"cluster-require-full-coverage", "yes"},
            {"repl-timeout", "60"},
            {"appendonly", "no"},
            {"min-replicas-to-write", "0"},
        };
        std::vector<std::pair<std::string, std::string>> hits;
        for (std::size_t i = 2; i < argv.size(); ++i) {
            const auto want = lower(argv[i]);
            for (const auto& [k, v] : known) {
                if (want == k || want == "*") {
                    hits.emplace_back(k, v);
                }
            }
        }
        std::string out = array_header(hits.size() * 2);
        for (const auto& [k, v] : hits) {
            out += bulk(k) + bulk(v);
        }
        return out;
    }

    /// How `self` sees `n`: flags and link state (a down node is fail? then fail).
    std::string flags(const Node& self, const Node& n, bool& connected) const {
        std::string f;
        if (&self == &n) {
            f = "myself,";
        }
        f += n.master ? "master" : "slave";
        connected = true;
        if (&self != &n && n.mode != Mode::kUp) {
            const auto down = Clock::now() - n.down_since;
            connected = n.mode == Mode::kHang;  // a hung node's socket stays open
            if (down >= 2 * node_timeout_) {
                f += ",fail";
            } else if (down >= node_timeout_) {
                f += ",fail?";
            }
        }
        return f;
    }

    std::string cluster_nodes(Node& self) {
        std::string out;
        out.reserve(nodes_.size() * 140);
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        for (const auto& n : nodes_) {
            bool connected = true;
            const auto f = flags(self, n, connected);
            out += n.id;
            out += " 127.0.0.1:" + std::to_string(n.port) + "@" + std::to_string(n.port + 10000) +
                   " " + f + " ";
            out += n.master ? std::string("-") : nodes_[static_cast<std::size_t>(n.shard * 2)].id;
            out += " 0 " + std::to_string(now_ms - 100) + " " + std::to_string(config_epoch(n)) +
                   (connected ? " connected" : " disconnected");
            if (n.master && n.slot_last >= n.slot_first) {
                out += " " + std::to_string(n.slot_first);
                if (n.slot_last > n.slot_first) {
                    out += "-" + std::to_string(n.slot_last);
                }
            }
            out += "\n";
        }
        return out;
    }

    std::string cluster_info(Node& self) {
        int pfail = 0, fail = 0;
        for (const auto& n : nodes_) {
            if (!n.master || &n == &self || n.mode == Mode::kUp) {
                continue;
            }
            bool c = true;
            const auto f = flags(self, n, c);
            const int slots = n.slot_last - n.slot_first + 1;
            if (f.find(",fail?") != std::string::npos) {
                pfail += slots;
            } else if (f.find(",fail") != std::string::npos) {
                fail += slots;
            }
        }
        const int masters = static_cast<int>(nodes_.size() / 2);
        return std::string("cluster_state:") + (fail > 0 ? "fail" : "ok") +
               "\r\ncluster_slots_assigned:" + std::to_string(masters > 0 ? kSlots : 0) +
               "\r\ncluster_slots_ok:" + std::to_string((masters > 0 ? kSlots : 0) - pfail - fail) +
               "\r\ncluster_slots_pfail:" + std::to_string(pfail) +
               "\r\ncluster_slots_fail:" + std::to_string(fail) +
               "\r\ncluster_known_nodes:" + std::to_string(nodes_.size()) +
               "\r\ncluster_size:" + std::to_string(masters) +
               "\r\ncluster_current_epoch:" + std::to_string(current_epoch()) +
               "\r\ncluster_my_epoch:" + std::to_string(config_epoch(self)) +
               "\r\ncluster_stats_messages_sent:" + std::to_string(commands_) +
               "\r\ncluster_stats_messages_received:" + std::to_string(commands_) +
               "\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n";
    }

    std::string node_entry(Node& n) {
        const bool online = n.mode == Mode::kUp;
        const auto off = n.master ? now_offset(n) : replica_offset(n);
        return array_header(14) + bulk("id") + bulk(n.id) + bulk("port") + integer(n.port) +
               bulk("ip") + bulk("127.0.0.1") + bulk("endpoint") + bulk("127.0.0.1") +
               bulk("role") + bulk(n.master ? "master" : "replica") + bulk("replication-offset") +
               integer(off) + bulk("health") + bulk(online ? "online" : "failed");
    }

    std::string cluster_shards() {
        const std::size_t shards = nodes_.size() / 2;
        std::string out = array_header(shards);
        for (std::size_t s = 0; s < shards; ++s) {
            auto& m = nodes_[2 * s];
            out += array_header(4) + bulk("slots") + array_header(2) + integer(m.slot_first) +
                   integer(m.slot_last) + bulk("nodes");
            const bool has_replica = 2 * s + 1 < nodes_.size();
            out += array_header(has_replica ? 2 : 1) + node_entry(m);
            if (has_replica) {
                out += node_entry(nodes_[2 * s + 1]);
            }
        }
        return out;
    }

    // --- control port -------------------------------------------------------------------

    void accept_control() {
        control_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (ec) {
                return;
            }
            auto sock = std::make_shared<tcp::socket>(std::move(s));
            auto buf = std::make_shared<asio::streambuf>();
            read_control(sock, buf);
            accept_control();
        });
    }

    void read_control(std::shared_ptr<tcp::socket> sock, std::shared_ptr<asio::streambuf> buf) {
        asio::async_read_until(
            *sock, *buf, '\n', [this, sock, buf](boost::system::error_code ec, std::size_t) {
                if (ec) {
                    return;
                }
                std::istream is(buf.get());
                std::string line;
                std::getline(is, line);
                auto reply = std::make_shared<std::string>(control(line) + "\n");
                asio::async_write(
                    *sock, asio::buffer(*reply),
                    [this, sock, buf, reply](boost::system::error_code wec, std::size_t) {
                        if (!wec) {
                            read_control(sock, buf);
                        }
                    });
            });
    }

    std::string control(std::string line) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
            line.pop_back();
        }
        std::istringstream is(line);
        std::string verb;
        long k = -1;
        is >> verb >> k;
        if (verb == "stats") {
            std::size_t open = 0;
            for (const auto& n : nodes_) {
                open += n.sessions.size();
            }
            return "OK connections_open=" + std::to_string(open) +
                   " connections_total=" + std::to_string(connections_) +
                   " commands=" + std::to_string(commands_);
        }
        if (k < 0 || static_cast<std::size_t>(k) >= nodes_.size()) {
            return "ERR usage: refuse|hang|recover K (0 <= K < " + std::to_string(nodes_.size()) +
                   ") or stats";
        }
        auto& node = nodes_[static_cast<std::size_t>(k)];
        if (verb == "refuse" || verb == "hang") {
            if (node.mode != Mode::kUp) {
                return "ERR node " + std::to_string(k) + " is not up (recover it first)";
            }
            node.down_since = Clock::now();
            node.frozen_offset = node.master ? now_offset(node) : replica_offset(node);
            if (verb == "refuse") {
                node.mode = Mode::kRefuse;
                boost::system::error_code ec;
                node.acceptor->close(ec);
                node.acceptor.reset();
                auto sessions = std::move(node.sessions);
                node.sessions.clear();
                for (const auto& s : sessions) {
                    s->close();
                }
            } else {
                node.mode = Mode::kHang;
            }
            return "OK " + verb + " " + std::to_string(k) + " port " + std::to_string(node.port);
        }
        if (verb == "recover") {
            const Mode was = node.mode;
            node.mode = Mode::kUp;
            node.frozen_offset = -1;
            if (was == Mode::kRefuse) {
                try {
                    open(node);
                } catch (const std::exception& e) {
                    node.mode = Mode::kRefuse;
                    return std::string("ERR cannot re-open the listener: ") + e.what();
                }
            } else if (was == Mode::kHang) {
                auto sessions = node.sessions;
                for (const auto& s : sessions) {
                    s->resume();
                }
            }
            return "OK recover " + std::to_string(k);
        }
        return "ERR unknown command '" + verb + "'";
    }

    asio::io_context& io_;
    std::vector<Node> nodes_;
    tcp::acceptor control_;
    std::chrono::milliseconds node_timeout_;
    Clock::time_point start_;
    std::uint64_t connections_ = 0;
    std::uint64_t commands_ = 0;
};

/// Parses one command at the front of `in`: a RESP array of bulk strings (what clients
/// send) or an inline command (what a person types into nc). nullopt = need more bytes;
/// an empty argv with `bad` set = a protocol error.
std::optional<std::vector<std::string>> parse_command(std::string& in, std::size_t& pos,
                                                      bool& bad) {
    auto line_end = [&](std::size_t from) { return in.find("\r\n", from); };
    if (pos >= in.size()) {
        return std::nullopt;
    }
    if (in[pos] != '*') {
        const auto eol = in.find('\n', pos);
        if (eol == std::string::npos) {
            return std::nullopt;
        }
        std::string line = in.substr(pos, eol - pos);
        pos = eol + 1;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        std::vector<std::string> argv;
        std::istringstream is(line);
        for (std::string w; is >> w;) {
            argv.push_back(w);
        }
        return argv;  // may be empty: a blank line, ignored
    }
    std::size_t p = pos;
    auto e = line_end(p);
    if (e == std::string::npos) {
        return std::nullopt;
    }
    const long count = std::strtol(in.c_str() + p + 1, nullptr, 10);
    if (count < 0 || count > 1024) {
        bad = true;
        return std::vector<std::string>{};
    }
    p = e + 2;
    std::vector<std::string> argv;
    for (long i = 0; i < count; ++i) {
        if (p >= in.size()) {
            return std::nullopt;
        }
        if (in[p] != '$') {
            bad = true;
            return std::vector<std::string>{};
        }
        e = line_end(p);
        if (e == std::string::npos) {
            return std::nullopt;
        }
        const long len = std::strtol(in.c_str() + p + 1, nullptr, 10);
        if (len < 0 || len > (1 << 20)) {
            bad = true;
            return std::vector<std::string>{};
        }
        p = e + 2;
        const auto ulen = static_cast<std::size_t>(len);
        if (in.size() < p + ulen + 2) {
            return std::nullopt;
        }
        argv.emplace_back(in, p, ulen);
        p += ulen + 2;
    }
    pos = p;
    return argv;
}

void Session::read() {
    if (reading_ || closing_) {
        return;
    }
    if (in_.size() > kMaxBuffered) {
        return;  // a hung node stops reading once its buffer is full, like a full socket
    }
    reading_ = true;
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_),
                            [this, self](boost::system::error_code ec, std::size_t n) {
                                reading_ = false;
                                if (ec) {
                                    finish();
                                    return;
                                }
                                in_.append(buf_.data(), n);
                                process();
                                read();
                            });
}

void Session::process() {
    if (node_.mode != Mode::kUp || closing_) {
        return;
    }
    std::size_t pos = 0;
    std::string replies;
    while (true) {
        bool bad = false;
        auto argv = parse_command(in_, pos, bad);
        if (bad) {
            replies += "-ERR Protocol error\r\n";
            closing_ = true;
            break;
        }
        if (!argv) {
            break;
        }
        if (argv->empty()) {
            continue;
        }
        fleet_.count_command();
        bool close_after = false;
        replies += fleet_.answer(node_, *argv, close_after);
        if (close_after) {
            closing_ = true;
            break;
        }
    }
    in_.erase(0, pos);
    if (!replies.empty()) {
        write(std::move(replies));
    } else if (closing_) {
        finish();
    }
    read();  // a resumed session may have stopped reading on a full buffer
}

void Session::write(std::string data) {
    out_ += data;
    flush();
}

void Session::flush() {
    if (write_in_flight_ || out_.empty()) {
        return;
    }
    write_in_flight_ = true;
    writing_.swap(out_);
    out_.clear();
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(writing_),
                      [this, self](boost::system::error_code ec, std::size_t) {
                          write_in_flight_ = false;
                          writing_.clear();
                          if (ec) {
                              finish();
                              return;
                          }
                          if (!out_.empty()) {
                              flush();
                          } else if (closing_) {
                              finish();
                          }
                      });
}

void Session::finish() {
    close();
    node_.sessions.erase(shared_from_this());
}

void raise_fd_limit(std::size_t want) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_cur < want) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, static_cast<rlim_t>(want));
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        std::cerr << "fleet_emulator: warning: RLIMIT_NOFILE is " << rl.rlim_cur << ", want "
                  << want << " (raise the hard limit)\n";
    }
}

int usage() {
    std::cerr << "usage: fleet_emulator --nodes N --ports-file FILE [--base-port P] "
                 "[--node-timeout-ms MS]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    long n = 0, base = 0, node_timeout = 15000;
    std::string ports_file;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) {
            return usage();
        }
        const std::string v = argv[++i];
        char* end = nullptr;
        const long num = std::strtol(v.c_str(), &end, 10);
        const bool numeric = end != nullptr && *end == '\0' && !v.empty();
        if (a == "--nodes" && numeric) {
            n = num;
        } else if (a == "--base-port" && numeric) {
            base = num;
        } else if (a == "--node-timeout-ms" && numeric) {
            node_timeout = num;
        } else if (a == "--ports-file") {
            ports_file = v;
        } else {
            return usage();
        }
    }
    if (n < 1 || n > 10000 || ports_file.empty() || base < 0 || base + n > 55535 ||
        node_timeout < 1) {
        return usage();
    }
    // Each node: a listener and picketd's connection (plus a person's); some slack.
    raise_fd_limit(static_cast<std::size_t>(n) * 3 + 64);
    try {
        asio::io_context io(1);
        Fleet fleet(io, static_cast<int>(n), static_cast<std::uint16_t>(base),
                    std::chrono::milliseconds(node_timeout));
        fleet.write_ports_file(ports_file);
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
        io.run();
    } catch (const std::exception& e) {
        std::cerr << "fleet_emulator: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
