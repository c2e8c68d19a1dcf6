// libFuzzer target: CLUSTER INFO text through parse_cluster_info.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "picket/cluster/cluster_info.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto info = picket::cluster::parse_cluster_info(text);
    if (!info) {
        (void)info.error().to_string();
        return 0;
    }
    (void)picket::cluster::to_string(info->state);
    std::int64_t sum = 0;
    for (const auto& [key, value] : info->counters) {
        sum ^= value;
    }
    (void)sum;
    return 0;
}
