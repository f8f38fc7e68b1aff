#include "release/ed25519.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include "common/digest.h"

namespace hisgate::release {

namespace {

Error key_invalid(const std::string& why) { return make_error(ErrorClass::BadInput, "release.key_invalid", why); }

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, n > 0 ? static_cast<size_t>(n) : 0);
    BIO_free(bio);
    return out;
}

}  // namespace

Result<Ed25519Key> Ed25519Key::generate() {
    EVP_PKEY* raw = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &raw) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return make_error(ErrorClass::Internal, "release.keygen_failed", "OpenSSL could not generate an Ed25519 key");
    Ed25519Key k;
    k.pkey_ = own(raw);
    k.has_private_ = true;
    return k;
}

Result<Ed25519Key> Ed25519Key::from_pem(std::string_view pem) {
    if (pem.size() > kMaxPemBytes) return key_invalid("a PEM key larger than 16 KiB");
    Ed25519Key k;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* raw = nullptr;
    if (pem.find("PRIVATE KEY") != std::string_view::npos) {
        raw = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        k.has_private_ = true;
    } else {
        raw = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    }
    BIO_free(bio);
    if (!raw) return key_invalid("not a PEM private or public key");
    k.pkey_ = own(raw);
    if (EVP_PKEY_id(raw) != EVP_PKEY_ED25519) return key_invalid("the key is not an Ed25519 key");
    return k;
}

Result<Ed25519Key> Ed25519Key::from_public_hex(std::string_view hex) {
    auto bytes = from_hex(hex);
    if (!bytes || bytes->size() != 32) return key_invalid("a public key is 64 hex digits (32 bytes)");
    EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(bytes->data()), 32);
    if (!raw) return key_invalid("not an Ed25519 public key");
    Ed25519Key k;
    k.pkey_ = own(raw);
    return k;
}

Result<Ed25519Key> Ed25519Key::load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorClass::NotFound, "release.key_missing", "cannot read key file " + path);
    std::string text(kMaxPemBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    auto k = from_pem(text);
    if (!k) return make_error(k.error().cls, k.error().code, path + ": " + k.error().message);
    return k;
}

std::string Ed25519Key::public_hex() const {
    unsigned char buf[32];
    size_t len = sizeof buf;
    if (EVP_PKEY_get_raw_public_key(pkey_.get(), buf, &len) != 1 || len != 32) return {};
    return to_hex(std::string_view(reinterpret_cast<char*>(buf), len));
}

std::string Ed25519Key::key_id() const {
    auto raw = from_hex(public_hex());
    return sha256_hex(raw ? *raw : std::string()).substr(0, 16);
}

std::string Ed25519Key::public_pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey_.get());
    return bio_text(bio);
}

std::string Ed25519Key::private_pem() const {
    if (!has_private_) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return bio_text(bio);
}

Result<std::string> Ed25519Key::sign_hex(std::string_view message) const {
    if (!has_private_) return make_error(ErrorClass::BadInput, "release.key_invalid", "signing needs a private key");
    unsigned char sig[64];
    size_t len = sizeof sig;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
              EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) return make_error(ErrorClass::Internal, "release.sign_failed", "OpenSSL could not sign");
    return to_hex(std::string_view(reinterpret_cast<char*>(sig), len));
}

bool Ed25519Key::verify_hex(std::string_view message, std::string_view signature_hex) const {
    auto sig = from_hex(signature_hex);
    if (!sig || sig->size() != 64) return false;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                               reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

}  // namespace hisgate::release
