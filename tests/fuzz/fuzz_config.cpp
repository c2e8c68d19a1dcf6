// Fuzz target: picketd's configuration loader on arbitrary text. It must never crash,
// hang or throw (yaml-cpp's exceptions are caught inside and become positioned errors),
// and whatever it accepts must render to YAML that it accepts again, unchanged.
// Secrets come from a fake reader: "/bad" fails, everything else is a 32-byte secret.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "picket/config/config.h"

namespace {

picket::Expected<std::string, std::string> fake_reader(const std::string& path) {
    if (path.find("bad") != std::string::npos) {
        return picket::unexpected(std::string("no such file"));
    }
    if (path.find("url") != std::string::npos) {
        return std::string("https://hooks.example.net/T0/SECRET\n");
    }
    return std::string("0123456789abcdef0123456789abcdef\n");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const picket::config::SecretReader reader(fake_reader);
    auto first = picket::config::parse_config(text, "/etc/picket/picket.yml", reader);
    if (!first) {
        // Every error has a message and renders.
        for (const auto& e : first.error().errors) {
            if (e.message.empty()) {
                __builtin_trap();
            }
        }
        volatile std::size_t n = first.error().to_string().size();
        (void)n;
        return 0;
    }
    const std::string rendered = picket::config::render_effective(*first);
    if (rendered.find("0123456789abcdef0123456789abcdef") != std::string::npos ||
        rendered.find("SECRET") != std::string::npos) {
        __builtin_trap();  // a secret leaked into the effective config
    }
    auto second = picket::config::parse_config(rendered, "/etc/picket/picket.yml", reader);
    if (!second || picket::config::render_effective(*second) != rendered) {
        __builtin_trap();  // the effective config must round-trip
    }
    return 0;
}
