#include "picket/detect/detector.h"

#include <algorithm>

namespace picket::detect {

std::string_view to_string(Evidence e) {
    switch (e) {
        case Evidence::kNone:
            return "none";
        case Evidence::kDead:
            return "dead";
        case Evidence::kUnresponsive:
            return "unresponsive";
    }
    return "unknown";
}

std::string_view to_string(ProbeOutcome o) {
    switch (o) {
        case ProbeOutcome::kPong:
            return "pong";
        case ProbeOutcome::kBusy:
            return "busy";
        case ProbeOutcome::kMasterDown:
            return "masterdown";
        case ProbeOutcome::kErrorReply:
            return "error_reply";
        case ProbeOutcome::kLoading:
            return "loading";
        case ProbeOutcome::kRefused:
            return "refused";
        case ProbeOutcome::kReset:
            return "reset";
        case ProbeOutcome::kClosed:
            return "closed";
        case ProbeOutcome::kTimeout:
            return "timeout";
        case ProbeOutcome::kUnreachable:
            return "unreachable";
        case ProbeOutcome::kIndeterminate:
            return "indeterminate";
    }
    return "unknown";
}

std::string_view to_string(NodeState s) {
    switch (s) {
        case NodeState::kUnknown:
            return "unknown";
        case NodeState::kUp:
            return "up";
        case NodeState::kFailing:
            return "failing";
        case NodeState::kSdown:
            return "sdown";
        case NodeState::kLoading:
            return "loading";
    }
    return "unknown";
}

std::string_view to_string(Event::Kind k) {
    switch (k) {
        case Event::Kind::kNodeAdded:
            return "node_added";
        case Event::Kind::kNodeRemoved:
            return "node_removed";
        case Event::Kind::kSdown:
            return "sdown";
        case Event::Kind::kRecovered:
            return "recovered";
        case Event::Kind::kRoleChanged:
            return "role_changed";
        case Event::Kind::kReplicaLinkDown:
            return "replica_link_down";
        case Event::Kind::kReplicaLinkUp:
            return "replica_link_up";
        case Event::Kind::kSafeModeEntered:
            return "safe_mode_entered";
        case Event::Kind::kSafeModeLeft:
            return "safe_mode_left";
    }
    return "unknown";
}

ProbeOutcome probe_outcome_for_error_code(std::string_view code) {
    if (code == "BUSY") {
        return ProbeOutcome::kBusy;
    }
    if (code == "MASTERDOWN") {
        return ProbeOutcome::kMasterDown;
    }
    if (code == "LOADING") {
        return ProbeOutcome::kLoading;
    }
    return ProbeOutcome::kErrorReply;
}

namespace {

bool is_alive_reply(ProbeOutcome o) {
    return o == ProbeOutcome::kPong || o == ProbeOutcome::kBusy || o == ProbeOutcome::kMasterDown ||
           o == ProbeOutcome::kErrorReply;
}

bool is_dead_evidence(ProbeOutcome o) {
    return o == ProbeOutcome::kRefused || o == ProbeOutcome::kReset || o == ProbeOutcome::kClosed;
}

bool is_unresponsive_evidence(ProbeOutcome o) {
    return o == ProbeOutcome::kTimeout || o == ProbeOutcome::kUnreachable;
}

std::string probe_reason(ProbeOutcome o) {
    switch (o) {
        case ProbeOutcome::kRefused:
            return "connection refused";
        case ProbeOutcome::kReset:
            return "connection reset";
        case ProbeOutcome::kClosed:
            return "connection closed by server";
        case ProbeOutcome::kTimeout:
            return "no reply before the deadline";
        case ProbeOutcome::kUnreachable:
            return "host unreachable";
        default:
            return std::string(to_string(o));
    }
}

std::string ms(Duration d) {
    return std::to_string(to_ms(d)) + " ms";
}

/// "host:port" of the master a replica's INFO names.
std::string master_endpoint_of(const cluster::ReplicationInfo& info) {
    if (info.master_host.find(':') != std::string::npos) {
        return "[" + info.master_host + "]:" + std::to_string(info.master_port);
    }
    return info.master_host + ":" + std::to_string(info.master_port);
}

bool is_master(const NodeStatus& n) {
    if (n.replication && n.replication->role != cluster::ReplicationRole::kUnknown) {
        return n.replication->role == cluster::ReplicationRole::kMaster;
    }
    return n.cluster_says_master;
}

}  // namespace

Detector::Detector(DetectorConfig config) : config_(config) {}

const NodeStatus* Detector::node(std::string_view address) const {
    auto it = nodes_.find(address);
    return it == nodes_.end() ? nullptr : &it->second;
}

bool Detector::in_safe_mode(TimePoint now) const {
    return safe_mode_until_.has_value() && now < *safe_mode_until_;
}

void Detector::observe_time(TimePoint now) {
    if (last_input_) {
        const bool backwards = now < *last_input_;
        const bool late = now - *last_input_ > config_.tick_interval + config_.loop_lag;
        if (backwards || late) {
            const bool was = in_safe_mode(now);
            safe_mode_until_ = now + config_.safe_mode_hold;
            ignore_probes_sent_before_ = now;
            if (!was) {
                emit(Event{Event::Kind::kSafeModeEntered,
                           now,
                           {},
                           {},
                           Evidence::kNone,
                           backwards ? Duration{} : now - *last_input_,
                           backwards ? "monotonic time went backwards"
                                     : "event loop stalled for " + ms(now - *last_input_)});
            }
        }
    }
    if (!last_input_ || now > *last_input_) {
        last_input_ = now;
    }
}

void Detector::set_nodes(const std::vector<KnownNode>& nodes, TimePoint now) {
    observe_time(now);
    std::set<std::string, std::less<>> wanted;
    std::vector<std::string> added_now;
    for (const auto& k : nodes) {
        wanted.insert(k.address);
        auto [it, added] = nodes_.try_emplace(k.address);
        NodeStatus& n = it->second;
        n.address = k.address;
        n.node_id = k.node_id;
        n.cluster_says_master = k.cluster_says_master;
        n.master_address = k.master_address;
        if (added) {
            emit(Event{Event::Kind::kNodeAdded,
                       now,
                       k.address,
                       k.node_id,
                       Evidence::kNone,
                       {},
                       k.cluster_says_master ? "master" : "replica"});
            request_replication(k.address);
            added_now.push_back(k.address);
        }
        if (n.replication && n.replication->role != cluster::ReplicationRole::kUnknown) {
            n.role_contradicts_cluster =
                (n.replication->role == cluster::ReplicationRole::kMaster) != n.cluster_says_master;
        }
    }
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        if (wanted.count(it->first) == 0) {
            emit(Event{Event::Kind::kNodeRemoved,
                       now,
                       it->first,
                       it->second.node_id,
                       Evidence::kNone,
                       {},
                       "no longer in the cluster's view"});
            if (auto v = views_.find(it->first); v != views_.end()) {
                const std::string viewer = v->first;
                const auto flagged = std::move(v->second);
                views_.erase(v);
                apply_flags(viewer, flagged, false);
            }
            index_replica(it->first, it->second.replication ? &*it->second.replication : nullptr,
                          nullptr);
            it = nodes_.erase(it);
        } else {
            ++it;
        }
    }
    // A node new to the set takes the flags stored views already give its address.
    for (const auto& address : added_now) {
        auto& n = nodes_.at(address);
        for (const auto& [viewer, flagged] : views_) {
            if (auto f = flagged.find(address); f != flagged.end()) {
                if (f->second.fail) {
                    n.flagged_fail_by.insert(viewer);
                }
                if (f->second.pfail) {
                    n.flagged_pfail_by.insert(viewer);
                }
            }
        }
    }
}

void Detector::apply_flags(const std::string& viewer,
                           const std::map<std::string, Flagged, std::less<>>& flagged, bool add) {
    for (const auto& [addr, f] : flagged) {
        auto n = nodes_.find(addr);
        if (n == nodes_.end()) {
            continue;
        }
        if (!add) {
            n->second.flagged_fail_by.erase(viewer);
            n->second.flagged_pfail_by.erase(viewer);
            continue;
        }
        if (f.fail) {
            n->second.flagged_fail_by.insert(viewer);
        }
        if (f.pfail) {
            n->second.flagged_pfail_by.insert(viewer);
        }
    }
}

void Detector::request_replication(const std::string& address) {
    Action a{Action::Kind::kRefreshReplication, address};
    if (std::find(output_.actions.begin(), output_.actions.end(), a) == output_.actions.end()) {
        output_.actions.push_back(std::move(a));
    }
}

void Detector::on_probe(std::string_view address, const Probe& probe) {
    observe_time(probe.completed_at);
    auto it = nodes_.find(address);
    if (it == nodes_.end()) {
        return;
    }
    if (ignore_probes_sent_before_ && probe.sent_at < *ignore_probes_sent_before_) {
        ++stale_probes_ignored_;  // its deadline ran out while we were not running
        return;
    }
    NodeStatus& n = it->second;
    const TimePoint now = probe.completed_at;
    ++n.probes;
    n.last_outcome = probe.outcome;

    if (is_alive_reply(probe.outcome) || probe.outcome == ProbeOutcome::kLoading) {
        const bool first = n.state == NodeState::kUnknown;
        n.last_reply = now;
        n.last_latency = probe.completed_at - probe.sent_at;
        n.last_error = probe.outcome == ProbeOutcome::kPong ? std::string() : probe.detail;
        if (probe.outcome == ProbeOutcome::kLoading) {
            if (n.failing_since) {
                recover(n, now);
            }
            if (!n.loading_since) {
                n.loading_since = probe.sent_at;
                request_replication(n.address);
            }
            if (n.state != NodeState::kSdown) {
                n.state = NodeState::kLoading;
            }
        } else {
            if (n.failing_since || n.loading_since || n.state == NodeState::kSdown) {
                recover(n, now);
            }
            n.state = NodeState::kUp;
            if (first) {
                request_replication(n.address);
            }
        }
    } else if (is_dead_evidence(probe.outcome) || is_unresponsive_evidence(probe.outcome)) {
        ++n.failures;
        n.last_error = probe.detail.empty() ? probe_reason(probe.outcome) : probe.detail;
        if (!n.failing_since) {
            n.failing_since = probe.sent_at;
            // Silent since the last reply — unless our own probing had a gap (a stall, a
            // reconnect backoff): then since one probe interval before this probe.
            const TimePoint floor = probe.sent_at - config_.probe_interval;
            n.silent_since = n.last_reply && *n.last_reply > floor ? *n.last_reply : floor;
            n.loading_since.reset();
            // Its replicas' view is the next best witness: read it now.
            for (const auto& [addr, other] : nodes_) {
                if (other.master_address == n.address) {
                    request_replication(addr);
                }
            }
            for (const auto& addr : replicas_of(n.address)) {
                request_replication(addr);
            }
        }
        // The latest failure decides the kind: a host that comes back with Redis down
        // turns timeouts into refusals; a refusal then silence means the host went away.
        n.probe_evidence =
            is_dead_evidence(probe.outcome) ? Evidence::kDead : Evidence::kUnresponsive;
        if (n.state != NodeState::kSdown) {
            n.state = NodeState::kFailing;
        }
        n.reason = probe_reason(probe.outcome);
    } else {
        // TLS, auth, protocol trouble: a configuration problem, not evidence either way.
        n.last_error = probe.detail;
    }
    evaluate(n, now);
}

void Detector::recover(NodeStatus& n, TimePoint now) {
    if (n.state == NodeState::kSdown) {
        const auto since = n.failing_since ? *n.failing_since
                                           : n.loading_since.value_or(n.sdown_since.value_or(now));
        emit(Event{Event::Kind::kRecovered, now, n.address, n.node_id, n.evidence, now - since,
                   "replied again after " + ms(now - since)});
    }
    n.failing_since.reset();
    n.silent_since.reset();
    n.sdown_since.reset();
    n.loading_since.reset();
    n.evidence = Evidence::kNone;
    n.probe_evidence = Evidence::kNone;
    n.reason.clear();
    n.state = NodeState::kUp;
    request_replication(n.address);
}

void Detector::declare_sdown(NodeStatus& n, TimePoint now) {
    n.state = NodeState::kSdown;
    n.sdown_since = now;
    // How long it has been silent (dead) or unanswered (timeouts), as the threshold counts.
    const auto since =
        n.failing_since
            ? (n.evidence == Evidence::kDead && n.silent_since ? *n.silent_since : *n.failing_since)
            : n.loading_since.value_or(now);
    std::string detail = n.reason;
    if (in_safe_mode(now)) {
        detail += " (safe mode: not reported to the vote)";
    }
    emit(Event{Event::Kind::kSdown, now, n.address, n.node_id, n.evidence, now - since,
               std::move(detail)});
    request_replication(n.address);
}

void Detector::evaluate(NodeStatus& n, TimePoint now) {
    if (n.loading_since && !n.failing_since) {
        // -LOADING: alive within the grace period; a master loading longer is down (a
        // restart with a huge AOF must not hide a failure).
        if (is_master(n) && now - *n.loading_since >= config_.loading_grace) {
            n.evidence = Evidence::kDead;
            n.reason = "still loading after " + ms(now - *n.loading_since);
            if (n.state != NodeState::kSdown) {
                declare_sdown(n, now);
            }
        }
        return;
    }
    if (!n.failing_since) {
        return;
    }
    const Evidence ev = n.probe_evidence;
    if (ev == Evidence::kUnresponsive && !n.replicas_report_link_down.empty()) {
        // Every replica with fresh INFO says its link to this master is down: recorded as
        // corroboration, but it does not make timeouts dead evidence. A master cut off
        // from us and from its replicas looks the same — restarted behind a partition
        // before its replica re-linked (sim seeds 84303, 17735), or partitioned before the
        // first sync (chaos finding 5) — and it serves writes until cluster-node-timeout,
        // which only the timeouts-only wait covers.
        std::size_t fresh = 0;
        for (const auto& addr : replicas_of(n.address)) {
            const auto r = nodes_.find(addr);
            if (r != nodes_.end() && r->second.replication_at &&
                now - *r->second.replication_at <= config_.replica_report_max_age) {
                ++fresh;
            }
        }
        if (fresh > 0 && fresh == n.replicas_report_link_down.size()) {
            n.reason = "no reply, and all " + std::to_string(fresh) +
                       " replicas report master_link_status:down";
        }
    }
    n.evidence = ev;
    if (n.state != NodeState::kSdown && now >= *sdown_deadline(n, ev)) {
        declare_sdown(n, now);
    }
}

std::optional<TimePoint> Detector::sdown_deadline(const NodeStatus& n, Evidence ev) const {
    if (!n.failing_since) {
        return std::nullopt;
    }
    if (ev == Evidence::kDead) {
        return n.silent_since.value_or(*n.failing_since) + config_.down_after;
    }
    return *n.failing_since + config_.down_after_unresponsive;
}

const std::set<std::string, std::less<>>& Detector::replicas_of(std::string_view master) const {
    static const std::set<std::string, std::less<>> kNone;
    const auto it = replicas_of_.find(master);
    return it == replicas_of_.end() ? kNone : it->second;
}

void Detector::index_replica(const std::string& replica, const cluster::ReplicationInfo* before,
                             const cluster::ReplicationInfo* after) {
    using cluster::ReplicationRole;
    const bool was = before != nullptr && before->role == ReplicationRole::kReplica;
    const bool is = after != nullptr && after->role == ReplicationRole::kReplica;
    std::string old_master = was ? master_endpoint_of(*before) : std::string();
    std::string new_master = is ? master_endpoint_of(*after) : std::string();
    if (was && (!is || old_master != new_master)) {
        if (auto it = replicas_of_.find(old_master); it != replicas_of_.end()) {
            it->second.erase(replica);
            if (it->second.empty()) {
                replicas_of_.erase(it);
            }
        }
    }
    if (is) {
        replicas_of_[std::move(new_master)].insert(replica);
    }
}

void Detector::refresh_lag(NodeStatus& n) {
    n.lag_bytes.reset();
    if (!n.replication || n.replication->role != cluster::ReplicationRole::kReplica) {
        return;
    }
    auto m = nodes_.find(master_endpoint_of(*n.replication));
    if (m == nodes_.end() || !m->second.replication ||
        m->second.replication->role != cluster::ReplicationRole::kMaster) {
        return;
    }
    n.lag_bytes = std::max<std::int64_t>(
        0, m->second.replication->master_repl_offset - n.replication->slave_repl_offset);
}

void Detector::refresh_replica_testimony(NodeStatus& master, TimePoint now) {
    master.replicas_report_link_down.clear();
    for (const auto& addr : replicas_of(master.address)) {
        const auto r = nodes_.find(addr);
        if (r != nodes_.end() && r->second.replication && r->second.replication_at &&
            now - *r->second.replication_at <= config_.replica_report_max_age &&
            r->second.replication->master_link_status == cluster::MasterLinkStatus::kDown) {
            master.replicas_report_link_down.insert(addr);
        }
    }
}

void Detector::on_replication(std::string_view address, const cluster::ReplicationInfo& info,
                              TimePoint now) {
    observe_time(now);
    auto it = nodes_.find(address);
    if (it == nodes_.end()) {
        return;
    }
    NodeStatus& n = it->second;
    const auto previous = n.replication;
    n.replication = info;
    n.replication_at = now;
    index_replica(n.address, previous ? &*previous : nullptr, &info);

    using cluster::MasterLinkStatus;
    using cluster::ReplicationRole;
    if (previous && previous->role != info.role) {
        emit(Event{Event::Kind::kRoleChanged,
                   now,
                   n.address,
                   n.node_id,
                   Evidence::kNone,
                   {},
                   std::string(cluster::to_string(previous->role)) + " -> " +
                       std::string(cluster::to_string(info.role))});
    }
    if (info.role == ReplicationRole::kReplica) {
        const bool was_down = previous && previous->role == ReplicationRole::kReplica &&
                              previous->master_link_status == MasterLinkStatus::kDown;
        if (info.master_link_status == MasterLinkStatus::kDown && !was_down) {
            emit(Event{Event::Kind::kReplicaLinkDown,
                       now,
                       n.address,
                       n.node_id,
                       Evidence::kNone,
                       {},
                       "link to " + master_endpoint_of(info) + " down"});
        } else if (info.master_link_status == MasterLinkStatus::kUp && was_down) {
            emit(Event{Event::Kind::kReplicaLinkUp,
                       now,
                       n.address,
                       n.node_id,
                       Evidence::kNone,
                       {},
                       "link to " + master_endpoint_of(info) + " up"});
        }
    } else if (previous && previous->role == ReplicationRole::kReplica &&
               previous->master_link_status == MasterLinkStatus::kDown) {
        emit(Event{Event::Kind::kReplicaLinkUp,
                   now,
                   n.address,
                   n.node_id,
                   Evidence::kNone,
                   {},
                   "no longer a replica"});
    }
    if (info.role != ReplicationRole::kUnknown) {
        n.role_contradicts_cluster =
            (info.role == ReplicationRole::kMaster) != n.cluster_says_master;
    }

    // Lag of this replica, or of this master's replicas; testimony about the masters this
    // replica names now and named before. Only what this reply can change: refreshing every
    // node on every reply made INFO O(nodes^2) (issue #8, scale benchmark).
    refresh_lag(n);
    if (is_master(n) || (previous && previous->role == ReplicationRole::kMaster)) {
        for (const auto& addr : replicas_of(n.address)) {
            if (auto r = nodes_.find(addr); r != nodes_.end()) {
                refresh_lag(r->second);
            }
        }
    }
    if (is_master(n) || n.failing_since) {
        refresh_replica_testimony(n, now);
    }
    for (const auto* named :
         {previous && previous->role == ReplicationRole::kReplica ? &*previous : nullptr,
          info.role == ReplicationRole::kReplica ? &info : nullptr}) {
        if (named == nullptr) {
            continue;
        }
        auto m = nodes_.find(master_endpoint_of(*named));
        if (m != nodes_.end() && (is_master(m->second) || m->second.failing_since)) {
            refresh_replica_testimony(m->second, now);
        }
    }
    if (info.role == ReplicationRole::kReplica) {
        auto m = nodes_.find(master_endpoint_of(info));
        if (m != nodes_.end()) {
            evaluate(m->second, now);
        }
    }
    evaluate(n, now);
}

void Detector::on_cluster_view(std::string_view viewer,
                               const std::vector<cluster::ClusterNode>& view, TimePoint now) {
    observe_time(now);
    if (nodes_.find(viewer) == nodes_.end()) {
        return;
    }
    // Only flagged lines matter; a later line for the same address (a forgotten node and
    // its replacement) overrides an earlier one, flagged or not.
    std::map<std::string, Flagged, std::less<>> flagged;
    for (const auto& node : view) {
        if (!node.flags.myself && node.address.port != 0 && (node.flags.fail || node.flags.pfail)) {
            flagged[node.address.endpoint()] = Flagged{node.flags.fail, node.flags.pfail};
        }
    }
    if (!flagged.empty()) {
        for (const auto& node : view) {
            if (node.flags.myself || node.address.port == 0) {
                continue;
            }
            if (auto f = flagged.find(node.address.endpoint()); f != flagged.end()) {
                f->second = Flagged{node.flags.fail, node.flags.pfail};
            }
        }
        std::erase_if(flagged, [](const auto& e) { return !e.second.fail && !e.second.pfail; });
    }
    // O(what the old and new view flag), not O(viewers × nodes).
    // Viewers that flag nothing are not stored.
    if (auto old = views_.find(viewer); old != views_.end()) {
        apply_flags(old->first, old->second, false);
        if (flagged.empty()) {
            views_.erase(old);
            return;
        }
        old->second = std::move(flagged);
        apply_flags(old->first, old->second, true);
    } else if (!flagged.empty()) {
        auto stored = views_.emplace(std::string(viewer), std::move(flagged)).first;
        apply_flags(stored->first, stored->second, true);
    }
}

void Detector::tick(TimePoint now) {
    observe_time(now);
    if (safe_mode_until_ && now >= *safe_mode_until_) {
        emit(Event{Event::Kind::kSafeModeLeft,
                   now,
                   {},
                   {},
                   Evidence::kNone,
                   {},
                   "no stall for " + ms(config_.safe_mode_hold)});
        safe_mode_until_.reset();
    }
    for (auto& [addr, n] : nodes_) {
        if (n.failing_since) {
            refresh_replica_testimony(n, now);
        }
        evaluate(n, now);
    }
}

std::optional<TimePoint> Detector::next_deadline() const {
    std::optional<TimePoint> earliest;
    const auto consider = [&earliest](TimePoint t) {
        if (!earliest || t < *earliest) {
            earliest = t;
        }
    };
    for (const auto& [addr, n] : nodes_) {
        if (n.state == NodeState::kSdown) {
            continue;
        }
        if (n.failing_since) {
            const bool dead = n.evidence == Evidence::kDead || n.probe_evidence == Evidence::kDead;
            consider(*sdown_deadline(n, dead ? Evidence::kDead : Evidence::kUnresponsive));
        } else if (n.loading_since && is_master(n)) {
            consider(*n.loading_since + config_.loading_grace);
        }
    }
    return earliest;
}

Output Detector::take_output() {
    Output out = std::move(output_);
    output_ = Output{};
    return out;
}

std::vector<Opinion> Detector::opinions(TimePoint now, bool sdown_only) const {
    std::vector<Opinion> out;
    const bool trusted = !in_safe_mode(now);
    if (sdown_only && !trusted) {
        return out;
    }
    out.reserve(sdown_only ? 0 : nodes_.size());
    for (const auto& [addr, n] : nodes_) {
        if (sdown_only && n.state != NodeState::kSdown) {
            continue;
        }
        Opinion o;
        o.node_id = n.node_id;
        o.address = addr;
        o.sdown = trusted && n.state == NodeState::kSdown;
        o.evidence = n.evidence;
        if (n.failing_since) {
            o.down_for = now - *n.failing_since;
        } else if (n.state == NodeState::kSdown && n.loading_since) {
            o.down_for = now - *n.loading_since;
        }
        o.cluster_flags_pfail = !n.flagged_pfail_by.empty();
        o.cluster_flags_fail = !n.flagged_fail_by.empty();
        o.replicas_report_link_down = !n.replicas_report_link_down.empty();
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace picket::detect
