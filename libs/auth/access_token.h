// The API's bearer tokens: a JWT (RFC 7519) signed HS256 with the key ring's signing key,
// its kid in the header. What a token says:
//
//   {"iss": "hisgate", "sub": <patient id | operator's or service's name>,
//    "role": "patient" | "viewer" | "operator" | "admin" | "service",
//    "iat": <issued, s>, "exp": <expires, s>, "jti": <16 random bytes, hex>
//    [, "sid": <the portal session it belongs to, 16 random bytes, hex>]}
//
// A token with a "sid" is a portal session's (controlplane/portal/portal_api.h): it is
// accepted only while that session is open in the shared session store, so signing out
// refuses it on every control-plane instance before it expires.
//
// A patient token is bound to one patient id (its sub): the API shows it only that
// patient's reports, tasks and bookings. Verification accepts only HS256 (never "none",
// never a key the ring does not hold), a known role, an unexpired token, and a token of at
// most 4 KiB, checked before any parsing.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/key_ring.h"
#include "common/error.h"

namespace hisgate::auth {

enum class Role { Patient, Viewer, Operator, Admin, Service };

std::string_view to_string(Role r);
// Errors: BadInput "auth.bad_role" naming the roles.
Result<Role> role_from_string(std::string_view s);

struct AccessToken {
    Role role = Role::Viewer;
    std::string subject;  // the patient id for Role::Patient; a name otherwise
    std::chrono::sys_seconds expires{};
    std::string session{};  // the portal session id ("sid"); "" for a token of no session
};

inline constexpr size_t kMaxTokenBytes = 4096;
inline constexpr size_t kMaxSubjectBytes = 64;
inline constexpr size_t kMaxSessionBytes = 64;

// Errors: BadInput "auth.bad_subject" (empty, longer than 64, or a character outside
// A-Z a-z 0-9 _ - .), BadInput "auth.bad_session" (a session id longer than 64 or not
// lower-case hex), Internal "auth.keys" (the ring failed to sign).
Result<std::string> issue_token(KeyRing& ring, const AccessToken& token, std::chrono::sys_seconds now);

// `bearer` is the token alone (after "Bearer "). Errors, all Rejected "auth.invalid_token"
// with the reason (too long, not a JWT, unknown key, bad signature, expired, bad claims).
Result<AccessToken> verify_token(KeyRing& ring, std::string_view bearer, std::chrono::sys_seconds now);

// verify_token, remembering the tokens it accepted: a client sends the same bearer token on
// every request, and its HS256 check (a JWT parsed twice, an HMAC engine made) was 5 % of
// the control plane's CPU per routed booking. A token is taken as verified only when it is
// the same string, byte for byte, as one verified before; even then it is refused once it
// has expired (against `now`, every time) or once the ring no longer holds the secret it
// was verified with under its kid (a key deleted or replaced). Refusals are not kept, so a
// refused token is checked in full each time. At most kMaxVerifiedTokens are kept; when
// full, it starts again empty. Thread-safe.
class VerifiedTokens {
public:
    static constexpr size_t kMaxVerifiedTokens = 4096;
    Result<AccessToken> verify(KeyRing& ring, std::string_view bearer, std::chrono::sys_seconds now);

private:
    struct Verified {
        AccessToken token;
        std::string kid, secret;
    };
    std::mutex mu_;
    std::unordered_map<std::string, Verified> by_token_;
};

}  // namespace hisgate::auth
