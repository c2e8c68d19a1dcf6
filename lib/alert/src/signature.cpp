#include "picket/alert/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace picket::alert {

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int len = 0;
    // An empty key is valid for HMAC; OpenSSL wants a non-null pointer.
    static const unsigned char kEmpty = 0;
    const void* key_ptr = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
    const unsigned char* msg_ptr =
        message.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(message.data());
    HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), msg_ptr, message.size(), mac.data(),
         &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::size_t{len} * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[mac[i] >> 4];
        out += kHex[mac[i] & 0x0f];
    }
    return out;
}

std::string sign(std::string_view secret, std::int64_t timestamp, std::string_view body) {
    std::string message = std::to_string(timestamp);
    message += '.';
    message += body;
    return "sha256=" + hmac_sha256_hex(secret, message);
}

bool verify(std::string_view secret, std::string_view timestamp_header, std::string_view body,
            std::string_view signature_header) {
    if (timestamp_header.empty() || timestamp_header.size() > 20) {
        return false;
    }
    for (const char c : timestamp_header) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    std::string message(timestamp_header);
    message += '.';
    message += body;
    const std::string expected = "sha256=" + hmac_sha256_hex(secret, message);
    if (signature_header.size() != expected.size()) {
        return false;
    }
    return CRYPTO_memcmp(expected.data(), signature_header.data(), expected.size()) == 0;
}

}  // namespace picket::alert
