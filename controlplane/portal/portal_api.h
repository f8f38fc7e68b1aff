// The patient portal's own routes (issue 17 items 1 and 4; the contract the front end
// builds on is docs/portal-api.md):
//
//   POST /api/v1/auth/code      {"phone"[, "lang"]} → 202 {"sent": true, "retry_after_s": 60}; the code
//                               goes by SMS through the notification service. No token.
//   POST /api/v1/auth/verify    {"phone", "code"} → 200 {"patient_id", "real_name_verified", ...}
//                               and the cookies hg_session (the patient's access token) and
//                               hg_csrf. No token.
//   POST /api/v1/auth/logout    signs the session out and clears both cookies (200). No
//                               token needed; the session is the cookie's (CSRF checked)
//                               or, without a cookie, the bearer token's.
//   GET  /api/v1/me             {"patient_id", "phone_masked", "real_name_verified", ...}
//   PUT  /api/v1/me             {"email", "lang"}: where and in which language messages go
//   POST /api/v1/me/real-name   {"name", "id_number"} → 200, or 400 naming the wrong part
//   DELETE /api/v1/me/sessions  signs out everywhere: every session of the patient closes (its
//                               tokens answer 401 on every instance) and both cookies clear;
//                               200 {"signed_out": true, "sessions_closed": n}
//
// Sessions: hg_session is the patient token of auth/access_token.h, valid `session_ttl`,
// HttpOnly, SameSite=Strict, Path=/, Secure when the API is reached over HTTPS
// (`https`); hg_csrf is 128 random bits, readable by the page, SameSite=Strict. The API
// (api.cpp) takes the session cookie wherever it takes a patient's bearer token, and a
// POST, PUT, PATCH or DELETE so authenticated must carry X-CSRF-Token equal to hg_csrf
// (403 auth.csrf otherwise: csrf_ok below). A session past half its life is renewed on
// the next answer (refresh_session).
//
// Each sign-in opens a session in the SignInStore (shared by every instance through
// results_db) and its tokens carry the session's id ("sid"). The API accepts a token with
// a sid, by cookie or bearer, only while that session is open (session_open); logout
// closes it, so its tokens, renewed ones included, answer 401 everywhere from then on.
//
// Limits (rate_limit.h), each answered 429 auth.rate_limited with Retry-After: a code to
// one phone once per `code_interval` and `codes_per_phone_hour` an hour; codes asked from
// one client address, `codes_per_address_hour` an hour; sign-in tries from one address,
// `verifies_per_address` per 10 minutes. Besides, a code allows 5 wrong tries and lives 5
// minutes (sign_in_store.h).
//
// Patient answers are JSON with <, > and & written as \u escapes, so text a patient typed
// (a name with a <script> in it) is never markup in any reading of the answer.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "auth/key_ring.h"
#include "common/clock.h"
#include "controlplane/api_route.h"
#include "common/ip_range.h"
#include "controlplane/notify/notifier.h"
#include "controlplane/patient_records.h"
#include "controlplane/portal/rate_limit.h"
#include "controlplane/portal/sign_in_store.h"

namespace hisgate::controlplane::portal {

inline constexpr const char* kSessionCookie = "hg_session";
inline constexpr const char* kCsrfCookie = "hg_csrf";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";

struct PortalSettings {
    std::chrono::seconds session_ttl{1800};
    bool https = false;  // the API is reached over HTTPS (a TLS-terminating proxy): Secure cookies, HSTS
    std::chrono::seconds code_interval{60};
    int codes_per_phone_hour = 5;
    int codes_per_address_hour = 20;
    int verifies_per_address = 30;  // per 10 minutes
    // The per-address limits key by the caller's address as the audit log reads it
    // (audit::caller_address): behind a load balancer every patient would otherwise share
    // the balancer's address, and one busy hour would lock everyone out of sign-in.
    std::vector<IpRange> trusted_proxies;
};

// A cookie of the request, if it carries one by that name.
std::optional<std::string> request_cookie(const Poco::Net::HTTPServerRequest& req, const std::string& name);
// Whether a request authenticated by the session cookie may change something: a safe
// method (GET, HEAD, OPTIONS), or X-CSRF-Token equal to the hg_csrf cookie (both present).
bool csrf_ok(const Poco::Net::HTTPServerRequest& req);
// A patient answer (see above).
void send_patient_json(Poco::Net::HTTPServerResponse& res, int status, const nlohmann::json& body);

class PortalApi {
public:
    PortalApi(SignInStore& accounts, notify::Notifier& notifier, PatientRecords& records, auth::KeyRing& keys,
              RateLimiter& limiter, Clock& clock, PortalSettings settings)
        : accounts_(accounts), notifier_(notifier), records_(records), keys_(keys), clock_(clock),
          settings_(settings), limiter_(limiter) {}

    static const std::vector<RouteTemplate>& routes();
    static std::optional<ApiRoute> route_of(const std::vector<std::string>& parts) { return match_route(routes(), parts); }
    // Routes served without a token (auth_code, auth_verify, auth_logout).
    static bool is_public(const std::string& route) { return route.starts_with("auth_"); }

    void handle_public(const std::string& route, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void handle(const std::string& route, const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req,
                Poco::Net::HTTPServerResponse& res);
    const PortalSettings& settings() const { return settings_; }
    // Whether a verified token may be used: true for a token of no session, else whether
    // its session is open (not signed out, not expired) in the shared store.
    Result<bool> session_open(const auth::AccessToken& who) {
        if (who.session.empty()) return true;
        return accounts_.session_open(who.session, who.subject);
    }
    // A session cookie past half its life is renewed on the answer to any request it made
    // (a new token of `session_ttl`, the same hg_csrf): an active patient stays signed in,
    // an idle one is signed out when the token expires.
    void refresh_session(const Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                         const auth::AccessToken& who);
    // Sets both cookies (max_age 0: clears them); the console's sign-in sets the same
    // (controlplane/console/console_session.h).
    void set_session_cookies(Poco::Net::HTTPServerResponse& res, const std::string& token, const std::string& csrf,
                             std::chrono::seconds max_age);

private:
    void ask_code(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void verify(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void logout(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void me(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void real_name(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void sign_out_everywhere(const auth::AccessToken& who, Poco::Net::HTTPServerResponse& res);
    // False when limited (the 429 already sent).
    bool within(const std::string& key, const RateLimit& limit, Poco::Net::HTTPServerResponse& res);

    SignInStore& accounts_;
    notify::Notifier& notifier_;
    PatientRecords& records_;
    auth::KeyRing& keys_;
    Clock& clock_;
    PortalSettings settings_;
    RateLimiter& limiter_;  // shared by the instances (rate_limit.h)
};

}  // namespace hisgate::controlplane::portal
