#include "picket/cluster/cluster_info.h"

#include "fields.h"
#include "picket/cluster/info.h"

namespace picket::cluster {

std::string_view to_string(ClusterState state) {
    return state == ClusterState::kOk ? "ok" : "fail";
}

ParseResult<ClusterInfo> parse_cluster_info(std::string_view text) {
    // Same line grammar as INFO, without section headers.
    Info info;
    PICKET_CLUSTER_TRY(info, parse_info(text));
    const auto& sections = info.sections();
    if (sections.empty()) {
        return unexpected(ParseError{"empty CLUSTER INFO reply", 0});
    }
    if (sections.size() != 1 || sections.begin()->first != "") {
        return unexpected(ParseError{"CLUSTER INFO reply has '# Section' headers", 0});
    }
    const auto& section = sections.begin()->second;
    const detail::FieldReader fields(section, "");

    ClusterInfo c;
    std::string state;
    PICKET_CLUSTER_TRY(state, fields.text("cluster_state"));
    if (state == "ok") {
        c.state = ClusterState::kOk;
    } else if (state == "fail") {
        c.state = ClusterState::kFail;
    } else {
        return unexpected(fields.bad("cluster_state", *fields.find("cluster_state"), "ok or fail"));
    }
    PICKET_CLUSTER_TRY(c.slots_assigned, fields.integer<std::int64_t>("cluster_slots_assigned"));
    PICKET_CLUSTER_TRY(c.slots_ok, fields.integer<std::int64_t>("cluster_slots_ok"));
    PICKET_CLUSTER_TRY(c.slots_pfail, fields.integer<std::int64_t>("cluster_slots_pfail"));
    PICKET_CLUSTER_TRY(c.slots_fail, fields.integer<std::int64_t>("cluster_slots_fail"));
    PICKET_CLUSTER_TRY(c.known_nodes, fields.integer<std::int64_t>("cluster_known_nodes"));
    PICKET_CLUSTER_TRY(c.size, fields.integer<std::int64_t>("cluster_size"));
    PICKET_CLUSTER_TRY(c.current_epoch, fields.integer<std::uint64_t>("cluster_current_epoch"));
    PICKET_CLUSTER_TRY(c.my_epoch, fields.integer<std::uint64_t>("cluster_my_epoch"));

    constexpr std::string_view kTyped[] = {
        "cluster_state",       "cluster_slots_assigned", "cluster_slots_ok",
        "cluster_slots_pfail", "cluster_slots_fail",     "cluster_known_nodes",
        "cluster_size",        "cluster_current_epoch",  "cluster_my_epoch"};
    for (const auto& [key, field] : section) {
        bool typed = false;
        for (const auto k : kTyped) {
            typed = typed || key == k;
        }
        if (typed) {
            continue;
        }
        if (const auto v = parse_integer<std::int64_t>(field.value)) {
            c.counters.emplace(key, *v);
        }
    }
    return c;
}

}  // namespace picket::cluster
