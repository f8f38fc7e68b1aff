// Ed25519 keys (OpenSSL EVP): the release root key and the release-signing keys.
//
// A key is held as an EVP_PKEY, shared and immutable once made. A key id is the first 16
// hex digits of the SHA-256 of the 32-byte raw public key: short enough to show, long enough
// that two keys of one fleet never share it by chance. Private keys are written as PKCS#8
// PEM, public keys as SubjectPublicKeyInfo PEM (what `openssl pkey` reads); inside signed
// documents a public key is its raw 32 bytes in hex.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace hisgate::release {

inline constexpr std::size_t kMaxPemBytes = 16 * 1024;

class Ed25519Key {
public:
    static Result<Ed25519Key> generate();
    // A private key (PKCS#8 PEM) or a public key (PUBKEY PEM); anything but Ed25519 is
    // refused (release.key_invalid).
    static Result<Ed25519Key> from_pem(std::string_view pem);
    static Result<Ed25519Key> from_public_hex(std::string_view hex);
    static Result<Ed25519Key> load_file(const std::string& path);

    bool has_private() const { return has_private_; }
    std::string key_id() const;
    std::string public_hex() const;  // 64 hex digits
    std::string public_pem() const;
    std::string private_pem() const;  // empty for a public key

    // The 64-byte signature, as 128 hex digits. Needs the private key (checked).
    Result<std::string> sign_hex(std::string_view message) const;
    // True only for a valid signature of `message` by this key; malformed hex is false.
    bool verify_hex(std::string_view message, std::string_view signature_hex) const;

private:
    std::shared_ptr<EVP_PKEY> pkey_;
    bool has_private_ = false;
};

}  // namespace hisgate::release
