#pragma once
// The cluster as a watcher models it, built from the CLUSTER NODES views of several
// nodes (plus, optionally, their INFO replication) and rebuilt from scratch on every
// refresh: there is no incremental state to go stale.
//
// Views are never merged field by field. Each node's model is one whole record taken
// from one view (see NodeModel::described_by); every way the views differ about a node or
// a slot range is kept as a Disagreement naming who said what. Checks an operator cares
// about (coverage, replicas, placement, failures, config drift) return Findings with a
// human-readable reason. Everything is sorted by node id (then reporter id), so the same
// input always gives the same output.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "picket/base/parse_error.h"
#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/info.h"
#include "picket/cluster/slots.h"

namespace picket::cluster {

/// One node's view of the cluster: its parsed CLUSTER NODES reply.
struct ClusterView {
    /// Id of the node that produced the view (the id on its `myself` line).
    std::string reporter_id;
    /// Every line of its CLUSTER NODES reply, itself included.
    std::vector<ClusterNode> nodes;
};

/// Wraps a parsed CLUSTER NODES reply as a view, taking the reporter from its `myself`
/// line; fails when there is none.
ParseResult<ClusterView> make_view(std::vector<ClusterNode> nodes);

/// A node's role in the model.
enum class NodeRole : std::uint8_t {
    kMaster,
    kReplica,
    /// Neither master nor slave flag: a node in handshake or just met ("noflags").
    kUnknown,
};
std::string_view to_string(NodeRole role);

/// A sorted set of reporter ids, stored as one bit per reporter of the model's sorted
/// reporters (a watcher of N nodes reads N views of N nodes: N × N id strings were most
/// of its memory, and N × N 4-byte indexes were still 4 MB at 1,000 nodes; bits are 125 kB).
/// Iterates as `const std::string&` in reporter order; compares equal to a vector of the
/// same ids.
class ReporterSet {
  public:
    class const_iterator {
      public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::string;
        using difference_type = std::ptrdiff_t;
        using pointer = const std::string*;
        using reference = const std::string&;

        const_iterator() = default;
        /// At the first member at or after index `at` (or at the end).
        const_iterator(const ReporterSet* set, std::size_t at) : set_(set), at_(set->next(at)) {}
        reference operator*() const { return (*set_->names_)[at_]; }
        pointer operator->() const { return &(*set_->names_)[at_]; }
        const_iterator& operator++() {
            at_ = set_->next(at_ + 1);
            return *this;
        }
        const_iterator operator++(int) {
            auto old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) {
            return a.at_ == b.at_;
        }

      private:
        const ReporterSet* set_ = nullptr;
        std::size_t at_ = 0;
    };
    using iterator = const_iterator;
    using value_type = std::string;
    using size_type = std::size_t;

    ReporterSet() = default;
    /// `names` must be sorted; `indexes` distinct indexes into it.
    ReporterSet(std::shared_ptr<const std::vector<std::string>> names,
                std::span<const std::uint32_t> indexes);

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, limit()}; }
    /// True when `id` is in the set.
    bool contains(std::string_view id) const;

    friend bool operator==(const ReporterSet& a, const ReporterSet& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }
    friend bool operator==(const ReporterSet& a, const std::vector<std::string>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

  private:
    /// One past the last index a member can have.
    std::size_t limit() const { return bits_.size() * 64; }
    /// The first member index at or after `at`, or limit().
    std::size_t next(std::size_t at) const;

    std::shared_ptr<const std::vector<std::string>> names_;
    /// Bit i of word i / 64: names_[i] is a member.
    std::vector<std::uint64_t> bits_;
    std::size_t size_ = 0;
};

/// One node as the model sees it.
struct NodeModel {
    /// The node's 40-hex-character id.
    std::string id;
    /// The reporter whose line this record is: the node itself when its own view was
    /// given (what it does is what clients get), otherwise the view with the highest
    /// config epoch for it (ties: the lowest reporter id).
    std::string described_by;
    /// Where the node is reached, per described_by.
    NodeAddress address;
    /// Master, replica or unknown, per described_by.
    NodeRole role = NodeRole::kUnknown;
    /// For a replica: the master it follows, per described_by (nullopt for "-").
    std::optional<std::string> master_id;
    /// configEpoch per described_by: the version of its slot claims.
    std::uint64_t config_epoch = 0;
    /// Slots it serves per described_by, sorted and merged.
    std::vector<SlotRange> slots;
    /// Slots it is migrating or importing (only its own view shows these).
    std::vector<SlotMigration> migrations;
    /// Flagged "handshake" (not yet trusted, provisional id), per described_by.
    bool handshake = false;
    /// Flagged "noaddr" (address unknown), per described_by.
    bool noaddr = false;
    /// Flagged "nofailover" (cluster-replica-no-failover), per described_by.
    bool nofailover = false;
    /// Reporters (sorted) whose view lists this node.
    ReporterSet known_by;
    /// Reporters (sorted) that flag it "fail" (a majority of masters agreed it is down).
    std::vector<std::string> failed_by;
    /// Reporters (sorted) that flag it "fail?" only (their local suspicion, PFAIL).
    std::vector<std::string> suspected_by;
    /// Reporters (sorted) whose cluster bus link to it is disconnected.
    std::vector<std::string> disconnected_from;
    /// From the node's INFO replication, when given: master_repl_offset of a master,
    /// slave_repl_offset of a replica.
    std::optional<std::int64_t> repl_offset;
    /// From a replica's INFO replication, when given: its link to its master.
    std::optional<MasterLinkStatus> master_link_status;

    /// True when the node's own view was among the inputs.
    bool has_own_view() const { return described_by == id; }
    /// True when at least one view flags it fail.
    bool is_failed() const { return !failed_by.empty(); }
};

/// A master and the replicas that follow it, per the model.
struct Shard {
    /// The master's id.
    std::string master_id;
    /// Ids (sorted) of the nodes whose model role is replica of master_id.
    std::vector<std::string> replica_ids;
    /// The master's slots, sorted and merged; empty for a master without slots (e.g. a
    /// failed master whose slots moved to its promoted replica).
    std::vector<SlotRange> slots;
    /// Number of slots in `slots`.
    std::size_t slot_count = 0;
    /// The master's config epoch.
    std::uint64_t config_epoch = 0;
};

/// What the views disagree about.
enum class DisagreementKind : std::uint8_t {
    /// Some views list the node, others do not (new, forgotten or handshaking nodes).
    kUnknownNode,
    /// Master per some views, replica (or neither) per others: typically a failover
    /// not yet seen everywhere, or a partitioned old master.
    kRole,
    /// Views name different masters for the same replica.
    kMaster,
    /// Some views flag the node fail or fail?, others do not.
    kFailure,
    /// Views report different config epochs for the node.
    kConfigEpoch,
    /// Views report different addresses for the node (views without an ip are ignored).
    kAddress,
    /// Views name different masters (or none) as owner of a slot range.
    kSlotOwner,
    /// The node's INFO replication contradicts the model (role or master address).
    kReplication,
};
std::string_view to_string(DisagreementKind kind);

/// What one source said in a disagreement.
struct Claim {
    /// The reporting node's id (for kReplication, the node whose INFO it is).
    std::string reporter;
    /// What it said: "master", "slave of <id>", "fail?", "epoch 7", "127.0.0.1:7000",
    /// "<id>" (slot owner), "(none)", "does not know it", ...
    std::string value;

    friend bool operator==(const Claim&, const Claim&) = default;
};

/// Views that do not agree, with every side's claim. Never resolved by the model.
struct Disagreement {
    /// What is disagreed about.
    DisagreementKind kind = DisagreementKind::kUnknownNode;
    /// The node disagreed about; empty for kSlotOwner.
    std::string node_id;
    /// For kSlotOwner: the slot ranges concerned (all with the same claims).
    std::vector<SlotRange> slots;
    /// One claim per source, sorted by reporter. For kSlotOwner the value lists at most
    /// 16 owner ids, then ",+N" for the rest.
    std::vector<Claim> claims;
    /// A sentence for logs and alerts.
    std::string reason;
};

/// What a check found.
enum class FindingKind : std::uint8_t {
    /// Slots no master serves: clients get CLUSTERDOWN for them (with
    /// cluster-require-full-coverage, for all slots).
    kUncoveredSlots,
    /// Slots claimed by two or more masters.
    kSlotConflict,
    /// A master serving slots with no replica that is not flagged fail: losing it
    /// loses those slots.
    kMasterWithoutReplica,
    /// A replica whose master is unknown or not a master.
    kOrphanReplica,
    /// A master and its replica on the same IP or hostname: one host failure takes
    /// both.
    kSameHost,
    /// cluster-node-timeout differs between nodes: failure detection is uneven.
    kNodeTimeoutMismatch,
    /// A node flagged fail by at least one view.
    kNodeFailed,
    /// A node flagged fail? (but not fail) by at least one view.
    kNodeSuspected,
};
std::string_view to_string(FindingKind kind);

/// One result of a check.
struct Finding {
    /// Which check found it and what it means.
    FindingKind kind = FindingKind::kUncoveredSlots;
    /// The nodes concerned, sorted. For kSlotConflict at most 16 claimants are listed
    /// (those with the highest config epochs); the reason gives the total.
    std::vector<std::string> node_ids;
    /// The slots concerned, if any.
    std::vector<SlotRange> slots;
    /// A sentence for logs and alerts.
    std::string reason;
};

/// Node id → cluster-node-timeout in ms, as read with CONFIG GET.
using NodeTimeouts = std::map<std::string, std::int64_t, std::less<>>;

/// One view whose lines live elsewhere (the watcher keeps each distinct line once and
/// shares it between the views that print it): what Topology::build reads. The pointed-to
/// reporter id and lines must outlive the build call only.
/// A view's lines, held elsewhere: an array of pointers, or ViewStore's compact form, an
/// array of 4-byte slots into a table of pointers (a watcher of 1,000 nodes holds 1,000
/// views of 1,000 lines: 4 MB of slots instead of 8 MB of pointers). Indexes and iterates
/// as `const ClusterNode*`.
class LineSpan {
  public:
    class const_iterator {
      public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = const ClusterNode*;
        using difference_type = std::ptrdiff_t;
        using pointer = const ClusterNode* const*;
        using reference = const ClusterNode*;

        const_iterator() = default;
        const_iterator(const LineSpan* span, std::size_t at) : span_(span), at_(at) {}
        const ClusterNode* operator*() const { return (*span_)[at_]; }
        const_iterator& operator++() {
            ++at_;
            return *this;
        }
        const_iterator operator++(int) {
            auto old = *this;
            ++at_;
            return old;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) {
            return a.at_ == b.at_;
        }

      private:
        const LineSpan* span_ = nullptr;
        std::size_t at_ = 0;
    };

    LineSpan() = default;
    // Implicit, so views held as pointer arrays convert as they did to a span.
    LineSpan(std::span<const ClusterNode* const> lines) : pointers_(lines) {}
    LineSpan(const std::vector<const ClusterNode*>& lines) : pointers_(lines) {}
    /// Lines `table[slots[i]]`; the table must outlive the span.
    LineSpan(std::span<const std::uint32_t> slots, const std::vector<const ClusterNode*>& table)
        : slots_(slots), table_(&table) {}

    std::size_t size() const { return table_ != nullptr ? slots_.size() : pointers_.size(); }
    bool empty() const { return size() == 0; }
    const ClusterNode* operator[](std::size_t i) const {
        return table_ != nullptr ? (*table_)[slots_[i]] : pointers_[i];
    }
    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, size()}; }

  private:
    std::span<const ClusterNode* const> pointers_;
    std::span<const std::uint32_t> slots_;
    const std::vector<const ClusterNode*>* table_ = nullptr;
};

struct ViewRef {
    /// Id of the node that produced the view.
    std::string_view reporter_id;
    /// Its CLUSTER NODES lines, in the order printed.
    LineSpan nodes;
};

/// Node id → its parsed INFO replication.
using ReplicationById = std::map<std::string, ReplicationInfo, std::less<>>;

/// Everything the model is built from.
struct TopologyInput {
    /// CLUSTER NODES views; at most one per reporter (later duplicates are ignored and
    /// listed in Topology::ignored_views()).
    std::vector<ClusterView> views;
    /// Node id → its parsed INFO replication (optional, any subset of nodes).
    std::map<std::string, ReplicationInfo, std::less<>> replication;
};

/// The model of the cluster. Immutable once built; value type; safe to share between
/// readers. Build a new one on every refresh.
class Topology {
  public:
    /// An empty model (no views).
    Topology() = default;

    /// Builds the model. Never fails: whatever is odd about the views becomes a
    /// Disagreement or a Finding.
    static Topology build(TopologyInput input);

    /// Convenience: views only.
    static Topology build(std::vector<ClusterView> views);

    /// The same model from views held by reference (no copy of their lines): equal to
    /// build(TopologyInput) with copies of the same views and replication.
    static Topology build(std::span<const ViewRef> views, const ReplicationById& replication);

    /// Replaces the INFO replication the model was built with: afterwards the model equals
    /// build() of the same views with `replication` (repl_offset, master_link_status and
    /// the kReplication disagreements change; nothing taken from the views does). O(nodes):
    /// for refreshes where no view changed.
    void refresh_replication(const ReplicationById& replication);

    /// Ids of the reporters whose views were used, sorted.
    const std::vector<std::string>& reporters() const { return *reporters_; }
    /// Reporter ids of views dropped as duplicates.
    const std::vector<std::string>& ignored_views() const { return ignored_views_; }
    /// Every node any view lists, sorted by id.
    const std::vector<NodeModel>& nodes() const { return nodes_; }
    /// Every master's shard, sorted by master id.
    const std::vector<Shard>& shards() const { return shards_; }
    /// Every disagreement between views (and INFO), sorted by node id then kind;
    /// slot-owner disagreements first, by slot.
    const std::vector<Disagreement>& disagreements() const { return disagreements_; }

    /// The node with this id, or nullptr.
    const NodeModel* node(std::string_view id) const;
    /// Nodes whose ip or hostname is `host` and whose client port is `port` (several
    /// when e.g. a forgotten node and its replacement share an address), sorted by id.
    std::vector<const NodeModel*> nodes_at(std::string_view host, std::uint16_t port) const;
    /// The one node at host:port, or nullptr when none or ambiguous.
    const NodeModel* node_by_address(std::string_view host, std::uint16_t port) const;
    /// The shard a node belongs to (as master or replica), or nullptr.
    const Shard* shard_of(std::string_view node_id) const;
    /// The shard serving `slot`: when masters conflict, the claim with the highest
    /// config epoch (Redis's own rule; ties: lowest id); nullptr when uncovered.
    const Shard* shard_for_slot(Slot slot) const;

    /// Uncovered slots (one finding) and slots claimed by several masters (one finding
    /// per set of claimants).
    std::vector<Finding> check_slot_coverage() const;
    /// Slot-owning masters without a replica not flagged fail, and orphan replicas.
    std::vector<Finding> check_replicas() const;
    /// Masters sharing an IP or hostname with one of their replicas.
    std::vector<Finding> check_same_host() const;
    /// Nodes flagged fail (kNodeFailed) or only fail? (kNodeSuspected) by some view.
    std::vector<Finding> check_failures() const;
    /// One finding when the given cluster-node-timeout values are not all equal.
    std::vector<Finding> check_node_timeouts(const NodeTimeouts& timeouts) const;
    /// Every check above, in that order.
    std::vector<Finding> check_all(const NodeTimeouts& timeouts = {}) const;

  private:
    /// Index of the node in nodes_, or npos.
    std::size_t index_of(std::string_view id) const;

    /// Reporter ids of the views used, sorted.
    /// Shared with every node's known_by (and with copies of the model: it is immutable).
    std::shared_ptr<std::vector<std::string>> reporters_ =
        std::make_shared<std::vector<std::string>>();
    /// Reporter ids of duplicate views dropped.
    std::vector<std::string> ignored_views_;
    /// Every node, sorted by id (binary-searched by index_of).
    std::vector<NodeModel> nodes_;
    /// One shard per master, sorted by master id.
    std::vector<Shard> shards_;
    /// Sorted by node id, then kind.
    std::vector<Disagreement> disagreements_;
    /// Parallel to nodes_: index in shards_ of the node's shard, or npos.
    std::vector<std::size_t> shard_index_;
    /// "host:port" (ip and hostname forms) → index in nodes_.
    std::multimap<std::string, std::size_t, std::less<>> by_address_;
    /// Slot range → index in shards_ of the winning claim, sorted, non-overlapping.
    std::vector<std::pair<SlotRange, std::size_t>> slot_owner_;
};

}  // namespace picket::cluster
