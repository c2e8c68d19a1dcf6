#include "picket/proto/codec.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <utility>

#include "picket/base/strings.h"

namespace picket::proto {

resp::ReaderLimits peer_reader_limits() {
    resp::ReaderLimits l;
    l.max_bulk_bytes = 4096;
    // Frame (13) + body + 2048 opinions × 8 + 64 records × (11 + watchers) + 256 windows × 6.
    l.max_elements = 32u << 10;
    l.max_depth = 5;  // frame > body > records > record > watchers
    l.max_buffer_bytes = Limits::kMaxFrameBytes;
    return l;
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

void encode_reply(const resp::Reply& r, std::string& out) {
    switch (r.type) {
        case resp::ReplyType::kArray:
            out += '*';
            out += std::to_string(r.elements.size());
            out += "\r\n";
            for (const auto& e : r.elements) {
                encode_reply(e, out);
            }
            return;
        case resp::ReplyType::kInteger:
            out += ':';
            out += std::to_string(r.integer);
            out += "\r\n";
            return;
        case resp::ReplyType::kNil:
            out += "$-1\r\n";
            return;
        case resp::ReplyType::kString:
        case resp::ReplyType::kStatus:
        case resp::ReplyType::kError:
            out += '$';
            out += std::to_string(r.str.size());
            out += "\r\n";
            out += r.str;
            out += "\r\n";
            return;
    }
}

namespace {

using resp::Reply;

Reply str(std::string_view s) {
    return Reply::string(std::string(s));
}
Reply num(std::uint64_t v) {
    return Reply::string(std::to_string(v));
}
Reply flag(bool b) {
    return Reply::string(b ? "1" : "0");
}
Reply ms(Duration d) {
    return num(static_cast<std::uint64_t>(std::max<std::int64_t>(0, to_ms(d))));
}

std::string_view evidence_wire(Evidence e) {
    switch (e) {
        case Evidence::kNone:
            return "none";
        case Evidence::kDead:
            return "dead";
        case Evidence::kUnresponsive:
            return "unresponsive";
    }
    return "none";
}

std::string_view phase_wire(RecordPhase p) {
    switch (p) {
        case RecordPhase::kDecided:
            return "decided";
        case RecordPhase::kCommandSent:
            return "sent";
        case RecordPhase::kDone:
            return "done";
        case RecordPhase::kAborted:
            return "aborted";
    }
    return "decided";
}

Reply encode_record(const FailoverRecord& r) {
    std::vector<Reply> watchers;
    watchers.reserve(r.odown_watchers.size());
    for (const auto& w : r.odown_watchers) {
        watchers.push_back(str(w));
    }
    return Reply::array({str(r.key.shard), str(r.key.failed_master), num(r.key.config_epoch),
                         num(r.term), str(r.replica),
                         str(r.mode == FailoverMode::kForce ? "force" : "takeover"),
                         str(phase_wire(r.phase)), flag(r.committed),
                         Reply::array(std::move(watchers)), num(r.attempt)});
}

Reply encode_maintenance(const MaintenanceSet& m) {
    std::vector<Reply> entries;
    entries.reserve(m.entries.size());
    for (const auto& e : m.entries) {
        entries.push_back(Reply::array({str(e.target), str(e.kind), flag(e.timed),
                                        ms(e.timed ? e.remaining : Duration{}), str(e.by)}));
    }
    return Reply::array({num(m.term), num(m.seq), Reply::array(std::move(entries))});
}

Reply encode_records(const std::vector<FailoverRecord>& records) {
    std::vector<Reply> out;
    out.reserve(records.size());
    for (const auto& r : records) {
        out.push_back(encode_record(r));
    }
    return Reply::array(std::move(out));
}

Reply encode_opinions(const std::vector<Opinion>& opinions) {
    std::vector<Reply> out;
    out.reserve(opinions.size());
    for (const auto& o : opinions) {
        out.push_back(Reply::array({str(o.node), flag(o.sdown), str(evidence_wire(o.evidence)),
                                    ms(o.down_for), num(o.pfail_reports), num(o.fail_reports),
                                    num(o.replicas_link_down)}));
    }
    return Reply::array(std::move(out));
}

struct BodyEncoder {
    Reply operator()(const PreVote&) const { return Reply::array({}); }
    Reply operator()(const RequestVote&) const { return Reply::array({}); }
    Reply operator()(const VoteReply& v) const {
        return Reply::array({flag(v.granted), flag(v.prevote), encode_records(v.records),
                             encode_maintenance(v.maintenance)});
    }
    Reply operator()(const Heartbeat& h) const {
        return Reply::array({num(h.round), ms(h.lease_remaining), encode_records(h.records),
                             encode_maintenance(h.maintenance)});
    }
    Reply operator()(const HeartbeatReply& h) const {
        return Reply::array({num(h.round), flag(h.ok), encode_opinions(h.opinions)});
    }
    Reply operator()(const OpinionUpdate& o) const {
        return Reply::array({encode_opinions(o.opinions)});
    }
};

std::vector<Reply> unsigned_elements(const Envelope& e) {
    return {str(kFrameTag),      str(kFrameVerb),
            num(e.version),      str(e.cluster),
            str(e.voter_set),    str(e.sender),
            num(e.incarnation),  str(e.receiver),
            num(e.message.term), str(to_string(e.message.type())),
            num(e.seq),          std::visit(BodyEncoder{}, e.message.body)};
}

}  // namespace

resp::Reply records_to_reply(const std::vector<FailoverRecord>& records) {
    return encode_records(records);
}

resp::Reply maintenance_to_reply(const MaintenanceSet& set) {
    return encode_maintenance(set);
}

std::string mac_input(const Envelope& e) {
    std::string out;
    encode_reply(Reply::array(unsigned_elements(e)), out);
    return out;
}

std::string encode_frame(const Envelope& e) {
    auto elements = unsigned_elements(e);
    elements.push_back(str(e.mac));
    std::string out;
    encode_reply(Reply::array(std::move(elements)), out);
    return out;
}

// ---------------------------------------------------------------------------
// Decoding: strict shapes, every scalar a bulk string, every count bounded.
// ---------------------------------------------------------------------------

namespace {

using Error = DecodeError;

template <class T>
using Result = Expected<T, Error>;

Unexpected<Error> fail(std::string what) {
    return unexpected(Error{std::move(what)});
}

Result<const std::vector<Reply>*> array_of(const Reply& r, std::size_t n, std::string_view what) {
    if (!r.is_array()) {
        return fail(std::string(what) + ": not an array");
    }
    if (n != SIZE_MAX && r.elements.size() != n) {
        return fail(std::string(what) + ": expected " + std::to_string(n) + " elements, got " +
                    std::to_string(r.elements.size()));
    }
    return &r.elements;
}

Result<std::string> text(const Reply& r, std::string_view what,
                         std::size_t max = Limits::kMaxIdBytes, bool allow_empty = false) {
    if (r.type != resp::ReplyType::kString) {
        return fail(std::string(what) + ": not a bulk string");
    }
    if (r.str.size() > max) {
        return fail(std::string(what) + ": too long");
    }
    if (r.str.empty() && !allow_empty) {
        return fail(std::string(what) + ": empty");
    }
    return r.str;
}

Result<std::uint64_t> number(const Reply& r, std::string_view what) {
    if (r.type != resp::ReplyType::kString) {
        return fail(std::string(what) + ": not a bulk string");
    }
    auto v = parse_integer<std::uint64_t>(r.str);
    if (!v) {
        return fail(std::string(what) + ": not a non-negative integer: '" + r.str.substr(0, 32) +
                    "'");
    }
    return *v;
}

Result<std::uint32_t> count32(const Reply& r, std::string_view what) {
    auto v = number(r, what);
    if (!v) {
        return unexpected(std::move(v).error());
    }
    if (*v > UINT32_MAX) {
        return fail(std::string(what) + ": out of range");
    }
    return static_cast<std::uint32_t>(*v);
}

Result<bool> boolean(const Reply& r, std::string_view what) {
    if (r.type == resp::ReplyType::kString && (r.str == "0" || r.str == "1")) {
        return r.str == "1";
    }
    return fail(std::string(what) + ": not 0 or 1");
}

Result<Duration> duration_ms(const Reply& r, std::string_view what) {
    auto v = number(r, what);
    if (!v) {
        return unexpected(std::move(v).error());
    }
    if (*v > static_cast<std::uint64_t>(Limits::kMaxDurationMs)) {
        return fail(std::string(what) + ": out of range");
    }
    return Duration(std::chrono::milliseconds(static_cast<std::int64_t>(*v)));
}

// Propagates an error of a Result<T> named `var` out of a function returning Result<U>.
#define PICKET_TRY(var, expr)                      \
    auto var = (expr);                             \
    if (!var) {                                    \
        return unexpected(std::move(var).error()); \
    }

Result<FailoverRecord> decode_record(const Reply& r, bool legacy) {
    // Version 1 records (9 elements, no attempt) only from old state files.
    const bool old = legacy && r.is_array() && r.elements.size() == 9;
    PICKET_TRY(f, array_of(r, old ? 9 : 10, "record"));
    const auto& e = **f;
    FailoverRecord rec;
    PICKET_TRY(shard, text(e[0], "record shard"));
    PICKET_TRY(master, text(e[1], "record failed master"));
    PICKET_TRY(epoch, number(e[2], "record config epoch"));
    PICKET_TRY(term, number(e[3], "record term"));
    PICKET_TRY(replica, text(e[4], "record replica"));
    PICKET_TRY(mode, text(e[5], "record mode"));
    PICKET_TRY(phase, text(e[6], "record phase"));
    PICKET_TRY(committed, boolean(e[7], "record committed"));
    PICKET_TRY(watchers, array_of(e[8], SIZE_MAX, "record watchers"));
    rec.key = RecordKey{std::move(*shard), std::move(*master), *epoch};
    rec.term = *term;
    rec.replica = std::move(*replica);
    if (*mode == "force") {
        rec.mode = FailoverMode::kForce;
    } else if (*mode == "takeover") {
        rec.mode = FailoverMode::kTakeover;
    } else {
        return fail("record mode: unknown '" + *mode + "'");
    }
    if (*phase == "decided") {
        rec.phase = RecordPhase::kDecided;
    } else if (*phase == "sent") {
        rec.phase = RecordPhase::kCommandSent;
    } else if (*phase == "done") {
        rec.phase = RecordPhase::kDone;
    } else if (*phase == "aborted") {
        rec.phase = RecordPhase::kAborted;
    } else {
        return fail("record phase: unknown '" + *phase + "'");
    }
    rec.committed = *committed;
    if (!old) {
        PICKET_TRY(attempt, count32(e[9], "record attempt"));
        rec.attempt = *attempt;
    }
    if ((*watchers)->size() > 64) {
        return fail("record watchers: too many");
    }
    for (const auto& w : **watchers) {
        PICKET_TRY(id, text(w, "record watcher"));
        rec.odown_watchers.push_back(std::move(*id));
    }
    return rec;
}

Result<std::vector<FailoverRecord>> decode_records(const Reply& r, bool legacy = false) {
    PICKET_TRY(list, array_of(r, SIZE_MAX, "records"));
    if ((*list)->size() > Limits::kMaxRecords) {
        return fail("records: too many");
    }
    std::vector<FailoverRecord> out;
    out.reserve((*list)->size());
    for (const auto& e : **list) {
        PICKET_TRY(rec, decode_record(e, legacy));
        out.push_back(std::move(*rec));
    }
    return out;
}

Result<std::vector<Opinion>> decode_opinions(const Reply& r) {
    PICKET_TRY(list, array_of(r, SIZE_MAX, "opinions"));
    if ((*list)->size() > Limits::kMaxOpinions) {
        return fail("opinions: too many");
    }
    std::vector<Opinion> out;
    out.reserve((*list)->size());
    for (const auto& e : **list) {
        PICKET_TRY(f, array_of(e, 7, "opinion"));
        const auto& x = **f;
        Opinion o;
        PICKET_TRY(node, text(x[0], "opinion node"));
        PICKET_TRY(sdown, boolean(x[1], "opinion sdown"));
        PICKET_TRY(evidence, text(x[2], "opinion evidence"));
        PICKET_TRY(down_for, duration_ms(x[3], "opinion down_for"));
        PICKET_TRY(pfail, count32(x[4], "opinion pfail"));
        PICKET_TRY(failr, count32(x[5], "opinion fail"));
        PICKET_TRY(link, count32(x[6], "opinion replicas_link_down"));
        o.node = std::move(*node);
        o.sdown = *sdown;
        if (*evidence == "none") {
            o.evidence = Evidence::kNone;
        } else if (*evidence == "dead") {
            o.evidence = Evidence::kDead;
        } else if (*evidence == "unresponsive") {
            o.evidence = Evidence::kUnresponsive;
        } else {
            return fail("opinion evidence: unknown '" + *evidence + "'");
        }
        o.down_for = *down_for;
        o.pfail_reports = *pfail;
        o.fail_reports = *failr;
        o.replicas_link_down = *link;
        out.push_back(std::move(o));
    }
    return out;
}

Result<MaintenanceSet> decode_maintenance(const Reply& r) {
    PICKET_TRY(f, array_of(r, 3, "maintenance"));
    MaintenanceSet m;
    PICKET_TRY(term, number((**f)[0], "maintenance term"));
    PICKET_TRY(seq, number((**f)[1], "maintenance seq"));
    PICKET_TRY(list, array_of((**f)[2], SIZE_MAX, "maintenance entries"));
    if ((*list)->size() > Limits::kMaxMaintenance) {
        return fail("maintenance entries: too many");
    }
    m.term = *term;
    m.seq = *seq;
    for (const auto& x : **list) {
        PICKET_TRY(ef, array_of(x, 5, "maintenance entry"));
        const auto& e = **ef;
        MaintenanceEntry entry;
        PICKET_TRY(target, text(e[0], "maintenance target", Limits::kMaxTargetBytes));
        PICKET_TRY(kind, text(e[1], "maintenance kind"));
        PICKET_TRY(timed, boolean(e[2], "maintenance timed"));
        PICKET_TRY(remaining, number(e[3], "maintenance remaining"));
        PICKET_TRY(by, text(e[4], "maintenance by", Limits::kMaxTargetBytes, true));
        if (*kind != "cluster" && *kind != "shard" && *kind != "node") {
            return fail("maintenance kind: unknown '" + *kind + "'");
        }
        if (*remaining > static_cast<std::uint64_t>(Limits::kMaxMaintenanceMs)) {
            return fail("maintenance remaining: out of range");
        }
        if (!*timed && *remaining != 0) {
            return fail("maintenance remaining: set on a window without an end");
        }
        entry.target = std::move(*target);
        entry.kind = std::move(*kind);
        entry.timed = *timed;
        entry.remaining =
            Duration(std::chrono::milliseconds(static_cast<std::int64_t>(*remaining)));
        entry.by = std::move(*by);
        m.entries.push_back(std::move(entry));
    }
    return m;
}

Result<Body> decode_body(MessageType type, const Reply& r) {
    switch (type) {
        case MessageType::kPreVote: {
            PICKET_TRY(f, array_of(r, 0, "PREVOTE body"));
            return Body{PreVote{}};
        }
        case MessageType::kRequestVote: {
            PICKET_TRY(f, array_of(r, 0, "VOTE body"));
            return Body{RequestVote{}};
        }
        case MessageType::kVoteReply: {
            PICKET_TRY(f, array_of(r, 4, "VOTEREPLY body"));
            VoteReply v;
            PICKET_TRY(granted, boolean((**f)[0], "granted"));
            PICKET_TRY(prevote, boolean((**f)[1], "prevote"));
            PICKET_TRY(records, decode_records((**f)[2]));
            PICKET_TRY(maintenance, decode_maintenance((**f)[3]));
            v.granted = *granted;
            v.prevote = *prevote;
            v.records = std::move(*records);
            v.maintenance = std::move(*maintenance);
            return Body{std::move(v)};
        }
        case MessageType::kHeartbeat: {
            PICKET_TRY(f, array_of(r, 4, "HEARTBEAT body"));
            Heartbeat h;
            PICKET_TRY(round, number((**f)[0], "round"));
            PICKET_TRY(lease, duration_ms((**f)[1], "lease_remaining"));
            PICKET_TRY(records, decode_records((**f)[2]));
            PICKET_TRY(maintenance, decode_maintenance((**f)[3]));
            h.round = *round;
            h.lease_remaining = *lease;
            h.records = std::move(*records);
            h.maintenance = std::move(*maintenance);
            return Body{std::move(h)};
        }
        case MessageType::kHeartbeatReply: {
            PICKET_TRY(f, array_of(r, 3, "HBREPLY body"));
            HeartbeatReply h;
            PICKET_TRY(round, number((**f)[0], "round"));
            PICKET_TRY(ok, boolean((**f)[1], "ok"));
            PICKET_TRY(opinions, decode_opinions((**f)[2]));
            h.round = *round;
            h.ok = *ok;
            h.opinions = std::move(*opinions);
            return Body{std::move(h)};
        }
        case MessageType::kOpinion: {
            PICKET_TRY(f, array_of(r, 1, "OPINION body"));
            PICKET_TRY(opinions, decode_opinions((**f)[0]));
            return Body{OpinionUpdate{std::move(*opinions)}};
        }
    }
    return fail("unknown message type");
}

std::optional<MessageType> type_from_wire(std::string_view s) {
    for (std::uint8_t i = 0; i <= static_cast<std::uint8_t>(MessageType::kOpinion); ++i) {
        const auto t = static_cast<MessageType>(i);
        if (to_string(t) == s) {
            return t;
        }
    }
    return std::nullopt;
}

bool is_lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

Expected<Envelope, DecodeError> decode_frame(const resp::Reply& reply) {
    PICKET_TRY(f, array_of(reply, 13, "frame"));
    const auto& e = **f;
    if (e[0].type != resp::ReplyType::kString || e[0].str != kFrameTag ||
        e[1].type != resp::ReplyType::kString || e[1].str != kFrameVerb) {
        return fail("frame: not a PICKET PEER frame");
    }
    Envelope env;
    PICKET_TRY(version, number(e[2], "version"));
    if (*version > UINT32_MAX) {
        return fail("version: out of range");
    }
    PICKET_TRY(cluster, text(e[3], "cluster"));
    PICKET_TRY(voters, text(e[4], "voter set"));
    PICKET_TRY(sender, text(e[5], "sender"));
    PICKET_TRY(incarnation, number(e[6], "incarnation"));
    PICKET_TRY(receiver, text(e[7], "receiver"));
    PICKET_TRY(term, number(e[8], "term"));
    PICKET_TRY(type_name, text(e[9], "type"));
    PICKET_TRY(seq, number(e[10], "seq"));
    auto type = type_from_wire(*type_name);
    if (!type) {
        return fail("type: unknown '" + *type_name + "'");
    }
    PICKET_TRY(body, decode_body(*type, e[11]));
    PICKET_TRY(mac, text(e[12], "mac"));
    if (mac->size() != 64 || !is_lower_hex(*mac)) {
        return fail("mac: not 64 lower-case hex digits");
    }
    env.version = static_cast<std::uint32_t>(*version);
    env.cluster = std::move(*cluster);
    env.voter_set = std::move(*voters);
    env.sender = std::move(*sender);
    env.incarnation = *incarnation;
    env.receiver = std::move(*receiver);
    env.seq = *seq;
    env.message = Message{*term, std::move(*body)};
    env.mac = std::move(*mac);
    return env;
}

Expected<Envelope, DecodeError> decode_frame(std::string_view bytes) {
    if (bytes.size() > Limits::kMaxFrameBytes) {
        return fail("frame: larger than " + std::to_string(Limits::kMaxFrameBytes) + " bytes");
    }
    auto parsed = resp::parse_one(bytes, peer_reader_limits());
    if (!parsed) {
        return fail("frame: " + parsed.error().message);
    }
    return decode_frame(*parsed);
}

Expected<std::vector<FailoverRecord>, DecodeError> records_from_reply(const resp::Reply& reply,
                                                                      bool legacy) {
    return decode_records(reply, legacy);
}

Expected<MaintenanceSet, DecodeError> maintenance_from_reply(const resp::Reply& reply) {
    return decode_maintenance(reply);
}

#undef PICKET_TRY

FrameKind classify(const resp::Reply& reply) {
    if (!reply.is_array() || reply.elements.empty() ||
        reply.elements[0].type != resp::ReplyType::kString) {
        return FrameKind::kUnknown;
    }
    std::string first = reply.elements[0].str;
    std::transform(first.begin(), first.end(), first.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (first == "PING" && reply.elements.size() <= 2) {
        return FrameKind::kPing;
    }
    if (first == kFrameTag && reply.elements.size() >= 2 &&
        reply.elements[1].type == resp::ReplyType::kString) {
        std::string second = reply.elements[1].str;
        std::transform(second.begin(), second.end(), second.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (second == "INFO" && reply.elements.size() == 2) {
            return FrameKind::kInfo;
        }
        if (reply.elements[1].str == kFrameVerb) {
            return FrameKind::kPeer;
        }
    }
    return FrameKind::kUnknown;
}

}  // namespace picket::proto
