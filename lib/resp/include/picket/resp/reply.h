#pragma once
// A RESP2 reply as picket holds it: a plain value tree, built directly by the hiredis
// reader (see reader.h) so there is no second copy.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace picket::resp {

/// RESP2 reply kinds. RESP3 is not spoken: picket never sends HELLO 3.
enum class ReplyType : std::uint8_t { kString, kStatus, kError, kInteger, kNil, kArray };

std::string_view to_string(ReplyType type);

/// One reply. `str` holds bulk strings, status and error text; `integer` integers;
/// `elements` array members. Value type: copyable, comparable.
struct Reply {
    ReplyType type = ReplyType::kNil;
    std::string str;
    std::int64_t integer = 0;
    std::vector<Reply> elements;

    static Reply string(std::string s) { return {ReplyType::kString, std::move(s), 0, {}}; }
    static Reply status(std::string s) { return {ReplyType::kStatus, std::move(s), 0, {}}; }
    static Reply error(std::string s) { return {ReplyType::kError, std::move(s), 0, {}}; }
    static Reply integer_reply(std::int64_t v) { return {ReplyType::kInteger, {}, v, {}}; }
    static Reply nil() { return {}; }
    static Reply array(std::vector<Reply> e) { return {ReplyType::kArray, {}, 0, std::move(e)}; }

    bool is_error() const { return type == ReplyType::kError; }
    bool is_nil() const { return type == ReplyType::kNil; }
    bool is_array() const { return type == ReplyType::kArray; }
    /// True for bulk strings and status replies, the two that carry text.
    bool is_text() const { return type == ReplyType::kString || type == ReplyType::kStatus; }

    /// The error code of an error reply: "LOADING" of "-LOADING Redis is loading...".
    std::string_view error_code() const;

    /// A compact human-readable rendering for logs and test failures (truncated).
    std::string debug_string(std::size_t max_len = 200) const;

    friend bool operator==(const Reply&, const Reply&) = default;
};

}  // namespace picket::resp
