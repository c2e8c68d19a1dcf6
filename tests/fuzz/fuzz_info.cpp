// libFuzzer target: INFO replies through parse_info and every typed section parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "picket/cluster/info.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto info = picket::cluster::parse_info(text);
    if (!info) {
        (void)info.error().to_string();
        return 0;
    }
    std::size_t fields = 0;
    for (const auto& [name, section] : info->sections()) {
        fields += section.size();
        for (const auto& [key, field] : section) {
            if (info->get(name, key) != std::string_view(field.value)) {
                __builtin_trap();
            }
        }
    }
    (void)fields;
    if (auto r = picket::cluster::parse_replication(*info)) {
        for (const auto& replica : r->replicas) {
            (void)replica.online();
        }
        (void)picket::cluster::to_string(r->role);
    } else {
        (void)r.error().to_string();
    }
    (void)picket::cluster::parse_server(*info);
    (void)picket::cluster::parse_persistence(*info);
    (void)picket::cluster::parse_cluster_enabled(*info);
    return 0;
}
