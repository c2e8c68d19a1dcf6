#include "picket/cluster/cluster_nodes.h"

#include <algorithm>
#include <set>

#include "fields.h"
#include "picket/base/strings.h"

namespace picket::cluster {

bool is_node_id(std::string_view text) {
    return text.size() == kNodeIdLength && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string NodeAddress::endpoint() const {
    if (ip.find(':') != std::string::npos) {
        return "[" + ip + "]:" + std::to_string(port);
    }
    return ip + ":" + std::to_string(port);
}

std::string NodeFlags::to_string() const {
    std::string out;
    auto add = [&out](bool on, std::string_view name) {
        if (!on) {
            return;
        }
        if (!out.empty()) {
            out += ',';
        }
        out += name;
    };
    add(myself, "myself");
    add(master, "master");
    add(replica, "slave");
    add(pfail, "fail?");
    add(fail, "fail");
    add(handshake, "handshake");
    add(noaddr, "noaddr");
    add(nofailover, "nofailover");
    for (const auto& u : unknown) {
        add(true, u);
    }
    return out.empty() ? "noflags" : out;
}

std::string_view to_string(LinkState state) {
    return state == LinkState::kConnected ? "connected" : "disconnected";
}

namespace {

using detail::excerpt;

/// Splits on runs of spaces (Redis uses exactly one; be lenient about more).
std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') {
            ++i;
        }
        const auto start = i;
        while (i < line.size() && line[i] != ' ') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

/// "ip:port@cport[,hostname[,aux=value...]]"; the ip may be empty or IPv6 ("::1"), so the
/// port starts after the last ':' before '@'.
ParseResult<NodeAddress> parse_address(std::string_view text, std::size_t line_no) {
    auto bad = [&](std::string_view why) {
        return unexpected(
            ParseError{"bad address '" + excerpt(text) + "': " + std::string(why), line_no});
    };
    NodeAddress a;
    std::string_view hostport = text;
    std::string_view extra;
    if (const auto comma = text.find(','); comma != std::string_view::npos) {
        hostport = text.substr(0, comma);
        extra = text.substr(comma + 1);
    }
    const auto at = hostport.find('@');
    if (at == std::string_view::npos) {
        return bad("no '@cport'");
    }
    const auto ipport = hostport.substr(0, at);
    const auto colon = ipport.rfind(':');
    if (colon == std::string_view::npos) {
        return bad("no ':port'");
    }
    a.ip = std::string(ipport.substr(0, colon));
    const auto port = parse_integer<std::uint16_t>(ipport.substr(colon + 1));
    if (!port) {
        return bad("port is not 0..65535");
    }
    a.port = *port;
    const auto cport = parse_integer<std::uint16_t>(hostport.substr(at + 1));
    if (!cport) {
        return bad("cluster bus port is not 0..65535");
    }
    a.cport = *cport;
    // 7.0+: ",hostname" (omitted or empty when none). nodes.conf of 7.2+ appends
    // ",key=value" auxiliary fields; they are not CLUSTER NODES output but harmless.
    if (!extra.empty()) {
        const auto hostname = extra.substr(0, extra.find(','));
        if (hostname.find('=') == std::string_view::npos) {
            a.hostname = std::string(hostname);
        }
    }
    return a;
}

ParseResult<NodeFlags> parse_flags(std::string_view text, std::size_t line_no) {
    NodeFlags f;
    if (text == "noflags") {
        return f;
    }
    for (const auto flag : split(text, ',')) {
        if (flag == "myself") {
            f.myself = true;
        } else if (flag == "master") {
            f.master = true;
        } else if (flag == "slave") {
            f.replica = true;
        } else if (flag == "fail?") {
            f.pfail = true;
        } else if (flag == "fail") {
            f.fail = true;
        } else if (flag == "handshake") {
            f.handshake = true;
        } else if (flag == "noaddr") {
            f.noaddr = true;
        } else if (flag == "nofailover") {
            f.nofailover = true;
        } else if (flag == "noflags") {
            // Only meaningful alone; tolerated in a list.
        } else if (flag.empty()) {
            return unexpected(ParseError{"empty flag in '" + excerpt(text) + "'", line_no});
        } else {
            f.unknown.emplace_back(flag);
        }
    }
    return f;
}

/// "[5461->-<id>]" or "[5461-<-<id>]".
ParseResult<SlotMigration> parse_migration(std::string_view token, std::size_t line_no) {
    auto bad = [&](std::string_view why) {
        return unexpected(ParseError{
            "bad slot migration '" + excerpt(token) + "': " + std::string(why), line_no});
    };
    if (token.size() < 2 || token.back() != ']') {
        return bad("no closing ']'");
    }
    const auto body = token.substr(1, token.size() - 2);
    SlotMigration m;
    auto arrow = body.find("->-");
    if (arrow != std::string_view::npos) {
        m.direction = SlotMigration::Direction::kMigrating;
    } else {
        arrow = body.find("-<-");
        if (arrow == std::string_view::npos) {
            return bad("expected '->-' or '-<-'");
        }
        m.direction = SlotMigration::Direction::kImporting;
    }
    const auto slot = parse_slot(body.substr(0, arrow));
    if (!slot) {
        return bad("slot is not 0..16383");
    }
    m.slot = *slot;
    const auto id = body.substr(arrow + 3);
    if (!is_node_id(id)) {
        return bad("node id is not 40 hex characters");
    }
    m.node_id = std::string(id);
    return m;
}

}  // namespace

ParseResult<ClusterNode> parse_cluster_node_line(std::string_view line, std::size_t line_no) {
    const auto f = fields_of(line);
    if (f.size() < 8) {
        return unexpected(ParseError{"expected at least 8 fields, got " + std::to_string(f.size()) +
                                         " in '" + excerpt(line) + "'",
                                     line_no});
    }
    ClusterNode n;
    if (!is_node_id(f[0])) {
        return unexpected(ParseError{
            "bad node id '" + excerpt(f[0]) + "' (expected 40 hex characters)", line_no});
    }
    n.id = std::string(f[0]);

    auto address = parse_address(f[1], line_no);
    if (!address) {
        return unexpected(std::move(address).error());
    }
    n.address = std::move(address).value();

    auto flags = parse_flags(f[2], line_no);
    if (!flags) {
        return unexpected(std::move(flags).error());
    }
    n.flags = std::move(flags).value();

    if (f[3] != "-") {
        if (!is_node_id(f[3])) {
            return unexpected(ParseError{
                "bad master id '" + excerpt(f[3]) + "' (expected '-' or 40 hex characters)",
                line_no});
        }
        n.master_id = std::string(f[3]);
    }

    const auto ping = parse_integer<std::int64_t>(f[4]);
    const auto pong = parse_integer<std::int64_t>(f[5]);
    if (!ping || *ping < 0 || !pong || *pong < 0) {
        return unexpected(ParseError{"bad ping-sent/pong-recv '" + excerpt(f[4]) + " " +
                                         excerpt(f[5]) + "' (expected ms timestamps)",
                                     line_no});
    }
    n.ping_sent = *ping;
    n.pong_recv = *pong;

    const auto epoch = parse_integer<std::uint64_t>(f[6]);
    if (!epoch) {
        return unexpected(ParseError{"bad config epoch '" + excerpt(f[6]) + "'", line_no});
    }
    n.config_epoch = *epoch;

    if (f[7] == "connected") {
        n.link_state = LinkState::kConnected;
    } else if (f[7] == "disconnected") {
        n.link_state = LinkState::kDisconnected;
    } else {
        return unexpected(ParseError{
            "bad link state '" + excerpt(f[7]) + "' (expected connected or disconnected)",
            line_no});
    }

    for (std::size_t i = 8; i < f.size(); ++i) {
        const auto token = f[i];
        if (token.front() == '[') {
            auto m = parse_migration(token, line_no);
            if (!m) {
                return unexpected(std::move(m).error());
            }
            n.migrations.push_back(std::move(m).value());
            continue;
        }
        const auto range = parse_slot_range(token);
        if (!range) {
            return unexpected(ParseError{"bad slot or slot range '" + excerpt(token) +
                                             "' (slots are 0..16383, ranges first-last with "
                                             "first <= last)",
                                         line_no});
        }
        n.slots.push_back(*range);
    }
    return n;
}

ParseResult<std::vector<ClusterNode>> parse_cluster_nodes(std::string_view text) {
    std::vector<ClusterNode> nodes;
    std::set<std::string, std::less<>> seen;
    std::size_t myself_line = 0;
    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto line = trim(lines[i]);
        if (line.empty()) {
            continue;
        }
        auto node = parse_cluster_node_line(line, i + 1);
        if (!node) {
            return unexpected(std::move(node).error());
        }
        if (!seen.insert(node->id).second) {
            return unexpected(ParseError{"node " + node->id + " is listed twice", i + 1});
        }
        if (node->flags.myself) {
            if (myself_line != 0) {
                return unexpected(ParseError{
                    "second 'myself' line (first on line " + std::to_string(myself_line) + ")",
                    i + 1});
            }
            myself_line = i + 1;
        }
        nodes.push_back(std::move(node).value());
    }
    if (nodes.empty()) {
        return unexpected(ParseError{"empty CLUSTER NODES reply", 0});
    }
    return nodes;
}

}  // namespace picket::cluster
