#include "picket/cluster/info.h"

#include <algorithm>
#include <cctype>

#include "fields.h"
#include "picket/base/strings.h"

namespace picket::cluster {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace

const Info::Section* Info::section(std::string_view name) const {
    const auto it = sections_.find(lower(name));
    return it == sections_.end() ? nullptr : &it->second;
}

const Info::Field* Info::field(std::string_view section_name, std::string_view key) const {
    const auto* s = section(section_name);
    if (s == nullptr) {
        return nullptr;
    }
    const auto it = s->find(key);
    return it == s->end() ? nullptr : &it->second;
}

std::optional<std::string_view> Info::get(std::string_view section_name,
                                          std::string_view key) const {
    const auto* f = field(section_name, key);
    if (f == nullptr) {
        return std::nullopt;
    }
    return std::string_view(f->value);
}

void Info::add_section(std::string_view name) {
    sections_[lower(name)];
}

void Info::set(std::string_view section_name, std::string_view key, std::string_view value,
               std::size_t line) {
    auto& s = sections_[lower(section_name)];
    auto it = s.find(key);
    if (it == s.end()) {
        s.emplace(std::string(key), Field{std::string(value), line});
    } else {
        it->second = Field{std::string(value), line};
    }
}

ParseResult<Info> parse_info(std::string_view text) {
    Info info;
    std::string section;
    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t line_no = i + 1;
        const auto line = trim(lines[i]);
        if (line.empty()) {
            continue;
        }
        if (line.front() == '#') {
            const auto name = trim(line.substr(1));
            if (name.empty()) {
                return unexpected(ParseError{"section header without a name", line_no});
            }
            section = lower(name);
            // An empty section ("# Keyspace" with no databases) still exists.
            info.add_section(section);
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            return unexpected(ParseError{
                "expected 'key:value' or '# Section', got '" + detail::excerpt(line) + "'",
                line_no});
        }
        if (colon == 0) {
            return unexpected(ParseError{"empty key in '" + detail::excerpt(line) + "'", line_no});
        }
        info.set(section, line.substr(0, colon), line.substr(colon + 1), line_no);
    }
    return info;
}

std::string_view to_string(ReplicationRole role) {
    switch (role) {
        case ReplicationRole::kMaster:
            return "master";
        case ReplicationRole::kReplica:
            return "slave";
        case ReplicationRole::kUnknown:
            return "unknown";
    }
    return "unknown";
}

std::string_view to_string(MasterLinkStatus status) {
    return status == MasterLinkStatus::kUp ? "up" : "down";
}

namespace {

/// The section or an error naming it.
ParseResult<const Info::Section*> require_section(const Info& info, std::string_view name) {
    const auto* s = info.section(name);
    if (s == nullptr) {
        return unexpected(ParseError{"INFO reply has no '" + std::string(name) + "' section", 0});
    }
    return s;
}

/// Parses the value of a "slaveN" field: "ip=…,port=…,state=…,offset=…,lag=…".
/// Unknown keys are ignored (newer versions may add some).
ParseResult<ConnectedReplica> parse_connected_replica(std::string_view key, const Info::Field& f,
                                                      std::size_t index) {
    ConnectedReplica r;
    r.index = index;
    bool has_ip = false;
    bool has_port = false;
    bool has_state = false;
    bool has_offset = false;
    auto bad = [&](std::string_view what) {
        return ParseError{"replication: field '" + std::string(key) + "' " + std::string(what) +
                              " in '" + detail::excerpt(f.value) + "'",
                          f.line};
    };
    for (const auto item : split(f.value, ',')) {
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            return unexpected(bad("has an item without '='"));
        }
        const auto k = item.substr(0, eq);
        const auto v = item.substr(eq + 1);
        if (k == "ip") {
            r.ip = std::string(v);
            has_ip = true;
        } else if (k == "port") {
            const auto port = parse_integer<std::uint16_t>(v);
            if (!port) {
                return unexpected(bad("has a bad port"));
            }
            r.port = *port;
            has_port = true;
        } else if (k == "state") {
            r.state = std::string(v);
            has_state = true;
        } else if (k == "offset") {
            const auto offset = parse_integer<std::int64_t>(v);
            if (!offset) {
                return unexpected(bad("has a bad offset"));
            }
            r.offset = *offset;
            has_offset = true;
        } else if (k == "lag") {
            const auto lag = parse_integer<std::int64_t>(v);
            if (!lag) {
                return unexpected(bad("has a bad lag"));
            }
            r.lag = *lag;
        }
    }
    if (!has_ip || !has_port || !has_state || !has_offset) {
        return unexpected(bad("lacks one of ip, port, state, offset"));
    }
    return r;
}

/// N of a "slaveN" key, or nullopt for any other key.
std::optional<std::size_t> replica_key_index(std::string_view key) {
    constexpr std::string_view kPrefix = "slave";
    if (key.size() <= kPrefix.size() || key.substr(0, kPrefix.size()) != kPrefix) {
        return std::nullopt;
    }
    return parse_integer<std::size_t>(key.substr(kPrefix.size()));
}

}  // namespace

ParseResult<ReplicationInfo> parse_replication(const Info& info) {
    const Info::Section* section = nullptr;
    PICKET_CLUSTER_TRY(section, require_section(info, "replication"));
    const detail::FieldReader fields(*section, "replication");

    ReplicationInfo r;
    std::string role;
    PICKET_CLUSTER_TRY(role, fields.text("role"));
    if (role == "master") {
        r.role = ReplicationRole::kMaster;
    } else if (role == "slave") {
        r.role = ReplicationRole::kReplica;
    } else {
        r.role = ReplicationRole::kUnknown;
        return r;
    }

    PICKET_CLUSTER_TRY(r.connected_slaves, fields.integer<std::int64_t>("connected_slaves"));
    PICKET_CLUSTER_TRY(r.master_replid, fields.text("master_replid"));
    PICKET_CLUSTER_TRY(r.master_repl_offset, fields.integer<std::int64_t>("master_repl_offset"));
    r.master_replid2 = fields.optional_text("master_replid2");
    PICKET_CLUSTER_TRY(r.second_repl_offset,
                       fields.optional_integer<std::int64_t>("second_repl_offset"));
    r.master_failover_state = fields.optional_text("master_failover_state");

    // The section is ordered by key: "slave10" sorts before "slave2", so sort by N.
    for (const auto& [key, f] : *section) {
        const auto index = replica_key_index(key);
        if (!index) {
            continue;
        }
        ConnectedReplica replica;
        PICKET_CLUSTER_TRY(replica, parse_connected_replica(key, f, *index));
        r.replicas.push_back(std::move(replica));
    }
    std::sort(
        r.replicas.begin(), r.replicas.end(),
        [](const ConnectedReplica& a, const ConnectedReplica& b) { return a.index < b.index; });

    if (r.role != ReplicationRole::kReplica) {
        return r;
    }
    PICKET_CLUSTER_TRY(r.master_host, fields.text("master_host"));
    PICKET_CLUSTER_TRY(r.master_port, fields.integer<std::uint16_t>("master_port"));
    std::string link;
    PICKET_CLUSTER_TRY(link, fields.text("master_link_status"));
    if (link == "up") {
        r.master_link_status = MasterLinkStatus::kUp;
    } else if (link == "down") {
        r.master_link_status = MasterLinkStatus::kDown;
    } else {
        return unexpected(
            fields.bad("master_link_status", *fields.find("master_link_status"), "up or down"));
    }
    PICKET_CLUSTER_TRY(r.master_last_io_seconds_ago,
                       fields.integer<std::int64_t>("master_last_io_seconds_ago"));
    PICKET_CLUSTER_TRY(r.master_sync_in_progress, fields.flag("master_sync_in_progress"));
    PICKET_CLUSTER_TRY(r.slave_repl_offset, fields.integer<std::int64_t>("slave_repl_offset"));
    PICKET_CLUSTER_TRY(r.slave_read_repl_offset,
                       fields.optional_integer<std::int64_t>("slave_read_repl_offset"));
    PICKET_CLUSTER_TRY(r.slave_priority, fields.integer<std::int64_t>("slave_priority"));
    PICKET_CLUSTER_TRY(r.slave_read_only, fields.flag("slave_read_only"));
    PICKET_CLUSTER_TRY(r.replica_announced, fields.optional_flag("replica_announced"));
    PICKET_CLUSTER_TRY(r.master_link_down_since_seconds,
                       fields.optional_integer<std::int64_t>("master_link_down_since_seconds"));
    return r;
}

ParseResult<ServerInfo> parse_server(const Info& info) {
    const Info::Section* section = nullptr;
    PICKET_CLUSTER_TRY(section, require_section(info, "server"));
    const detail::FieldReader fields(*section, "server");
    ServerInfo s;
    PICKET_CLUSTER_TRY(s.redis_version, fields.text("redis_version"));
    PICKET_CLUSTER_TRY(s.run_id, fields.text("run_id"));
    PICKET_CLUSTER_TRY(s.process_id, fields.integer<std::int64_t>("process_id"));
    PICKET_CLUSTER_TRY(s.uptime_in_seconds, fields.integer<std::int64_t>("uptime_in_seconds"));
    s.redis_mode = fields.optional_text("redis_mode");
    PICKET_CLUSTER_TRY(s.tcp_port, fields.optional_integer<std::uint16_t>("tcp_port"));
    return s;
}

ParseResult<PersistenceInfo> parse_persistence(const Info& info) {
    const Info::Section* section = nullptr;
    PICKET_CLUSTER_TRY(section, require_section(info, "persistence"));
    const detail::FieldReader fields(*section, "persistence");
    PersistenceInfo p;
    PICKET_CLUSTER_TRY(p.loading, fields.flag("loading"));
    PICKET_CLUSTER_TRY(p.async_loading, fields.optional_flag("async_loading"));
    PICKET_CLUSTER_TRY(p.aof_enabled, fields.flag("aof_enabled"));
    PICKET_CLUSTER_TRY(p.loading_loaded_perc, fields.optional_double("loading_loaded_perc"));
    PICKET_CLUSTER_TRY(p.loading_eta_seconds,
                       fields.optional_integer<std::int64_t>("loading_eta_seconds"));
    PICKET_CLUSTER_TRY(p.loading_loaded_bytes,
                       fields.optional_integer<std::int64_t>("loading_loaded_bytes"));
    PICKET_CLUSTER_TRY(p.loading_total_bytes,
                       fields.optional_integer<std::int64_t>("loading_total_bytes"));
    return p;
}

ParseResult<bool> parse_cluster_enabled(const Info& info) {
    const Info::Section* section = nullptr;
    PICKET_CLUSTER_TRY(section, require_section(info, "cluster"));
    return detail::FieldReader(*section, "cluster").flag("cluster_enabled");
}

}  // namespace picket::cluster
