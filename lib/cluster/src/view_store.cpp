#include "picket/cluster/view_store.h"

#include <utility>

namespace picket::cluster {

std::string line_identity(const ClusterNode& n) {
    std::string k;
    k.reserve(96 + 12 * n.slots.size());
    k += n.id;
    k += ' ';
    k += n.address.ip;
    k += ':';
    k += std::to_string(n.address.port);
    k += '@';
    k += std::to_string(n.address.cport);
    k += ',';
    k += n.address.hostname;
    k += ' ';
    k += n.flags.to_string();
    k += ' ';
    k += n.master_id ? *n.master_id : std::string("-");
    k += ' ';
    k += std::to_string(n.config_epoch);
    k += ' ';
    k += to_string(n.link_state);
    for (const auto& r : n.slots) {
        k += ' ';
        k += std::to_string(r.first);
        k += '-';
        k += std::to_string(r.last);
    }
    for (const auto& m : n.migrations) {
        k += " [";
        k += std::to_string(m.slot);
        k += m.direction == SlotMigration::Direction::kMigrating ? "->-" : "-<-";
        k += m.node_id;
        k += ']';
    }
    return k;
}

std::uint32_t ViewStore::acquire(ClusterNode node) {
    node.ping_sent = 0;
    node.pong_recv = 0;
    auto key = line_identity(node);
    auto it = lines_.find(key);
    if (it == lines_.end()) {
        it = lines_.emplace(std::move(key), Pooled{std::move(node), 0, 0}).first;
        // unordered_map nodes do not move: the pointer stays valid until the line is erased.
        if (free_slots_.empty()) {
            it->second.slot = static_cast<std::uint32_t>(slots_.size());
            slots_.push_back(&it->second.node);
        } else {
            it->second.slot = free_slots_.back();
            free_slots_.pop_back();
            slots_[it->second.slot] = &it->second.node;
        }
    }
    ++it->second.refs;
    return it->second.slot;
}

void ViewStore::release(const std::vector<std::uint32_t>& lines) {
    for (const auto slot : lines) {
        auto it = lines_.find(line_identity(*slots_[slot]));
        if (it != lines_.end() && --it->second.refs == 0) {
            slots_[slot] = nullptr;
            free_slots_.push_back(slot);
            lines_.erase(it);
        }
    }
}

bool ViewStore::put(const std::string& address, ClusterView view, TimePoint at) {
    Stored fresh;
    fresh.reporter_id = std::move(view.reporter_id);
    fresh.at = at;
    fresh.lines.reserve(view.nodes.size());
    for (auto& n : view.nodes) {
        fresh.lines.push_back(acquire(std::move(n)));
    }
    auto it = views_.find(address);
    if (it == views_.end()) {
        views_.emplace(address, std::move(fresh));
        return true;
    }
    // Equal lines are the same pooled object (one slot: the old view still holds its lines,
    // so none of its slots was reused), so comparing slots compares content.
    const bool changed =
        it->second.reporter_id != fresh.reporter_id || it->second.lines != fresh.lines;
    release(it->second.lines);
    it->second = std::move(fresh);
    return changed;
}

bool ViewStore::erase(const std::string& address) {
    auto it = views_.find(address);
    if (it == views_.end()) {
        return false;
    }
    release(it->second.lines);
    views_.erase(it);
    return true;
}

std::vector<ViewStore::Fresh> ViewStore::fresh(TimePoint since) const {
    std::vector<Fresh> out;
    out.reserve(views_.size());
    for (const auto& [address, v] : views_) {
        if (v.at >= since) {
            out.push_back(Fresh{&address, ViewRef{v.reporter_id, LineSpan(v.lines, slots_)}});
        }
    }
    return out;
}

}  // namespace picket::cluster
