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
    // The follower still tracks the ODOWN: as a later leader it resolves it.
    EXPECT_EQ(p.active_alerts(), 2u);
    p.publish(node_event(EventType::kNodeRecovered), at(1s), 1, true);
    sent = drain(p, at(1s), 1);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(json::parse(sent[0].body)["alerts"][0]["status"], "resolved");
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
