// SHA-256 digests and HMAC-SHA-256 (OpenSSL), as lowercase hex: fingerprints of requests
// and parameter sets, and ids derived from a secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hisgate {

// The SHA-256 of `bytes`: 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

// Bytes as lowercase hex, and back: nullopt for an odd length or anything but 0-9a-f (one
// spelling per value, so a hex field compared as text is compared as bytes).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

// HMAC-SHA-256 of `bytes` under `key`: 64 lowercase hex digits. Whoever lacks the key can
// neither compute nor predict it from other outputs.
std::string hmac_sha256_hex(std::string_view key, std::string_view bytes);

}  // namespace hisgate
