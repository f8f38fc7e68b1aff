#include "auth/access_token.h"

#include <Poco/Crypto/OpenSSLInitializer.h>
#include <Poco/Exception.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include "common/random_id.h"

namespace hisgate::auth {

namespace {

constexpr const char* kIssuer = "hisgate";

// POCO 1.11 counts OpenSSL users: every HMAC engine takes a reference and the last one to
// go tears down OpenSSL's locks, racing any thread that is taking a reference at that moment
// (a segfault under concurrent requests, seen in CI and reproduced under ThreadSanitizer).
// One reference held for the life of the process keeps the count from ever reaching zero;
// a function-local static is constructed once, before any caller goes on to sign or verify.
void keep_openssl_initialized() { static Poco::Crypto::OpenSSLInitializer held; }

Error invalid(const std::string& why) { return make_error(ErrorClass::Rejected, "auth.invalid_token", why); }

bool valid_subject(const std::string& s) {
    if (s.empty() || s.size() > kMaxSubjectBytes) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

// A session id is lower-case hex (random_hex), at most kMaxSessionBytes.
bool valid_session(const std::string& s) {
    return s.size() <= kMaxSessionBytes && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string_view to_string(Role r) {
    switch (r) {
        case Role::Patient: return "patient";
        case Role::Viewer: return "viewer";
        case Role::Operator: return "operator";
        case Role::Admin: return "admin";
        case Role::Service: return "service";
    }
    return "viewer";
}

Result<Role> role_from_string(std::string_view s) {
    for (Role r : {Role::Patient, Role::Viewer, Role::Operator, Role::Admin, Role::Service})
        if (to_string(r) == s) return r;
    return make_error(ErrorClass::BadInput, "auth.bad_role",
                      "role \"" + std::string(s.substr(0, 32)) + "\": expected patient, viewer, operator, admin or service");
}

Result<std::string> issue_token(KeyRing& ring, const AccessToken& t, std::chrono::sys_seconds now) {
    if (!valid_subject(t.subject))
        return make_error(ErrorClass::BadInput, "auth.bad_subject",
                          "a token's subject is 1 to 64 characters of A-Z a-z 0-9 _ - .");
    if (!valid_session(t.session))
        return make_error(ErrorClass::BadInput, "auth.bad_session", "a session id is at most 64 lower-case hex digits");
    keep_openssl_initialized();
    std::string jti = new_id();
    auto key = ring.signing_key();
    Poco::JWT::Token token;
    token.setType("JWT");
    token.header().set("kid", key.kid);
    token.setIssuer(kIssuer);
    token.setSubject(t.subject);
    token.payload().set("role", std::string(to_string(t.role)));
    token.payload().set("iat", static_cast<Poco::Int64>(now.time_since_epoch().count()));
    token.payload().set("exp", static_cast<Poco::Int64>(t.expires.time_since_epoch().count()));
    token.setId(jti);
    if (!t.session.empty()) token.payload().set("sid", t.session);
    try {
        Poco::JWT::Signer signer(key.secret);
        return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Internal, "auth.keys", "signing failed: " + e.displayText());
    }
}

namespace {

// verify_token; on success also the kid and the secret it was verified with.
Result<AccessToken> verify_signed(KeyRing& ring, std::string_view bearer, std::chrono::sys_seconds now,
                                  std::string* kid_used, std::string* secret_used) {
    if (bearer.size() > kMaxTokenBytes) return invalid("the token is longer than 4096 bytes");
    if (bearer.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string_view::npos)
        return invalid("a JWT is three base64url parts joined by '.'");
    std::string jwt(bearer);
    // HS256's signature is 32 bytes: 43 base64url characters, the last carrying 4 bits and 2
    // zero bits. A decoder ignores those 2 bits, so without this one token would have four
    // spellings, all verifying (a list of refused token strings could be walked around).
    const auto last_dot = jwt.rfind('.');
    const std::string_view signature = last_dot == std::string::npos ? std::string_view() : std::string_view(jwt).substr(last_dot + 1);
    if (signature.size() != 43 || std::string_view("AEIMQUYcgkosw048").find(signature.back()) == std::string_view::npos)
        return invalid("the signature is not an HS256 signature in canonical base64url (43 characters)");
    keep_openssl_initialized();
    try {
        Poco::JWT::Token unverified(jwt);  // parses; the signature is checked below
        if (!unverified.header().has("kid")) return invalid("the token names no signing key (kid)");
        std::string kid = unverified.header().getValue<std::string>("kid");
        auto secret = ring.secret_of(kid);
        if (!secret) return invalid("the token was signed with a key this control plane does not hold");
        if (kid_used) *kid_used = kid;
        if (secret_used) *secret_used = *secret;
        Poco::JWT::Signer signer(*secret);
        signer.setAlgorithms({Poco::JWT::Signer::ALGO_HS256});  // never "none", never another
        Poco::JWT::Token token;
        if (!signer.tryVerify(jwt, token)) return invalid("the signature does not match");
        auto& claims = token.payload();
        if (token.getIssuer() != kIssuer) return invalid("the issuer is not hisgate");
        if (!claims.has("exp") || !claims.has("role")) return invalid("the token lacks exp or role");
        AccessToken out;
        out.expires = std::chrono::sys_seconds(std::chrono::seconds(claims.getValue<Poco::Int64>("exp")));
        if (out.expires <= now) return invalid("the token has expired");
        auto role = role_from_string(claims.getValue<std::string>("role"));
        if (!role) return invalid("unknown role");
        out.role = *role;
        out.subject = token.getSubject();
        if (!valid_subject(out.subject)) return invalid("the subject is not a valid id");
        if (claims.has("sid")) {
            out.session = claims.getValue<std::string>("sid");
            if (out.session.empty() || !valid_session(out.session)) return invalid("the session id is not valid");
        }
        return out;
    } catch (const Poco::Exception& e) {
        return invalid("not a readable JWT (" + e.displayText().substr(0, 200) + ")");
    } catch (const std::exception&) {
        return invalid("not a readable JWT");
    }
}

}  // namespace

Result<AccessToken> verify_token(KeyRing& ring, std::string_view bearer, std::chrono::sys_seconds now) {
    return verify_signed(ring, bearer, now, nullptr, nullptr);
}

Result<AccessToken> VerifiedTokens::verify(KeyRing& ring, std::string_view bearer, std::chrono::sys_seconds now) {
    std::string kid, secret;
    {
        std::lock_guard lock(mu_);
        if (auto it = by_token_.find(std::string(bearer)); it != by_token_.end()) {
            kid = it->second.kid, secret = it->second.secret;
            AccessToken token = it->second.token;
            if (token.expires <= now) {
                by_token_.erase(it);
                return invalid("the token has expired");
            }
            // The ring is asked outside this lock below only when the token is new; here its
            // own lock is taken after ours, never the other way round.
            auto held = ring.secret_of(kid);
            if (held && *held == secret) return token;
            by_token_.erase(it);
        }
    }
    auto verified = verify_signed(ring, bearer, now, &kid, &secret);
    if (!verified) return verified;
    std::lock_guard lock(mu_);
    if (by_token_.size() >= kMaxVerifiedTokens) by_token_.clear();
    by_token_.insert_or_assign(std::string(bearer), Verified{*verified, std::move(kid), std::move(secret)});
    return verified;
}

}  // namespace hisgate::auth
