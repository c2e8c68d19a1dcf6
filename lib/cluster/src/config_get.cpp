#include "picket/cluster/config_get.h"

#include "fields.h"
#include "reply_fields.h"

namespace picket::cluster {

ParseResult<ConfigValues> parse_config_get(const resp::Reply& reply) {
    if (reply.is_error()) {
        return unexpected(
            ParseError{"CONFIG GET: error reply: " + detail::excerpt(reply.str, 200), 0});
    }
    if (!reply.is_array() || reply.elements.size() % 2 != 0) {
        return unexpected(ParseError{
            "CONFIG GET: expected an array of name/value pairs, got " + reply.debug_string(80), 0});
    }
    ConfigValues values;
    for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
        const auto name = detail::reply_text(reply.elements[i]);
        const auto value = detail::reply_text(reply.elements[i + 1]);
        if (!name || !value) {
            return unexpected(
                ParseError{"CONFIG GET: pair " + std::to_string(i / 2) + " is not two strings", 0});
        }
        values.insert_or_assign(std::string(*name), std::string(*value));
    }
    return values;
}

ParseResult<std::int64_t> parse_config_integer(const resp::Reply& reply, std::string_view name) {
    ConfigValues values;
    PICKET_CLUSTER_TRY(values, parse_config_get(reply));
    const auto it = values.find(name);
    if (it == values.end()) {
        return unexpected(ParseError{"CONFIG GET: no '" + std::string(name) + "' in the reply", 0});
    }
    const auto value = parse_integer<std::int64_t>(it->second);
    if (!value) {
        return unexpected(ParseError{"CONFIG GET: '" + std::string(name) + "' is '" +
                                         detail::excerpt(it->second) + "', not an integer",
                                     0});
    }
    return *value;
}

}  // namespace picket::cluster
