// Fuzz target: the RESP reader fed arbitrary bytes in arbitrary chunks, with small limits
// so the limit paths are exercised too. Must never crash, leak or read out of bounds;
// once it reports an error it must keep reporting it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "picket/resp/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    using picket::resp::ReaderLimits;
    using picket::resp::ReplyReader;
    // First byte: chunk size; second: which limits.
    const std::size_t chunk = 1 + data[0] % 64;
    ReaderLimits limits;
    if (data[1] & 1) {
        limits.max_bulk_bytes = 64;
        limits.max_elements = 32;
        limits.max_depth = 3;
        limits.max_buffer_bytes = 256;
    }
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    ReplyReader reader(limits);
    bool failed = false;
    for (std::size_t pos = 0; pos < input.size() && !failed; pos += chunk) {
        if (!reader.feed(input.substr(pos, chunk))) {
            failed = true;
            break;
        }
        while (true) {
            auto next = reader.next();
            if (!next) {
                failed = true;
                break;
            }
            if (!next->has_value()) {
                break;
            }
            // Touch the tree.
            volatile std::size_t n = (*next)->debug_string(64).size();
            (void)n;
        }
    }
    if (failed && reader.next().has_value()) {
        __builtin_trap();  // an error must poison the reader
    }
    // The one-shot API on the whole input.
    auto whole = picket::resp::parse_one(input, limits);
    (void)whole;
    return 0;
}
