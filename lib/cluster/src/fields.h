#pragma once
// Internal: typed access to the "key:value" fields of a parsed INFO-style reply, with
// errors that name the section, the key and the line. Shared by info.cpp and
// cluster_info.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "picket/base/parse_error.h"
#include "picket/base/strings.h"
#include "picket/cluster/info.h"

namespace picket::cluster::detail {

/// At most `max` bytes of untrusted text for an error message.
inline std::string excerpt(std::string_view text, std::size_t max = 64) {
    if (text.size() <= max) {
        return std::string(text);
    }
    return std::string(text.substr(0, max)) + "...";
}

/// Reads typed fields of one section; every getter fails with a message naming the
/// section and key, and the field's line when the value is malformed.
class FieldReader {
  public:
    FieldReader(const Info::Section& section, std::string_view name)
        : section_(section), name_(name) {}

    const Info::Field* find(std::string_view key) const {
        const auto it = section_.find(key);
        return it == section_.end() ? nullptr : &it->second;
    }

    ParseError missing(std::string_view key) const {
        return ParseError{prefix() + "missing field '" + std::string(key) + "'", 0};
    }

    ParseError bad(std::string_view key, const Info::Field& f, std::string_view expected) const {
        return ParseError{prefix() + "field '" + std::string(key) + "' has value '" +
                              excerpt(f.value) + "', expected " + std::string(expected),
                          f.line};
    }

    ParseResult<std::string> text(std::string_view key) const {
        const auto* f = find(key);
        if (f == nullptr) {
            return unexpected(missing(key));
        }
        return f->value;
    }

    std::optional<std::string> optional_text(std::string_view key) const {
        const auto* f = find(key);
        if (f == nullptr) {
            return std::nullopt;
        }
        return f->value;
    }

    template <class T>
    ParseResult<std::optional<T>> optional_integer(std::string_view key) const {
        const auto* f = find(key);
        if (f == nullptr) {
            return std::optional<T>{};
        }
        const auto v = parse_integer<T>(f->value);
        if (!v) {
            return unexpected(bad(key, *f, "an integer in range"));
        }
        return std::optional<T>{*v};
    }

    template <class T>
    ParseResult<T> integer(std::string_view key) const {
        auto v = optional_integer<T>(key);
        if (!v) {
            return unexpected(std::move(v).error());
        }
        if (!v->has_value()) {
            return unexpected(missing(key));
        }
        return **v;
    }

    ParseResult<std::optional<bool>> optional_flag(std::string_view key) const {
        const auto* f = find(key);
        if (f == nullptr) {
            return std::optional<bool>{};
        }
        if (f->value == "0") {
            return std::optional<bool>{false};
        }
        if (f->value == "1") {
            return std::optional<bool>{true};
        }
        return unexpected(bad(key, *f, "0 or 1"));
    }

    ParseResult<bool> flag(std::string_view key) const {
        auto v = optional_flag(key);
        if (!v) {
            return unexpected(std::move(v).error());
        }
        if (!v->has_value()) {
            return unexpected(missing(key));
        }
        return **v;
    }

    ParseResult<std::optional<double>> optional_double(std::string_view key) const {
        const auto* f = find(key);
        if (f == nullptr) {
            return std::optional<double>{};
        }
        const auto v = parse_double(f->value);
        if (!v) {
            return unexpected(bad(key, *f, "a number"));
        }
        return std::optional<double>{*v};
    }

  private:
    std::string prefix() const { return name_.empty() ? std::string() : name_ + ": "; }

    const Info::Section& section_;
    std::string name_;
};

}  // namespace picket::cluster::detail

/// Assigns the value of a ParseResult expression to `lhs` or returns its error from the
/// enclosing function (which must return some ParseResult).
#define PICKET_CLUSTER_TRY(lhs, expr)                                       \
    do {                                                                    \
        auto picket_result_ = (expr);                                       \
        if (!picket_result_) {                                              \
            return ::picket::unexpected(std::move(picket_result_).error()); \
        }                                                                   \
        lhs = std::move(picket_result_).value();                            \
    } while (false)
