// Fuzz target: peer frames (proto/). Arbitrary bytes go through the frame decoder and the
// Authenticator; a decoded frame must re-encode to bytes that decode to the same value
// (the MAC input is canonical), and nothing may crash, leak or read out of bounds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "picket/proto/auth.h"
#include "picket/proto/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace picket::proto;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto env = decode_frame(input);
    if (env) {
        const std::string again = encode_frame(*env);
        auto back = decode_frame(again);
        if (!back || !(*back == *env)) {
            __builtin_trap();  // the encoding must be canonical
        }
        (void)mac_input(*env);
    }
    Authenticator auth(AuthConfig{"fuzz-secret", "prod", {"w1", "w2", "w3"}, "w2"}, 1);
    auto opened = auth.open(input);
    if (opened && !env) {
        __builtin_trap();  // authentic but undecodable?
    }
    return 0;
}
