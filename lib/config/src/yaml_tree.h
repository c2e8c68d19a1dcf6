#pragma once
// A small, bounded document tree built from yaml-cpp's parser events, so the schema walk
// never touches yaml-cpp (and none of its exceptions escape). Aliases share the anchored
// node rather than copying it, so an alias "bomb" costs nothing to build; the walker
// visits only keys it knows, so it cannot be made to walk an expanded bomb either.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace picket::config::detail {

/// A 1-based position in the text.
struct Mark {
    std::size_t line = 1;
    std::size_t column = 1;
};

/// One node of the tree. Children are indices into YamlTree::nodes.
struct YamlNode {
    enum class Kind : std::uint8_t { kNull, kScalar, kSequence, kMap };
    Kind kind = Kind::kNull;
    Mark mark;
    std::string scalar;  ///< kScalar only
    /// The scalar was plain (unquoted): only plain scalars can be numbers or booleans.
    bool plain = false;
    /// kSequence: items; kMap: key, value, key, value, …
    std::vector<std::size_t> children;
};

/// The parsed document, or why it could not be parsed.
struct YamlTree {
    std::vector<YamlNode> nodes;
    std::size_t root = 0;  ///< valid when ok and !empty
    bool empty = true;     ///< no document, or a document that is only null
    bool ok = false;
    Mark error_mark;
    std::string error;  ///< when !ok
};

/// Limits on what a configuration document may contain.
struct YamlLimits {
    std::size_t max_bytes = 1024 * 1024;
    std::size_t max_nodes = 100000;
    std::size_t max_depth = 64;
};

/// Parses exactly one YAML document. Never throws.
YamlTree parse_yaml(std::string_view text, const YamlLimits& limits = {});

}  // namespace picket::config::detail
