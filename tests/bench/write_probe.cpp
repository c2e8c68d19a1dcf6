// write_probe: measures the write gap a client sees across a failover.
//
//   write_probe --seeds 127.0.0.1:7000[,...] --key K              (Redis Cluster)
//   write_probe --sentinels 127.0.0.1:26379[,...] --master-name M --key K   (Sentinel)
//       [--interval-ms 10] [--command-timeout-ms 100] [--max-seconds 120]
//
// On one persistent connection to the key's current owner it sends `SET K <n>` every
// --interval-ms (one write at a time, so acknowledgements are ordered) and records the
// monotonic time of every acknowledgement. After the first acknowledgement it prints
// {"event":"ready",...} on stdout. SIGUSR1 marks the fault time (read from CLOCK_MONOTONIC
// and CLOCK_REALTIME inside the handler, so the mark is not delayed by the event loop): the
// bench driver sends it right before it kills or stops the master.
//
// After the mark the probe waits for the first failed write (error, redirect loop or
// timeout) and then for the next acknowledged one, prints one JSON result line and exits 0.
// The write gap is the longest interval between consecutive acknowledgements from the last
// one before the mark to that first one after the outage (a write acknowledged between the
// mark and the kill does not shorten it). No acknowledgement within --max-seconds after the
// mark: the result has "gap_ms": null and the exit status is 1.
//
// Following the owner: a `-MOVED slot host:port` reply is followed at once. After a failed
// write the probe asks every known node for CLUSTER NODES and takes, for the key's slot, the
// master claim with the highest configEpoch (a freshly promoted replica claims a higher epoch
// at once, before gossip reaches the rest), learning new nodes from the replies. With
// --sentinels it asks each Sentinel `SENTINEL get-master-addr-by-name` and prefers an answer
// other than the owner that just failed. A `-READONLY` or `-CLUSTERDOWN` reply is a failed
// write. Nodes that failed are asked last, and only when no other node answered (a stopped node
// would cost a whole timeout per lookup).
//
// A benchmark tool, not part of picketd: built only with PICKET_BUILD_IO.

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "picket/cluster/cluster_nodes.h"
#include "picket/resp/client.h"

namespace {

namespace asio = boost::asio;
using asio::awaitable;
using picket::resp::Client;
using picket::resp::ClientOptions;
using picket::resp::Command;
using picket::resp::Reply;

/// Fault mark, written by the SIGUSR1 handler (0: not marked yet). Nanoseconds.
std::atomic<std::int64_t> g_fault_mono_ns{0};
std::atomic<std::int64_t> g_fault_unix_ns{0};
static_assert(std::atomic<std::int64_t>::is_always_lock_free);

std::int64_t read_clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);  // async-signal-safe (POSIX.1-2008)
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

extern "C" void on_fault_signal(int) {
    if (g_fault_mono_ns.load() == 0) {
        g_fault_unix_ns.store(read_clock_ns(CLOCK_REALTIME));
        g_fault_mono_ns.store(read_clock_ns(CLOCK_MONOTONIC));
    }
}

/// "[12345.678] " (monotonic ms) for --verbose lines.
std::string now_tag() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "[%.3f] ",
                  static_cast<double>(read_clock_ns(CLOCK_MONOTONIC)) / 1e6);
    return buf;
}

double ms(std::int64_t ns) {
    return static_cast<double>(ns) / 1e6;
}

struct Options {
    std::vector<std::string> seeds;
    std::vector<std::string> sentinels;
    std::string master_name;
    std::string key = "picket:bench:probe";
    int interval_ms = 10;
    int command_timeout_ms = 100;
    int max_seconds = 120;
    bool verbose = false;
};

struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
};

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return std::nullopt;
    unsigned port = 0;
    const auto digits = text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535) {
        return std::nullopt;
    }
    return Endpoint{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        out.emplace_back(text.substr(0, comma));
        if (comma == std::string_view::npos)
            break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << "write_probe: " << message
              << "\nusage: write_probe (--seeds H:P[,H:P...] | --sentinels H:P[,...] "
                 "--master-name NAME) [--key K] [--interval-ms 10] [--command-timeout-ms 100] "
                 "[--max-seconds 120] [--verbose 0|1]\n";
    std::exit(2);
}

int parse_int(std::string_view flag, std::string_view value, int lo, int hi) {
    int v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || end != value.data() + value.size() || v < lo || v > hi) {
        usage_error(std::string(flag) + ": expected an integer in " + std::to_string(lo) + ".." +
                    std::to_string(hi) + ", got '" + std::string(value) + "'");
    }
    return v;
}

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc)
            usage_error(std::string(flag) + " needs a value");
        const std::string_view value = argv[++i];
        if (flag == "--seeds") {
            o.seeds = split_list(value);
        } else if (flag == "--sentinels") {
            o.sentinels = split_list(value);
        } else if (flag == "--master-name") {
            o.master_name = value;
        } else if (flag == "--key") {
            o.key = value;
        } else if (flag == "--interval-ms") {
            o.interval_ms = parse_int(flag, value, 1, 10000);
        } else if (flag == "--command-timeout-ms") {
            o.command_timeout_ms = parse_int(flag, value, 1, 60000);
        } else if (flag == "--verbose") {
            o.verbose = parse_int(flag, value, 0, 1) == 1;
        } else if (flag == "--max-seconds") {
            o.max_seconds = parse_int(flag, value, 1, 3600);
        } else {
            usage_error("unknown flag " + std::string(flag));
        }
    }
    if (o.seeds.empty() == o.sentinels.empty())
        usage_error("give --seeds or --sentinels");
    if (!o.sentinels.empty() && o.master_name.empty())
        usage_error("--sentinels needs --master-name");
    if (o.key.empty())
        usage_error("--key must not be empty");
    for (const auto& e : o.seeds.empty() ? o.sentinels : o.seeds) {
        if (!parse_endpoint(e))
            usage_error("not host:port: '" + e + "'");
    }
    return o;
}

// Commands are built outside coroutine bodies (GCC 12 rejects braced initializer lists of
// string_views inside them).
Command set_command(const std::string& key, std::uint64_t n) {
    return Command{"SET", key, std::to_string(n)};
}
Command keyslot_command(const std::string& key) {
    return Command{"CLUSTER", "KEYSLOT", key};
}
Command cluster_nodes_command() {
    return Command{"CLUSTER", "NODES"};
}
Command sentinel_master_command(const std::string& name) {
    return Command{"SENTINEL", "get-master-addr-by-name", name};
}

/// One acknowledged write.
struct Ack {
    std::int64_t mono_ns;
    std::int64_t unix_ns;
};

class Probe {
  public:
    Probe(asio::io_context& io, Options options) : io_(io), opt_(std::move(options)) {
        for (const auto& e : opt_.seeds.empty() ? opt_.sentinels : opt_.seeds)
            known_.push_back(e);
    }

    int exit_code() const { return exit_code_; }

    awaitable<void> run() {
        const auto interval = std::chrono::milliseconds(opt_.interval_ms);
        const auto start = std::chrono::steady_clock::now();
        const auto ready_limit = start + std::chrono::seconds(opt_.max_seconds);
        if (cluster_mode())
            co_await find_slot();
        co_await resolve_owner();
        asio::steady_timer timer(io_);
        auto next = std::chrono::steady_clock::now();
        std::optional<std::chrono::steady_clock::time_point> deadline;
        for (;;) {
            next += interval;
            const auto now = std::chrono::steady_clock::now();
            if (next < now)
                next = now;
            timer.expires_at(next);
            co_await timer.async_wait(asio::use_awaitable);

            const std::int64_t fault = g_fault_mono_ns.load();
            if (fault != 0 && !deadline) {
                deadline =
                    std::chrono::steady_clock::now() + std::chrono::seconds(opt_.max_seconds);
            }
            const bool ok = co_await write_once();
            if (ok) {
                acks_.push_back({read_clock_ns(CLOCK_MONOTONIC), read_clock_ns(CLOCK_REALTIME)});
                if (acks_.size() == 1) {
                    std::cout << "{\"event\":\"ready\",\"owner\":\"" << owner_ << "\"}"
                              << std::endl;
                }
                if (fault != 0 && failed_after_fault_) {
                    report(fault);
                    co_return;
                }
            } else {
                ++failures_;
                if (fault != 0 && !failed_after_fault_) {
                    failed_after_fault_ = true;
                    old_owner_ = last_failed_owner_;
                }
            }
            const auto t = std::chrono::steady_clock::now();
            if ((deadline && t > *deadline) || (acks_.empty() && t > ready_limit)) {
                report_timeout(fault);
                co_return;
            }
        }
    }

  private:
    bool cluster_mode() const { return opt_.sentinels.empty(); }

    Client& client(const std::string& endpoint) {
        auto it = clients_.find(endpoint);
        if (it == clients_.end()) {
            const auto ep = parse_endpoint(endpoint);
            ClientOptions co;
            co.host = ep->host;
            co.port = ep->port;
            co.client_name = "picket-write-probe";
            co.connect_timeout = std::chrono::milliseconds(opt_.command_timeout_ms);
            co.command_timeout = std::chrono::milliseconds(opt_.command_timeout_ms);
            // Reconnect on every attempt: a backoff would add to the gap being measured.
            co.reconnect_initial = std::chrono::milliseconds(1);
            co.reconnect_max = std::chrono::milliseconds(1);
            it = clients_.emplace(endpoint, std::make_unique<Client>(io_.get_executor(), co)).first;
        }
        return *it->second;
    }

    void learn(const std::string& endpoint) {
        if (std::find(known_.begin(), known_.end(), endpoint) == known_.end()) {
            known_.push_back(endpoint);
        }
    }

    /// Known nodes, those that failed recently last.
    std::vector<std::string> ask_order() const {
        std::vector<std::string> order;
        for (const auto& e : known_) {
            if (!failed_recently_.count(e))
                order.push_back(e);
        }
        for (const auto& e : known_) {
            if (failed_recently_.count(e))
                order.push_back(e);
        }
        return order;
    }

    awaitable<void> find_slot() {
        for (int round = 0; round < 50 && !slot_; ++round) {
            for (const auto& e : known_) {
                auto r = co_await client(e).exec(keyslot_command(opt_.key));
                if (r && r->type == picket::resp::ReplyType::kInteger) {
                    slot_ = static_cast<std::uint16_t>(r->integer);
                    co_return;
                }
            }
            asio::steady_timer t(io_, std::chrono::milliseconds(100));
            co_await t.async_wait(asio::use_awaitable);
        }
        std::cerr << "write_probe: CLUSTER KEYSLOT answered by no seed\n";
        std::exit(1);
    }

    /// Sets owner_ to the best current answer; leaves it unchanged when nobody answers.
    awaitable<void> resolve_owner() {
        ++lookups_;
        if (!cluster_mode()) {
            std::string other;
            for (const auto& s : opt_.sentinels) {
                auto r = co_await client(s).exec(sentinel_master_command(opt_.master_name));
                if (!r || !r->is_array() || r->elements.size() != 2)
                    continue;
                const std::string ep = r->elements[0].str + ":" + r->elements[1].str;
                if (owner_.empty())
                    owner_ = ep;
                if (ep != last_failed_owner_)
                    other = ep;
            }
            if (!other.empty())
                owner_ = other;
            co_return;
        }
        std::uint64_t best_epoch = 0;
        std::string best;
        for (const auto& e : ask_order()) {
            // A node that failed lately is asked only when no other answered: a stopped
            // node would cost a whole timeout per lookup.
            if (!best.empty() && failed_recently_.count(e))
                break;
            auto r = co_await client(e).exec(cluster_nodes_command());
            if (!r || !r->is_text()) {
                if (opt_.verbose) {
                    std::cerr << now_tag() << "lookup at " << e << ": "
                              << (r ? r->debug_string(80) : r.error().message) << "\n";
                }
                failed_recently_.insert(e);
                continue;
            }
            failed_recently_.erase(e);
            auto nodes = picket::cluster::parse_cluster_nodes(r->str);
            if (!nodes) {
                if (opt_.verbose)
                    std::cerr << now_tag() << "lookup at " << e << ": unparsable CLUSTER NODES\n";
                continue;
            }
            for (const auto& n : *nodes) {
                if (n.address.port == 0 || n.flags.noaddr || n.flags.handshake)
                    continue;
                const auto ep = n.address.endpoint();
                learn(ep);
                if (!n.is_master())
                    continue;
                for (const auto& range : n.slots) {
                    if (*slot_ >= range.first && *slot_ <= range.last &&
                        (best.empty() || n.config_epoch > best_epoch)) {
                        best = ep;
                        best_epoch = n.config_epoch;
                    }
                }
            }
        }
        if (!best.empty())
            owner_ = best;
        if (opt_.verbose)
            std::cerr << now_tag() << "lookup: owner " << owner_ << "\n";
    }

    /// One write attempt (following up to 3 MOVED redirects). True when acknowledged.
    awaitable<bool> write_once() {
        if (owner_.empty()) {
            co_await resolve_owner();
            if (owner_.empty())
                co_return false;
        }
        for (int hop = 0; hop < 4; ++hop) {
            const std::string target = owner_;
            auto r = co_await client(target).exec(set_command(opt_.key, ++sequence_));
            if (r && r->is_text() && r->str == "OK") {
                failed_recently_.erase(target);
                co_return true;
            }
            if (r && r->is_error() && r->error_code() == "MOVED") {
                // "MOVED <slot> <host:port>"
                const auto space = r->str.rfind(' ');
                const std::string ep = r->str.substr(space + 1);
                if (space != std::string::npos && parse_endpoint(ep)) {
                    ++redirects_;
                    learn(ep);
                    owner_ = ep;
                    continue;
                }
            }
            last_error_ = r ? r->debug_string(120) : r.error().message;
            if (opt_.verbose)
                std::cerr << now_tag() << "write to " << target << ": " << last_error_ << "\n";
            last_failed_owner_ = target;
            failed_recently_.insert(target);
            co_await resolve_owner();
            co_return false;
        }
        last_error_ = "too many MOVED redirects";
        last_failed_owner_ = owner_;
        co_await resolve_owner();
        co_return false;
    }

    /// Index of the last acknowledgement at or before `fault` (acks_ is ordered).
    std::optional<std::size_t> last_before(std::int64_t fault) const {
        std::optional<std::size_t> idx;
        for (std::size_t i = 0; i < acks_.size() && acks_[i].mono_ns <= fault; ++i)
            idx = i;
        return idx;
    }

    void common_fields(std::ostringstream& out, std::int64_t fault) const {
        out << "\"fault_mono_ms\":" << ms(fault)
            << ",\"fault_unix_ms\":" << ms(g_fault_unix_ns.load()) << ",\"old_owner\":\""
            << old_owner_ << "\",\"new_owner\":\"" << owner_ << "\",\"acks\":" << acks_.size()
            << ",\"failures\":" << failures_ << ",\"redirects\":" << redirects_
            << ",\"lookups\":" << lookups_ << ",\"interval_ms\":" << opt_.interval_ms;
        std::string err;
        for (char c : last_error_) {
            if (c == '"' || c == '\\')
                err += '\\';
            if (static_cast<unsigned char>(c) >= 0x20)
                err += c;
        }
        out << ",\"last_error\":\"" << err << "\"";
    }

    void report(std::int64_t fault) {
        const auto before = last_before(fault);
        std::ostringstream out;
        out.setf(std::ios::fixed);
        out.precision(3);
        out << "{\"event\":\"result\",";
        if (!before) {
            out << "\"gap_ms\":null,\"error\":\"no acknowledged write before the fault mark\",";
            exit_code_ = 1;
        } else {
            std::int64_t gap = 0;
            for (std::size_t i = *before + 1; i < acks_.size(); ++i) {
                gap = std::max(gap, acks_[i].mono_ns - acks_[i - 1].mono_ns);
            }
            const Ack& last = acks_[*before];
            const Ack& first = acks_.back();
            out << "\"gap_ms\":" << ms(gap) << ",\"last_ack_before_mono_ms\":" << ms(last.mono_ns)
                << ",\"first_ack_after_mono_ms\":" << ms(first.mono_ns)
                << ",\"last_ack_before_unix_ms\":" << ms(last.unix_ns)
                << ",\"first_ack_after_unix_ms\":" << ms(first.unix_ns)
                << ",\"fault_to_first_ack_ms\":" << ms(first.mono_ns - fault) << ",";
        }
        common_fields(out, fault);
        out << "}";
        std::cout << out.str() << std::endl;
    }

    void report_timeout(std::int64_t fault) {
        std::ostringstream out;
        out.setf(std::ios::fixed);
        out.precision(3);
        out << "{\"event\":\"result\",\"gap_ms\":null,\"error\":\""
            << (acks_.empty() ? "no write was ever acknowledged"
                : fault == 0  ? "no fault mark"
                              : "no acknowledged write after the fault within --max-seconds")
            << "\",";
        common_fields(out, fault);
        out << "}";
        std::cout << out.str() << std::endl;
        exit_code_ = 1;
    }

    asio::io_context& io_;
    Options opt_;
    std::vector<std::string> known_;
    std::map<std::string, std::unique_ptr<Client>> clients_;
    struct EndpointSet {
        std::vector<std::string> items;
        std::size_t count(const std::string& e) const {
            return static_cast<std::size_t>(std::count(items.begin(), items.end(), e));
        }
        void insert(const std::string& e) {
            if (!count(e))
                items.push_back(e);
        }
        void erase(const std::string& e) { std::erase(items, e); }
    } failed_recently_;
    std::optional<std::uint16_t> slot_;
    std::string owner_;
    std::string old_owner_;
    std::string last_failed_owner_;
    std::string last_error_;
    std::vector<Ack> acks_;
    std::uint64_t sequence_ = 0;
    std::uint64_t failures_ = 0;
    std::uint64_t redirects_ = 0;
    std::uint64_t lookups_ = 0;
    bool failed_after_fault_ = false;
    int exit_code_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    Options options = parse_args(argc, argv);
    struct sigaction sa {};
    sa.sa_handler = on_fault_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    asio::io_context io;
    Probe probe(io, std::move(options));
    // The clients' read loops keep the io_context busy: stop it when the probe is done.
    asio::co_spawn(io, probe.run(), [&io](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
        io.stop();
    });
    io.run();
    return probe.exit_code();
}
