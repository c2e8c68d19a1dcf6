#include "picket/failover/choice.h"

#include <algorithm>
#include <cassert>
#include <tuple>
#include <utility>

#include "format.h"

namespace picket::failover {

std::string_view to_string(Exclusion e) {
    switch (e) {
        case Exclusion::kMaintenance:
            return "maintenance";
        case Exclusion::kFailedAttempt:
            return "failed_attempt";
        case Exclusion::kNeverPromote:
            return "never_promote";
        case Exclusion::kDown:
            return "down";
        case Exclusion::kNoReplicationInfo:
            return "no_replication_info";
        case Exclusion::kNotReplicating:
            return "not_replicating";
        case Exclusion::kPriorityZero:
            return "priority_zero";
        case Exclusion::kNeverSynced:
            return "never_synced";
        case Exclusion::kTooFarBehind:
            return "too_far_behind";
        case Exclusion::kLinkDownTooLong:
            return "link_down_too_long";
    }
    return "unknown";
}

const Candidate* Choice::chosen_candidate() const {
    if (!chosen || candidates.empty() || !candidates.front().eligible()) {
        return nullptr;
    }
    return &candidates.front();
}

const detect::NodeStatus* find_status(const NodeStatuses& nodes, std::string_view node_id,
                                      std::string_view address) {
    if (!node_id.empty()) {
        for (const auto& [addr, status] : nodes) {
            if (status.node_id == node_id) {
                return &status;
            }
        }
    }
    if (!address.empty()) {
        auto it = nodes.find(address);
        if (it != nodes.end()) {
            return &it->second;
        }
    }
    return nullptr;
}

ChoiceIndex::ChoiceIndex(const cluster::Topology* topology, const NodeStatuses* nodes)
    : topology_(topology), nodes_(nodes) {
    if (topology_ != nullptr) {
        for (const auto& node : topology_->nodes()) {
            if (node.role == cluster::NodeRole::kReplica && node.master_id) {
                replicas_[*node.master_id].push_back(&node);
            }
            if (node.role == cluster::NodeRole::kMaster && !node.slots.empty()) {
                if (!node.address.ip.empty()) {
                    master_hosts_[node.address.ip].push_back(node.id);
                }
                if (!node.address.hostname.empty()) {
                    master_hosts_[node.address.hostname].push_back(node.id);
                }
            }
            if (!node.migrations.empty()) {
                migrating_.push_back(&node);
            }
        }
    }
    if (nodes_ != nullptr) {
        // Reserved up front: the map keys are views of these strings, which must not move.
        info_keys_.reserve(nodes_->size());
        for (const auto& entry : *nodes_) {
            const detect::NodeStatus& status = entry.second;
            if (!status.node_id.empty()) {
                status_by_id_.emplace(status.node_id, &status);  // keeps the first
            }
            if (status.replication &&
                status.replication->role == cluster::ReplicationRole::kReplica &&
                !status.replication->master_host.empty()) {
                info_keys_.push_back(detail::endpoint(status.replication->master_host,
                                                      status.replication->master_port));
                info_followers_[info_keys_.back()].push_back(&entry);
            }
            if (!status.cluster_says_master && !status.master_address.empty()) {
                view_followers_[status.master_address].push_back(&entry);
            }
        }
    }
}

const detect::NodeStatus* ChoiceIndex::find_status(std::string_view node_id,
                                                   std::string_view address) const {
    if (nodes_ == nullptr) {
        return nullptr;
    }
    if (!node_id.empty()) {
        if (auto it = status_by_id_.find(node_id); it != status_by_id_.end()) {
            return it->second;
        }
    }
    if (!address.empty()) {
        if (auto it = nodes_->find(address); it != nodes_->end()) {
            return &it->second;
        }
    }
    return nullptr;
}

namespace {

template <typename T>
const std::vector<T>& lookup(const std::unordered_map<std::string_view, std::vector<T>>& map,
                             std::string_view key) {
    static const std::vector<T> kNone;
    auto it = map.find(key);
    return it == map.end() ? kNone : it->second;
}

}  // namespace

const std::vector<const cluster::NodeModel*>& ChoiceIndex::replicas_of(
    std::string_view master_id) const {
    return lookup(replicas_, master_id);
}

const std::vector<const NodeStatuses::value_type*>& ChoiceIndex::info_followers(
    std::string_view endpoint) const {
    return lookup(info_followers_, endpoint);
}

const std::vector<const NodeStatuses::value_type*>& ChoiceIndex::view_followers(
    std::string_view address) const {
    return lookup(view_followers_, address);
}

bool ChoiceIndex::master_on_host(std::string_view host, std::string_view except_master_id) const {
    const auto& ids = lookup(master_hosts_, host);
    return std::any_of(ids.begin(), ids.end(),
                       [except_master_id](std::string_view id) { return id != except_master_id; });
}

namespace {

/// One candidate while being assessed.
struct Work {
    Candidate out;
    /// Host part of the address, and the cluster-announce-hostname if known.
    std::string ip;
    std::string hostname;
    std::uint16_t port = 0;
    const detect::NodeStatus* status = nullptr;
};

/// True when `set` names the candidate by id, "ip:port" or "hostname:port".
template <typename Container>
bool names(const Container& set, const Work& w) {
    for (const auto& entry : set) {
        if ((!w.out.node_id.empty() && entry == w.out.node_id) || entry == w.out.address ||
            (!w.hostname.empty() && entry == detail::endpoint(w.hostname, w.port))) {
            return true;
        }
    }
    return false;
}

/// True when a replica's INFO names the failed master.
bool follows(const cluster::ReplicationInfo& r, const ChoiceInput& in) {
    return detail::follows(r, in.master_address, in.master_hostname);
}

/// A topology replica of the master as a candidate.
Work topology_candidate(const cluster::NodeModel& node) {
    Work w;
    w.out.node_id = node.id;
    w.out.address = node.address.endpoint();
    w.ip = node.address.ip;
    w.hostname = node.address.hostname;
    w.port = node.address.port;
    return w;
}

/// Adds the detector entry as a candidate when its INFO or cluster view says it follows
/// the master and it is not a candidate already (nor the master itself). Entries must come
/// in the detector's (address) order.
void add_detector_candidate(std::vector<Work>& out, const NodeStatuses::value_type& entry,
                            const ChoiceInput& in) {
    // Named references, not a structured binding: lambdas below capture them
    // (clang 14 cannot capture structured bindings).
    const std::string& address = entry.first;
    const detect::NodeStatus& status = entry.second;
    const bool by_info = status.replication &&
                         status.replication->role == cluster::ReplicationRole::kReplica &&
                         follows(*status.replication, in);
    const bool by_view = !status.cluster_says_master && !in.master_address.empty() &&
                         status.master_address == in.master_address;
    if (!by_info && !by_view) {
        return;
    }
    const bool known = std::any_of(out.begin(), out.end(), [&](const Work& w) {
        return w.status == &status ||
               (!status.node_id.empty() && w.out.node_id == status.node_id) ||
               w.out.address == address;
    });
    if (known || (!status.node_id.empty() && status.node_id == in.master_id)) {
        return;
    }
    Work w;
    w.out.node_id = status.node_id;
    w.out.address = address;
    std::tie(w.ip, w.port) = detail::split_endpoint(address);
    w.status = &status;
    out.push_back(std::move(w));
}

/// Gathers the candidates: the topology's replicas of the master, then detector nodes
/// whose INFO (or cluster view) says they replicate it.
std::vector<Work> gather(const ChoiceInput& in) {
    std::vector<Work> out;
    if (in.topology != nullptr) {
        for (const auto& node : in.topology->nodes()) {
            if (node.role != cluster::NodeRole::kReplica || node.master_id != in.master_id) {
                continue;
            }
            out.push_back(topology_candidate(node));
        }
    }
    if (in.nodes != nullptr) {
        for (auto& w : out) {
            w.status = find_status(*in.nodes, w.out.node_id, w.out.address);
        }
        for (const auto& entry : *in.nodes) {
            add_detector_candidate(out, entry, in);
        }
    }
    return out;
}

/// gather() through the index: only the entries that may follow the master are looked at,
/// in the same order, so the result is the same.
std::vector<Work> gather(const ChoiceInput& in, const ChoiceIndex& index) {
    std::vector<Work> out;
    if (in.topology != nullptr) {
        for (const auto* node : index.replicas_of(in.master_id)) {
            out.push_back(topology_candidate(*node));
        }
    }
    if (in.nodes != nullptr) {
        for (auto& w : out) {
            w.status = index.find_status(w.out.node_id, w.out.address);
        }
        // Every entry that can pass add_detector_candidate's test, in address order.
        std::vector<const NodeStatuses::value_type*> entries;
        auto add = [&entries](const auto& list) {
            entries.insert(entries.end(), list.begin(), list.end());
        };
        add(index.info_followers(in.master_address));
        if (!in.master_hostname.empty()) {
            add(index.info_followers(detail::endpoint(
                in.master_hostname, detail::split_endpoint(in.master_address).second)));
        }
        if (!in.master_address.empty()) {
            add(index.view_followers(in.master_address));
        }
        std::sort(entries.begin(), entries.end(),
                  [](const auto* a, const auto* b) { return a->first < b->first; });
        entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
        for (const auto* entry : entries) {
            add_detector_candidate(out, *entry, in);
        }
    }
    return out;
}

/// Hosts (ips and hostnames) of the slot-owning masters other than the failed one.
std::vector<std::string> master_hosts(const ChoiceInput& in) {
    std::vector<std::string> hosts;
    if (in.topology == nullptr) {
        return hosts;
    }
    for (const auto& node : in.topology->nodes()) {
        if (node.role != cluster::NodeRole::kMaster || node.id == in.master_id ||
            node.slots.empty()) {
            continue;
        }
        if (!node.address.ip.empty()) {
            hosts.push_back(node.address.ip);
        }
        if (!node.address.hostname.empty()) {
            hosts.push_back(node.address.hostname);
        }
    }
    return hosts;
}

/// Sets the exclusion (the first that applies, in Exclusion's order) and its reason.
void assess(Work& w, const ChoiceInput& in, std::int64_t reference,
            std::optional<TimePoint> failed_at) {
    auto exclude = [&w](Exclusion e, std::string why) {
        w.out.exclusion = e;
        w.out.reason = "excluded: " + std::move(why);
    };
    // Operator intent first: it needs no facts from the node.
    if (names(in.maintenance, w)) {
        return exclude(Exclusion::kMaintenance, "in maintenance");
    }
    if (names(in.policy.never_promote, w)) {
        return exclude(Exclusion::kNeverPromote, "listed in failover.never_promote");
    }
    if (names(in.failed_candidates, w)) {
        return exclude(Exclusion::kFailedAttempt, "previous attempt's candidate dead/not promoted");
    }
    // A node we do not see answering cannot be promoted and then verified; a loading or
    // failing one may not serve at all.
    if (w.status == nullptr) {
        return exclude(Exclusion::kDown, "not probed by this watcher");
    }
    if (w.status->state != detect::NodeState::kUp) {
        std::string why = "state " + std::string(detect::to_string(w.status->state));
        if (!w.status->reason.empty()) {
            why += " (" + w.status->reason + ")";
        }
        return exclude(Exclusion::kDown, why);
    }
    if (!w.status->replication) {
        return exclude(Exclusion::kNoReplicationInfo, "no INFO replication read from it yet");
    }
    const cluster::ReplicationInfo& r = *w.status->replication;
    if (r.role == cluster::ReplicationRole::kMaster) {
        return exclude(Exclusion::kNotReplicating, "its INFO says it is a master");
    }
    if (r.role != cluster::ReplicationRole::kReplica) {
        return exclude(Exclusion::kNotReplicating, "its INFO role is unknown");
    }
    if (!r.master_host.empty() && !follows(r, in)) {
        return exclude(Exclusion::kNotReplicating,
                       "its INFO says it replicates " +
                           detail::endpoint(r.master_host, r.master_port) + ", not " +
                           in.master_address);
    }
    w.out.priority = r.slave_priority;
    w.out.offset = r.slave_repl_offset;
    w.out.lag_bytes = std::max<std::int64_t>(0, reference - r.slave_repl_offset);
    // replica-priority 0 is Redis's own "never promote this one" (Sentinel honours it).
    if (r.slave_priority == 0) {
        return exclude(Exclusion::kPriorityZero, "replica-priority is 0");
    }
    // Never synced: a full sync still running means it holds no consistent data of this
    // master. Offset 0 alone proves nothing: a fresh cluster stays at offset 0 on both sides
    // until the first write or replication PING, and a replica that missed the only write
    // before the crash is merely behind — max_lag_on_failover bounds that. A link that never
    // came up is the link rule's below.
    if (r.master_sync_in_progress) {
        return exclude(Exclusion::kNeverSynced, "a full sync from the master is still running");
    }
    // Too far behind: promoting it loses that many bytes of acknowledged writes.
    if (static_cast<std::uint64_t>(w.out.lag_bytes) > in.policy.max_lag_on_failover) {
        return exclude(Exclusion::kTooFarBehind,
                       std::to_string(w.out.lag_bytes) +
                           " bytes behind the master's last known "
                           "offset " +
                           std::to_string(reference) + " (max_lag_on_failover " +
                           std::to_string(in.policy.max_lag_on_failover) + ")");
    }
    // A link that was already down long before the failure means the data stopped at
    // that point however small the offset difference we happen to know of (Sentinel's
    // down-after × 10 validity rule; here an explicit window).
    if (r.master_link_status == cluster::MasterLinkStatus::kDown) {
        // Redis reports -1 when it has no down-since time. Seen right after the master died
        // on replicas that had synced, so -1 alone proves nothing: only a replica that
        // also holds none of the master's data (offset 0 while the master's is not) never
        // had a working link.
        const bool no_down_time =
            !r.master_link_down_since_seconds || *r.master_link_down_since_seconds < 0;
        if (no_down_time && r.slave_repl_offset <= 0 && reference > 0) {
            return exclude(Exclusion::kLinkDownTooLong, "its link to the master never came up");
        }
        Duration down_before =
            std::chrono::seconds(no_down_time ? 0 : *r.master_link_down_since_seconds);
        if (failed_at && w.status->replication_at) {
            // The link went down at replication_at − down_since; the master failed at
            // failed_at. Time down before the failure is the difference.
            down_before -= (*w.status->replication_at - *failed_at);
        }
        if (down_before > in.policy.replica_max_link_down) {
            return exclude(Exclusion::kLinkDownTooLong,
                           "its link to the master was down " + detail::format(down_before) +
                               " before the failure (replica_max_link_down " +
                               detail::format(in.policy.replica_max_link_down) + ")");
        }
    }
}

/// The ordering key: lower priority, higher offset, not on a master's host, lower id.
auto rank_key(const Candidate& c) {
    return std::make_tuple(c.priority, -c.offset, c.shares_host_with_master, c.node_id, c.address);
}

/// Why `loser` ranks below `winner`, by the first criterion that differs.
std::string lost_because(const Candidate& loser, const Candidate& winner) {
    const std::string who = winner.node_id.empty() ? winner.address : winner.node_id;
    if (loser.priority != winner.priority) {
        return "lost to " + who + " on priority (" + std::to_string(winner.priority) + " < " +
               std::to_string(loser.priority) + ")";
    }
    if (loser.offset != winner.offset) {
        return "lost to " + who + " on offset (" + std::to_string(winner.offset) + " > " +
               std::to_string(loser.offset) + ")";
    }
    if (loser.shares_host_with_master != winner.shares_host_with_master) {
        return "lost to " + who + " on placement (its host already runs another master)";
    }
    return "lost to " + who + " on node id";
}

std::string describe(const Candidate& c) {
    std::string s = "priority " + std::to_string(c.priority) + ", offset " +
                    std::to_string(c.offset) + " (" + std::to_string(c.lag_bytes) +
                    " bytes behind)";
    s += c.shares_host_with_master ? ", on a host with another master" : ", placement ok";
    return s;
}

}  // namespace

Choice choose_replica(const ChoiceInput& in) {
    const ChoiceIndex* index = in.index;
    assert(index == nullptr || (index->topology() == in.topology && index->nodes() == in.nodes));
    std::vector<Work> work = index != nullptr ? gather(in, *index) : gather(in);

    // The lag reference: the master's last known offset, or any replica's if higher (no
    // replica can be ahead of the master, so the maximum is the best lower bound).
    std::int64_t reference = in.master_offset.value_or(0);
    for (const auto& w : work) {
        if (w.status != nullptr && w.status->replication &&
            w.status->replication->role == cluster::ReplicationRole::kReplica) {
            reference = std::max(reference, w.status->replication->slave_repl_offset);
        }
    }
    std::optional<TimePoint> failed_at = in.master_failed_at;
    if (!failed_at && in.nodes != nullptr) {
        const auto* m = index != nullptr ? index->find_status(in.master_id, in.master_address)
                                         : find_status(*in.nodes, in.master_id, in.master_address);
        if (m != nullptr) {
            failed_at = m->failing_since;
        }
    }
    const std::vector<std::string> hosts =
        index != nullptr ? std::vector<std::string>{} : master_hosts(in);
    for (auto& w : work) {
        assess(w, in, reference, failed_at);
        if (index != nullptr) {
            w.out.shares_host_with_master =
                in.topology != nullptr &&
                ((!w.ip.empty() && index->master_on_host(w.ip, in.master_id)) ||
                 (!w.hostname.empty() && index->master_on_host(w.hostname, in.master_id)));
            continue;
        }
        w.out.shares_host_with_master =
            std::any_of(hosts.begin(), hosts.end(), [&w](const std::string& h) {
                return (!w.ip.empty() && h == w.ip) || (!w.hostname.empty() && h == w.hostname);
            });
    }

    Choice choice;
    for (auto& w : work) {
        choice.candidates.push_back(std::move(w.out));
    }
    std::sort(choice.candidates.begin(), choice.candidates.end(),
              [](const Candidate& a, const Candidate& b) {
                  if (a.eligible() != b.eligible()) {
                      return a.eligible();
                  }
                  if (a.eligible()) {
                      return rank_key(a) < rank_key(b);
                  }
                  return std::tie(a.node_id, a.address) < std::tie(b.node_id, b.address);
              });
    std::size_t eligible = 0;
    for (auto& c : choice.candidates) {
        if (!c.eligible()) {
            continue;
        }
        c.rank = eligible;
        if (eligible == 0) {
            c.reason = "chosen: " + describe(c);
        } else {
            c.reason = "eligible, rank " + std::to_string(eligible + 1) + ": " + describe(c) +
                       "; " + lost_because(c, choice.candidates.front());
        }
        ++eligible;
    }

    if (choice.candidates.empty()) {
        choice.reason = "no eligible replica: no replica of " + in.master_id + " is known";
        return choice;
    }
    if (eligible == 0) {
        choice.reason = "no eligible replica:";
        for (const auto& c : choice.candidates) {
            choice.reason += " " + (c.node_id.empty() ? c.address : c.node_id) + " (" + c.address +
                             ") " + c.reason + ";";
        }
        choice.reason.pop_back();
        return choice;
    }
    const Candidate& best = choice.candidates.front();
    choice.chosen = best.node_id.empty() ? best.address : best.node_id;
    choice.reason = "promote " + *choice.chosen + " (" + best.address + "): " + describe(best) +
                    "; " + std::to_string(eligible - 1) + " other eligible, " +
                    std::to_string(choice.candidates.size() - eligible) + " excluded";
    // Every exclusion with its reason, so the record and the alert say why a replica that
    // might have looked better (e.g. a lower priority) was passed over.
    for (const auto& c : choice.candidates) {
        if (c.exclusion) {
            choice.reason += "; " + (c.node_id.empty() ? c.address : c.node_id) + " (" + c.address +
                             ") " + c.reason;
        }
    }
    return choice;
}

}  // namespace picket::failover
