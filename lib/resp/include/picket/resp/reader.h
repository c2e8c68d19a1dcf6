#pragma once
// Incremental RESP2 reply reader: hiredis's redisReader (the parser only; transport is
// ours), building picket::resp::Reply trees through redisReaderCreateWithFunctions,
// with hard limits on what a hostile or broken server can make us allocate.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "picket/base/expected.h"
#include "picket/resp/reply.h"

namespace picket::resp {

/// What one connection may make us hold. Exceeding any limit is a fatal reader error:
/// the caller must close the connection (the stream can no longer be trusted).
struct ReaderLimits {
    /// Longest bulk string, status or error line. CLUSTER NODES of a 1000-node cluster
    /// is ~200 KiB; INFO ALL a few KiB. Checked when the string is complete; until then
    /// max_buffer_bytes bounds what is held.
    std::size_t max_bulk_bytes = 8u << 20;
    /// Most array elements in one reply, counted over all nesting levels. Each element
    /// costs ~72 bytes however few bytes encode it, so this bounds amplification too.
    std::size_t max_elements = 256u << 10;
    /// Deepest nesting of arrays (1 = flat array); hiredis 0.14 supports at most 7.
    int max_depth = 7;
    /// Most unparsed bytes buffered at once (bounds a never-ending line or bulk).
    std::size_t max_buffer_bytes = 16u << 20;
};

/// Why the reader gave up. The text is meant for logs and error messages.
struct ReaderError {
    enum class Kind : std::uint8_t { kProtocol, kLimit } kind = Kind::kProtocol;
    std::string message;
};

/// Feeds bytes in, takes complete replies out. Not thread-safe; one per connection.
/// After any error the reader is poisoned: every later call returns the same error.
class ReplyReader {
  public:
    explicit ReplyReader(ReaderLimits limits = {});
    ~ReplyReader();
    ReplyReader(const ReplyReader&) = delete;
    ReplyReader& operator=(const ReplyReader&) = delete;
    ReplyReader(ReplyReader&&) noexcept;
    ReplyReader& operator=(ReplyReader&&) noexcept;

    /// Appends raw bytes from the socket. Fails when the buffered, unparsed data would
    /// exceed max_buffer_bytes.
    Expected<void, ReaderError> feed(std::string_view bytes);

    /// The next complete reply, nullopt when more bytes are needed, or an error.
    Expected<std::optional<Reply>, ReaderError> next();

    /// Bytes fed but not yet consumed by next().
    std::size_t buffered() const;

    const ReaderLimits& limits() const { return limits_; }

    struct State;  // hiredis reader plus our limit bookkeeping (reader.cpp)

  private:
    ReaderLimits limits_;
    std::unique_ptr<State> state_;
};

/// Parses exactly one complete reply from `bytes` (tests, fuzzing, the peer protocol).
/// Trailing bytes or an incomplete reply are errors.
Expected<Reply, ReaderError> parse_one(std::string_view bytes, ReaderLimits limits = {});

}  // namespace picket::resp
