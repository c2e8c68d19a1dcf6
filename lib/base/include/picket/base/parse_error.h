#pragma once
// The error every text parser in picket returns: what is wrong and where.

#include <cstddef>
#include <string>

#include "picket/base/expected.h"

namespace picket {

/// A parser's complaint. `line` is 1-based, 0 when the input has no lines.
struct ParseError {
    std::string message;
    std::size_t line = 0;

    /// "line 3: bad slot range '12-x'" or just the message.
    std::string to_string() const {
        return line == 0 ? message : "line " + std::to_string(line) + ": " + message;
    }
};

template <class T>
using ParseResult = Expected<T, ParseError>;

}  // namespace picket
