#pragma once
// The wire formats picket speaks to alerting tools:
//  - Alertmanager's webhook payload, version "4" (what Alertmanager itself POSTs to a
//    `webhook_configs` receiver), so every existing webhook receiver consumes picket's
//    notifications unchanged;
//  - the body of Alertmanager's `POST /api/v2/alerts` (a JSON array of postable alerts).
// Wall-clock times are inputs (seconds since the Unix epoch); nothing here reads a clock.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace picket::alert {

using LabelSet = std::map<std::string, std::string>;  ///< sorted by name, as Prometheus's

/// Alertmanager's fingerprint of a label set (prometheus/common model.labelSetToFingerprint):
/// FNV-1a 64 over the label names in sorted order, each name and value followed by the
/// separator byte 0xff. The empty set hashes to the FNV offset basis.
std::uint64_t fingerprint(const LabelSet& labels);
/// As Alertmanager prints it (model.Fingerprint.String()): 16 lower-case hex digits.
std::string fingerprint_hex(const LabelSet& labels);

/// model.LabelSet.String(): `{a="x", b="y"}` with Go-quoted values.
std::string label_set_string(const LabelSet& labels);

/// RFC 3339 in UTC with millisecond precision ("2024-05-01T12:00:00.250Z"). Times before
/// year 1 or after 9999 are clamped.
std::string rfc3339(double unix_seconds);
/// The zero time as Go (and so Alertmanager) prints it: "0001-01-01T00:00:00Z".
inline constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

/// One alert, firing or resolved.
struct Alert {
    bool firing = true;
    LabelSet labels;
    LabelSet annotations;  ///< summary, description, runbook_url
    double starts_at = 0;  ///< wall seconds
    /// Wall seconds; nullopt while firing (the webhook shows kZeroTime). For the API v2
    /// push, a firing alert's endsAt is set by the caller (Prometheus style: now + 4 ×
    /// resend interval) so it expires on its own if picket stops re-sending it.
    std::optional<double> ends_at;
    std::string generator_url;
};

/// Everything of a webhook message besides its alerts.
struct WebhookEnvelope {
    std::string receiver;      ///< the receiver's configured name
    std::string external_url;  ///< picket's external URL
};

/// The groupKey picket sends: `{}/{picket="<receiver>"}:` + the group labels' string.
std::string group_key(const std::string& receiver, const LabelSet& group_labels);

/// The labels every alert of a notification group shares (the group labels: cluster, and
/// node/shard when all alerts have the same).
LabelSet group_labels(const std::vector<Alert>& alerts);

/// The webhook v4 JSON document (Alertmanager's notify/webhook Message):
/// receiver, status ("firing" when any alert fires), alerts[] {status, labels, annotations,
/// startsAt, endsAt, generatorURL, fingerprint}, groupLabels, commonLabels,
/// commonAnnotations, externalURL, version "4", groupKey, truncatedAlerts 0.
/// `alerts` must not be empty.
std::string webhook_payload(const WebhookEnvelope& envelope, const std::vector<Alert>& alerts);

/// The body of POST /api/v2/alerts: `[{labels, annotations, startsAt, endsAt?,
/// generatorURL}]`. A firing alert without ends_at omits endsAt.
std::string alertmanager_v2_body(const std::vector<Alert>& alerts);

}  // namespace picket::alert
