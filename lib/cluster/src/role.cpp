#include "picket/cluster/role.h"

#include "fields.h"
#include "reply_fields.h"

namespace picket::cluster {

std::string_view to_string(RoleKind kind) {
    return kind == RoleKind::kMaster ? "master" : "slave";
}

std::string_view to_string(ReplicaState state) {
    switch (state) {
        case ReplicaState::kNone:
            return "none";
        case ReplicaState::kConnect:
            return "connect";
        case ReplicaState::kConnecting:
            return "connecting";
        case ReplicaState::kHandshake:
            return "handshake";
        case ReplicaState::kSync:
            return "sync";
        case ReplicaState::kConnected:
            return "connected";
        case ReplicaState::kUnknown:
            return "unknown";
    }
    return "unknown";
}

namespace {

using detail::excerpt;
using detail::reply_integer;
using detail::reply_text;

ParseError role_error(std::string what) {
    return ParseError{"ROLE: " + std::move(what), 0};
}

ReplicaState parse_state(std::string_view s) {
    if (s == "none") {
        return ReplicaState::kNone;
    }
    if (s == "connect") {
        return ReplicaState::kConnect;
    }
    if (s == "connecting") {
        return ReplicaState::kConnecting;
    }
    if (s == "handshake") {
        return ReplicaState::kHandshake;
    }
    if (s == "sync") {
        return ReplicaState::kSync;
    }
    if (s == "connected") {
        return ReplicaState::kConnected;
    }
    return ReplicaState::kUnknown;
}

ParseResult<RoleInfo> parse_master(const std::vector<resp::Reply>& e) {
    if (e.size() != 3) {
        return unexpected(
            role_error("master reply has " + std::to_string(e.size()) + " elements, expected 3"));
    }
    RoleInfo info;
    info.role = RoleKind::kMaster;
    const auto offset = reply_integer<std::int64_t>(e[1]);
    if (!offset) {
        return unexpected(role_error("bad master offset " + e[1].debug_string(80)));
    }
    info.offset = *offset;
    if (!e[2].is_array()) {
        return unexpected(role_error("master's replica list is not an array"));
    }
    info.replicas.reserve(e[2].elements.size());
    for (std::size_t i = 0; i < e[2].elements.size(); ++i) {
        const auto& r = e[2].elements[i];
        const auto bad = [&] {
            return unexpected(role_error("bad replica " + std::to_string(i) + ": " +
                                         r.debug_string(120) + " (expected [ip, port, offset])"));
        };
        if (!r.is_array() || r.elements.size() != 3) {
            return bad();
        }
        const auto ip = reply_text(r.elements[0]);
        const auto port = reply_integer<std::uint16_t>(r.elements[1]);
        const auto replica_offset = reply_integer<std::int64_t>(r.elements[2]);
        if (!ip || !port || !replica_offset) {
            return bad();
        }
        info.replicas.push_back(RoleReplica{std::string(*ip), *port, *replica_offset});
    }
    return info;
}

ParseResult<RoleInfo> parse_replica(const std::vector<resp::Reply>& e) {
    if (e.size() != 5) {
        return unexpected(
            role_error("slave reply has " + std::to_string(e.size()) + " elements, expected 5"));
    }
    RoleInfo info;
    info.role = RoleKind::kReplica;
    const auto ip = reply_text(e[1]);
    const auto port = reply_integer<std::uint16_t>(e[2]);
    const auto state = reply_text(e[3]);
    const auto offset = reply_integer<std::int64_t>(e[4]);
    const auto bad = [&](std::string_view what, const resp::Reply& r) {
        return unexpected(
            role_error("slave reply has a bad " + std::string(what) + ": " + r.debug_string(80)));
    };
    if (!ip) {
        return bad("master ip", e[1]);
    }
    if (!port) {
        return bad("master port", e[2]);
    }
    if (!state) {
        return bad("state", e[3]);
    }
    if (!offset) {
        return bad("offset", e[4]);
    }
    info.master_ip = std::string(*ip);
    info.master_port = *port;
    info.state = parse_state(*state);
    info.offset = *offset;
    return info;
}

}  // namespace

ParseResult<RoleInfo> parse_role(const resp::Reply& reply) {
    if (reply.is_error()) {
        return unexpected(role_error("error reply: " + excerpt(reply.str, 200)));
    }
    if (!reply.is_array() || reply.elements.empty()) {
        return unexpected(role_error("expected a non-empty array, got " + reply.debug_string(80)));
    }
    const auto kind = reply_text(reply.elements[0]);
    if (!kind) {
        return unexpected(role_error("first element is not a role name"));
    }
    if (*kind == "master") {
        return parse_master(reply.elements);
    }
    if (*kind == "slave") {
        return parse_replica(reply.elements);
    }
    if (*kind == "sentinel") {
        return unexpected(role_error("the node is a Sentinel, not a Redis data node"));
    }
    return unexpected(role_error("unknown role '" + excerpt(*kind) + "'"));
}

}  // namespace picket::cluster
