#include "picket/alert/publisher.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "picket/alert/signature.h"

namespace picket::alert {

namespace {

std::string substitute(std::string_view text, const Event& e, const std::string& watcher) {
    std::string out;
    out.reserve(text.size() + 32);
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '{') {
            const auto close = text.find('}', i);
            if (close != std::string_view::npos) {
                const auto key = text.substr(i + 1, close - i - 1);
                if (key == "node") {
                    out += e.node;
                } else if (key == "shard") {
                    out += e.shard;
                } else if (key == "watcher") {
                    out += watcher;
                } else if (key == "check") {
                    out += e.check;
                } else {
                    out += text.substr(i, close - i + 1);
                }
                i = close + 1;
                continue;
            }
        }
        out += text[i++];
    }
    // Collapse the double space an empty substitution leaves, and trailing space.
    std::string tidy;
    for (const char c : out) {
        if (c == ' ' && (tidy.empty() || tidy.back() == ' ')) {
            continue;
        }
        tidy += c;
    }
    while (!tidy.empty() && tidy.back() == ' ') {
        tidy.pop_back();
    }
    return tidy;
}

std::string trim_trailing_slash(std::string s) {
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

constexpr const char* kUserAgent = "picket-alert/1";

}  // namespace

Expected<PublisherConfig, std::string> make_publisher_config(
    const config::AlertsConfig& alerts, const std::string& cluster, const std::string& watcher_id,
    const std::string& default_external_url) {
    PublisherConfig pc;
    pc.cluster = cluster;
    pc.watcher_id = watcher_id;
    pc.external_url = trim_trailing_slash(alerts.external_url.empty() ? default_external_url
                                                                      : alerts.external_url);
    pc.runbook_base_url = trim_trailing_slash(alerts.runbook_base_url);
    for (const auto& r : alerts.receivers) {
        auto filter = EventFilter::parse(r.events);
        if (!filter) {
            return unexpected("alerts.receivers[" + r.name + "].events: " + filter.error());
        }
        ReceiverSpec spec;
        spec.name = r.name;
        spec.url = r.url;
        spec.secret = r.secret.reveal();
        spec.timeout = r.timeout;
        spec.filter = std::move(*filter);
        spec.send_resolved = r.send_resolved;
        spec.queue_size = r.queue_size;
        spec.ca_file = r.ca_file;
        pc.receivers.push_back(std::move(spec));
    }
    if (alerts.alertmanager) {
        AlertmanagerSpec am;
        am.url = alerts.alertmanager->url;
        std::string base = alerts.alertmanager->url.target;
        base = trim_trailing_slash(base);
        am.url.target = base + "/api/v2/alerts";
        am.url.text = trim_trailing_slash(alerts.alertmanager->url.text) + "/api/v2/alerts";
        am.timeout = alerts.alertmanager->timeout;
        am.resend_interval = alerts.alertmanager->resend_interval;
        am.ca_file = alerts.alertmanager->ca_file;
        pc.alertmanager = std::move(am);
    }
    return pc;
}

Publisher::Publisher(PublisherConfig config, Uniform01 random)
    : config_(std::move(config)), random_(std::move(random)) {
    for (const auto& r : config_.receivers) {
        queues_.emplace_back(r.queue_size, r.timeout, config_.retry, random_);
        keys_.push_back(next_key_++);
    }
    if (config_.alertmanager) {
        queues_.emplace_back(config_.alertmanager_queue_size, config_.alertmanager->timeout,
                             config_.retry, random_);
        keys_.push_back(next_key_++);
    }
}

namespace {
/// Where a notification goes and who may read it: a change makes waiting ones due again.
bool same_destination(const ReceiverSpec& a, const ReceiverSpec& b) {
    return a.url == b.url && a.secret == b.secret && a.ca_file == b.ca_file;
}
bool same_receiver(const ReceiverSpec& a, const ReceiverSpec& b) {
    return same_destination(a, b) && a.timeout == b.timeout &&
           a.filter.patterns() == b.filter.patterns() && a.send_resolved == b.send_resolved &&
           a.queue_size == b.queue_size;
}
bool same_alertmanager(const AlertmanagerSpec& a, const AlertmanagerSpec& b) {
    return a.url == b.url && a.timeout == b.timeout && a.resend_interval == b.resend_interval &&
           a.ca_file == b.ca_file;
}
}  // namespace

ReconfigureSummary Publisher::reconfigure(PublisherConfig next, TimePoint now) {
    ReconfigureSummary summary;
    const std::size_t old_receivers = config_.receivers.size();
    std::vector<bool> kept(queues_.size(), false);
    std::vector<DeliveryQueue> queues;
    std::vector<std::size_t> keys;
    for (const auto& r : next.receivers) {
        std::optional<std::size_t> old;
        for (std::size_t j = 0; j < old_receivers; ++j) {
            if (!kept[j] && config_.receivers[j].name == r.name) {
                old = j;
                break;
            }
        }
        if (!old) {
            queues.emplace_back(r.queue_size, r.timeout, next.retry, random_);
            keys.push_back(next_key_++);
            summary.added.push_back(r.name);
            continue;
        }
        kept[*old] = true;
        const ReceiverSpec& was = config_.receivers[*old];
        DeliveryQueue q = std::move(queues_[*old]);
        if (same_receiver(was, r)) {
            summary.unchanged.push_back(r.name);
        } else {
            summary.changed.push_back(r.name);
            summary.discarded += q.reconfigure(r.queue_size, r.timeout);
            if (!same_destination(was, r)) {
                q.retry_now(now);
            }
        }
        queues.push_back(std::move(q));
        keys.push_back(keys_[*old]);
    }
    if (next.alertmanager) {
        if (config_.alertmanager) {
            const std::size_t old = queues_.size() - 1;
            kept[old] = true;
            DeliveryQueue q = std::move(queues_[old]);
            if (same_alertmanager(*config_.alertmanager, *next.alertmanager)) {
                summary.unchanged.emplace_back("alertmanager");
            } else {
                summary.changed.emplace_back("alertmanager");
                summary.discarded +=
                    q.reconfigure(next.alertmanager_queue_size, next.alertmanager->timeout);
                if (config_.alertmanager->url != next.alertmanager->url ||
                    config_.alertmanager->ca_file != next.alertmanager->ca_file) {
                    q.retry_now(now);
                }
                if (next_resend_ && *next_resend_ > now + next.alertmanager->resend_interval) {
                    next_resend_ = now + next.alertmanager->resend_interval;
                }
            }
            queues.push_back(std::move(q));
            keys.push_back(keys_[old]);
        } else {
            queues.emplace_back(next.alertmanager_queue_size, next.alertmanager->timeout,
                                next.retry, random_);
            keys.push_back(next_key_++);
            summary.added.emplace_back("alertmanager");
            next_resend_ = now;  // the active alerts, at the next tick
        }
    } else if (config_.alertmanager) {
        next_resend_.reset();
    }
    for (std::size_t j = 0; j < queues_.size(); ++j) {
        if (!kept[j]) {
            summary.removed.push_back(j < old_receivers ? config_.receivers[j].name
                                                        : std::string("alertmanager"));
            summary.discarded += queues_[j].size();
        }
    }
    config_ = std::move(next);
    queues_ = std::move(queues);
    keys_ = std::move(keys);
    return summary;
}

std::optional<std::size_t> Publisher::index_of(std::size_t target) const {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        if (keys_[i] == target) {
            return i;
        }
    }
    return std::nullopt;
}

Alert Publisher::make_alert(const Event& e, double wall) const {
    const EventInfo& ei = info(e.type);
    Alert a;
    a.firing = true;
    a.labels["alertname"] = std::string(ei.alertname);
    a.labels["cluster"] = config_.cluster;
    a.labels["event"] = std::string(ei.name);
    a.labels["severity"] = std::string(to_string(ei.severity));
    if (!e.node.empty()) {
        a.labels["node"] = e.node;
    }
    if (!e.shard.empty()) {
        a.labels["shard"] = e.shard;
    }
    if (!e.check.empty()) {
        a.labels["check"] = e.check;
    }
    if (ei.scope == Scope::kWatcher) {
        a.labels["watcher"] = config_.watcher_id;
    }
    a.annotations["summary"] = substitute(ei.summary, e, config_.watcher_id);
    std::string description = e.detail;
    for (const auto& r : e.reasons) {
        if (!description.empty()) {
            description += '\n';
        }
        description += r;
    }
    if (description.empty()) {
        description = a.annotations["summary"];
    }
    if (!e.node_id.empty()) {
        description += "\nnode id: " + e.node_id;
    }
    a.annotations["description"] = std::move(description);
    if (!config_.runbook_base_url.empty()) {
        a.annotations["runbook_url"] = config_.runbook_base_url + "/" + std::string(ei.name);
    }
    a.starts_at = wall;
    a.generator_url = config_.external_url + "/v1/status";
    return a;
}

bool Publisher::same_subject(const Active& active, const Event& e) const {
    switch (info(active.type).scope) {
        case Scope::kNode:
            return active.event.node == e.node;
        case Scope::kShard:
            if (!active.event.shard.empty() || !e.shard.empty()) {
                return active.event.shard == e.shard;
            }
            return active.event.node == e.node;
        case Scope::kCluster:
            return active.event.check == e.check && active.event.node == e.node;
        case Scope::kWatcher:
            return true;
    }
    return false;
}

void Publisher::observe_leadership(bool is_leader, TimePoint now, double wall) {
    const bool became_leader = is_leader && !was_leader_;
    was_leader_ = is_leader;
    if (!became_leader) {
        return;
    }
    // Oldest first, as they would have gone out.
    std::vector<Active*> unsent;
    for (auto& [fp, a] : active_) {
        if (!a.sent && is_cluster_level(a.type)) {
            unsent.push_back(&a);
        }
    }
    std::stable_sort(unsent.begin(), unsent.end(), [](const Active* x, const Active* y) {
        return x->alert.starts_at < y->alert.starts_at;
    });
    for (Active* a : unsent) {
        a->sent = true;
        ++replayed_;
        std::vector<Notice> one;
        one.push_back(Notice{a->alert, a->type});
        send(std::move(one), now, wall);
    }
}

void Publisher::publish(const Event& event, TimePoint now, double wall, bool is_leader) {
    last_wall_ = wall;
    observe_leadership(is_leader, now, wall);
    const EventInfo& ei = info(event.type);
    std::vector<Notice> notices;
    // Resolutions first: they carry the firing alert's labels (same fingerprint).
    for (const EventType resolved : ei.resolves) {
        for (auto it = active_.begin(); it != active_.end();) {
            if (it->second.type == resolved && same_subject(it->second, event)) {
                Alert a = std::move(it->second.alert);
                a.firing = false;
                a.ends_at = wall;
                notices.push_back(Notice{std::move(a), resolved});
                it = active_.erase(it);
            } else {
                ++it;
            }
        }
    }
    const bool sendable_now = !is_cluster_level(event.type) || is_leader;
    if (ei.firing) {
        Alert a = make_alert(event, wall);
        const std::string fp = fingerprint_hex(a.labels);
        if (active_.count(fp) != 0) {
            // Already firing: not news. (Alertmanager's resend keeps it alive.)
        } else if (active_.size() >= config_.max_active_alerts) {
            ++active_overflow_;
            notices.push_back(Notice{std::move(a), event.type});
        } else {
            active_.emplace(fp, Active{a, event.type, event, sendable_now});
            notices.push_back(Notice{std::move(a), event.type});
        }
    } else if (ei.standalone) {
        notices.push_back(Notice{make_alert(event, wall), event.type});
    }

    // Leader gating: by the scope of the alert's own type.
    std::vector<Notice> sendable;
    for (auto& n : notices) {
        if (!is_cluster_level(n.type) || is_leader) {
            sendable.push_back(std::move(n));
        }
    }
    send(std::move(sendable), now, wall);
}

void Publisher::send(std::vector<Notice> sendable, TimePoint now, double wall) {
    if (sendable.empty()) {
        return;
    }
    for (std::size_t i = 0; i < config_.receivers.size(); ++i) {
        const ReceiverSpec& r = config_.receivers[i];
        std::vector<Alert> mine;
        for (const auto& n : sendable) {
            if (!n.alert.firing && !r.send_resolved) {
                continue;
            }
            // A resolution reaches whoever got the firing alert.
            if (r.filter.matches(n.type)) {
                mine.push_back(n.alert);
            }
        }
        if (!mine.empty()) {
            queues_[i].enqueue(webhook_payload(WebhookEnvelope{r.name, config_.external_url}, mine),
                               now);
        }
    }
    if (config_.alertmanager) {
        std::vector<Alert> all;
        const double expiry =
            wall + 4 * std::chrono::duration<double>(config_.alertmanager->resend_interval).count();
        for (auto& n : sendable) {
            if (n.alert.firing) {
                n.alert.ends_at = expiry;
            }
            all.push_back(std::move(n.alert));
        }
        enqueue_alertmanager(std::move(all), now);
        if (!next_resend_) {
            next_resend_ = now + config_.alertmanager->resend_interval;
        }
    }
}

void Publisher::enqueue_alertmanager(std::vector<Alert> alerts, TimePoint now) {
    if (alerts.empty()) {
        return;
    }
    queues_.back().enqueue(alertmanager_v2_body(alerts), now);
}

std::vector<OutgoingRequest> Publisher::tick(TimePoint now, double wall, bool is_leader) {
    last_wall_ = wall;
    observe_leadership(is_leader, now, wall);
    if (config_.alertmanager && next_resend_ && now >= *next_resend_) {
        next_resend_ = now + config_.alertmanager->resend_interval;
        const double expiry =
            wall + 4 * std::chrono::duration<double>(config_.alertmanager->resend_interval).count();
        std::vector<Alert> firing;
        for (const auto& [fp, a] : active_) {
            if (!is_cluster_level(a.type) || is_leader) {
                Alert copy = a.alert;
                copy.ends_at = expiry;
                firing.push_back(std::move(copy));
            }
        }
        enqueue_alertmanager(std::move(firing), now);
    }
    std::vector<OutgoingRequest> out;
    const auto seconds = static_cast<std::int64_t>(std::floor(wall));
    for (std::size_t i = 0; i < queues_.size(); ++i) {
        for (auto& action : queues_[i].tick(now)) {
            OutgoingRequest req;
            req.target = keys_[i];
            req.id = action.id;
            req.attempt = action.attempt;
            req.headers.emplace_back("Content-Type", "application/json");
            req.headers.emplace_back("User-Agent", kUserAgent);
            if (i < config_.receivers.size()) {
                const ReceiverSpec& r = config_.receivers[i];
                req.target_name = r.name;
                req.url = r.url;
                req.ca_file = r.ca_file;
                req.timeout = r.timeout;
                if (!r.secret.empty()) {
                    req.headers.emplace_back(kTimestampHeader, std::to_string(seconds));
                    req.headers.emplace_back(kSignatureHeader,
                                             sign(r.secret, seconds, action.body));
                }
            } else {
                req.target_name = "alertmanager";
                req.url = config_.alertmanager->url;
                req.ca_file = config_.alertmanager->ca_file;
                req.timeout = config_.alertmanager->timeout;
            }
            req.body = std::move(action.body);
            out.push_back(std::move(req));
        }
    }
    return out;
}

std::optional<Completion> Publisher::on_result(std::size_t target, std::uint64_t id,
                                               const DeliveryResult& result, TimePoint now) {
    const auto i = index_of(target);
    if (!i) {
        return std::nullopt;  // a target removed by reconfigure(): its result has no queue
    }
    return queues_[*i].on_result(id, result, now);
}

std::optional<TimePoint> Publisher::next_wakeup() const {
    std::optional<TimePoint> best;
    auto consider = [&best](std::optional<TimePoint> t) {
        if (t && (!best || *t < *best)) {
            best = t;
        }
    };
    for (const auto& q : queues_) {
        consider(q.next_wakeup());
    }
    if (config_.alertmanager && !active_.empty()) {
        consider(next_resend_);
    }
    return best;
}

std::vector<TargetStats> Publisher::stats() const {
    std::vector<TargetStats> out;
    for (std::size_t i = 0; i < queues_.size(); ++i) {
        out.push_back(TargetStats{
            i < config_.receivers.size() ? config_.receivers[i].name : std::string("alertmanager"),
            queues_[i].stats()});
    }
    return out;
}

}  // namespace picket::alert
