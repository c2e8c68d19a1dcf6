#pragma once
// Test helpers for lib/consensus (ScyllaDB test/raft/helpers.hh style): a handful of
// watchers on an in-memory network with cut links, a "disk" per watcher that holds what
// each Output persisted, delivery until quiet, and the Invariants checker after every
// step. Time only moves when a test says so.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "picket/consensus/consensus.h"
#include "picket/consensus/invariants.h"

namespace picket::consensus::testing {

using namespace std::chrono_literals;

/// A message in flight.
struct InFlight {
    WatcherId from;
    WatcherId to;
    proto::Message message;
};

/// What one watcher produced that tests look at.
struct Seen {
    WatcherId who;
    Event event;
};

class Net {
  public:
    explicit Net(std::size_t n, std::size_t quorum = 0) {
        for (std::size_t i = 1; i <= n; ++i) {
            ids.push_back("w" + std::to_string(i));
        }
        base.voters = ids;
        base.quorum = quorum;
        for (const auto& id : ids) {
            disk[id] = PersistentState{};
            start(id);
        }
    }

    Config config_of(const WatcherId& id) const {
        Config c = base;
        c.self = id;
        return c;
    }

    /// (Re)starts a watcher from its disk.
    void start(const WatcherId& id) {
        nodes[id] = std::make_unique<Consensus>(config_of(id), disk[id], seed++, now);
        drain(id);
    }

    Consensus& at(const WatcherId& id) { return *nodes.at(id); }

    /// Takes a watcher's output: persists first (and checks the ordering rule holds by
    /// construction: a message is only queued after its output's state is on disk).
    void drain(const WatcherId& id) {
        Output out = nodes.at(id)->get_output();
        if (out.persist) {
            disk[id] = *out.persist;
            ++persists[id];
        }
        for (auto& m : out.messages) {
            if (!cut.contains({id, m.to})) {
                queue.push_back(InFlight{id, m.to, std::move(m.message)});
            }
        }
        for (auto& a : out.actions) {
            actions.push_back({id, std::move(a)});
        }
        for (auto& e : out.events) {
            events.push_back(Seen{id, std::move(e)});
        }
        check(id);
    }

    void check(const WatcherId& id) {
        auto bad = invariants[id].check(*nodes.at(id), now);
        for (const auto& b : bad) {
            ADD_FAILURE() << b;
        }
    }

    /// Delivers queued messages (and everything they cause) until nothing is in flight.
    void deliver_until_quiet(std::size_t max_messages = 100000) {
        for (const auto& id : ids) {
            drain(id);
        }
        std::size_t n = 0;
        while (!queue.empty()) {
            ASSERT_LT(++n, max_messages) << "network never went quiet";
            InFlight m = std::move(queue.front());
            queue.pop_front();
            if (cut.contains({m.from, m.to}) || !nodes.contains(m.to)) {
                continue;
            }
            nodes.at(m.to)->step(m.from, m.message, now);
            drain(m.to);
        }
    }

    /// Gives `id` an opinion, as its detector would; SDOWN opinions are repeated on every
    /// step of advance() (the detector's refresh contract) unless `refresh` is false.
    void opine(const WatcherId& id, const proto::Opinion& o, bool refresh = true) {
        if (o.sdown && refresh) {
            detector[id][o.node] = o;
        } else {
            detector[id].erase(o.node);
        }
        nodes.at(id)->set_opinion(o, now);
        drain(id);
    }

    /// Moves time forward in steps, ticking everyone and delivering until quiet.
    void advance(Duration d, Duration step = 10ms) {
        const TimePoint end = now + d;
        while (now < end) {
            now += step;
            for (const auto& id : ids) {
                for (const auto& [node, o] : detector[id]) {
                    nodes.at(id)->set_opinion(o, now);
                }
                nodes.at(id)->tick(now);
                drain(id);
            }
            deliver_until_quiet();
        }
    }

    /// Lets `id` time out first and win: everyone else's timers are far away.
    void elect(const WatcherId& id) {
        now += base.election_timeout_max + 1ms;  // past everyone's withholding period
        nodes.at(id)->tick(now);
        drain(id);
        deliver_until_quiet();
        ASSERT_TRUE(at(id).is_leader()) << id << " is " << to_string(at(id).role());
    }

    void isolate(const WatcherId& id) {
        for (const auto& other : ids) {
            if (other != id) {
                cut.insert({id, other});
                cut.insert({other, id});
            }
        }
    }
    void heal() { cut.clear(); }

    std::size_t count_events(Event::Kind k, const WatcherId& who = {}) const {
        std::size_t n = 0;
        for (const auto& s : events) {
            n += s.event.kind == k && (who.empty() || s.who == who);
        }
        return n;
    }

    Config base;
    std::vector<WatcherId> ids;
    std::map<WatcherId, std::unique_ptr<Consensus>> nodes;
    std::map<WatcherId, Invariants> invariants;
    std::map<WatcherId, PersistentState> disk;
    std::map<WatcherId, int> persists;
    std::map<WatcherId, std::map<std::string, proto::Opinion>> detector;
    std::set<std::pair<WatcherId, WatcherId>> cut;
    std::deque<InFlight> queue;
    std::vector<std::pair<WatcherId, Action>> actions;
    std::vector<Seen> events;
    TimePoint now = TimePoint(std::chrono::seconds(100));
    std::uint64_t seed = 1;
};

inline proto::Opinion sdown(std::string node, bool down = true,
                            proto::Evidence e = proto::Evidence::kDead) {
    proto::Opinion o;
    o.node = std::move(node);
    o.sdown = down;
    o.evidence = down ? e : proto::Evidence::kNone;
    o.down_for = down ? 1200ms : Duration{};
    return o;
}

inline FailoverRecord record_for(std::string master, std::string replica = "r1") {
    FailoverRecord r;
    r.key = RecordKey{"s1", std::move(master), 7};
    r.replica = std::move(replica);
    return r;
}

}  // namespace picket::consensus::testing
