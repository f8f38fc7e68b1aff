#include "release/signed_document.h"

#include <cstdio>

#include "common/bounded_json.h"
#include "common/utc_time.h"

namespace hisgate::release {

namespace {

using json = nlohmann::json;

constexpr const char* kCertificateType = "hisgate.signing-key-certificate";
constexpr const char* kRevocationType = "hisgate.revocation-list";
constexpr std::size_t kMaxNameLength = 200;

bool holds_float(const json& j, int depth = 0) {
    if (depth > kMaxJsonDepth) return true;
    if (j.is_number_float()) return true;
    if (j.is_structured())
        for (const auto& v : j)
            if (holds_float(v, depth + 1)) return true;
    return false;
}

// A string member of `o`, at most `max` bytes; empty when missing or not a string.
std::string text_of(const json& o, const char* name, std::size_t max = kMaxNameLength) {
    auto it = o.find(name);
    if (it == o.end() || !it->is_string()) return {};
    const auto& s = it->get_ref<const std::string&>();
    return s.size() <= max ? s : std::string();
}

Error not_certified(const std::string& why) {
    return make_error(ErrorClass::Rejected, "release.key_not_certified", why);
}

}  // namespace

std::string format_time(WallTime t) { return utc_strftime(t, "%Y-%m-%dT%H:%M:%SZ"); }

Result<WallTime> parse_time(std::string_view text, const std::string& field) {
    int y, mo, d, h, mi, s;
    char tail;
    std::string copy(text.substr(0, 32));
    if (text.size() != 20 ||
        std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &y, &mo, &d, &h, &mi, &s, &tail) != 6 ||
        copy[4] != '-' || copy[7] != '-' || copy[10] != 'T' || copy[13] != ':' || copy[16] != ':' || copy[19] != 'Z')
        return make_error(ErrorClass::BadInput, "release.bad_time",
                          field + ": expected a UTC time such as 2026-12-06T01:00:00Z, got '" + copy + "'");
    std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                    std::chrono::day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 59)
        return make_error(ErrorClass::BadInput, "release.bad_time", field + ": '" + copy + "' is not a valid time");
    return WallTime{std::chrono::sys_days{ymd}} + std::chrono::hours(h) + std::chrono::minutes(mi) +
           std::chrono::seconds(s);
}

Result<json> parse_document(std::string_view text, const std::string& what, const std::string& code_prefix) {
    return parse_bounded_json(text, JsonBounds{what, kMaxDocumentBytes, code_prefix});
}

Result<std::string> canonical_text(const json& body) {
    if (!body.is_object() || holds_float(body))
        return make_error(ErrorClass::BadInput, "release.not_canonical",
                          "a signed body is an object of strings, integers, booleans, arrays and objects");
    return body.dump();
}

Result<json> sign_document(const json& body, const Ed25519Key& key) {
    auto text = canonical_text(body);
    if (!text) return text.error();
    auto sig = key.sign_hex(*text);
    if (!sig) return sig.error();
    return json{{"signed", body}, {"signature", {{"key_id", key.key_id()}, {"ed25519", *sig}}}};
}

Result<void> check_signed_by(const json& envelope, const Ed25519Key& key, const std::string& what) {
    if (!envelope.is_object() || !envelope.contains("signed") || !envelope["signed"].is_object() ||
        !envelope.contains("signature") || !envelope["signature"].is_object())
        return make_error(ErrorClass::BadInput, "release.unsigned",
                          what + " has no {\"signed\": {...}, \"signature\": {...}} envelope");
    const json& sig = envelope["signature"];
    std::string key_id = text_of(sig, "key_id"), hex = text_of(sig, "ed25519");
    if (key_id != key.key_id())
        return make_error(ErrorClass::Rejected, "release.bad_signature",
                          what + " names signing key '" + key_id + "', expected " + key.key_id());
    auto text = canonical_text(envelope["signed"]);
    if (!text || !key.verify_hex(*text, hex))
        return make_error(ErrorClass::Rejected, "release.bad_signature",
                          what + ": the Ed25519 signature by key " + key_id + " does not match its content");
    return {};
}

// --- certificates -------------------------------------------------------------------

Result<json> certify_key(const Ed25519Key& root, const KeyCertificate& c) {
    if (c.not_after <= c.not_before)
        return make_error(ErrorClass::BadInput, "release.bad_validity", "not_after must be later than not_before");
    if (c.name.empty() || c.name.size() > kMaxNameLength)
        return make_error(ErrorClass::BadInput, "release.bad_name", "a key's name is 1 to 200 characters");
    json body = {{"type", kCertificateType},   {"key_id", c.key_id},
                 {"public_key", c.public_hex}, {"name", c.name},
                 {"not_before", format_time(c.not_before)}, {"not_after", format_time(c.not_after)},
                 {"issued_at", format_time(c.issued_at)}};
    return sign_document(body, root);
}

Result<KeyCertificate> verify_certificate(const json& envelope, const Ed25519Key& root) {
    if (auto signed_ok = check_signed_by(envelope, root, "the signing key's certificate"); !signed_ok)
        return not_certified(signed_ok.error().message + " (the pinned root is " + root.key_id() + ")");
    const json& b = envelope["signed"];
    if (text_of(b, "type") != kCertificateType) return not_certified("the document is not a signing-key certificate");
    KeyCertificate c;
    c.key_id = text_of(b, "key_id");
    c.public_hex = text_of(b, "public_key");
    c.name = text_of(b, "name");
    c.root_key_id = root.key_id();
    auto key = Ed25519Key::from_public_hex(c.public_hex);
    if (!key || key->key_id() != c.key_id) return not_certified("the certificate's public key does not match its key_id");
    auto nb = parse_time(text_of(b, "not_before"), "not_before");
    auto na = parse_time(text_of(b, "not_after"), "not_after");
    auto ia = parse_time(text_of(b, "issued_at"), "issued_at");
    if (!nb || !na || !ia) return not_certified("the certificate's validity period is malformed");
    c.not_before = *nb;
    c.not_after = *na;
    c.issued_at = *ia;
    return c;
}

Result<void> check_validity(const KeyCertificate& c, WallTime at) {
    std::string period = "[" + format_time(c.not_before) + ", " + format_time(c.not_after) + "]";
    if (at < c.not_before)
        return make_error(ErrorClass::Rejected, "release.key_not_yet_valid",
                          "signing key " + c.key_id + " (" + c.name + ") is not valid until " + format_time(c.not_before) +
                              "; it was used at " + format_time(at) + ", outside its period " + period);
    if (at > c.not_after)
        return make_error(ErrorClass::Rejected, "release.key_expired",
                          "signing key " + c.key_id + " (" + c.name + ") expired at " + format_time(c.not_after) +
                              "; it was used at " + format_time(at) + ", outside its period " + period);
    return {};
}

// --- revocation ---------------------------------------------------------------------

const Revocation* RevocationList::find(const std::string& key_id) const {
    for (const auto& r : revoked)
        if (r.key_id == key_id) return &r;
    return nullptr;
}

Result<json> sign_revocation_list(const Ed25519Key& root, const RevocationList& list) {
    if (list.revoked.size() > kMaxRevocations)
        return make_error(ErrorClass::BadInput, "release.revocations_invalid", "more than 1000 revoked keys");
    json revoked = json::array();
    for (const auto& r : list.revoked)
        revoked.push_back({{"key_id", r.key_id}, {"reason", r.reason}, {"revoked_at", format_time(r.revoked_at)}});
    json body = {{"type", kRevocationType},
                 {"serial", list.serial},
                 {"issued_at", format_time(list.issued_at)},
                 {"revoked", revoked}};
    return sign_document(body, root);
}

Result<RevocationList> verify_revocation_list(const json& envelope, const Ed25519Key& root) {
    auto bad = [](const std::string& why) {
        return make_error(ErrorClass::Rejected, "release.revocations_invalid", "revocation list: " + why);
    };
    if (auto signed_ok = check_signed_by(envelope, root, "the revocation list"); !signed_ok)
        return bad(signed_ok.error().message);
    const json& b = envelope["signed"];
    if (text_of(b, "type") != kRevocationType) return bad("not a revocation list");
    if (!b.contains("serial") || !b["serial"].is_number_unsigned() || !b.contains("revoked") ||
        !b["revoked"].is_array() || b["revoked"].size() > kMaxRevocations)
        return bad("needs an unsigned serial and at most 1000 revoked keys");
    RevocationList list;
    list.serial = b["serial"].get<uint64_t>();
    auto ia = parse_time(text_of(b, "issued_at"), "issued_at");
    if (!ia) return bad(ia.error().message);
    list.issued_at = *ia;
    for (const auto& r : b["revoked"]) {
        if (!r.is_object()) return bad("an entry is not an object");
        auto at = parse_time(text_of(r, "revoked_at"), "revoked_at");
        if (!at || text_of(r, "key_id").empty()) return bad("an entry needs key_id and revoked_at");
        list.revoked.push_back({text_of(r, "key_id"), text_of(r, "reason"), *at});
    }
    return list;
}

}  // namespace hisgate::release
