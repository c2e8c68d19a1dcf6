#pragma once
// A webhook receiver for integration tests: picket's own HTTP server in the test process,
// recording every request; helpers to read Alertmanager v4 payloads and check signatures.
// Single-threaded: it runs on the test's io_context (pumped by testing::run_until).

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "picket/http/server.h"
#include "picket/proto/auth.h"

namespace picket::testing {

class WebhookReceiver {
  public:
    explicit WebhookReceiver(boost::asio::io_context& io) {
        auto server = http::Server::listen(io.get_executor(), "127.0.0.1", 0, {},
                                           [this](const http::Request& r) {
                                               requests_.push_back(r);
                                               return http::Response::text(200, "ok\n");
                                           });
        if (!server) {
            ADD_FAILURE() << "webhook receiver: " << server.error();
            return;
        }
        server_ = std::move(*server);
        server_->start();
    }
    ~WebhookReceiver() {
        if (server_) {
            server_->stop();
        }
    }
    WebhookReceiver(const WebhookReceiver&) = delete;
    WebhookReceiver& operator=(const WebhookReceiver&) = delete;

    std::string url(const std::string& path = "/hook") const {
        return "http://127.0.0.1:" + std::to_string(server_->local_endpoint().port()) + path;
    }
    const std::vector<http::Request>& requests() const { return requests_; }

    /// Every alert received, in arrival order, each with its payload's top-level `status`
    /// and the request it came in.
    struct Received {
        nlohmann::json alert;
        nlohmann::json payload;
        const http::Request* request;
    };
    std::vector<Received> alerts() const {
        std::vector<Received> out;
        for (const auto& r : requests_) {
            auto body = nlohmann::json::parse(r.body, nullptr, false);
            if (!body.is_object() || !body["alerts"].is_array()) {
                continue;
            }
            for (const auto& a : body["alerts"]) {
                out.push_back(Received{a, body, &r});
            }
        }
        return out;
    }

    /// The first alert with `status` ("firing"/"resolved") whose labels hold every
    /// (name, value) of `labels`; nullopt when none.
    std::optional<Received> find(const std::string& status,
                                 const std::map<std::string, std::string>& labels) const {
        for (auto& r : alerts()) {
            if (r.alert["status"] != status) {
                continue;
            }
            bool all = true;
            for (const auto& [k, v] : labels) {
                all = all && r.alert["labels"].value(k, std::string()) == v;
            }
            if (all) {
                return r;
            }
        }
        return std::nullopt;
    }

    /// A short listing for failure messages.
    std::string describe() const {
        std::string out = std::to_string(requests_.size()) + " request(s):\n";
        for (const auto& r : alerts()) {
            out +=
                "  " + r.alert["status"].get<std::string>() + " " + r.alert["labels"].dump() + "\n";
        }
        return out;
    }

  private:
    std::unique_ptr<http::Server> server_;
    std::vector<http::Request> requests_;
};

/// Checks one request against picket's signature scheme and the v4 envelope.
inline void expect_signed_v4(const http::Request& r, const std::string& secret,
                             const std::string& receiver) {
    ASSERT_EQ(r.headers.count("x-picket-timestamp"), 1u);
    ASSERT_EQ(r.headers.count("x-picket-signature"), 1u);
    const auto& ts = r.headers.at("x-picket-timestamp");
    EXPECT_EQ(r.headers.at("x-picket-signature"),
              "sha256=" + proto::hmac_sha256_hex(secret, ts + "." + r.body));
    const auto body = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["version"], "4");
    EXPECT_EQ(body["receiver"], receiver);
    for (const char* key : {"groupKey", "status", "groupLabels", "commonLabels",
                            "commonAnnotations", "externalURL", "alerts"}) {
        EXPECT_TRUE(body.contains(key)) << key << " missing in " << r.body;
    }
    for (const auto& a : body["alerts"]) {
        for (const char* key : {"status", "labels", "annotations", "startsAt", "endsAt",
                                "generatorURL", "fingerprint"}) {
            EXPECT_TRUE(a.contains(key)) << key << " missing in " << a.dump();
        }
    }
}

}  // namespace picket::testing
