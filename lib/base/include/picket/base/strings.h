#pragma once
// Small, allocation-light text helpers for the parsers (INFO, CLUSTER NODES, config).
// All of them reject rather than guess: no leading '+', no trailing junk, no overflow.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

namespace picket {

/// Parses a whole string as a base-10 integer of type T; nullopt on junk or overflow.
template <class T>
std::optional<T> parse_integer(std::string_view s) {
    T value{};
    if (s.empty()) {
        return std::nullopt;
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return value;
}

/// Parses a whole string as a double (INFO's float fields); nullopt on junk.
inline std::optional<double> parse_double(std::string_view s) {
    double value{};
    if (s.empty()) {
        return std::nullopt;
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return value;
}

/// Removes ASCII spaces, tabs, CR and LF from both ends.
inline std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\r\n";
    const auto first = s.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(kSpace);
    return s.substr(first, last - first + 1);
}

/// Splits on every occurrence of `sep`; keeps empty fields ("a,,b" → 3 fields).
inline std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

/// Splits text into lines on '\n', dropping one trailing '\r' from each line and the
/// empty remainder after a final newline.
inline std::vector<std::string_view> split_lines(std::string_view s) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start < s.size()) {
        auto pos = s.find('\n', start);
        if (pos == std::string_view::npos) {
            pos = s.size();
        }
        auto line = s.substr(start, pos - start);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        lines.push_back(line);
        start = pos + 1;
    }
    return lines;
}

}  // namespace picket
