#pragma once
// The pure core of alert delivery (the shell picket::alert_sender owns sockets and the
// timer): events in, HTTP requests out.
//
//   publish(event, now, wall, is_leader)  — an event happened
//   tick(now, wall, is_leader)            — the shell's timer; returns requests to send now
//   on_result(target, id, result, now)    — what became of a request
//   next_wakeup()                         — when tick() has work next
//
// It keeps the active (firing) alerts, so that a resolving event yields resolved
// notifications with the firing alert's labels, startsAt and fingerprint; one payload per
// receiver per event (filtered, `send_resolved` honoured), signed at send time; and the
// Alertmanager push: every notification at once, then the active alerts again every
// `resend_interval` with endsAt = wall + 4 × resend_interval (as Prometheus does, so they
// expire if picket stops), resolved ones with endsAt = the resolve time.
//
// Cluster-level notifications are sent only while `is_leader` (operators hear of a node
// once, not once per watcher); watcher-level ones (quorum_lost, safe mode, reload) by
// everyone. Every watcher tracks active alerts either way, so a new leader resolves what
// the old one fired: cluster-level labels carry no watcher, the fingerprints match.
//
// Replay: when this watcher becomes leader (is_leader turns true in publish() or tick()),
// it first sends every active cluster-level alert it has not sent itself — what fired while
// no leader existed (an SDOWN/ODOWN before the first election) or while another watcher
// led. A firing alert sent twice carries the same labels, startsAt and fingerprint, which
// Alertmanager and its receivers treat as the same alert (Alertmanager itself re-notifies
// firing alerts every repeat_interval); a firing alert never sent is an outage nobody hears
// of. So the replay errs on the side of a duplicate (docs/alerts.md, "Leader changes").
//
// Reconfigure (SIGHUP): receivers are matched by name. A kept receiver keeps its queue
// (waiting notifications, the one in flight, its stats) and takes the new url, secret,
// timeout, filter, send_resolved and queue size from the next attempt on; new ones start
// empty; removed ones are dropped with what they had queued. Active alerts stay.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "picket/alert/delivery_queue.h"
#include "picket/alert/event.h"
#include "picket/alert/filter.h"
#include "picket/alert/payload.h"
#include "picket/base/expected.h"
#include "picket/base/time.h"
#include "picket/config/config.h"

namespace picket::alert {

/// One webhook receiver, resolved from config (secret read, filter parsed).
struct ReceiverSpec {
    std::string name;
    config::Url url;
    std::string secret;  ///< empty = unsigned
    Duration timeout = std::chrono::seconds(5);
    EventFilter filter;
    bool send_resolved = true;
    std::size_t queue_size = 256;
    std::string ca_file;
};

/// The optional Alertmanager push.
struct AlertmanagerSpec {
    config::Url url;  ///< already pointing at <base>/api/v2/alerts
    Duration timeout = std::chrono::seconds(5);
    Duration resend_interval = std::chrono::minutes(1);
    std::string ca_file;
};

struct PublisherConfig {
    std::string cluster;           ///< `cluster` label
    std::string watcher_id;        ///< `watcher` label of watcher-level alerts
    std::string external_url;      ///< externalURL; generatorURL = external_url + "/v1/status"
    std::string runbook_base_url;  ///< runbook_url = base + "/" + event name; empty = none
    std::vector<ReceiverSpec> receivers;
    std::optional<AlertmanagerSpec> alertmanager;
    RetryPolicy retry;
    std::size_t alertmanager_queue_size = 64;
    std::size_t max_active_alerts = 4096;
};

/// Builds the publisher's config from `alerts:`. `default_external_url` is used when
/// alerts.external_url is empty ("http://" + watcher.http_listen). Errors: a filter that
/// matches no event.
Expected<PublisherConfig, std::string> make_publisher_config(
    const config::AlertsConfig& alerts, const std::string& cluster, const std::string& watcher_id,
    const std::string& default_external_url);

/// A request for the shell. `target` names the queue it came from, for on_result(): a
/// stable key that survives reconfigure() (at construction: the receiver's index, and
/// receivers.size() for Alertmanager; later-added targets get fresh keys).
struct OutgoingRequest {
    std::size_t target = 0;
    std::string target_name;  ///< receiver name, or "alertmanager"
    std::uint64_t id = 0;
    std::uint32_t attempt = 1;
    config::Url url;
    std::string ca_file;
    Duration timeout{};
    std::string body;  ///< JSON
    /// Content-Type, User-Agent, and the signature headers when signed.
    std::vector<std::pair<std::string, std::string>> headers;
};

/// Stats of one target (a receiver or Alertmanager).
struct TargetStats {
    std::string name;
    QueueStats queue;
};

/// What reconfigure() did, by target name ("alertmanager" for the push).
struct ReconfigureSummary {
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::vector<std::string> changed;    ///< kept, with new settings
    std::vector<std::string> unchanged;  ///< kept as they were
    /// Notifications dropped: queued for removed targets, or beyond a smaller queue_size.
    std::size_t discarded = 0;
};

class Publisher {
  public:
    Publisher(PublisherConfig config, Uniform01 random);

    /// Applies a reloaded config (see the header comment). `now` makes a changed
    /// destination's waiting notifications due at once, and a newly configured
    /// Alertmanager receive the active alerts at the next tick().
    ReconfigureSummary reconfigure(PublisherConfig next, TimePoint now);

    void publish(const Event& event, TimePoint now, double wall, bool is_leader);
    std::vector<OutgoingRequest> tick(TimePoint now, double wall, bool is_leader);
    std::optional<Completion> on_result(std::size_t target, std::uint64_t id,
                                        const DeliveryResult& result, TimePoint now);
    std::optional<TimePoint> next_wakeup() const;

    /// receivers in config order, then "alertmanager" when configured.
    std::vector<TargetStats> stats() const;
    /// Firing alerts this watcher tracks, by fingerprint.
    std::size_t active_alerts() const { return active_.size(); }
    /// Firing events refused because max_active_alerts were active.
    std::uint64_t active_overflow() const { return active_overflow_; }
    /// Alerts re-sent on becoming leader (see "Replay" above), since construction.
    std::uint64_t replayed() const { return replayed_; }
    const PublisherConfig& config() const { return config_; }

    /// The alert `event` would open (labels, annotations), firing, starting at `wall`.
    Alert make_alert(const Event& event, double wall) const;

  private:
    struct Active {
        Alert alert;
        EventType type;
        Event event;  ///< the firing event (its key fields)
        /// This watcher sent the firing notification (it is watcher-level, or this watcher
        /// led when it fired or when it became leader since).
        bool sent = false;
    };
    struct Notice {
        Alert alert;
        EventType type;  ///< the alert's own type (a resolved alert: the firing type)
    };
    bool same_subject(const Active& active, const Event& resolving) const;
    /// Detects becoming leader and replays the unsent active cluster-level alerts.
    void observe_leadership(bool is_leader, TimePoint now, double wall);
    /// Queues `notices` (already leader-gated) for every receiver whose filter matches and
    /// for Alertmanager.
    void send(std::vector<Notice> notices, TimePoint now, double wall);
    void enqueue_alertmanager(std::vector<Alert> alerts, TimePoint now);
    /// Index into queues_ of target key `target`, or nullopt.
    std::optional<std::size_t> index_of(std::size_t target) const;

    PublisherConfig config_;
    Uniform01 random_;
    std::vector<DeliveryQueue> queues_;  ///< receivers, then Alertmanager
    std::vector<std::size_t> keys_;      ///< OutgoingRequest::target of each queue
    std::size_t next_key_ = 0;
    std::map<std::string, Active> active_;  ///< by fingerprint
    std::optional<TimePoint> next_resend_;
    double last_wall_ = 0;
    bool was_leader_ = false;
    std::uint64_t active_overflow_ = 0;
    std::uint64_t replayed_ = 0;
};

}  // namespace picket::alert
