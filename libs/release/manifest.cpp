#include "release/manifest.h"

#include "release/package.h"

namespace hisgate::release {

namespace {

using json = nlohmann::json;

constexpr const char* kManifestType = "hisgate.release-manifest";
constexpr std::size_t kMaxNotes = 64 * 1024;

Error invalid(const std::string& why) {
    return make_error(ErrorClass::BadInput, "release.manifest_invalid", "manifest: " + why);
}

bool is_sha256(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Result<std::string> text_field(const json& o, const char* name, std::size_t max = 256) {
    auto it = o.find(name);
    if (it == o.end() || !it->is_string() || it->get_ref<const std::string&>().size() > max)
        return invalid(std::string("'") + name + "' must be a string of at most " + std::to_string(max) + " bytes");
    return it->get<std::string>();
}

Result<uint64_t> count_field(const json& o, const char* name) {
    auto it = o.find(name);
    if (it == o.end() || !it->is_number_unsigned())
        return invalid(std::string("'") + name + "' must be a non-negative integer");
    return it->get<uint64_t>();
}

Result<std::string> hash_field(const json& o, const char* name) {
    auto s = text_field(o, name);
    if (!s) return s;
    if (!is_sha256(*s)) return invalid(std::string("'") + name + "' must be 64 lowercase hex digits");
    return s;
}

}  // namespace

const PackageEntry* Manifest::full() const {
    for (const auto& p : packages)
        if (p.kind == PackageEntry::Kind::Full) return &p;
    return nullptr;
}

const PackageEntry* Manifest::delta_from(const ReleaseVersion& base) const {
    for (const auto& p : packages)
        if (p.kind == PackageEntry::Kind::Delta && p.base_version && *p.base_version == base) return &p;
    return nullptr;
}

json Manifest::to_json() const {
    json pkgs = json::array();
    for (const auto& p : packages) {
        json e = {{"kind", p.kind == PackageEntry::Kind::Full ? "full" : "delta"},
                  {"path", p.path},
                  {"sha256", p.sha256},
                  {"size", p.size}};
        if (p.kind == PackageEntry::Kind::Delta) {
            e["base_version"] = p.base_version ? p.base_version->to_string() : "";
            e["base_content_sha256"] = p.base_content_sha256;
        }
        pkgs.push_back(e);
    }
    json body = {{"type", kManifestType},
                 {"version", version.to_string()},
                 {"protocol", {{"min", protocol_min}, {"max", protocol_max}}},
                 {"params", {{"catalog_version", catalog_version}, {"catalog_sha256", catalog_sha256}}},
                 {"content", {{"sha256", content_sha256}, {"size", content_size}}},
                 {"packages", pkgs},
                 {"notes", notes}};
    if (signed_at) body["signed_at"] = format_time(*signed_at);
    return body;
}

Result<Manifest> Manifest::from_json(const json& b) {
    if (!b.is_object()) return invalid("not an object");
    auto type = text_field(b, "type");
    if (!type || *type != kManifestType) return invalid("'type' must be " + std::string(kManifestType));
    Manifest m;
    auto version_text = text_field(b, "version", kMaxVersionLength);
    if (!version_text) return version_text.error();
    auto version = parse_version(*version_text);
    if (!version) return version.error();
    m.version = *version;
    if (b.contains("signed_at")) {
        auto at = parse_time(b["signed_at"].is_string() ? b["signed_at"].get<std::string>() : "", "signed_at");
        if (!at) return at.error();
        m.signed_at = *at;
    }
    const json* proto = b.contains("protocol") && b["protocol"].is_object() ? &b["protocol"] : nullptr;
    if (!proto) return invalid("'protocol' must be {\"min\": N, \"max\": N}");
    auto pmin = count_field(*proto, "min"), pmax = count_field(*proto, "max");
    if (!pmin || !pmax || *pmin > *pmax || *pmax > 1000000)
        return invalid("'protocol' must be {\"min\": N, \"max\": M} with N <= M");
    m.protocol_min = static_cast<int>(*pmin);
    m.protocol_max = static_cast<int>(*pmax);
    const json* params = b.contains("params") && b["params"].is_object() ? &b["params"] : nullptr;
    if (!params) return invalid("'params' must be an object");
    auto cv = text_field(*params, "catalog_version");
    auto ch = hash_field(*params, "catalog_sha256");
    if (!cv) return cv.error();
    if (!ch) return ch.error();
    m.catalog_version = *cv;
    m.catalog_sha256 = *ch;
    const json* content = b.contains("content") && b["content"].is_object() ? &b["content"] : nullptr;
    if (!content) return invalid("'content' must be an object");
    auto csha = hash_field(*content, "sha256");
    auto csize = count_field(*content, "size");
    if (!csha) return csha.error();
    if (!csize) return csize.error();
    if (*csize > kMaxContentBytes) return invalid("content larger than 512 MiB");
    m.content_sha256 = *csha;
    m.content_size = *csize;
    auto notes = text_field(b, "notes", kMaxNotes);
    if (!notes) return notes.error();
    m.notes = *notes;
    if (!b.contains("packages") || !b["packages"].is_array() || b["packages"].size() > kMaxPackages)
        return invalid("'packages' must be an array of at most 16 packages");
    for (const auto& e : b["packages"]) {
        if (!e.is_object()) return invalid("a package is not an object");
        PackageEntry p;
        auto kind = text_field(e, "kind");
        if (!kind || (*kind != "full" && *kind != "delta")) return invalid("a package's kind is full or delta");
        p.kind = *kind == "full" ? PackageEntry::Kind::Full : PackageEntry::Kind::Delta;
        auto path = text_field(e, "path", kMaxPathLength);
        if (!path) return path.error();
        if (auto ok = check_entry_path(*path); !ok) return ok.error();
        p.path = *path;
        auto sha = hash_field(e, "sha256");
        if (!sha) return sha.error();
        p.sha256 = *sha;
        auto size = count_field(e, "size");
        if (!size) return size.error();
        if (*size > kMaxPackageBytes) return invalid("package " + p.path + " is larger than a package can be");
        p.size = *size;
        if (p.kind == PackageEntry::Kind::Delta) {
            auto bv = text_field(e, "base_version", kMaxVersionLength);
            if (!bv) return bv.error();
            auto base = parse_version(*bv);
            if (!base) return base.error();
            if (!(*base < m.version)) return invalid("a delta's base " + base->to_string() + " is not older than " + m.version.to_string());
            if (m.delta_from(*base)) return invalid("two deltas from " + base->to_string());
            p.base_version = *base;
            auto bsha = hash_field(e, "base_content_sha256");
            if (!bsha) return bsha.error();
            p.base_content_sha256 = *bsha;
        } else if (m.full()) {
            return invalid("more than one full package");
        }
        m.packages.push_back(std::move(p));
    }
    if (!m.full()) return invalid("no full package");
    return m;
}

json unsigned_manifest(const Manifest& m) { return json{{"signed", m.to_json()}}; }

Result<json> sign_manifest(Manifest m, const Ed25519Key& key, const json& certificate, const Ed25519Key& root,
                           WallTime now) {
    auto cert = verify_certificate(certificate, root);
    if (!cert) return cert.error();
    if (cert->key_id != key.key_id())
        return make_error(ErrorClass::Rejected, "release.key_not_certified",
                          "the certificate is for key " + cert->key_id + ", the signing key is " + key.key_id());
    auto at = std::chrono::floor<std::chrono::seconds>(now);
    if (auto valid = check_validity(*cert, at); !valid) return valid.error();
    m.signed_at = at;
    auto envelope = sign_document(m.to_json(), key);
    if (!envelope) return envelope.error();
    (*envelope)["certificate"] = certificate;
    return envelope;
}

Result<VerifiedManifest> verify_manifest(std::string_view text, const Ed25519Key& root,
                                         const RevocationList* revocations, WallTime now) {
    auto doc = parse_document(text, "the release manifest", "release.manifest");
    if (!doc) return doc.error();
    if (!doc->is_object() || !doc->contains("signature") || !doc->contains("certificate"))
        return make_error(ErrorClass::Rejected, "release.unsigned", "the manifest has no signature or no certificate");
    auto cert = verify_certificate((*doc)["certificate"], root);
    if (!cert) return cert.error();
    const json& sig = (*doc)["signature"];
    std::string signer = sig.is_object() && sig.contains("key_id") && sig["key_id"].is_string()
                             ? sig["key_id"].get<std::string>().substr(0, 64)
                             : std::string();
    if (signer != cert->key_id)
        return make_error(ErrorClass::Rejected, "release.key_not_certified",
                          "the manifest is signed by key '" + signer + "' but carries the certificate of key " + cert->key_id);
    auto key = Ed25519Key::from_public_hex(cert->public_hex);
    if (!key) return key.error();
    if (auto signed_ok = check_signed_by(*doc, *key, "the release manifest"); !signed_ok) return signed_ok.error();
    auto m = Manifest::from_json((*doc)["signed"]);
    if (!m) return m.error();
    if (revocations)
        if (const Revocation* r = revocations->find(cert->key_id))
            return make_error(ErrorClass::Rejected, "release.key_revoked",
                              "signing key " + cert->key_id + " (" + cert->name + ") was revoked at " +
                                  format_time(r->revoked_at) + " (revocation list " + std::to_string(revocations->serial) +
                                  "): " + r->reason);
    if (!m->signed_at) return invalid("no signed_at");
    if (auto valid = check_validity(*cert, *m->signed_at); !valid) return valid.error();
    if (*m->signed_at > now + kClockSkew)
        return make_error(ErrorClass::Rejected, "release.signed_in_future",
                          "the manifest says it was signed at " + format_time(*m->signed_at) + ", later than now (" +
                              format_time(now) + ")");
    return VerifiedManifest{std::move(*m), std::move(*cert)};
}

Result<Manifest> read_unverified_manifest(std::string_view text) {
    auto doc = parse_document(text, "the release manifest", "release.manifest");
    if (!doc) return doc.error();
    if (!doc->is_object() || !doc->contains("signed")) return invalid("no \"signed\" body");
    return Manifest::from_json((*doc)["signed"]);
}

}  // namespace hisgate::release
