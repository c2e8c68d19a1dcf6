// libFuzzer target: RESP bytes through resp::parse_one, then parse_role (and, since the
// replies share a shape, parse_config_get).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "picket/cluster/config_get.h"
#include "picket/cluster/role.h"
#include "picket/resp/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto reply = picket::resp::parse_one(bytes);
    if (!reply) {
        return 0;
    }
    if (auto role = picket::cluster::parse_role(*reply)) {
        (void)picket::cluster::to_string(role->role);
        (void)picket::cluster::to_string(role->state);
        for (const auto& r : role->replicas) {
            (void)r.ip.size();
        }
    } else {
        (void)role.error().to_string();
    }
    (void)picket::cluster::parse_config_integer(*reply, "cluster-node-timeout");
    return 0;
}
