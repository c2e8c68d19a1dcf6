// libFuzzer target: RESP bytes through resp::parse_one, then parse_cluster_shards.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "picket/cluster/cluster_shards.h"
#include "picket/resp/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto reply = picket::resp::parse_one(bytes);
    if (!reply) {
        return 0;
    }
    auto shards = picket::cluster::parse_cluster_shards(*reply);
    if (!shards) {
        (void)shards.error().to_string();
        return 0;
    }
    for (const auto& shard : *shards) {
        for (const auto& r : shard.slots) {
            if (r.first > r.last || r.last > picket::cluster::kMaxSlot) {
                __builtin_trap();
            }
        }
        for (const auto& n : shard.nodes) {
            (void)picket::cluster::to_string(n.role);
            (void)picket::cluster::to_string(n.health);
            (void)n.hostname.value_or(n.endpoint);
        }
    }
    return 0;
}
