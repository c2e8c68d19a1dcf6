// picket's alert delivery against real endpoints on loopback: a capture server (picket's own
// HTTP server, answering as each test wants) and the real Alertmanager (Debian's
// prometheus-alertmanager). Checks that Alertmanager accepts picket's pushed alerts with the
// fingerprint picket computes, that picket's webhook has exactly the fields and JSON types of
// the webhook the real Alertmanager sends, signatures, retry on 5xx, none on 4xx, redirects
// not followed, and the bounded queue dropping the oldest.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <deque>
#include <nlohmann/json.hpp>

#include "picket/alert/dispatcher.h"
#include "picket/alert/signature.h"
#include "picket/http/server.h"
#include "picket/io/clock.h"
#include "picket/testing/ports.h"
#include "picket/testing/process.h"
#include "picket/testing/temp_dir.h"

namespace picket::alert {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using nlohmann::json;

config::Url url(const std::string& text) {
    auto u = config::parse_url(text);
    EXPECT_TRUE(u) << text;
    return *u;
}

/// A webhook endpoint that records every request and answers with `respond`.
struct Capture {
    std::vector<http::Request> requests;
    std::vector<TimePoint> arrivals;
    std::function<http::Response(const http::Request&)> respond = [](const http::Request&) {
        return http::Response::text(200, "ok");
    };
    std::vector<http::Request> on(const std::string& path) const {
        std::vector<http::Request> out;
        for (const auto& r : requests) {
            if (r.path == path) {
                out.push_back(r);
            }
        }
        return out;
    }
};

class AlertDeliveryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto server = http::Server::listen(io_.get_executor(), "127.0.0.1", 0, http::ServerLimits{},
                                           [this](const http::Request& r) {
                                               capture_.requests.push_back(r);
                                               capture_.arrivals.push_back(io::mono_now());
                                               return capture_.respond(r);
                                           });
        ASSERT_TRUE(server) << server.error();
        server_ = std::move(*server);
        server_->start();
        base_ = "http://127.0.0.1:" + std::to_string(server_->local_endpoint().port());
    }
    void TearDown() override {
        dispatcher_.reset();
        if (server_) {
            server_->stop();
        }
        io_.run_for(50ms);
    }

    /// Runs the io_context until `pred` holds or `timeout` passes.
    bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            if (pred()) {
                return true;
            }
            io_.run_for(20ms);
        }
        return pred();
    }

    void make_dispatcher(const config::AlertsConfig& alerts, RetryPolicy retry = {}) {
        AlertDispatcher::Options o;
        o.cluster = "itest";
        o.watcher_id = "w1";
        o.default_external_url = "http://127.0.0.1:7701";
        o.retry = retry;
        o.seed = 42;
        o.on_delivery = [this](const DeliveryRecord& r) { records_.push_back(r); };
        auto d = AlertDispatcher::create(io_.get_executor(), alerts, std::move(o));
        ASSERT_TRUE(d) << d.error();
        dispatcher_ = std::move(*d);
    }

    config::ReceiverConfig receiver(const std::string& path, std::uint32_t queue_size = 256) {
        config::ReceiverConfig r;
        r.name = "capture";
        r.url = url(base_ + path);
        r.secret.file = "/dev/null";
        r.secret.set_value("s3cret-key");
        r.timeout = 1s;
        r.queue_size = queue_size;
        return r;
    }

    void publish(EventType type, const std::string& node = "10.0.0.1:6379") {
        Event e;
        e.type = type;
        e.node = node;
        e.shard = "shard-a";
        e.detail = "connection refused";
        e.reasons = {"3 of 3 watchers agree"};
        dispatcher_->publish(e, io::mono_now(), io::wall_seconds());
    }

    const QueueStats& stats(std::size_t i = 0) {
        stats_ = dispatcher_->stats();
        return stats_.at(i).queue;
    }

    asio::io_context io_;
    std::unique_ptr<http::Server> server_;
    Capture capture_;
    std::string base_;
    std::unique_ptr<AlertDispatcher> dispatcher_;
    std::vector<DeliveryRecord> records_;
    std::vector<TargetStats> stats_;
};

/// The shape of a webhook message: field names and JSON types, free-form maps (labels,
/// annotations) as "map<string>".
json shape(const json& j, int depth = 0) {
    if (j.is_object()) {
        json out = json::object();
        for (const auto& [k, v] : j.items()) {
            const bool free_map = k == "labels" || k == "annotations" || k == "groupLabels" ||
                                  k == "commonLabels" || k == "commonAnnotations";
            if (free_map) {
                bool all_strings = v.is_object();
                for (const auto& [mk, mv] : v.items()) {
                    (void)mk;
                    all_strings = all_strings && mv.is_string();
                }
                out[k] = all_strings ? "map<string>" : "not a map of strings";
            } else {
                out[k] = shape(v, depth + 1);
            }
        }
        return out;
    }
    if (j.is_array()) {
        return j.empty() ? json("array") : json::array({shape(j[0], depth + 1)});
    }
    return j.type_name();
}

std::string header(const http::Request& r, const std::string& name) {
    const auto it = r.headers.find(name);
    return it == r.headers.end() ? "" : it->second;
}

TEST_F(AlertDeliveryTest, RealAlertmanagerAcceptsPushAndWebhookMatchesItsFormat) {
    const std::string am_bin = testing::find_executable("prometheus-alertmanager");
    const std::string amtool = testing::find_executable("amtool");
    testing::TempDir dir("picket-am");
    const int am_port = testing::free_port();
    const std::string am_url = "http://127.0.0.1:" + std::to_string(am_port);
    testing::write_file(dir.file("alertmanager.yml"),
                        "route:\n"
                        "  receiver: capture\n"
                        "  group_by: [alertname, cluster, node]\n"
                        "  group_wait: 1s\n"
                        "  group_interval: 1s\n"
                        "  repeat_interval: 1h\n"
                        "receivers:\n"
                        "  - name: capture\n"
                        "    webhook_configs:\n"
                        "      - url: " +
                            base_ +
                            "/am\n"
                            "        send_resolved: true\n");
    auto am =
        testing::ChildProcess::spawn({am_bin, "--config.file=" + dir.file("alertmanager.yml"),
                                      "--storage.path=" + dir.file("data"),
                                      "--web.listen-address=127.0.0.1:" + std::to_string(am_port),
                                      "--cluster.listen-address=", "--log.level=warn"},
                                     dir.file("alertmanager.log"));
    // Ready when amtool can talk to it (bounded).
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) {
        ready = testing::run_process({amtool, "--alertmanager.url=" + am_url, "config", "show"}, 5s)
                    .exited_ok();
        if (!ready) {
            std::this_thread::sleep_for(100ms);
        }
    }
    ASSERT_TRUE(ready) << testing::read_file(dir.file("alertmanager.log"));

    config::AlertsConfig alerts;
    alerts.receivers.push_back(receiver("/picket"));
    config::AlertmanagerConfig amc;
    amc.url = url(am_url);
    amc.timeout = 2s;
    alerts.alertmanager = amc;
    alerts.runbook_base_url = "https://runbooks.example/picket";
    make_dispatcher(alerts);

    publish(EventType::kNodeOdown);
    ASSERT_TRUE(run_until(
        [&] { return !capture_.on("/picket").empty() && !capture_.on("/am").empty(); }, 20s))
        << "picket webhooks: " << capture_.on("/picket").size()
        << ", Alertmanager webhooks: " << capture_.on("/am").size() << "\n"
        << testing::read_file(dir.file("alertmanager.log"));

    // Alertmanager accepted the push: its API lists the alert, with picket's fingerprint.
    const auto query = testing::run_process({amtool, "--alertmanager.url=" + am_url, "alert",
                                             "query", "-o", "json", "alertname=PicketNodeOdown"},
                                            10s);
    ASSERT_TRUE(query.exited_ok()) << query.describe();
    const auto listed = json::parse(query.out);
    ASSERT_EQ(listed.size(), 1u) << query.out;
    const auto ours = json::parse(capture_.on("/picket")[0].body);
    const auto theirs = json::parse(capture_.on("/am")[0].body);
    EXPECT_EQ(listed[0]["fingerprint"], ours["alerts"][0]["fingerprint"]);
    EXPECT_EQ(listed[0]["labels"], ours["alerts"][0]["labels"]);
    EXPECT_EQ(listed[0]["annotations"]["runbook_url"],
              "https://runbooks.example/picket/node_odown");

    // Same fields, same JSON types, as the real Alertmanager's own webhook.
    EXPECT_EQ(shape(ours), shape(theirs))
        << "picket:       " << ours.dump(2) << "\nalertmanager: " << theirs.dump(2);
    EXPECT_EQ(theirs["version"], ours["version"]);
    EXPECT_EQ(theirs["alerts"][0]["fingerprint"], ours["alerts"][0]["fingerprint"]);
    EXPECT_EQ(theirs["alerts"][0]["labels"], ours["alerts"][0]["labels"]);
    EXPECT_EQ(theirs["alerts"][0]["endsAt"], ours["alerts"][0]["endsAt"]);  // zero time

    // Signed: timestamp + "." + body.
    const auto req = capture_.on("/picket")[0];
    EXPECT_TRUE(verify("s3cret-key", header(req, "x-picket-timestamp"), req.body,
                       header(req, "x-picket-signature")));
    EXPECT_FALSE(verify("other-key", header(req, "x-picket-timestamp"), req.body,
                        header(req, "x-picket-signature")));
    EXPECT_EQ(header(req, "content-type"), "application/json");

    // Resolve: picket's resolved webhook keeps the fingerprint; Alertmanager resolves too.
    publish(EventType::kNodeRecovered);
    ASSERT_TRUE(run_until([&] { return capture_.on("/picket").size() >= 2; }, 10s));
    const auto resolved = json::parse(capture_.on("/picket")[1].body);
    EXPECT_EQ(resolved["status"], "resolved");
    EXPECT_EQ(resolved["alerts"][0]["fingerprint"], ours["alerts"][0]["fingerprint"]);
    ASSERT_TRUE(run_until(
        [&] {
            for (const auto& r : capture_.on("/am")) {
                if (json::parse(r.body)["status"] == "resolved") {
                    return true;
                }
            }
            return false;
        },
        20s))
        << testing::read_file(dir.file("alertmanager.log"));
    for (const auto& r : capture_.on("/am")) {
        const auto j = json::parse(r.body);
        if (j["status"] == "resolved") {
            EXPECT_EQ(shape(resolved), shape(j));
            EXPECT_EQ(j["alerts"][0]["fingerprint"], ours["alerts"][0]["fingerprint"]);
        }
    }
    EXPECT_EQ(stats(1).sent, 2u);  // Alertmanager: firing push, resolved push
    am.stop(5s);
}

TEST_F(AlertDeliveryTest, ServerErrorsAreRetriedWithBackoff) {
    int calls = 0;
    capture_.respond = [&calls](const http::Request&) {
        return http::Response::text(++calls <= 2 ? 503 : 200, "");
    };
    config::AlertsConfig alerts;
    alerts.receivers.push_back(receiver("/hook"));
    make_dispatcher(alerts, RetryPolicy{300ms, 2s, 5, 0.5});
    publish(EventType::kFailoverStarted);
    ASSERT_TRUE(run_until([&] { return stats().sent == 1; }, 10s));
    ASSERT_EQ(capture_.requests.size(), 3u);
    EXPECT_EQ(stats().failures_of(FailureReason::kHttp5xx), 2u);
    EXPECT_EQ(stats().retries, 2u);
    // Backoff 300 ms then 600 ms, each scaled by [0.5, 1].
    EXPECT_GE(capture_.arrivals[1] - capture_.arrivals[0], 150ms);
    EXPECT_GE(capture_.arrivals[2] - capture_.arrivals[1], 300ms);
    // The same payload each time, signed afresh.
    EXPECT_EQ(capture_.requests[0].body, capture_.requests[2].body);
    for (const auto& r : capture_.requests) {
        EXPECT_TRUE(verify("s3cret-key", header(r, "x-picket-timestamp"), r.body,
                           header(r, "x-picket-signature")));
    }
    ASSERT_EQ(records_.size(), 3u);
    EXPECT_TRUE(records_[0].will_retry);
    EXPECT_TRUE(records_[2].delivered);
}

TEST_F(AlertDeliveryTest, ClientErrorsAreNotRetried) {
    capture_.respond = [](const http::Request&) { return http::Response::text(400, "bad"); };
    config::AlertsConfig alerts;
    alerts.receivers.push_back(receiver("/hook"));
    make_dispatcher(alerts, RetryPolicy{100ms, 1s, 5, 0.5});
    publish(EventType::kFailoverStarted);
    ASSERT_TRUE(run_until([&] { return stats().abandoned == 1; }, 10s));
    run_until([] { return false; }, 1s);  // a retry would come within 100 ms
    EXPECT_EQ(capture_.requests.size(), 1u);
    EXPECT_EQ(stats().failures_of(FailureReason::kHttp4xx), 1u);
    EXPECT_EQ(stats().retries, 0u);
}

TEST_F(AlertDeliveryTest, RedirectsAreNotFollowed) {
    capture_.respond = [this](const http::Request& r) {
        if (r.path == "/moved") {
            return http::Response::text(200, "");
        }
        auto resp = http::Response::text(307, "");
        resp.headers["Location"] = base_ + "/moved";
        return resp;
    };
    config::AlertsConfig alerts;
    alerts.receivers.push_back(receiver("/hook"));
    make_dispatcher(alerts, RetryPolicy{100ms, 1s, 5, 0.5});
    publish(EventType::kNodeOdown);
    ASSERT_TRUE(run_until([&] { return stats().abandoned == 1; }, 10s));
    run_until([] { return false; }, 500ms);
    EXPECT_EQ(capture_.on("/hook").size(), 1u);
    EXPECT_TRUE(capture_.on("/moved").empty());
    EXPECT_EQ(stats().failures_of(FailureReason::kRedirect), 1u);
    ASSERT_EQ(records_.size(), 1u);
    EXPECT_EQ(records_[0].http_status, 307u);
    EXPECT_NE(records_[0].error.find("/moved"), std::string::npos) << records_[0].error;
}

TEST_F(AlertDeliveryTest, StalledReceiverTimesOutAndFullQueueDropsOldest) {
    // A receiver that accepts connections and never answers.
    asio::ip::tcp::acceptor black_hole(io_, {asio::ip::make_address("127.0.0.1"), 0});
    std::deque<asio::ip::tcp::socket> held;
    std::function<void()> accept = [&] {
        black_hole.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket s) {
            if (!ec) {
                held.push_back(std::move(s));
                accept();
            }
        });
    };
    accept();
    config::AlertsConfig alerts;
    auto r = receiver("/hook", 2);
    r.url = url("http://127.0.0.1:" + std::to_string(black_hole.local_endpoint().port()) + "/x");
    alerts.receivers.push_back(r);
    make_dispatcher(alerts, RetryPolicy{200ms, 1s, 2, 0.5});
    // Six firing events on six nodes: one in flight, two waiting, three dropped.
    for (int i = 0; i < 6; ++i) {
        publish(EventType::kNodeOdown, "10.0.0." + std::to_string(i + 1) + ":6379");
        io_.run_for(10ms);
    }
    EXPECT_EQ(stats().dropped, 3u);
    EXPECT_EQ(stats().queue_length, 3u);
    // Each attempt ends at its 1 s deadline; two attempts each, then given up.
    ASSERT_TRUE(run_until([&] { return stats().queue_length == 0; }, 20s));
    EXPECT_EQ(stats().failures_of(FailureReason::kTimeout), 6u);
    EXPECT_EQ(stats().abandoned, 3u);
    EXPECT_EQ(stats().sent, 0u);
    black_hole.close();
}

}  // namespace
}  // namespace picket::alert
