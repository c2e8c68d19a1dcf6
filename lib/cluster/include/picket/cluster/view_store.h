#pragma once
// The latest CLUSTER NODES view of each reporting node, kept compactly for the topology
// model: a watcher of N nodes ends up holding N views of N lines each, and most of those
// lines are the same in every view. Each distinct line is stored once and shared by the
// views that print it, so memory grows with N views × a pointer, not N × a parsed line.
//
// A line's identity is everything CLUSTER NODES prints except ping-sent and pong-recv
// (per-reporter clock readings nothing in picket reads: they are zeroed when stored, so
// every view of an otherwise quiet cluster is unchanged from one read to the next).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "picket/base/time.h"
#include "picket/cluster/cluster_nodes.h"
#include "picket/cluster/topology.h"

namespace picket::cluster {

/// Views by the address they were read from. Not thread-safe; pointers handed out by
/// fresh() stay valid until the next put() or erase().
class ViewStore {
  public:
    ViewStore() = default;
    ViewStore(const ViewStore&) = delete;
    ViewStore& operator=(const ViewStore&) = delete;

    /// Stores `view` as the latest from `address`, read at `at`. Returns true when it
    /// differs from the view stored for `address` before (or there was none): a line or
    /// the reporter changed, or lines were added, dropped or reordered.
    bool put(const std::string& address, ClusterView view, TimePoint at);

    /// Forgets the view from `address`; true when there was one.
    bool erase(const std::string& address);

    /// One read-at-or-after-`since` view, by reference into the store.
    struct Fresh {
        const std::string* address = nullptr;
        ViewRef view;
    };
    /// Views read at or after `since`, sorted by address.
    std::vector<Fresh> fresh(TimePoint since) const;

    /// Number of views stored.
    std::size_t size() const { return views_.size(); }
    /// Number of distinct lines stored (shared between views).
    std::size_t distinct_lines() const { return lines_.size(); }

  private:
    /// A distinct line, how many stored views print it, and its slot in slots_.
    struct Pooled {
        ClusterNode node;
        std::size_t refs = 0;
        std::uint32_t slot = 0;
    };
    struct Stored {
        std::string reporter_id;
        /// Slots (see slots_) of its lines, in the order printed: 4 bytes a line, not a
        /// pointer's 8 (N views × N lines).
        std::vector<std::uint32_t> lines;
        TimePoint at{};
    };
    /// Takes one reference to the pooled copy of `node` (adding it when new); its slot.
    std::uint32_t acquire(ClusterNode node);
    /// Drops one reference to each line of `lines`.
    void release(const std::vector<std::uint32_t>& lines);

    /// Line identity (see the file comment) → the line.
    std::unordered_map<std::string, Pooled> lines_;
    /// Slot → its pooled line (nullptr while free); the table fresh()'s views index.
    std::vector<const ClusterNode*> slots_;
    /// Free slots, reused before the table grows.
    std::vector<std::uint32_t> free_slots_;
    /// Address → its latest view.
    std::map<std::string, Stored, std::less<>> views_;
};

/// The identity of a CLUSTER NODES line: every field but ping_sent and pong_recv, as text.
std::string line_identity(const ClusterNode& node);

}  // namespace picket::cluster
