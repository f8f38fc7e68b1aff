// The operator console's sign-in (issue 17 item 2; docs/portal-api.md "Console session"):
//
//   POST   /api/v1/console/session  {"token": "<staff bearer token>"} (what `hisgate token
//          issue --role operator` prints) → 200 {"role", "subject", "csrf_token",
//          "expires_in_s"} and the portal's cookies: hg_session, a fresh token of the same
//          role and subject with a session id ("sid"), and hg_csrf. Viewer, operator and
//          admin tokens only: a patient's or a service's is 403 console.role; a token that
//          does not verify is 401 auth.invalid_token. No Authorization needed: the token is
//          the body (at most 4 KiB, read before it is parsed).
//   GET    /api/v1/console/session  → 200 the same fields from the cookies, or 401
//          (console.no_session without a staff session cookie, auth.invalid_token for one
//          expired, tampered with or signed out).
//   DELETE /api/v1/console/session  signs out (CSRF checked: 403 auth.csrf without
//          X-CSRF-Token equal to hg_csrf), closes the session and clears both cookies (200).
//
// A console session is a portal session (controlplane/portal/sign_in_store.h): opened in
// the shared session store, its tokens carry its "sid", and the API takes them (cookie plus
// X-CSRF-Token for changes, api.cpp) only while it is open, on every instance. It lasts
// `session_ttl` (console.session_ttl_s, default 8 h), but never past the expiry of the
// token it was made from: signing in cannot lengthen a credential. It is not renewed (an
// operator signs in once a shift).
//
// Limit: sign-in tries (every POST, whatever its body) from one client address,
// `sign_ins_per_address` per 10 minutes (console.sign_ins_per_address, default 30), by the
// portal's limiter (controlplane/portal/rate_limit.h). The address is the one the audit log
// records (audit::caller_address: the peer, or past `trusted_proxies` the hop their
// X-Forwarded-For names). Over it: 429 auth.rate_limited with Retry-After and
// "retry_after_s", no token verified for a session and none opened; the refusal is audited
// by whom the body's token names when that is a staff token (an anonymous caller's is not).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <chrono>
#include <optional>
#include <vector>

#include "common/ip_range.h"

#include "auth/access_token.h"
#include "auth/key_ring.h"
#include "common/clock.h"
#include "controlplane/api_route.h"
#include "controlplane/portal/portal_api.h"
#include "controlplane/portal/rate_limit.h"
#include "controlplane/portal/sign_in_store.h"

namespace hisgate::controlplane::console {

struct ConsoleSettings {
    std::chrono::seconds session_ttl{8 * 3600};
    int sign_ins_per_address = 30;  // per kSignInWindow
    std::vector<IpRange> trusted_proxies;  // audit.trusted_proxies
};

inline constexpr std::chrono::seconds kSignInWindow{600};

class ConsoleSession {
public:
    ConsoleSession(portal::PortalApi& portal, portal::SignInStore& sessions, auth::KeyRing& keys,
                   portal::RateLimiter& limiter, Clock& clock, ConsoleSettings settings)
        : portal_(portal), sessions_(sessions), keys_(keys), clock_(clock), settings_(std::move(settings)),
          limiter_(limiter) {}

    static const std::vector<RouteTemplate>& routes();
    static std::optional<ApiRoute> route_of(const std::vector<std::string>& parts) { return match_route(routes(), parts); }

    // Serves the route (any method it allows). Answers whom a sign-in or sign-out was by
    // (the token presented, or the cookie's) for the audit log, or nothing when that is
    // nobody known or a patient (whose requests are not operator actions).
    std::optional<auth::AccessToken> handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    std::optional<auth::AccessToken> sign_in(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void show(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    std::optional<auth::AccessToken> sign_out(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    // The 429 of a sign-in over the limit; answers whom its token names when staff (audited).
    std::optional<auth::AccessToken> refuse_limited(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                                    std::chrono::seconds wait);

    portal::PortalApi& portal_;
    portal::SignInStore& sessions_;
    auth::KeyRing& keys_;
    Clock& clock_;
    ConsoleSettings settings_;
    portal::RateLimiter& limiter_;  // shared by the instances (portal/rate_limit.h)
};

}  // namespace hisgate::controlplane::console
