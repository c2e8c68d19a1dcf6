#pragma once
// Internal: lenient typed access to RESP2 reply elements for the reply-based parsers.

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "picket/base/strings.h"
#include "picket/resp/reply.h"

namespace picket::cluster::detail {

/// The text of a bulk string or status reply; nullopt for other types.
inline std::optional<std::string_view> reply_text(const resp::Reply& r) {
    if (!r.is_text()) {
        return std::nullopt;
    }
    return std::string_view(r.str);
}

/// An integer reply, or a bulk/status string holding a base-10 integer (ROLE sends a
/// master's replica ports and offsets as strings); nullopt otherwise or on overflow of T.
template <class T>
std::optional<T> reply_integer(const resp::Reply& r) {
    if (r.type == resp::ReplyType::kInteger) {
        if (!std::in_range<T>(r.integer)) {
            return std::nullopt;
        }
        return static_cast<T>(r.integer);
    }
    if (r.is_text()) {
        return parse_integer<T>(r.str);
    }
    return std::nullopt;
}

}  // namespace picket::cluster::detail
