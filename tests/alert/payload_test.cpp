#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "picket/alert/payload.h"
#include "picket/alert/signature.h"

namespace picket::alert {
namespace {

using nlohmann::json;

TEST(Fingerprint, MatchesPrometheusCommonModel) {
    // Reference values from an independent implementation of model.labelSetToFingerprint;
    // the integration test also compares with the fingerprints the real Alertmanager sends.
    EXPECT_EQ(fingerprint_hex({}), "cbf29ce484222325");
    EXPECT_EQ(
        fingerprint_hex(
            {{"alertname", "PicketNodeOdown"}, {"cluster", "prod"}, {"node", "10.0.0.1:6379"}}),
        "792cc5b0f300edeb");
    // Order of insertion does not matter; any value change does.
    LabelSet a{{"b", "1"}, {"a", "2"}};
    LabelSet b{{"a", "2"}, {"b", "1"}};
    EXPECT_EQ(fingerprint(a), fingerprint(b));
    b["b"] = "2";
    EXPECT_NE(fingerprint(a), fingerprint(b));
    // The separator keeps "ab"+"c" apart from "a"+"bc".
    EXPECT_NE(fingerprint({{"ab", "c"}}), fingerprint({{"a", "bc"}}));
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
    EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(rfc3339(1700000000.25), "2023-11-14T22:13:20.250Z");
    EXPECT_EQ(rfc3339(951782400), "2000-02-29T00:00:00Z");
    EXPECT_EQ(rfc3339(-1), "1969-12-31T23:59:59Z");
    EXPECT_EQ(rfc3339(-1e30), "0001-01-01T00:00:00Z");
    EXPECT_EQ(rfc3339(1e30), "9999-12-31T23:59:59.999Z");
    EXPECT_EQ(rfc3339(std::nan("")), "0001-01-01T00:00:00Z");
}

TEST(LabelSetString, LikeGo) {
    EXPECT_EQ(label_set_string({}), "{}");
    EXPECT_EQ(label_set_string({{"b", "x\"y"}, {"a", "1"}}), "{a=\"1\", b=\"x\\\"y\"}");
}

Alert sample(bool firing) {
    Alert a;
    a.firing = firing;
    a.labels = {{"alertname", "PicketNodeOdown"}, {"cluster", "prod"},
                {"node", "10.0.0.1:6379"},        {"event", "node_odown"},
                {"severity", "critical"},         {"shard", "s1"}};
    a.annotations = {
        {"summary", "down"}, {"description", "refused"}, {"runbook_url", "http://r/x"}};
    a.starts_at = 1700000000;
    if (!firing) {
        a.ends_at = 1700000060;
    }
    a.generator_url = "http://127.0.0.1:7701/v1/status";
    return a;
}

TEST(WebhookPayload, HasEveryFieldOfVersion4) {
    const auto j = json::parse(webhook_payload({"ops", "http://picket:7701"}, {sample(true)}));
    EXPECT_EQ(j["version"], "4");
    EXPECT_EQ(j["status"], "firing");
    EXPECT_EQ(j["receiver"], "ops");
    EXPECT_EQ(j["externalURL"], "http://picket:7701");
    EXPECT_EQ(j["truncatedAlerts"], 0);
    EXPECT_EQ(j["groupLabels"],
              (json{{"cluster", "prod"}, {"node", "10.0.0.1:6379"}, {"shard", "s1"}}));
    EXPECT_EQ(j["groupKey"],
              "{}/{picket=\"ops\"}:{cluster=\"prod\", node=\"10.0.0.1:6379\", shard=\"s1\"}");
    EXPECT_EQ(j["commonLabels"]["severity"], "critical");
    EXPECT_EQ(j["commonAnnotations"]["summary"], "down");
    ASSERT_EQ(j["alerts"].size(), 1u);
    const auto& a = j["alerts"][0];
    EXPECT_EQ(a["status"], "firing");
    EXPECT_EQ(a["startsAt"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
    EXPECT_EQ(a["generatorURL"], "http://127.0.0.1:7701/v1/status");
    EXPECT_EQ(a["fingerprint"], fingerprint_hex(sample(true).labels));
    EXPECT_EQ(a["labels"]["alertname"], "PicketNodeOdown");
    EXPECT_EQ(j.size(), 10u);
    EXPECT_EQ(a.size(), 7u);
}

TEST(WebhookPayload, ResolvedSharesTheFingerprintAndCommonPartsShrink) {
    Alert other = sample(false);
    other.labels["node"] = "10.0.0.2:6379";
    other.annotations["summary"] = "other";
    const auto j = json::parse(webhook_payload({"ops", "x"}, {sample(false), other}));
    EXPECT_EQ(j["status"], "resolved");
    EXPECT_EQ(j["alerts"][0]["fingerprint"], fingerprint_hex(sample(true).labels));
    EXPECT_EQ(j["alerts"][0]["endsAt"], "2023-11-14T22:14:20Z");
    EXPECT_FALSE(j["commonLabels"].contains("node"));
    EXPECT_FALSE(j["commonAnnotations"].contains("summary"));
    EXPECT_TRUE(j["commonAnnotations"].contains("description"));
    EXPECT_FALSE(j["groupLabels"].contains("node"));
}

TEST(WebhookPayload, InvalidUtf8IsReplacedNotThrown) {
    Alert a = sample(true);
    a.annotations["description"] = "bad \xff byte";
    const auto j = json::parse(webhook_payload({"ops", "x"}, {a}));
    EXPECT_EQ(j["alerts"][0]["annotations"]["description"], "bad \xEF\xBF\xBD byte");
}

TEST(AlertmanagerV2Body, PostableAlerts) {
    Alert firing = sample(true);
    const auto j = json::parse(alertmanager_v2_body({firing, sample(false)}));
    ASSERT_TRUE(j.is_array());
    EXPECT_FALSE(j[0].contains("endsAt"));
    EXPECT_FALSE(j[0].contains("status"));
    EXPECT_EQ(j[1]["endsAt"], "2023-11-14T22:14:20Z");
    EXPECT_EQ(j[0]["labels"]["cluster"], "prod");
}

TEST(Signature, HmacSha256OverTimestampDotBody) {
    // Reference: python3 hmac.new(b"k3y", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    EXPECT_EQ(sign("k3y", 1700000000, R"({"a":1})"),
              "sha256=fd5a70e965043f7df6309c2c3b5ff5a8ffa99b1f5175e9a311459e73c4634d4a");
    const auto sig = sign("secret", 42, "body");
    EXPECT_TRUE(verify("secret", "42", "body", sig));
    EXPECT_FALSE(verify("secret", "43", "body", sig));
    EXPECT_FALSE(verify("secret", "42", "body!", sig));
    EXPECT_FALSE(verify("Secret", "42", "body", sig));
    EXPECT_FALSE(verify("secret", "42", "body", sig.substr(1)));
    EXPECT_FALSE(verify("secret", "4x", "body", sig));
    EXPECT_FALSE(verify("secret", "", "body", sig));
    EXPECT_EQ(hmac_sha256_hex("", "").size(), 64u);
}

}  // namespace
}  // namespace picket::alert
