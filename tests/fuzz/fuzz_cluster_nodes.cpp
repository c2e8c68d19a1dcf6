// libFuzzer target: CLUSTER NODES text through parse_cluster_nodes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "picket/cluster/cluster_nodes.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto nodes = picket::cluster::parse_cluster_nodes(text);
    if (!nodes) {
        (void)nodes.error().to_string();
        return 0;
    }
    for (const auto& n : *nodes) {
        if (!picket::cluster::is_node_id(n.id)) {
            __builtin_trap();
        }
        (void)n.address.endpoint();
        (void)n.flags.to_string();
        for (const auto& r : n.slots) {
            if (r.first > r.last || r.last > picket::cluster::kMaxSlot) {
                __builtin_trap();
            }
        }
        (void)picket::cluster::count_slots(n.slots);
        (void)picket::cluster::format_slot_ranges(n.slots);
    }
    return 0;
}
