#include "picket/resp/reply.h"

namespace picket::resp {

std::string_view to_string(ReplyType type) {
    switch (type) {
        case ReplyType::kString:
            return "string";
        case ReplyType::kStatus:
            return "status";
        case ReplyType::kError:
            return "error";
        case ReplyType::kInteger:
            return "integer";
        case ReplyType::kNil:
            return "nil";
        case ReplyType::kArray:
            return "array";
    }
    return "unknown";
}

std::string_view Reply::error_code() const {
    if (type != ReplyType::kError) {
        return {};
    }
    std::string_view s = str;
    return s.substr(0, s.find(' '));
}

namespace {

void render(const Reply& r, std::string& out, std::size_t max_len) {
    if (out.size() >= max_len) {
        return;
    }
    switch (r.type) {
        case ReplyType::kString:
            out += '"';
            out += r.str;
            out += '"';
            break;
        case ReplyType::kStatus:
            out += '+';
            out += r.str;
            break;
        case ReplyType::kError:
            out += '-';
            out += r.str;
            break;
        case ReplyType::kInteger:
            out += ':';
            out += std::to_string(r.integer);
            break;
        case ReplyType::kNil:
            out += "(nil)";
            break;
        case ReplyType::kArray:
            out += '[';
            for (std::size_t i = 0; i < r.elements.size() && out.size() < max_len; ++i) {
                if (i != 0) {
                    out += ", ";
                }
                render(r.elements[i], out, max_len);
            }
            out += ']';
            break;
    }
}

}  // namespace

std::string Reply::debug_string(std::size_t max_len) const {
    std::string out;
    render(*this, out, max_len);
    if (out.size() > max_len) {
        out.resize(max_len);
        out += "...";
    }
    return out;
}

}  // namespace picket::resp
