#pragma once
// CONFIG GET: a flat [name, value, name, value, ...] array of strings (RESP2). The
// watcher reads cluster-node-timeout and friends with it to compare nodes.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "picket/base/parse_error.h"
#include "picket/resp/reply.h"

namespace picket::cluster {

/// Parameter name → value, as the node printed them.
using ConfigValues = std::map<std::string, std::string, std::less<>>;

/// Parses a CONFIG GET reply. An error reply is returned as an error with its text.
ParseResult<ConfigValues> parse_config_get(const resp::Reply& reply);

/// The value of `name` in a CONFIG GET reply as an integer ("cluster-node-timeout" →
/// 15000); an error when absent or not an integer.
ParseResult<std::int64_t> parse_config_integer(const resp::Reply& reply, std::string_view name);

}  // namespace picket::cluster
