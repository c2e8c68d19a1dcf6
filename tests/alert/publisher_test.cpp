#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "picket/alert/publisher.h"
#include "picket/alert/signature.h"

namespace picket::alert {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

config::Url url(const std::string& text) {
    auto u = config::parse_url(text);
    EXPECT_TRUE(u) << text;
    return *u;
}

ReceiverSpec receiver(std::string name, std::vector<std::string> events = {},
                      bool send_resolved = true) {
    ReceiverSpec r;
    r.name = std::move(name);
    r.url = url("http://127.0.0.1:9/hook");
    r.secret = "s3cret";
    r.filter = *EventFilter::parse(events);
    r.send_resolved = send_resolved;
    r.queue_size = 16;
    return r;
}

PublisherConfig base_config() {
    PublisherConfig c;
    c.cluster = "prod";
    c.watcher_id = "w1";
    c.external_url = "http://10.0.0.1:7701";
    c.runbook_base_url = "https://runbooks.example/picket";
    return c;
}

Event node_event(EventType t, std::string node = "10.0.0.1:6379") {
    Event e;
    e.type = t;
    e.node = std::move(node);
    e.shard = "shard-a";
    e.detail = "connection refused";
    return e;
}

TimePoint at(Duration d) {
    return TimePoint(d);
}

/// Sends everything due, answers with `status`, returns the bodies per target.
std::vector<OutgoingRequest> drain(Publisher& p, TimePoint now, double wall, unsigned status = 200,
                                   bool leader = true) {
    std::vector<OutgoingRequest> all;
    for (int round = 0; round < 100; ++round) {
        auto reqs = p.tick(now, wall, leader);
        if (reqs.empty()) {
            break;
        }
        for (auto& r : reqs) {
            (void)p.on_result(r.target, r.id, DeliveryResult::http(status), now);
            all.push_back(std::move(r));
        }
    }
    return all;
}

TEST(Publisher, FiringThenResolvedShareFingerprintAndStartsAt) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops"));
    Publisher p(c, [] { return 0.0; });
    p.publish(node_event(EventType::kNodeOdown), at(1s), 1000.0, true);
    p.publish(node_event(EventType::kNodeRecovered), at(2s), 1060.0, true);
    const auto sent = drain(p, at(2s), 1060.0);
    ASSERT_EQ(sent.size(), 2u);
    const auto firing = json::parse(sent[0].body);
    const auto resolved = json::parse(sent[1].body);
    EXPECT_EQ(firing["status"], "firing");
    EXPECT_EQ(resolved["status"], "resolved");
    EXPECT_EQ(firing["alerts"][0]["fingerprint"], resolved["alerts"][0]["fingerprint"]);
    EXPECT_EQ(resolved["alerts"][0]["labels"]["event"], "node_odown");
    EXPECT_EQ(resolved["alerts"][0]["startsAt"], "1970-01-01T00:16:40Z");
    EXPECT_EQ(resolved["alerts"][0]["endsAt"], "1970-01-01T00:17:40Z");
    const auto& labels = firing["alerts"][0]["labels"];
    EXPECT_EQ(labels, (json{{"alertname", "PicketNodeOdown"},
                            {"cluster", "prod"},
                            {"event", "node_odown"},
                            {"node", "10.0.0.1:6379"},
                            {"severity", "critical"},
                            {"shard", "shard-a"}}));
    const auto& ann = firing["alerts"][0]["annotations"];
    EXPECT_EQ(ann["summary"], "Redis node 10.0.0.1:6379 is objectively down");
    EXPECT_EQ(ann["description"], "connection refused");
    EXPECT_EQ(ann["runbook_url"], "https://runbooks.example/picket/node_odown");
    EXPECT_EQ(firing["alerts"][0]["generatorURL"], "http://10.0.0.1:7701/v1/status");
    EXPECT_EQ(p.active_alerts(), 0u);
}

TEST(Publisher, RecoveryResolvesSdownAndOdownOfThatNodeOnly) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops"));
    Publisher p(c, [] { return 0.0; });
    p.publish(node_event(EventType::kNodeSdown), at(1s), 1.0, true);
    p.publish(node_event(EventType::kNodeOdown), at(1s), 1.0, true);
    p.publish(node_event(EventType::kNodeSdown, "10.0.0.2:6379"), at(1s), 1.0, true);
    (void)drain(p, at(1s), 1.0);
    p.publish(node_event(EventType::kNodeRecovered), at(2s), 2.0, true);
    const auto sent = drain(p, at(2s), 2.0);
    ASSERT_EQ(sent.size(), 1u);
    const auto j = json::parse(sent[0].body);
    ASSERT_EQ(j["alerts"].size(), 2u);
    EXPECT_EQ(j["alerts"][0]["status"], "resolved");
    EXPECT_EQ(p.active_alerts(), 1u);
    // A repeated firing event is not news.
    p.publish(node_event(EventType::kNodeSdown, "10.0.0.2:6379"), at(3s), 3.0, true);
    EXPECT_TRUE(drain(p, at(3s), 3.0).empty());
}

TEST(Publisher, FiltersAndSendResolved) {
    auto c = base_config();
    c.receivers.push_back(receiver("failovers", {"failover_*"}));
    c.receivers.push_back(receiver("pager", {"node_odown"}, false));
    Publisher p(c, [] { return 0.0; });
    p.publish(node_event(EventType::kNodeOdown), at(0s), 0, true);
    p.publish(node_event(EventType::kFailoverStarted), at(0s), 0, true);
    p.publish(node_event(EventType::kFailoverConverged), at(0s), 0, true);
    p.publish(node_event(EventType::kNodeRecovered), at(0s), 0, true);
    const auto sent = drain(p, at(0s), 0);
    std::vector<std::string> failovers;
    std::vector<std::string> pager;
    for (const auto& r : sent) {
        const auto j = json::parse(r.body);
        std::string what;
        for (const auto& a : j["alerts"]) {
            what += a["labels"]["event"].get<std::string>() + ":" + a["status"].get<std::string>() +
                    " ";
        }
        (r.target_name == "failovers" ? failovers : pager).push_back(what);
    }
    EXPECT_EQ(failovers,
              (std::vector<std::string>{"failover_started:firing ",
                                        "failover_started:resolved failover_converged:firing "}));
    EXPECT_EQ(pager, (std::vector<std::string>{"node_odown:firing "}));
}

TEST(Publisher, ClusterLevelOnlyFromTheLeaderQuorumLostFromEveryone) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops"));
    Publisher p(c, [] { return 0.0; });
    p.publish(node_event(EventType::kNodeOdown), at(0s), 0, false);
    Event q;
    q.type = EventType::kQuorumLost;
    q.reasons = {"peer w2 unreachable", "peer w3 unreachable"};
    p.publish(q, at(0s), 0, false);
    auto sent = drain(p, at(0s), 0, 200, false);
    ASSERT_EQ(sent.size(), 1u);
    const auto j = json::parse(sent[0].body);
    EXPECT_EQ(j["alerts"][0]["labels"]["event"], "quorum_lost");
    EXPECT_EQ(j["alerts"][0]["labels"]["watcher"], "w1");
    EXPECT_EQ(j["alerts"][0]["annotations"]["description"],
              "peer w2 unreachable\npeer w3 unreachable");
    // The follower still tracks the ODOWN: as a later leader it resolves it (after the
    // replay of the firing alert nobody sent: see LeaderReplays... below).
    EXPECT_EQ(p.active_alerts(), 2u);
    p.publish(node_event(EventType::kNodeRecovered), at(1s), 1, true);
    sent = drain(p, at(1s), 1);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(json::parse(sent[0].body)["alerts"][0]["status"], "firing");
    EXPECT_EQ(json::parse(sent[1].body)["alerts"][0]["status"], "resolved");
    EXPECT_EQ(json::parse(sent[0].body)["alerts"][0]["fingerprint"],
              json::parse(sent[1].body)["alerts"][0]["fingerprint"]);
}

std::string header_of(const OutgoingRequest& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

TEST(Publisher, LeaderReplaysClusterAlertsThatFiredBeforeAnyLeader) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops"));
    Publisher p(c, [] { return 0.0; });
    // No leader yet: SDOWN then ODOWN of one node, SDOWN of another that recovers before
    // the election, a watcher-level alert (sent at once), and a one-shot.
    p.publish(node_event(EventType::kNodeSdown), at(1s), 1001, false);
    p.publish(node_event(EventType::kNodeOdown), at(2s), 1002, false);
    p.publish(node_event(EventType::kNodeSdown, "10.0.0.2:6379"), at(2s), 1002, false);
    p.publish(node_event(EventType::kNodeRecovered, "10.0.0.2:6379"), at(3s), 1003, false);
    p.publish(node_event(EventType::kRoleChanged), at(3s), 1003, false);
    Event q;
    q.type = EventType::kQuorumLost;
    p.publish(q, at(3s), 1003, false);
    auto sent = drain(p, at(3s), 1003, 200, false);
    ASSERT_EQ(sent.size(), 1u);  // quorum_lost only
    EXPECT_EQ(json::parse(sent[0].body)["alerts"][0]["labels"]["event"], "quorum_lost");
    EXPECT_EQ(p.replayed(), 0u);

    // Elected: the tick that first sees is_leader sends the two active cluster alerts, oldest
    // first, one notification each, with their own startsAt; quorum_lost is not repeated.
    sent = drain(p, at(10s), 1010, 200, true);
    ASSERT_EQ(sent.size(), 2u);
    const auto sdown = json::parse(sent[0].body);
    const auto odown = json::parse(sent[1].body);
    EXPECT_EQ(sdown["status"], "firing");
    EXPECT_EQ(sdown["alerts"].size(), 1u);
    EXPECT_EQ(sdown["alerts"][0]["labels"]["event"], "node_sdown");
    EXPECT_EQ(sdown["alerts"][0]["startsAt"], rfc3339(1001));
    EXPECT_EQ(odown["alerts"][0]["labels"]["event"], "node_odown");
    EXPECT_EQ(odown["alerts"][0]["startsAt"], rfc3339(1002));
    EXPECT_EQ(odown["alerts"][0]["labels"]["node"], "10.0.0.1:6379");
    EXPECT_EQ(header_of(sent[1], "X-Picket-Timestamp"), "1010");
    EXPECT_TRUE(verify("s3cret", "1010", sent[1].body, header_of(sent[1], "X-Picket-Signature")));
    EXPECT_EQ(p.replayed(), 2u);
    // Once: staying leader sends nothing more.
    EXPECT_TRUE(drain(p, at(11s), 1011, 200, true).empty());

    // The replayed fingerprint is the one a leader would have sent at the time.
    auto c2 = base_config();
    c2.receivers.push_back(receiver("ops"));
    Publisher leader(c2, [] { return 0.0; });
    leader.publish(node_event(EventType::kNodeOdown), at(2s), 1002, true);
    const auto direct = drain(leader, at(2s), 1002);
    ASSERT_EQ(direct.size(), 1u);
    EXPECT_EQ(json::parse(direct[0].body)["alerts"], odown["alerts"]);

    // And its resolution pairs with it.
    p.publish(node_event(EventType::kNodeRecovered), at(12s), 1012, true);
    sent = drain(p, at(12s), 1012);
    ASSERT_EQ(sent.size(), 1u);
    const auto resolved = json::parse(sent[0].body);
    ASSERT_EQ(resolved["alerts"].size(), 2u);
    for (const auto& a : resolved["alerts"]) {
        EXPECT_EQ(a["status"], "resolved");
        EXPECT_TRUE(a["fingerprint"] == sdown["alerts"][0]["fingerprint"] ||
                    a["fingerprint"] == odown["alerts"][0]["fingerprint"]);
    }
}

TEST(Publisher, ReplayOnEveryBecomingLeaderOnlyWhatThisWatcherDidNotSend) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops", {"node_*", "role_changed"}));
    AlertmanagerSpec am;
    am.url = url("http://127.0.0.1:9093/api/v2/alerts");
    am.resend_interval = 60s;
    c.alertmanager = am;
    Publisher p(c, [] { return 0.0; });
    // Leader: fires node 1 (sent).
    p.publish(node_event(EventType::kNodeOdown), at(0s), 100, true);
    auto sent = drain(p, at(0s), 100);
    ASSERT_EQ(sent.size(), 2u);  // webhook + Alertmanager
    // Steps down; node 2 fails while another watcher leads (this one cannot tell whether
    // that one sent it); failover_started (filtered out for the webhook) fires too.
    p.publish(node_event(EventType::kNodeOdown, "10.0.0.2:6379"), at(1s), 101, false);
    Event f;
    f.type = EventType::kFailoverStarted;
    f.shard = "shard-b";
    p.publish(f, at(1s), 101.5, false);
    EXPECT_TRUE(drain(p, at(1s), 101, 200, false).empty());
    // Leads again: node 2 and the failover are replayed, node 1 is not.
    p.publish(node_event(EventType::kRoleChanged, "10.0.0.3:6379"), at(2s), 102, true);
    sent = drain(p, at(2s), 102);
    std::vector<std::string> webhook;
    std::vector<std::string> pushed;
    for (const auto& r : sent) {
        const auto j = json::parse(r.body);
        if (r.target_name == "ops") {
            webhook.push_back(j["alerts"][0]["labels"]["event"].get<std::string>() + " " +
                              j["alerts"][0]["labels"].value("node", "-"));
        } else {
            for (const auto& a : j) {
                pushed.push_back(a["labels"]["event"].get<std::string>());
            }
        }
    }
    // Replays before the event that revealed the leadership.
    EXPECT_EQ(webhook,
              (std::vector<std::string>{"node_odown 10.0.0.2:6379", "role_changed 10.0.0.3:6379"}));
    EXPECT_EQ(pushed, (std::vector<std::string>{"node_odown", "failover_started", "role_changed"}));
    EXPECT_EQ(p.replayed(), 2u);
    // Losing and regaining leadership again replays nothing: all were sent by this watcher.
    EXPECT_TRUE(drain(p, at(3s), 103, 200, false).empty());
    EXPECT_TRUE(drain(p, at(4s), 104, 200, true).empty());
    EXPECT_EQ(p.replayed(), 2u);
}

TEST(Publisher, ReconfigureKeepsQueuesOfKeptReceiversAndActiveAlerts) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops"));
    c.receivers.push_back(receiver("old"));
    c.receivers.push_back(receiver("moving"));
    Publisher p(c, [] { return 0.0; });
    p.publish(node_event(EventType::kNodeOdown), at(0s), 100, true);
    p.publish(node_event(EventType::kNodeSdown, "10.0.0.2:6379"), at(0s), 100, true);
    // ops: first in flight, second waiting. old: first in flight. moving: first fails (503)
    // and backs off.
    auto first = p.tick(at(0s), 100, true);
    ASSERT_EQ(first.size(), 3u);
    const auto moving =
        p.on_result(first[2].target, first[2].id, DeliveryResult::http(503), at(0s));
    ASSERT_TRUE(moving && moving->will_retry);

    auto next = base_config();
    next.receivers.push_back(receiver("new"));
    next.receivers.push_back(receiver("moving"));
    next.receivers.back().url = url("http://127.0.0.1:10/moved");
    next.receivers.back().secret = "n3w";
    next.receivers.push_back(receiver("ops"));
    // Before moving's backoff (500 ms) is over.
    const auto summary = p.reconfigure(next, at(100ms));
    EXPECT_EQ(summary.added, (std::vector<std::string>{"new"}));
    EXPECT_EQ(summary.removed, (std::vector<std::string>{"old"}));
    EXPECT_EQ(summary.changed, (std::vector<std::string>{"moving"}));
    EXPECT_EQ(summary.unchanged, (std::vector<std::string>{"ops"}));
    EXPECT_EQ(summary.discarded, 2u);  // old: one in flight, one waiting
    EXPECT_EQ(p.active_alerts(), 2u);

    // The old receiver's result has no queue any more; ops's in-flight result still lands.
    EXPECT_FALSE(p.on_result(first[1].target, first[1].id, DeliveryResult::http(200), at(100ms)));
    const auto ops =
        p.on_result(first[0].target, first[0].id, DeliveryResult::http(200), at(100ms));
    ASSERT_TRUE(ops && ops->delivered);

    // moving's backoff is over at once; its notifications go to the new URL, newly signed;
    // ops sends its waiting second one.
    auto sends = p.tick(at(100ms), 101, true);
    std::map<std::string, OutgoingRequest> by_name;
    for (auto& r : sends) {
        by_name[r.target_name] = r;
    }
    ASSERT_EQ(sends.size(), 2u);
    ASSERT_EQ(by_name.count("moving"), 1u);
    EXPECT_EQ(by_name["moving"].url.text, "http://127.0.0.1:10/moved");
    EXPECT_EQ(by_name["moving"].attempt, 2u);
    EXPECT_TRUE(verify("n3w", "101", by_name["moving"].body,
                       header_of(by_name["moving"], "X-Picket-Signature")));
    EXPECT_EQ(json::parse(by_name["moving"].body)["alerts"][0]["labels"]["event"], "node_odown");
    ASSERT_EQ(by_name.count("ops"), 1u);
    EXPECT_EQ(json::parse(by_name["ops"].body)["alerts"][0]["labels"]["event"], "node_sdown");
    for (auto& r : sends) {
        ASSERT_TRUE(p.on_result(r.target, r.id, DeliveryResult::http(200), at(100ms)));
    }
    (void)drain(p, at(100ms), 101);

    // Active alerts survived: the recovery resolves the ODOWN for all three receivers,
    // "new" included (its filter matches; it hears the resolution without the firing).
    p.publish(node_event(EventType::kNodeRecovered), at(2s), 102, true);
    const auto sent = drain(p, at(2s), 102);
    std::vector<std::string> names;
    for (const auto& r : sent) {
        names.push_back(r.target_name);
        EXPECT_EQ(json::parse(r.body)["status"], "resolved");
    }
    EXPECT_EQ(names, (std::vector<std::string>{"new", "moving", "ops"}));
    const auto stats = p.stats();
    ASSERT_EQ(stats.size(), 3u);
    EXPECT_EQ(stats[0].name, "new");
    EXPECT_EQ(stats[2].name, "ops");
    EXPECT_EQ(stats[2].queue.sent, 3u);  // counters of a kept receiver continue
}

TEST(Publisher, ReconfigureAppliesFilterSendResolvedQueueSizeAndAlertmanager) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops"));
    Publisher p(c, [] { return 0.0; });
    for (int i = 0; i < 5; ++i) {
        p.publish(node_event(EventType::kNodeSdown, "10.0.0." + std::to_string(i) + ":6379"),
                  at(0s), 100, true);
    }
    auto next = base_config();
    next.receivers.push_back(receiver("ops", {"failover_*"}, false));
    next.receivers.back().queue_size = 2;
    next.receivers.back().timeout = 9s;
    AlertmanagerSpec am;
    am.url = url("http://127.0.0.1:9093/api/v2/alerts");
    am.resend_interval = 60s;
    next.alertmanager = am;
    const auto summary = p.reconfigure(next, at(1s));
    EXPECT_EQ(summary.changed, (std::vector<std::string>{"ops"}));
    EXPECT_EQ(summary.added, (std::vector<std::string>{"alertmanager"}));
    EXPECT_EQ(summary.discarded, 3u);  // 5 waiting, 2 kept
    // A newly configured Alertmanager gets the active alerts at the next tick.
    ASSERT_TRUE(p.next_wakeup());
    EXPECT_LE(*p.next_wakeup(), at(1s));
    auto sends = p.tick(at(1s), 101, true);
    ASSERT_EQ(sends.size(), 2u);
    EXPECT_EQ(sends[0].target_name, "ops");
    EXPECT_EQ(sends[0].timeout, 9s);
    EXPECT_EQ(sends[1].target_name, "alertmanager");
    EXPECT_EQ(json::parse(sends[1].body).size(), 5u);
    for (auto& r : sends) {
        ASSERT_TRUE(p.on_result(r.target, r.id, DeliveryResult::http(200), at(1s)));
    }
    (void)drain(p, at(1s), 101);
    // The new filter: node events no longer reach ops, failover ones do; no resolved ones.
    p.publish(node_event(EventType::kNodeRecovered, "10.0.0.1:6379"), at(2s), 102, true);
    Event f;
    f.type = EventType::kFailoverStarted;
    f.shard = "shard-a";
    p.publish(f, at(2s), 102, true);
    Event done;
    done.type = EventType::kFailoverConverged;
    done.shard = "shard-a";
    p.publish(done, at(2s), 102, true);
    const auto sent = drain(p, at(2s), 102);
    std::vector<std::string> ops;
    for (const auto& r : sent) {
        if (r.target_name == "ops") {
            const auto j = json::parse(r.body);
            for (const auto& a : j["alerts"]) {
                ops.push_back(a["status"].get<std::string>() + " " +
                              a["labels"]["event"].get<std::string>());
            }
        }
    }
    EXPECT_EQ(ops,
              (std::vector<std::string>{"firing failover_started", "firing failover_converged"}));
    // Removing Alertmanager stops its re-sends.
    auto plain = base_config();
    plain.receivers.push_back(receiver("ops"));
    const auto s2 = p.reconfigure(plain, at(3s));
    EXPECT_EQ(s2.removed, (std::vector<std::string>{"alertmanager"}));
    EXPECT_FALSE(p.next_wakeup());
}

TEST(Publisher, SignsEveryAttemptWithItsOwnTimestamp) {
    auto c = base_config();
    c.receivers.push_back(receiver("ops"));
    c.receivers.push_back(receiver("plain"));
    c.receivers.back().secret.clear();
    Publisher p(c, [] { return 0.0; });
    p.publish(node_event(EventType::kFailoverStarted), at(0s), 100.0, true);
    auto first = p.tick(at(0s), 100.4, true);
    ASSERT_EQ(first.size(), 2u);
    auto header = [](const OutgoingRequest& r, const std::string& name) {
        for (const auto& [k, v] : r.headers) {
            if (k == name) {
                return v;
            }
        }
        return std::string();
    };
    EXPECT_EQ(header(first[0], "X-Picket-Timestamp"), "100");
    EXPECT_TRUE(verify("s3cret", "100", first[0].body, header(first[0], "X-Picket-Signature")));
    EXPECT_EQ(header(first[0], "Content-Type"), "application/json");
    EXPECT_EQ(header(first[1], "X-Picket-Signature"), "");
    const auto c1 = p.on_result(0, first[0].id, DeliveryResult::http(500), at(0s));
    ASSERT_TRUE(c1 && c1->will_retry);
    auto retry = p.tick(*c1->retry_at, 130.0, true);
    ASSERT_EQ(retry.size(), 1u);
    EXPECT_EQ(retry[0].attempt, 2u);
    EXPECT_EQ(retry[0].body, first[0].body);
    EXPECT_TRUE(verify("s3cret", "130", retry[0].body, header(retry[0], "X-Picket-Signature")));
    const auto stats = p.stats();
    ASSERT_EQ(stats.size(), 2u);
    EXPECT_EQ(stats[0].name, "ops");
    EXPECT_EQ(stats[0].queue.failures_of(FailureReason::kHttp5xx), 1u);
}

TEST(Publisher, AlertmanagerGetsEverythingAndResendsFiring) {
    auto c = base_config();
    AlertmanagerSpec am;
    am.url = url("http://127.0.0.1:9093/api/v2/alerts");
    am.resend_interval = 60s;
    c.alertmanager = am;
    Publisher p(c, [] { return 0.0; });
    p.publish(node_event(EventType::kNodeOdown), at(0s), 1000, true);
    auto sent = drain(p, at(0s), 1000);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].target_name, "alertmanager");
    EXPECT_EQ(sent[0].url.target, "/api/v2/alerts");
    auto j = json::parse(sent[0].body);
    EXPECT_EQ(j[0]["endsAt"], "1970-01-01T00:20:40Z");  // 1000 + 4 × 60
    EXPECT_EQ(p.next_wakeup(), at(60s));
    EXPECT_TRUE(drain(p, at(59s), 1059).empty());
    sent = drain(p, at(60s), 1060);
    ASSERT_EQ(sent.size(), 1u);
    j = json::parse(sent[0].body);
    EXPECT_EQ(j[0]["startsAt"], "1970-01-01T00:16:40Z");
    EXPECT_EQ(j[0]["endsAt"], "1970-01-01T00:21:40Z");
    p.publish(node_event(EventType::kNodeRecovered), at(61s), 1061, true);
    sent = drain(p, at(61s), 1061);
    ASSERT_EQ(sent.size(), 1u);
    j = json::parse(sent[0].body);
    EXPECT_EQ(j[0]["endsAt"], "1970-01-01T00:17:41Z");
    EXPECT_FALSE(p.next_wakeup());  // nothing active: no resend
}

TEST(Publisher, MakeConfigFromAlertsSection) {
    config::AlertsConfig a;
    config::ReceiverConfig r;
    r.name = "ops";
    r.url = url("https://hooks.example/x");
    r.events = {"failover_*"};
    a.receivers.push_back(r);
    config::AlertmanagerConfig am;
    am.url = url("http://127.0.0.1:9093/am/");
    a.alertmanager = am;
    auto pc = make_publisher_config(a, "prod", "w1", "http://127.0.0.1:7701");
    ASSERT_TRUE(pc);
    EXPECT_EQ(pc->external_url, "http://127.0.0.1:7701");
    EXPECT_EQ(pc->alertmanager->url.target, "/am/api/v2/alerts");
    EXPECT_EQ(pc->receivers[0].filter.patterns().size(), 1u);
    a.receivers[0].events = {"nothing_*"};
    EXPECT_EQ(make_publisher_config(a, "prod", "w1", "").error(),
              "alerts.receivers[ops].events: event pattern 'nothing_*' matches no event");
}

TEST(Publisher, SummariesOfEveryEventAreFilledIn) {
    Publisher p(base_config(), [] { return 0.0; });
    for (const EventType t : all_event_types()) {
        Event e = node_event(t);
        e.check = "cluster_node_timeout";
        const Alert a = p.make_alert(e, 0);
        const auto& s = a.annotations.at("summary");
        EXPECT_EQ(s.find('{'), std::string::npos) << s;
        EXPECT_EQ(a.labels.at("event"), to_string(t));
        EXPECT_EQ(a.labels.count("watcher"), info(t).scope == Scope::kWatcher ? 1u : 0u);
    }
}

}  // namespace
}  // namespace picket::alert
