#include "common/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/check.h"

namespace hisgate {

namespace {
std::string hex(const unsigned char* bytes, unsigned int size) {
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0xf]);
    }
    return out;
}
}  // namespace

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HISGATE_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) == 1, "sha256", bytes.size());
    return hex(digest, size);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HISGATE_CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                       reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest, &size) != nullptr,
                  "hmac_sha256", bytes.size());
    return hex(digest, size);
}

}  // namespace hisgate
