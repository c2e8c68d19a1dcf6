#include "picket/cluster/cluster_shards.h"

#include "fields.h"
#include "picket/cluster/cluster_nodes.h"
#include "reply_fields.h"

namespace picket::cluster {

std::string_view to_string(ShardRole role) {
    return role == ShardRole::kMaster ? "master" : "replica";
}

std::string_view to_string(ShardHealth health) {
    switch (health) {
        case ShardHealth::kOnline:
            return "online";
        case ShardHealth::kFailed:
            return "fail";
        case ShardHealth::kLoading:
            return "loading";
        case ShardHealth::kUnknown:
            return "unknown";
    }
    return "unknown";
}

namespace {

using detail::excerpt;
using detail::reply_integer;
using detail::reply_text;

ParseError shards_error(std::string what) {
    return ParseError{"CLUSTER SHARDS: " + std::move(what), 0};
}

std::string where(std::size_t shard, std::optional<std::size_t> node = std::nullopt) {
    std::string out = "shard " + std::to_string(shard);
    if (node) {
        out += ", node " + std::to_string(*node);
    }
    return out;
}

/// Checks that `r` is a flat key/value array with text keys.
ParseResult<const std::vector<resp::Reply>*> as_map(const resp::Reply& r,
                                                    const std::string& context) {
    if (!r.is_array()) {
        return unexpected(shards_error(context + " is a " + std::string(resp::to_string(r.type)) +
                                       ", expected a key/value array"));
    }
    if (r.elements.size() % 2 != 0) {
        return unexpected(shards_error(context + " has an odd number of elements (" +
                                       std::to_string(r.elements.size()) + ")"));
    }
    for (std::size_t i = 0; i < r.elements.size(); i += 2) {
        if (!reply_text(r.elements[i])) {
            return unexpected(
                shards_error(context + " has a non-text key at position " + std::to_string(i)));
        }
    }
    return &r.elements;
}

ParseResult<std::vector<SlotRange>> parse_slots(const resp::Reply& r, const std::string& context) {
    if (!r.is_array()) {
        return unexpected(shards_error(context + ": 'slots' is not an array"));
    }
    if (r.elements.size() % 2 != 0) {
        return unexpected(shards_error(context + ": 'slots' has an odd number of bounds"));
    }
    std::vector<SlotRange> slots;
    slots.reserve(r.elements.size() / 2);
    for (std::size_t i = 0; i < r.elements.size(); i += 2) {
        const auto first = reply_integer<std::uint16_t>(r.elements[i]);
        const auto last = reply_integer<std::uint16_t>(r.elements[i + 1]);
        if (!first || !last || *first > kMaxSlot || *last > kMaxSlot || *first > *last) {
            return unexpected(shards_error(context + ": bad slot range " +
                                           excerpt(r.elements[i].debug_string(40)) + "-" +
                                           excerpt(r.elements[i + 1].debug_string(40))));
        }
        slots.push_back(SlotRange{*first, *last});
    }
    return slots;
}

ParseResult<ShardNode> parse_node(const resp::Reply& r, const std::string& context) {
    const std::vector<resp::Reply>* kv = nullptr;
    PICKET_CLUSTER_TRY(kv, as_map(r, context));
    ShardNode n;
    bool has_id = false;
    bool has_role = false;
    auto bad = [&](std::string_view key, const resp::Reply& value) {
        return unexpected(shards_error(context + ": bad '" + std::string(key) + "' " +
                                       excerpt(value.debug_string(80))));
    };
    for (std::size_t i = 0; i < kv->size(); i += 2) {
        const auto key = *reply_text((*kv)[i]);
        const auto& value = (*kv)[i + 1];
        if (key == "id") {
            const auto id = reply_text(value);
            if (!id || !is_node_id(*id)) {
                return bad(key, value);
            }
            n.id = std::string(*id);
            has_id = true;
        } else if (key == "port" || key == "tls-port") {
            const auto port = reply_integer<std::uint16_t>(value);
            if (!port) {
                return bad(key, value);
            }
            (key == "port" ? n.port : n.tls_port) = *port;
        } else if (key == "ip" || key == "endpoint" || key == "hostname") {
            const auto text = reply_text(value);
            if (!text) {
                return bad(key, value);
            }
            if (key == "ip") {
                n.ip = std::string(*text);
            } else if (key == "endpoint") {
                n.endpoint = std::string(*text);
            } else {
                n.hostname = std::string(*text);
            }
        } else if (key == "role") {
            const auto role = reply_text(value);
            if (role == "master") {
                n.role = ShardRole::kMaster;
            } else if (role == "replica") {
                n.role = ShardRole::kReplica;
            } else {
                return bad(key, value);
            }
            has_role = true;
        } else if (key == "replication-offset") {
            const auto offset = reply_integer<std::int64_t>(value);
            if (!offset) {
                return bad(key, value);
            }
            n.replication_offset = *offset;
        } else if (key == "health") {
            const auto health = reply_text(value);
            if (!health) {
                return bad(key, value);
            }
            if (*health == "online") {
                n.health = ShardHealth::kOnline;
            } else if (*health == "fail") {
                n.health = ShardHealth::kFailed;
            } else if (*health == "loading") {
                n.health = ShardHealth::kLoading;
            } else {
                n.health = ShardHealth::kUnknown;
            }
        }
    }
    if (!has_id || !has_role) {
        return unexpected(
            shards_error(context + ": missing '" + std::string(has_id ? "role" : "id") + "'"));
    }
    return n;
}

ParseResult<ShardInfo> parse_shard(const resp::Reply& r, std::size_t index) {
    const auto context = where(index);
    const std::vector<resp::Reply>* kv = nullptr;
    PICKET_CLUSTER_TRY(kv, as_map(r, context));
    ShardInfo shard;
    bool has_slots = false;
    bool has_nodes = false;
    for (std::size_t i = 0; i < kv->size(); i += 2) {
        const auto key = *reply_text((*kv)[i]);
        const auto& value = (*kv)[i + 1];
        if (key == "slots") {
            PICKET_CLUSTER_TRY(shard.slots, parse_slots(value, context));
            has_slots = true;
        } else if (key == "nodes") {
            if (!value.is_array()) {
                return unexpected(shards_error(context + ": 'nodes' is not an array"));
            }
            shard.nodes.clear();
            shard.nodes.reserve(value.elements.size());
            for (std::size_t j = 0; j < value.elements.size(); ++j) {
                ShardNode node;
                PICKET_CLUSTER_TRY(node, parse_node(value.elements[j], where(index, j)));
                shard.nodes.push_back(std::move(node));
            }
            has_nodes = true;
        }
    }
    if (!has_slots || !has_nodes) {
        return unexpected(shards_error(context + ": missing '" +
                                       std::string(has_slots ? "nodes" : "slots") + "'"));
    }
    return shard;
}

}  // namespace

ParseResult<std::vector<ShardInfo>> parse_cluster_shards(const resp::Reply& reply) {
    if (reply.is_error()) {
        return unexpected(shards_error("error reply: " + excerpt(reply.str, 200)));
    }
    if (!reply.is_array()) {
        return unexpected(shards_error("reply is a " + std::string(resp::to_string(reply.type)) +
                                       ", expected an array"));
    }
    std::vector<ShardInfo> shards;
    shards.reserve(reply.elements.size());
    for (std::size_t i = 0; i < reply.elements.size(); ++i) {
        ShardInfo shard;
        PICKET_CLUSTER_TRY(shard, parse_shard(reply.elements[i], i));
        shards.push_back(std::move(shard));
    }
    return shards;
}

}  // namespace picket::cluster
