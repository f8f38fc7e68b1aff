// Small signed JSON documents: the root's certificates of release-signing keys, its
// revocation list, and (manifest.h) release manifests.
//
// A signed document is an envelope {"signed": {...}, "signature": {"key_id", "ed25519"}}.
// The signature covers the canonical text of "signed": nlohmann's compact dump of the
// object, whose keys are sorted, with no whitespace. Signed bodies hold only objects,
// arrays, strings, integers and booleans (no floating point, whose text is not unique), so
// parsing and dumping again yields the bytes that were signed, and nothing outside "signed"
// is trusted. Times are whole seconds in UTC, "2026-12-06T01:00:00Z".
//
// Trust: the root key is pinned (in the agent, in the operator's hands); it signs only
// certificates and revocation lists, never releases, so it can stay offline. A certificate
// says "key K may sign releases from not_before to not_after"; a manifest carries the
// certificate of the key that signed it, so a verifier needs only the root. A new signing
// key is accepted as soon as the root has certified it: an expired or retired key never
// leaves an agent unable to update.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "release/ed25519.h"

namespace hisgate::release {

using WallTime = std::chrono::system_clock::time_point;

inline constexpr std::size_t kMaxDocumentBytes = 1024 * 1024;  // a manifest, a certificate, a revocation list

std::string format_time(WallTime t);  // "2026-12-06T01:00:00Z" (whole seconds)
// Exactly that form; release.bad_time (BadInput) naming `field` otherwise.
Result<WallTime> parse_time(std::string_view text, const std::string& field);

// Parses a document from outside within kMaxDocumentBytes and the JSON depth bound;
// errors are <code_prefix>.too_large|too_deep|invalid.
Result<nlohmann::json> parse_document(std::string_view text, const std::string& what, const std::string& code_prefix);

// The bytes a signature covers; release.not_canonical for a body holding a float.
Result<std::string> canonical_text(const nlohmann::json& body);

// {"signed": body, "signature": {"key_id": key.key_id(), "ed25519": hex}}.
Result<nlohmann::json> sign_document(const nlohmann::json& body, const Ed25519Key& key);
// The envelope's shape (release.<what_code>_invalid) and its signature by `key`
// (release.bad_signature, naming `what`).
Result<void> check_signed_by(const nlohmann::json& envelope, const Ed25519Key& key, const std::string& what);

// --- certificates of release-signing keys -------------------------------------------

struct KeyCertificate {
    std::string key_id;      // of the certified key
    std::string public_hex;  // its raw public key
    std::string name;        // who or what holds it ("release-2026", "ci")
    WallTime not_before;
    WallTime not_after;
    WallTime issued_at;
    std::string root_key_id;  // the root that signed it
};

Result<nlohmann::json> certify_key(const Ed25519Key& root, const KeyCertificate& cert);
// The certificate, if the pinned `root` signed it; release.key_not_certified otherwise
// (another root, a bad signature, a malformed certificate).
Result<KeyCertificate> verify_certificate(const nlohmann::json& envelope, const Ed25519Key& root);
// Whether `at` lies in [not_before, not_after]: release.key_not_yet_valid or
// release.key_expired (Rejected) naming the key, the instant and the period.
Result<void> check_validity(const KeyCertificate& cert, WallTime at);

// --- revocation ---------------------------------------------------------------------

inline constexpr std::size_t kMaxRevocations = 1000;

struct Revocation {
    std::string key_id;
    std::string reason;
    WallTime revoked_at;
};

struct RevocationList {
    uint64_t serial = 0;  // grows with each list; a verifier keeps the highest it has seen
    WallTime issued_at;
    std::vector<Revocation> revoked;

    const Revocation* find(const std::string& key_id) const;
};

Result<nlohmann::json> sign_revocation_list(const Ed25519Key& root, const RevocationList& list);
// release.revocations_invalid when the root did not sign it or it is malformed.
Result<RevocationList> verify_revocation_list(const nlohmann::json& envelope, const Ed25519Key& root);

}  // namespace hisgate::release
