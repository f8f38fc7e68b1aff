// A release manifest: what a release is and how to get it, signed by a certified
// release-signing key (signed_document.h). docs/releases.md shows one.
//
// The file is {"signed": <manifest>, "signature": {...}, "certificate": <certificate>}:
// the certificate of the key that signed it rides along, so a verifier needs only the
// pinned root (and, if it has one, the newest revocation list). A manifest as `release
// build` writes it has only "signed", without signed_at; `release sign` adds the rest.
//
// verify_manifest refuses, each with its own code (docs/releases.md lists them):
//   release.manifest.too_large|too_deep|invalid  not a bounded JSON document
//   release.unsigned             no signature or no certificate
//   release.key_not_certified    the certificate is not the pinned root's, or is for
//                                another key than the one that signed
//   release.bad_signature        the signature does not match the manifest's content
//   release.key_revoked          the root's revocation list names the signing key
//   release.key_not_yet_valid, release.key_expired   signed outside the key's period
//   release.signed_in_future     signed_at later than now (beyond kClockSkew)
//   release.manifest_invalid, release.bad_version, release.bad_path   malformed content
// The signature is checked before the content is interpreted.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "release/release_version.h"
#include "release/signed_document.h"

namespace hisgate::release {

inline constexpr std::size_t kMaxPackages = 16;  // one full and a delta from each of five versions, with room
inline constexpr std::chrono::minutes kClockSkew{5};

struct PackageEntry {
    enum class Kind { Full, Delta };
    Kind kind = Kind::Full;
    std::string path;    // relative to the manifest's directory; a plain checked path
    std::string sha256;  // of the package file
    uint64_t size = 0;   // of the package file
    // Deltas only: the version they apply to and the SHA-256 of that version's content.
    std::optional<ReleaseVersion> base_version;
    std::string base_content_sha256;
};

struct Manifest {
    ReleaseVersion version;
    std::optional<WallTime> signed_at;  // set by sign_manifest
    int protocol_min = 1;               // the agent-control plane protocol versions it speaks
    int protocol_max = 1;
    std::string catalog_version;  // the parameter catalog it ships with
    std::string catalog_sha256;
    std::string content_sha256;  // of the release's content (the unpacked archive)
    uint64_t content_size = 0;
    std::vector<PackageEntry> packages;
    std::string notes;

    const PackageEntry* full() const;
    const PackageEntry* delta_from(const ReleaseVersion& base) const;

    nlohmann::json to_json() const;  // the "signed" body
    static Result<Manifest> from_json(const nlohmann::json& body);
};

// The manifest file as `release build` writes it (unsigned).
nlohmann::json unsigned_manifest(const Manifest& m);
// Signs at `now` with `key`, whose certificate `certificate` (an envelope) must be the
// root's for this very key and valid at `now` (checked against `root`).
Result<nlohmann::json> sign_manifest(Manifest m, const Ed25519Key& key, const nlohmann::json& certificate,
                                     const Ed25519Key& root, WallTime now);

struct VerifiedManifest {
    Manifest manifest;
    KeyCertificate signer;
};
Result<VerifiedManifest> verify_manifest(std::string_view text, const Ed25519Key& root,
                                         const RevocationList* revocations, WallTime now);
// A manifest file's content without checking signatures: what `release build` reads of the
// previous releases it makes deltas from (they are its own output). Never for installing.
Result<Manifest> read_unverified_manifest(std::string_view text);

}  // namespace hisgate::release
