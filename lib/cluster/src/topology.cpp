#include "picket/cluster/topology.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace picket::cluster {

std::string_view to_string(NodeRole role) {
    switch (role) {
        case NodeRole::kMaster:
            return "master";
        case NodeRole::kReplica:
            return "slave";
        case NodeRole::kUnknown:
            return "unknown";
    }
    return "unknown";
}

std::string_view to_string(DisagreementKind kind) {
    switch (kind) {
        case DisagreementKind::kUnknownNode:
            return "unknown_node";
        case DisagreementKind::kRole:
            return "role";
        case DisagreementKind::kMaster:
            return "master";
        case DisagreementKind::kFailure:
            return "failure";
        case DisagreementKind::kConfigEpoch:
            return "config_epoch";
        case DisagreementKind::kAddress:
            return "address";
        case DisagreementKind::kSlotOwner:
            return "slot_owner";
        case DisagreementKind::kReplication:
            return "replication";
    }
    return "unknown";
}

std::string_view to_string(FindingKind kind) {
    switch (kind) {
        case FindingKind::kUncoveredSlots:
            return "uncovered_slots";
        case FindingKind::kSlotConflict:
            return "slot_conflict";
        case FindingKind::kMasterWithoutReplica:
            return "master_without_replica";
        case FindingKind::kOrphanReplica:
            return "orphan_replica";
        case FindingKind::kSameHost:
            return "same_host";
        case FindingKind::kNodeTimeoutMismatch:
            return "node_timeout_mismatch";
        case FindingKind::kNodeFailed:
            return "node_failed";
        case FindingKind::kNodeSuspected:
            return "node_suspected";
    }
    return "unknown";
}

ReporterSet::ReporterSet(std::shared_ptr<const std::vector<std::string>> names,
                         std::span<const std::uint32_t> indexes)
    : names_(std::move(names)) {
    if (indexes.empty()) {
        return;
    }
    const std::uint32_t top = *std::max_element(indexes.begin(), indexes.end());
    assert(names_ != nullptr && top < names_->size());
    bits_.assign(top / 64 + 1, 0);
    for (const std::uint32_t i : indexes) {
        const std::uint64_t bit = std::uint64_t{1} << (i % 64);
        size_ += (bits_[i / 64] & bit) == 0 ? 1U : 0U;
        bits_[i / 64] |= bit;
    }
}

std::size_t ReporterSet::next(std::size_t at) const {
    std::size_t word = at / 64;
    if (word >= bits_.size()) {
        return limit();
    }
    std::uint64_t w = bits_[word] & (~std::uint64_t{0} << (at % 64));
    while (w == 0) {
        if (++word == bits_.size()) {
            return limit();
        }
        w = bits_[word];
    }
    return word * 64 + static_cast<std::size_t>(std::countr_zero(w));
}

bool ReporterSet::contains(std::string_view id) const {
    if (names_ == nullptr) {
        return false;
    }
    const auto it = std::lower_bound(names_->begin(), names_->end(), id);
    if (it == names_->end() || *it != id) {
        return false;
    }
    const auto i = static_cast<std::size_t>(it - names_->begin());
    return i < limit() && (bits_[i / 64] >> (i % 64) & 1U) != 0;
}

ParseResult<ClusterView> make_view(std::vector<ClusterNode> nodes) {
    for (const auto& n : nodes) {
        if (n.flags.myself) {
            std::string reporter = n.id;
            return ClusterView{std::move(reporter), std::move(nodes)};
        }
    }
    return unexpected(ParseError{"CLUSTER NODES reply has no 'myself' line", 0});
}

namespace {

constexpr std::size_t kNpos = static_cast<std::size_t>(-1);

/// Most nodes a reason names before "and N more" (hostile views can be huge).
constexpr std::size_t kMaxNamesInReason = 8;

/// A slot range claimed by an owner (an index into nodes_).
struct SlotClaim {
    SlotRange range;
    std::size_t owner = 0;
};

/// Most claimants a segment lists. Real clusters have one owner per slot, two or three
/// while views disagree; the cap keeps hostile views (thousands of masters claiming the
/// same slots) from making the sweep quadratic.
constexpr std::size_t kMaxListedClaimants = 16;

/// Orders claimants (indexes into nodes) as Redis resolves conflicting slot claims:
/// highest config epoch first, then lowest id.
struct ClaimantOrder {
    const std::vector<NodeModel>* nodes;
    bool operator()(std::size_t a, std::size_t b) const {
        const auto ea = (*nodes)[a].config_epoch;
        const auto eb = (*nodes)[b].config_epoch;
        return ea != eb ? ea > eb : a < b;
    }
};

/// A maximal slot range with one set of claimants.
struct SlotSegment {
    SlotRange range;
    /// The first kMaxListedClaimants claimants in ClaimantOrder: owners.front() is the
    /// winner.
    std::vector<std::size_t> owners;
    /// How many distinct claimants there are (may exceed owners.size()).
    std::size_t owner_count = 0;

    bool same_claimants(const SlotSegment& other) const {
        return owner_count == other.owner_count && owners == other.owners;
    }
};

/// Splits 0..16383 into maximal ranges with the same set of claimants, by a sweep over
/// range starts and ends: O(claims log claims + segments × kMaxListedClaimants). A
/// claimant claiming a slot twice counts once.
std::vector<SlotSegment> segment_claims(const std::vector<SlotClaim>& claims,
                                        const std::vector<NodeModel>& nodes) {
    struct Event {
        std::size_t pos;  // first slot the change applies to; kSlotCount for "after the end"
        bool start;
        std::size_t owner;
    };
    std::vector<Event> events;
    events.reserve(claims.size() * 2);
    for (const auto& c : claims) {
        events.push_back(Event{c.range.first, true, c.owner});
        events.push_back(Event{std::size_t{c.range.last} + 1, false, c.owner});
    }
    std::sort(events.begin(), events.end(),
              [](const Event& a, const Event& b) { return a.pos < b.pos; });

    // Owner → open claims.
    std::map<std::size_t, std::size_t, ClaimantOrder> active(ClaimantOrder{&nodes});
    std::vector<SlotSegment> out;
    auto emit = [&](std::size_t first, std::size_t last) {
        SlotSegment seg;
        seg.range = SlotRange{static_cast<Slot>(first), static_cast<Slot>(last)};
        seg.owner_count = active.size();
        for (auto it = active.begin();
             it != active.end() && seg.owners.size() < kMaxListedClaimants; ++it) {
            seg.owners.push_back(it->first);
        }
        if (!out.empty() && out.back().same_claimants(seg)) {
            out.back().range.last = seg.range.last;
            return;
        }
        out.push_back(std::move(seg));
    };
    std::size_t cur = 0;
    std::size_t i = 0;
    while (i < events.size()) {
        const auto pos = events[i].pos;
        if (pos > cur) {
            emit(cur, pos - 1);
            cur = pos;
        }
        for (; i < events.size() && events[i].pos == pos; ++i) {
            const auto& e = events[i];
            if (e.start) {
                ++active[e.owner];
            } else if (auto it = active.find(e.owner); it != active.end() && --it->second == 0) {
                active.erase(it);
            }
        }
    }
    if (cur < kSlotCount) {
        emit(cur, kSlotCount - 1);
    }
    return out;
}

NodeRole role_of(const ClusterNode& n) {
    if (n.flags.master) {
        return NodeRole::kMaster;
    }
    if (n.flags.replica) {
        return NodeRole::kReplica;
    }
    return NodeRole::kUnknown;
}

std::string short_id(std::string_view id) {
    return std::string(id.substr(0, 8));
}

/// "a1b2c3d4, e5f6a7b8" (short ids), at most `max` then "and N more".
std::string join_ids(const std::vector<std::string>& ids, std::size_t max = kMaxNamesInReason) {
    std::string out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i == max) {
            out += " and " + std::to_string(ids.size() - i) + " more";
            break;
        }
        if (i != 0) {
            out += ", ";
        }
        out += short_id(ids[i]);
    }
    return out;
}

std::string plural(std::size_t n, std::string_view word) {
    return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

/// "ip:port@cport[,hostname]" as CLUSTER NODES prints it.
std::string full_address(const NodeAddress& a) {
    std::string out = a.ip + ":" + std::to_string(a.port) + "@" + std::to_string(a.cport);
    if (!a.hostname.empty()) {
        out += "," + a.hostname;
    }
    return out;
}

/// Builds a reason from claims: "<what>: v1 (per a, b); v2 (per c)".
std::string summarize_claims(const std::string& what, const std::vector<Claim>& claims) {
    std::map<std::string, std::vector<std::string>> by_value;
    for (const auto& c : claims) {
        by_value[c.value].push_back(c.reporter);
    }
    std::string out = what + ": ";
    bool first = true;
    for (const auto& [value, reporters] : by_value) {
        if (!first) {
            out += "; ";
        }
        first = false;
        out += value + " (per " + join_ids(reporters) + ")";
    }
    return out;
}

/// "fail", "fail?" or "ok" as a number: what a kFailure claim says.
int failure_of(const ClusterNode& n) {
    return n.flags.fail ? 2 : (n.flags.pfail ? 1 : 0);
}

/// "a1b2c3d4 (127.0.0.1:7000)" for a node of `t`, the short id alone when unknown.
std::string describe_in(const Topology& t, std::string_view id) {
    std::string out = short_id(id);
    const auto* m = t.node(id);
    if (m != nullptr && !m->address.ip.empty()) {
        out += " (" + m->address.endpoint() + ")";
    }
    return out;
}

/// Where `model`'s INFO replication contradicts the model (kReplication), if it does.
std::optional<Disagreement> replication_disagreement(const Topology& t, const NodeModel& model,
                                                     const ReplicationInfo& info) {
    std::string info_says;
    std::string model_says;
    if (info.role == ReplicationRole::kMaster && model.role == NodeRole::kReplica) {
        info_says = "INFO: master";
        model_says = "CLUSTER NODES: slave";
    } else if (info.role == ReplicationRole::kReplica && model.role == NodeRole::kMaster) {
        info_says = "INFO: slave";
        model_says = "CLUSTER NODES: master";
    } else if (info.role == ReplicationRole::kReplica && model.role == NodeRole::kReplica &&
               model.master_id) {
        if (const auto* master = t.node(*model.master_id); master != nullptr) {
            const auto& a = master->address;
            const bool host_matches =
                info.master_host == a.ip || (!a.hostname.empty() && info.master_host == a.hostname);
            if (!host_matches || info.master_port != a.port) {
                info_says =
                    "INFO: slave of " + info.master_host + ":" + std::to_string(info.master_port);
                model_says = "CLUSTER NODES: slave of " + describe_in(t, *model.master_id);
            }
        }
    }
    if (info_says.empty()) {
        return std::nullopt;
    }
    Disagreement d;
    d.kind = DisagreementKind::kReplication;
    d.node_id = model.id;
    d.claims = {Claim{model.id, info_says}, Claim{model.described_by, model_says}};
    d.reason = "INFO replication of " + describe_in(t, model.id) +
               " contradicts the cluster view: " + info_says + " vs " + model_says;
    return d;
}

/// Sets what a node's model takes from its INFO replication (nothing when absent).
void apply_replication(NodeModel& m, const ReplicationById& replication) {
    m.repl_offset.reset();
    m.master_link_status.reset();
    if (const auto it = replication.find(m.id); it != replication.end()) {
        const ReplicationInfo& info = it->second;
        if (info.role == ReplicationRole::kMaster) {
            m.repl_offset = info.master_repl_offset;
        } else if (info.role == ReplicationRole::kReplica) {
            m.repl_offset = info.slave_repl_offset;
            m.master_link_status = info.master_link_status;
        }
    }
}

/// The order disagreements are kept in: by node id, then kind (stable).
void sort_disagreements(std::vector<Disagreement>& ds) {
    std::stable_sort(ds.begin(), ds.end(), [](const Disagreement& a, const Disagreement& b) {
        return std::tie(a.node_id, a.kind) < std::tie(b.node_id, b.kind);
    });
}

}  // namespace

Topology Topology::build(std::vector<ClusterView> views) {
    return build(TopologyInput{std::move(views), {}});
}

Topology Topology::build(TopologyInput input) {
    std::vector<std::vector<const ClusterNode*>> lines(input.views.size());
    std::vector<ViewRef> refs;
    refs.reserve(input.views.size());
    for (std::size_t i = 0; i < input.views.size(); ++i) {
        lines[i].reserve(input.views[i].nodes.size());
        for (const auto& n : input.views[i].nodes) {
            lines[i].push_back(&n);
        }
        refs.push_back(ViewRef{input.views[i].reporter_id, lines[i]});
    }
    return build(refs, input.replication);
}

void Topology::refresh_replication(const ReplicationById& replication) {
    for (auto& m : nodes_) {
        apply_replication(m, replication);
    }
    std::erase_if(disagreements_,
                  [](const Disagreement& d) { return d.kind == DisagreementKind::kReplication; });
    for (const auto& [id, info] : replication) {
        if (const auto* m = node(id); m != nullptr) {
            if (auto d = replication_disagreement(*this, *m, info)) {
                disagreements_.push_back(std::move(*d));
            }
        }
    }
    sort_disagreements(disagreements_);
}

Topology Topology::build(std::span<const ViewRef> input_views, const ReplicationById& replication) {
    Topology t;

    // Views by reporter; a repeated reporter keeps its first view.
    std::vector<const ViewRef*> sorted;
    sorted.reserve(input_views.size());
    for (const auto& v : input_views) {
        sorted.push_back(&v);
    }
    std::stable_sort(sorted.begin(), sorted.end(), [](const ViewRef* a, const ViewRef* b) {
        return a->reporter_id < b->reporter_id;
    });
    std::vector<const ViewRef*> views;
    for (const auto* v : sorted) {
        if (!views.empty() && views.back()->reporter_id == v->reporter_id) {
            t.ignored_views_.emplace_back(v->reporter_id);
            continue;
        }
        views.push_back(v);
        t.reporters_->emplace_back(v->reporter_id);
    }

    // Every node's records, one per view that lists it, in reporter order; nodes sorted
    // by id. (A hash index first: views × nodes look-ups, the bulk of a large build.)
    // 8 bytes: a large build has views × nodes of them.
    struct Record {
        std::uint32_t view;
        std::uint32_t pos;  // index of the line in the view
    };
    auto line = [&](const Record& r) -> const ClusterNode& { return *views[r.view]->nodes[r.pos]; };
    std::vector<std::pair<std::string_view, std::vector<Record>>> records;
    // Line → index of its node in nodes_ (records is sorted like nodes_): views that share
    // lines (ViewStore) make most look-ups a pointer hash.
    std::unordered_map<const ClusterNode*, std::size_t> node_of_line;
    {
        std::unordered_map<std::string_view, std::size_t> index;
        index.reserve(views.empty() ? 0 : 2 * views.front()->nodes.size());
        node_of_line.reserve(index.bucket_count());
        for (std::size_t v = 0; v < views.size(); ++v) {
            const auto& lines = views[v]->nodes;
            for (std::size_t pos = 0; pos < lines.size(); ++pos) {
                const ClusterNode* n = lines[pos];
                auto known = node_of_line.find(n);
                if (known == node_of_line.end()) {
                    const auto [it, inserted] = index.try_emplace(n->id, records.size());
                    if (inserted) {
                        records.emplace_back(n->id, std::vector<Record>{});
                        if (v == 0) {  // usually every view lists the first view's nodes
                            records.back().second.reserve(views.size());
                        }
                    }
                    known = node_of_line.emplace(n, it->second).first;
                }
                auto& r = records[known->second].second;
                if (r.empty() || r.back().view != v) {
                    r.push_back(
                        Record{static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(pos)});
                }
            }
        }
        std::vector<std::size_t> order(records.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return records[a].first < records[b].first;
        });
        std::vector<std::size_t> position(records.size());
        std::vector<std::pair<std::string_view, std::vector<Record>>> sorted_records;
        sorted_records.reserve(records.size());
        for (std::size_t k = 0; k < order.size(); ++k) {
            position[order[k]] = k;
            sorted_records.push_back(std::move(records[order[k]]));
        }
        records = std::move(sorted_records);
        for (auto& [unused_line, k] : node_of_line) {
            k = position[k];
        }
    }
    auto reporter = [&](const Record& r) -> std::string_view { return views[r.view]->reporter_id; };

    // The model: one whole record per node (its own, else the highest epoch).
    t.nodes_.reserve(records.size());
    std::vector<std::uint32_t> known_by;  // reused: one node's reporters at a time
    for (const auto& [id, recs] : records) {
        const Record* best = nullptr;
        for (const auto& r : recs) {
            if (reporter(r) == id) {
                best = &r;
                break;
            }
        }
        if (best == nullptr) {
            for (const auto& r : recs) {
                if (best == nullptr || line(r).config_epoch > line(*best).config_epoch) {
                    best = &r;
                }
            }
        }
        const ClusterNode& n = line(*best);
        NodeModel m;
        m.id = std::string(id);
        m.described_by = std::string(reporter(*best));
        m.address = n.address;
        m.role = role_of(n);
        m.master_id = n.master_id;
        m.config_epoch = n.config_epoch;
        m.slots = normalize_slot_ranges(n.slots);
        m.migrations = n.migrations;
        m.handshake = n.flags.handshake;
        m.noaddr = n.flags.noaddr;
        m.nofailover = n.flags.nofailover;
        known_by.clear();
        for (const auto& r : recs) {
            known_by.push_back(static_cast<std::uint32_t>(r.view));
            if (line(r).flags.fail) {
                m.failed_by.emplace_back(reporter(r));
            } else if (line(r).flags.pfail) {
                m.suspected_by.emplace_back(reporter(r));
            }
            if (line(r).link_state == LinkState::kDisconnected) {
                m.disconnected_from.emplace_back(reporter(r));
            }
        }
        m.known_by = ReporterSet(t.reporters_, known_by);
        apply_replication(m, replication);
        t.nodes_.push_back(std::move(m));
    }

    // Shards: one per master; replicas join their master's.
    t.shard_index_.assign(t.nodes_.size(), kNpos);
    for (std::size_t i = 0; i < t.nodes_.size(); ++i) {
        const auto& m = t.nodes_[i];
        if (m.role != NodeRole::kMaster) {
            continue;
        }
        Shard s;
        s.master_id = m.id;
        s.slots = m.slots;
        s.slot_count = count_slots(m.slots);
        s.config_epoch = m.config_epoch;
        t.shard_index_[i] = t.shards_.size();
        t.shards_.push_back(std::move(s));
    }
    for (std::size_t i = 0; i < t.nodes_.size(); ++i) {
        const auto& m = t.nodes_[i];
        if (m.role != NodeRole::kReplica || !m.master_id) {
            continue;
        }
        const auto master = t.index_of(*m.master_id);
        if (master == kNpos || t.shard_index_[master] == kNpos) {
            continue;
        }
        t.shard_index_[i] = t.shard_index_[master];
        t.shards_[t.shard_index_[master]].replica_ids.push_back(m.id);
    }

    // Address lookups.
    for (std::size_t i = 0; i < t.nodes_.size(); ++i) {
        const auto& a = t.nodes_[i].address;
        const auto port = ":" + std::to_string(a.port);
        if (!a.ip.empty()) {
            t.by_address_.emplace(a.ip + port, i);
        }
        if (!a.hostname.empty() && a.hostname != a.ip) {
            t.by_address_.emplace(a.hostname + port, i);
        }
    }

    // Slot owners: on conflicting claims the highest config epoch wins, as in Redis.
    std::vector<SlotClaim> master_claims;
    for (std::size_t i = 0; i < t.nodes_.size(); ++i) {
        if (t.nodes_[i].role == NodeRole::kMaster) {
            for (const auto& r : t.nodes_[i].slots) {
                master_claims.push_back(SlotClaim{r, i});
            }
        }
    }
    for (const auto& seg : segment_claims(master_claims, t.nodes_)) {
        if (seg.owners.empty()) {
            continue;
        }
        const auto winner = seg.owners.front();
        const auto shard = t.shard_index_[winner];
        if (!t.slot_owner_.empty() && t.slot_owner_.back().second == shard &&
            std::size_t{t.slot_owner_.back().first.last} + 1 == seg.range.first) {
            t.slot_owner_.back().first.last = seg.range.last;
        } else {
            t.slot_owner_.emplace_back(seg.range, shard);
        }
    }

    // --- Disagreements -----------------------------------------------------------------
    auto describe = [&t](std::string_view id) { return describe_in(t, id); };
    auto add_if_differ = [&t](DisagreementKind kind, std::string_view id, std::vector<Claim> claims,
                              const std::string& what) {
        std::set<std::string_view> values;
        for (const auto& c : claims) {
            values.insert(c.value);
        }
        if (values.size() < 2) {
            return;
        }
        Disagreement d;
        d.kind = kind;
        d.node_id = std::string(id);
        d.reason = summarize_claims(what, claims);
        d.claims = std::move(claims);
        t.disagreements_.push_back(std::move(d));
    };

    // Slot owners per view, compared piece by piece.
    if (views.size() >= 2) {
        // Views usually agree: a view whose claims equal the previous view's shares its
        // segments (segmenting is the costly part).
        std::vector<std::vector<SlotSegment>> distinct;
        distinct.reserve(views.size());
        std::vector<std::size_t> per_view_index;
        std::vector<SlotClaim> previous_claims;
        std::vector<std::size_t> bounds;
        auto same_claims = [](const std::vector<SlotClaim>& a, const std::vector<SlotClaim>& b) {
            return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                              [](const SlotClaim& x, const SlotClaim& y) {
                                  return x.owner == y.owner && x.range.first == y.range.first &&
                                         x.range.last == y.range.last;
                              });
        };
        for (const auto* v : views) {
            std::vector<SlotClaim> view_claims;
            for (const ClusterNode* n : v->nodes) {
                if (role_of(*n) != NodeRole::kMaster) {
                    continue;
                }
                const auto owner = node_of_line.at(n);
                for (const auto& r : n->slots) {
                    view_claims.push_back(SlotClaim{r, owner});
                }
            }
            if (!distinct.empty() && same_claims(view_claims, previous_claims)) {
                per_view_index.push_back(distinct.size() - 1);
                continue;
            }
            distinct.push_back(segment_claims(view_claims, t.nodes_));
            per_view_index.push_back(distinct.size() - 1);
            previous_claims = std::move(view_claims);
            for (const auto& seg : distinct.back()) {
                bounds.push_back(seg.range.first);
            }
        }
        auto per_view = [&](std::size_t v) -> const std::vector<SlotSegment>& {
            return distinct[per_view_index[v]];
        };
        std::sort(bounds.begin(), bounds.end());
        bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());

        // Pieces where the views differ, grouped by what each view says.
        using Signature = std::vector<const SlotSegment*>;
        using Key = std::vector<std::pair<std::vector<std::size_t>, std::size_t>>;
        std::vector<std::pair<Signature, std::vector<SlotRange>>> groups;
        std::map<Key, std::size_t> group_of;
        std::vector<std::size_t> cursor(views.size(), 0);
        for (std::size_t b = 0; b < bounds.size(); ++b) {
            const auto first = bounds[b];
            const auto last = b + 1 < bounds.size() ? bounds[b + 1] - 1 : kSlotCount - 1;
            Signature sig(views.size());
            bool differ = false;
            for (std::size_t v = 0; v < views.size(); ++v) {
                while (per_view(v)[cursor[v]].range.last < first) {
                    ++cursor[v];
                }
                sig[v] = &per_view(v)[cursor[v]];
                differ = differ || (sig[v] != sig[0] && !sig[v]->same_claimants(*sig[0]));
            }
            if (!differ) {
                continue;
            }
            const SlotRange piece{static_cast<Slot>(first), static_cast<Slot>(last)};
            Key key;
            key.reserve(sig.size());
            for (const auto* seg : sig) {
                key.emplace_back(seg->owners, seg->owner_count);
            }
            const auto [it, inserted] = group_of.emplace(std::move(key), groups.size());
            if (inserted) {
                groups.emplace_back(std::move(sig), std::vector<SlotRange>{piece});
                continue;
            }
            auto& ranges = groups[it->second].second;
            if (std::size_t{ranges.back().last} + 1 == first) {
                ranges.back().last = piece.last;
            } else {
                ranges.push_back(piece);
            }
        }
        for (auto& [sig, ranges] : groups) {
            Disagreement d;
            d.kind = DisagreementKind::kSlotOwner;
            d.slots = std::move(ranges);
            for (std::size_t v = 0; v < views.size(); ++v) {
                std::string value;
                for (const auto o : sig[v]->owners) {
                    value += (value.empty() ? "" : ",") + t.nodes_[o].id;
                }
                if (sig[v]->owner_count > sig[v]->owners.size()) {
                    value += ",+" + std::to_string(sig[v]->owner_count - sig[v]->owners.size());
                }
                d.claims.push_back(
                    Claim{std::string(views[v]->reporter_id), value.empty() ? "(none)" : value});
            }
            // The reason uses described owners rather than bare ids.
            std::vector<Claim> readable;
            for (std::size_t v = 0; v < views.size(); ++v) {
                std::string value;
                const auto& owners = sig[v]->owners;
                for (std::size_t k = 0; k < owners.size() && k < kMaxNamesInReason; ++k) {
                    value += (k == 0 ? "" : " and ") + describe(t.nodes_[owners[k]].id);
                }
                const auto shown = std::min(owners.size(), kMaxNamesInReason);
                if (sig[v]->owner_count > shown) {
                    value += " and " + std::to_string(sig[v]->owner_count - shown) + " more";
                }
                readable.push_back(
                    Claim{std::string(views[v]->reporter_id), value.empty() ? "no master" : value});
            }
            d.reason = summarize_claims(
                "views disagree on who serves slots " + format_slot_ranges(d.slots), readable);
            t.disagreements_.push_back(std::move(d));
        }
    }

    // Per node, kinds in enum order.
    for (std::size_t k = 0; k < records.size(); ++k) {
        const auto& [id, recs] = records[k];
        const auto& model = t.nodes_[k];  // nodes_ is built from records, in their order
        if (recs.size() < views.size()) {
            std::vector<Claim> claims;
            std::vector<std::string> knowing;
            std::vector<std::string> unknowing;
            std::size_t r = 0;
            for (std::size_t v = 0; v < views.size(); ++v) {
                const bool knows = r < recs.size() && recs[r].view == v;
                r += knows ? 1 : 0;
                (knows ? knowing : unknowing).emplace_back(views[v]->reporter_id);
                claims.push_back(Claim{std::string(views[v]->reporter_id),
                                       knows ? "knows it" : "does not know it"});
            }
            Disagreement d;
            d.kind = DisagreementKind::kUnknownNode;
            d.node_id = std::string(id);
            d.claims = std::move(claims);
            d.reason = "node " + describe(id) + (model.handshake ? " (in handshake)" : "") +
                       " is known to " + std::to_string(knowing.size()) + " of " +
                       plural(views.size(), "view") + " (" + join_ids(knowing) + "), not to " +
                       join_ids(unknowing);
            t.disagreements_.push_back(std::move(d));
        }

        // Claims are built only when the records differ in what a claim says: equal
        // fields give equal claim values (the converse is left to add_if_differ).
        bool may_differ = false;
        {
            const ClusterNode& first = line(recs.front());
            const ClusterNode* first_replica = nullptr;
            const ClusterNode* first_with_ip = nullptr;
            for (const auto& r : recs) {
                const auto& n = line(r);
                const auto role = role_of(n);
                if (role != role_of(first) || failure_of(n) != failure_of(first) ||
                    n.config_epoch != first.config_epoch) {
                    may_differ = true;
                    break;
                }
                if (role == NodeRole::kReplica) {
                    if (first_replica == nullptr) {
                        first_replica = &n;
                    } else if (n.master_id != first_replica->master_id) {
                        may_differ = true;
                        break;
                    }
                }
                if (!n.address.ip.empty()) {
                    if (first_with_ip == nullptr) {
                        first_with_ip = &n;
                    } else if (!(n.address == first_with_ip->address)) {
                        may_differ = true;
                        break;
                    }
                }
            }
        }
        if (may_differ) {
            std::vector<Claim> roles;
            std::vector<Claim> masters;
            std::vector<Claim> failures;
            std::vector<Claim> epochs;
            std::vector<Claim> addresses;
            for (const auto& r : recs) {
                const auto& n = line(r);
                const auto role = role_of(n);
                const std::string who_says(reporter(r));
                roles.push_back(Claim{who_says, std::string(to_string(role))});
                if (role == NodeRole::kReplica) {
                    masters.push_back(Claim{who_says, n.master_id
                                                          ? "slave of " + describe(*n.master_id)
                                                          : "slave of -"});
                }
                failures.push_back(
                    Claim{who_says, n.flags.fail ? "fail" : (n.flags.pfail ? "fail?" : "ok")});
                epochs.push_back(Claim{who_says, "epoch " + std::to_string(n.config_epoch)});
                if (!n.address.ip.empty()) {
                    addresses.push_back(Claim{who_says, full_address(n.address)});
                }
            }
            const auto who = describe(id);
            add_if_differ(DisagreementKind::kRole, id, std::move(roles),
                          "views disagree on the role of " + who);
            add_if_differ(DisagreementKind::kMaster, id, std::move(masters),
                          "views disagree on the master of " + who);
            add_if_differ(DisagreementKind::kFailure, id, std::move(failures),
                          "views disagree on whether " + who + " is failing");
            add_if_differ(DisagreementKind::kConfigEpoch, id, std::move(epochs),
                          "views disagree on the config epoch of " + who);
            add_if_differ(DisagreementKind::kAddress, id, std::move(addresses),
                          "views disagree on the address of " + who);
        }

        // INFO replication against the model.
        if (const auto info = replication.find(id); info != replication.end()) {
            if (auto d = replication_disagreement(t, model, info->second)) {
                t.disagreements_.push_back(std::move(*d));
            }
        }
    }
    sort_disagreements(t.disagreements_);
    return t;
}

std::size_t Topology::index_of(std::string_view id) const {
    const auto it =
        std::lower_bound(nodes_.begin(), nodes_.end(), id,
                         [](const NodeModel& m, std::string_view key) { return m.id < key; });
    if (it == nodes_.end() || it->id != id) {
        return kNpos;
    }
    return static_cast<std::size_t>(it - nodes_.begin());
}

const NodeModel* Topology::node(std::string_view id) const {
    const auto i = index_of(id);
    return i == kNpos ? nullptr : &nodes_[i];
}

std::vector<const NodeModel*> Topology::nodes_at(std::string_view host, std::uint16_t port) const {
    const auto key = std::string(host) + ":" + std::to_string(port);
    std::vector<std::size_t> found;
    const auto [begin, end] = by_address_.equal_range(key);
    for (auto it = begin; it != end; ++it) {
        found.push_back(it->second);
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    std::vector<const NodeModel*> out;
    out.reserve(found.size());
    for (const auto i : found) {
        out.push_back(&nodes_[i]);
    }
    return out;
}

const NodeModel* Topology::node_by_address(std::string_view host, std::uint16_t port) const {
    const auto found = nodes_at(host, port);
    return found.size() == 1 ? found.front() : nullptr;
}

const Shard* Topology::shard_of(std::string_view node_id) const {
    const auto i = index_of(node_id);
    if (i == kNpos || shard_index_[i] == kNpos) {
        return nullptr;
    }
    return &shards_[shard_index_[i]];
}

const Shard* Topology::shard_for_slot(Slot slot) const {
    const auto it = std::upper_bound(
        slot_owner_.begin(), slot_owner_.end(), slot,
        [](Slot s, const std::pair<SlotRange, std::size_t>& e) { return s < e.first.first; });
    if (it == slot_owner_.begin()) {
        return nullptr;
    }
    const auto& [range, shard] = *std::prev(it);
    return range.contains(slot) ? &shards_[shard] : nullptr;
}

namespace {

/// "a1b2c3d4 (127.0.0.1:7000)".
std::string describe_node(const NodeModel& m) {
    std::string out = short_id(m.id);
    if (!m.address.ip.empty()) {
        out += " (" + m.address.endpoint() + ")";
    }
    return out;
}

}  // namespace

std::vector<Finding> Topology::check_slot_coverage() const {
    std::vector<SlotClaim> claims;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].role == NodeRole::kMaster) {
            for (const auto& r : nodes_[i].slots) {
                claims.push_back(SlotClaim{r, i});
            }
        }
    }
    std::vector<SlotRange> uncovered;
    // Sets of claimants in order of their first conflicting slot.
    std::vector<const SlotSegment*> conflicts;
    std::vector<std::vector<SlotRange>> conflict_ranges;
    std::map<std::pair<std::vector<std::size_t>, std::size_t>, std::size_t> conflict_of;
    const auto segments = segment_claims(claims, nodes_);
    for (const auto& seg : segments) {
        if (seg.owner_count == 0) {
            uncovered.push_back(seg.range);
        } else if (seg.owner_count > 1) {
            const auto [it, inserted] =
                conflict_of.emplace(std::make_pair(seg.owners, seg.owner_count), conflicts.size());
            if (inserted) {
                conflicts.push_back(&seg);
                conflict_ranges.push_back({seg.range});
            } else {
                conflict_ranges[it->second].push_back(seg.range);
            }
        }
    }
    std::vector<Finding> out;
    if (!uncovered.empty()) {
        Finding f;
        f.kind = FindingKind::kUncoveredSlots;
        f.reason = plural(count_slots(uncovered), "slot") +
                   " not served by any master: " + format_slot_ranges(uncovered);
        f.slots = std::move(uncovered);
        out.push_back(std::move(f));
    }
    for (std::size_t c = 0; c < conflicts.size(); ++c) {
        const auto& seg = *conflicts[c];
        auto& ranges = conflict_ranges[c];
        Finding f;
        f.kind = FindingKind::kSlotConflict;
        std::string names;
        for (std::size_t k = 0; k < seg.owners.size(); ++k) {
            const auto& owner = nodes_[seg.owners[k]];
            f.node_ids.push_back(owner.id);
            if (k < kMaxNamesInReason) {
                names += (k == 0 ? "" : ", ") + describe_node(owner) + " epoch " +
                         std::to_string(owner.config_epoch);
            }
        }
        if (seg.owner_count > kMaxNamesInReason) {
            names += " and " + std::to_string(seg.owner_count - kMaxNamesInReason) + " more";
        }
        std::sort(f.node_ids.begin(), f.node_ids.end());
        f.reason = plural(count_slots(ranges), "slot") + " (" + format_slot_ranges(ranges) +
                   ") claimed by " + std::to_string(seg.owner_count) + " masters: " + names;
        f.slots = std::move(ranges);
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<Finding> Topology::check_replicas() const {
    std::vector<Finding> out;
    for (const auto& s : shards_) {
        if (s.slot_count == 0) {
            continue;
        }
        std::vector<std::string> failed;
        std::size_t healthy = 0;
        for (const auto& r : s.replica_ids) {
            if (node(r)->is_failed()) {
                failed.push_back(r);
            } else {
                ++healthy;
            }
        }
        if (healthy > 0) {
            continue;
        }
        Finding f;
        f.kind = FindingKind::kMasterWithoutReplica;
        f.node_ids.push_back(s.master_id);
        f.node_ids.insert(f.node_ids.end(), s.replica_ids.begin(), s.replica_ids.end());
        std::sort(f.node_ids.begin(), f.node_ids.end());
        f.slots = s.slots;
        f.reason = "master " + describe_node(*node(s.master_id)) + " serves " +
                   plural(s.slot_count, "slot") + " (" + format_slot_ranges(s.slots) + ") and " +
                   (failed.empty() ? std::string("has no replica")
                                   : "its only replicas are flagged fail: " + join_ids(failed));
        out.push_back(std::move(f));
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        const auto& m = nodes_[i];
        if (m.role != NodeRole::kReplica || shard_index_[i] != kNpos) {
            continue;
        }
        Finding f;
        f.kind = FindingKind::kOrphanReplica;
        f.node_ids.push_back(m.id);
        if (!m.master_id) {
            f.reason = "replica " + describe_node(m) + " has no master ('-')";
        } else if (const auto* master = node(*m.master_id); master == nullptr) {
            f.reason = "replica " + describe_node(m) + " follows " + short_id(*m.master_id) +
                       ", which no view knows";
        } else {
            f.node_ids.push_back(master->id);
            std::sort(f.node_ids.begin(), f.node_ids.end());
            f.reason = "replica " + describe_node(m) + " follows " + describe_node(*master) +
                       ", which is not a master (" + std::string(to_string(master->role)) + ")";
        }
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<Finding> Topology::check_same_host() const {
    std::vector<Finding> out;
    for (const auto& s : shards_) {
        const auto& master = *node(s.master_id);
        for (const auto& r : s.replica_ids) {
            const auto& replica = *node(r);
            std::string host;
            if (!master.address.ip.empty() && master.address.ip == replica.address.ip) {
                host = "IP " + master.address.ip;
            } else if (!master.address.hostname.empty() &&
                       master.address.hostname == replica.address.hostname) {
                host = "host " + master.address.hostname;
            } else {
                continue;
            }
            Finding f;
            f.kind = FindingKind::kSameHost;
            f.node_ids = {master.id, replica.id};
            std::sort(f.node_ids.begin(), f.node_ids.end());
            f.slots = s.slots;
            f.reason = "master " + describe_node(master) + " and its replica " +
                       describe_node(replica) + " share " + host + ": one host failure loses both";
            out.push_back(std::move(f));
        }
    }
    return out;
}

std::vector<Finding> Topology::check_failures() const {
    std::vector<Finding> out;
    for (const auto& m : nodes_) {
        if (m.failed_by.empty() && m.suspected_by.empty()) {
            continue;
        }
        Finding f;
        f.node_ids = {m.id};
        f.slots = m.slots;
        std::string what = std::string(to_string(m.role));
        if (!m.slots.empty()) {
            what += " of slots " + format_slot_ranges(m.slots);
        }
        if (!m.failed_by.empty()) {
            f.kind = FindingKind::kNodeFailed;
            f.reason = "node " + describe_node(m) + ", " + what + ", is flagged fail by " +
                       std::to_string(m.failed_by.size()) + " of " +
                       plural(reporters_->size(), "view") + " (" + join_ids(m.failed_by) + ")";
        } else {
            f.kind = FindingKind::kNodeSuspected;
            f.reason = "node " + describe_node(m) + ", " + what + ", is suspected (fail?) by " +
                       std::to_string(m.suspected_by.size()) + " of " +
                       plural(reporters_->size(), "view") + " (" + join_ids(m.suspected_by) + ")";
        }
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<Finding> Topology::check_node_timeouts(const NodeTimeouts& timeouts) const {
    std::map<std::int64_t, std::vector<std::string>> by_value;
    for (const auto& [id, value] : timeouts) {
        by_value[value].push_back(id);
    }
    if (by_value.size() < 2) {
        return {};
    }
    Finding f;
    f.kind = FindingKind::kNodeTimeoutMismatch;
    f.reason = "cluster-node-timeout differs between nodes: ";
    bool first = true;
    for (const auto& [value, ids] : by_value) {
        f.node_ids.insert(f.node_ids.end(), ids.begin(), ids.end());
        f.reason += (first ? "" : "; ") + std::to_string(value) + " ms on " +
                    plural(ids.size(), "node") + " (" + join_ids(ids) + ")";
        first = false;
    }
    std::sort(f.node_ids.begin(), f.node_ids.end());
    return {std::move(f)};
}

std::vector<Finding> Topology::check_all(const NodeTimeouts& timeouts) const {
    std::vector<Finding> out = check_slot_coverage();
    auto append = [&out](std::vector<Finding> part) {
        std::move(part.begin(), part.end(), std::back_inserter(out));
    };
    append(check_replicas());
    append(check_same_host());
    append(check_failures());
    append(check_node_timeouts(timeouts));
    return out;
}

}  // namespace picket::cluster
