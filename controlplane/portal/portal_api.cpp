#include "controlplane/portal/portal_api.h"

#include <Poco/Net/NameValueCollection.h>

#include "common/bounded_json.h"
#include "common/config.h"
#include "common/digest.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/random_id.h"
#include "common/trace.h"
#include "controlplane/audit/audit_api.h"
#include "controlplane/portal/resident_id.h"

namespace hisgate::controlplane::portal {

namespace {

// Sign-in bodies are a phone, a code, a name: 4 KiB is far above any of them.
constexpr size_t kMaxPortalBody = 4096;

void send_portal_error(Poco::Net::HTTPServerResponse& res, int status, const Error& e,
                       const nlohmann::json& more = nlohmann::json::object()) {
    nlohmann::json body = error_body(e);
    for (const auto& [k, v] : more.items()) body[k] = v;
    send_patient_json(res, status, body);
}

int status_of(const Error& e) {
    if (e.code == "http.body_too_large") return 413;
    if (e.code.starts_with("auth.code_") || e.code == "auth.no_code") return 401;
    if (e.code == "patient.unknown") return 404;
    switch (e.cls) {
        case ErrorClass::BadInput: return 400;
        case ErrorClass::NotFound: return 404;
        case ErrorClass::Rejected: return 422;
        default: return 500;
    }
}

// The body as a JSON object of at most kMaxPortalBody bytes, or the error sent.
std::optional<nlohmann::json> read_small_json(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                              const std::string& what) {
    auto text = read_body(req, kMaxPortalBody, what);
    if (!text) {
        res.setKeepAlive(false);  // the rest of the body is unread, or its framing is broken
        send_portal_error(res, status_of(text.error()), text.error());
        return std::nullopt;
    }
    auto doc = parse_bounded_json(*text, {what, kMaxPortalBody, "http.body"});
    if (!doc || !doc->is_object()) {
        send_portal_error(res, 400, make_error(ErrorClass::BadInput, "http.bad_json", what + " must be a JSON object"));
        return std::nullopt;
    }
    return std::move(doc.value());
}

// A string field of `body`, or the 400 sent. Unknown fields are refused too (a typo in a
// field name is an error, not a default).
std::optional<std::string> text_field(const nlohmann::json& body, const char* name, Poco::Net::HTTPServerResponse& res,
                                      bool required = true) {
    auto it = body.find(name);
    if (it == body.end() && !required) return std::string();
    if (it == body.end() || !it->is_string()) {
        send_portal_error(res, 400, make_error(ErrorClass::BadInput, "request.invalid",
                                               std::string("body.") + name + ": expected a string"),
                          {{"field", name}});
        return std::nullopt;
    }
    return it->get<std::string>();
}

bool only_fields(const nlohmann::json& body, std::initializer_list<const char*> names, Poco::Net::HTTPServerResponse& res) {
    for (const auto& [k, v] : body.items()) {
        bool known = false;
        for (const char* n : names) known = known || k == n;
        if (!known) {
            send_portal_error(res, 400, make_error(ErrorClass::BadInput, "request.invalid",
                                                   "body." + k.substr(0, 64) + ": unknown field"));
            return false;
        }
    }
    return true;
}

std::string client_address(const Poco::Net::HTTPServerRequest& req, const std::vector<IpRange>& trusted_proxies) {
    return audit::caller_address(req.clientAddress().host().toString(), req.get("X-Forwarded-For", ""), trusted_proxies);
}

// Today in China Standard Time (UTC+8) as YYYYMMDD: the latest birth date an ID may carry.
std::string china_today(Clock& clock) {
    auto day = std::chrono::floor<std::chrono::days>(clock.wall_now() + std::chrono::hours(8));
    std::chrono::year_month_day ymd{day};
    char out[16];
    std::snprintf(out, sizeof out, "%04d%02u%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()));
    return out;
}

void count_sign_in(const char* outcome) {
    metrics::global().counter("hisgate_portal_sign_ins_total", "Portal sign-in steps by outcome", {{"outcome", outcome}}).inc();
}

}  // namespace

std::optional<std::string> request_cookie(const Poco::Net::HTTPServerRequest& req, const std::string& name) {
    Poco::Net::NameValueCollection cookies;
    req.getCookies(cookies);
    auto it = cookies.find(name);
    if (it == cookies.end()) return std::nullopt;
    return it->second;
}

bool csrf_ok(const Poco::Net::HTTPServerRequest& req) {
    const std::string& m = req.getMethod();
    if (m == "GET" || m == "HEAD" || m == "OPTIONS") return true;
    auto cookie = request_cookie(req, kCsrfCookie);
    std::string header = req.get(kCsrfHeader, "");
    if (!cookie || cookie->empty() || header.size() != cookie->size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < header.size(); ++i) diff |= static_cast<unsigned char>(header[i] ^ (*cookie)[i]);
    return diff == 0;
}

void send_patient_json(Poco::Net::HTTPServerResponse& res, int status, const nlohmann::json& body) {
    std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else out += c;
    }
    send_text(res, status, "application/json", out);
}

const std::vector<RouteTemplate>& PortalApi::routes() {
    static const std::vector<RouteTemplate> table = {
        {"auth_code", "/api/v1/auth/code", "POST"},
        {"auth_verify", "/api/v1/auth/verify", "POST"},
        {"auth_logout", "/api/v1/auth/logout", "POST"},
        {"me", "/api/v1/me", "GET, HEAD, PUT"},
        {"me_real_name", "/api/v1/me/real-name", "POST"},
        {"me_sessions", "/api/v1/me/sessions", "DELETE"},
    };
    return table;
}

bool PortalApi::within(const std::string& key, const RateLimit& limit, Poco::Net::HTTPServerResponse& res) {
    auto wait = limiter_.take(key, limit);
    if (!wait) {  // the shared count cannot be read: refused, never let through uncounted
        send_portal_error(res, 503, wait.error());
        return false;
    }
    if (!*wait) return true;
    count_sign_in("rate_limited");
    res.set("Retry-After", std::to_string((*wait)->count()));
    send_portal_error(res, 429, make_error(ErrorClass::Rejected, "auth.rate_limited", "too many tries: wait and try again"),
                      {{"retry_after_s", (*wait)->count()}});
    return false;
}

void PortalApi::handle_public(const std::string& route, Poco::Net::HTTPServerRequest& req,
                              Poco::Net::HTTPServerResponse& res) {
    if (route == "auth_code") return ask_code(req, res);
    if (route == "auth_verify") return verify(req, res);
    logout(req, res);
}

void PortalApi::handle(const std::string& route, const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) {
    if (who.role != auth::Role::Patient)
        return send_portal_error(res, 403, make_error(ErrorClass::Rejected, "auth.forbidden", "these routes are a patient's own"));
    if (route == "me") return me(who, req, res);
    if (route == "me_sessions") return sign_out_everywhere(who, res);
    real_name(who, req, res);
}

void PortalApi::sign_out_everywhere(const auth::AccessToken& who, Poco::Net::HTTPServerResponse& res) {
    // A phone left signed in somewhere: every session closes, this one too, so every token
    // of the patient's (renewed ones included) answers 401 on every instance from now on.
    auto closed = accounts_.close_sessions_of(who.subject);
    if (!closed) return send_portal_error(res, 500, closed.error());
    count_sign_in("signed_out_everywhere");
    log::info("portal.signed_out_everywhere", {{"patient_id", who.subject}, {"sessions", *closed}});
    set_session_cookies(res, "", "", std::chrono::seconds(0));
    send_patient_json(res, 200, {{"signed_out", true}, {"sessions_closed", *closed}});
}

void PortalApi::ask_code(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto body = read_small_json(req, res, "the code request");
    if (!body || !only_fields(*body, {"phone", "lang"}, res)) return;
    auto phone = text_field(*body, "phone", res);
    if (!phone) return;
    auto lang = text_field(*body, "lang", res, false);
    if (!lang) return;
    if (auto ok = check_phone(*phone); !ok) return send_portal_error(res, 400, ok.error(), {{"field", "phone"}});
    if (!lang->empty() && *lang != "zh-CN" && *lang != "en")
        return send_portal_error(res, 400, make_error(ErrorClass::BadInput, "request.invalid", "body.lang: zh-CN or en"),
                                 {{"field", "lang"}});
    // Keys name the phone by its digest: the limiter's map is no list of numbers.
    const std::string phone_key = sha256_hex(*phone);
    if (!within("code-address:" + client_address(req, settings_.trusted_proxies), {settings_.codes_per_address_hour, std::chrono::hours(1)}, res)) return;
    if (!within("code-phone:" + phone_key, {1, settings_.code_interval}, res)) return;
    if (!within("code-phone-hour:" + phone_key, {settings_.codes_per_phone_hour, std::chrono::hours(1)}, res)) return;
    auto code = accounts_.issue_code(*phone);
    if (!code) return send_portal_error(res, 500, code.error());
    // The code's language is the page's (lang), zh-CN unless it asks: a new phone has no
    // account to have chosen one in.
    const std::string msg_lang = lang->empty() ? "zh-CN" : *lang;
    if (auto queued = notifier_.sign_in_code(*phone, *code, msg_lang); !queued) return send_portal_error(res, 500, queued.error());
    count_sign_in("code_sent");
    send_patient_json(res, 202, {{"sent", true}, {"retry_after_s", settings_.code_interval.count()}});
}

void PortalApi::verify(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto body = read_small_json(req, res, "the sign-in");
    if (!body || !only_fields(*body, {"phone", "code"}, res)) return;
    auto phone = text_field(*body, "phone", res);
    if (!phone) return;
    auto code = text_field(*body, "code", res);
    if (!code) return;
    if (auto ok = check_phone(*phone); !ok) return send_portal_error(res, 400, ok.error(), {{"field", "phone"}});
    if (code->size() != 6 || code->find_first_not_of("0123456789") != std::string::npos)
        return send_portal_error(res, 400, make_error(ErrorClass::BadInput, "auth.bad_code", "a code is 6 digits"),
                                 {{"field", "code"}});
    if (!within("verify-address:" + client_address(req, settings_.trusted_proxies), {settings_.verifies_per_address, std::chrono::minutes(10)}, res))
        return;
    bool created = false;
    auto account = accounts_.redeem_code(*phone, *code, &created);
    if (!account) {
        count_sign_in("code_refused");
        log::warn("portal.sign_in_refused", {{"code", account.error().code}});
        return send_portal_error(res, status_of(account.error()), account.error());
    }
    auto facts = records_.facts(account->patient_id);
    if (!facts) return send_portal_error(res, 500, facts.error());
    auto now = std::chrono::floor<std::chrono::seconds>(clock_.wall_now());
    auto session = accounts_.open_session(account->patient_id, now + settings_.session_ttl);
    if (!session) return send_portal_error(res, 500, session.error());
    auto token =
        auth::issue_token(keys_, {auth::Role::Patient, account->patient_id, now + settings_.session_ttl, *session}, now);
    if (!token) return send_portal_error(res, 500, token.error());
    const std::string csrf = random_hex(16);
    set_session_cookies(res, *token, csrf, settings_.session_ttl);
    count_sign_in(created ? "signed_up" : "signed_in");
    log::info("portal.signed_in", {{"patient_id", account->patient_id}, {"new", created}});
    send_patient_json(res, 200, {{"patient_id", account->patient_id},
                                 {"real_name_verified", facts->real_name_verified},
                                 {"new_patient", created},
                                 {"csrf_token", csrf},
                                 {"expires_in_s", settings_.session_ttl.count()}});
}

void PortalApi::logout(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    // Signing out changes state: a page of another site must not sign the patient out.
    auto cookie = request_cookie(req, kSessionCookie);
    if (cookie && !csrf_ok(req))
        return send_portal_error(res, 403, make_error(ErrorClass::Rejected, "auth.csrf",
                                                      "X-CSRF-Token must equal the hg_csrf cookie"));
    // The session to close: the cookie's, else the bearer token's. A token that does not
    // verify (tampered, expired) has nothing left to close; the cookies are cleared anyway.
    std::string_view presented;
    const std::string header = req.get("Authorization", "");
    constexpr std::string_view kBearer = "Bearer ";
    if (cookie) presented = *cookie;
    else if (header.starts_with(kBearer)) presented = std::string_view(header).substr(kBearer.size());
    if (!presented.empty()) {
        auto now = std::chrono::floor<std::chrono::seconds>(clock_.wall_now());
        auto token = auth::verify_token(keys_, presented, now);
        if (token && !token->session.empty()) {
            if (auto closed = accounts_.close_session(token->session); !closed)
                return send_portal_error(res, 500, closed.error());
            count_sign_in("signed_out");
            log::info("portal.signed_out", {{"patient_id", token->subject}});
        }
    }
    set_session_cookies(res, "", "", std::chrono::seconds(0));
    send_patient_json(res, 200, {{"signed_out", true}});
}

void PortalApi::set_session_cookies(Poco::Net::HTTPServerResponse& res, const std::string& token, const std::string& csrf,
                                    std::chrono::seconds max_age) {
    const std::string common = "; Path=/; Max-Age=" + std::to_string(max_age.count()) + "; SameSite=Strict" +
                               (settings_.https ? "; Secure" : "");
    res.add("Set-Cookie", std::string(kSessionCookie) + "=" + token + common + "; HttpOnly");
    res.add("Set-Cookie", std::string(kCsrfCookie) + "=" + csrf + common);
}

void PortalApi::refresh_session(const Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                const auth::AccessToken& who) {
    auto now = std::chrono::floor<std::chrono::seconds>(clock_.wall_now());
    // Only a session's token is renewed: one of no session (not made by a sign-in) could
    // not be signed out, so it runs out at its own expiry.
    if (who.role != auth::Role::Patient || who.session.empty() || who.expires - now > settings_.session_ttl / 2) return;
    auto csrf = request_cookie(req, kCsrfCookie);
    if (!csrf || csrf->empty()) return;  // the old token goes on until it expires
    const auto expires = now + settings_.session_ttl;
    auto token = auth::issue_token(keys_, {auth::Role::Patient, who.subject, expires, who.session}, now);
    if (!token) return;
    if (auto extended = accounts_.extend_session(who.session, expires); !extended) {
        log::warn("portal.session_not_extended", {{"code", extended.error().code}});
        return;
    }
    set_session_cookies(res, *token, *csrf, settings_.session_ttl);
}

void PortalApi::me(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto account = accounts_.account(who.subject);
    if (!account) return send_portal_error(res, status_of(account.error()), account.error());
    if (req.getMethod() == "PUT") {
        auto body = read_small_json(req, res, "the contact details");
        if (!body || !only_fields(*body, {"email", "lang"}, res)) return;
        auto email = text_field(*body, "email", res, false);
        if (!email) return;
        auto lang = text_field(*body, "lang", res, false);
        if (!lang) return;
        if (!body->contains("email")) *email = account->email;
        if (!body->contains("lang")) *lang = account->lang;
        if (!email->empty())
            if (auto ok = check_email(*email); !ok) return send_portal_error(res, 400, ok.error(), {{"field", "email"}});
        if (*lang != "zh-CN" && *lang != "en")
            return send_portal_error(res, 400, make_error(ErrorClass::BadInput, "request.invalid", "body.lang: zh-CN or en"),
                                     {{"field", "lang"}});
        if (auto set = accounts_.set_contact(who.subject, *email, *lang); !set) return send_portal_error(res, 500, set.error());
        account->email = *email;
        account->lang = *lang;
    }
    auto facts = records_.facts(who.subject);
    if (!facts) return send_portal_error(res, 500, facts.error());
    send_patient_json(res, 200, {{"patient_id", account->patient_id},
                                 {"phone_masked", mask_phone(account->phone)},
                                 {"real_name_verified", facts->real_name_verified},
                                 {"real_name", account->real_name},
                                 {"id_masked", account->id_masked},
                                 {"email", account->email},
                                 {"lang", account->lang}});
}

void PortalApi::real_name(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto account = accounts_.account(who.subject);
    if (!account) return send_portal_error(res, status_of(account.error()), account.error());
    auto body = read_small_json(req, res, "the real-name step");
    if (!body || !only_fields(*body, {"name", "id_number"}, res)) return;
    auto name = text_field(*body, "name", res);
    if (!name) return;
    auto id = text_field(*body, "id_number", res);
    if (!id) return;
    if (auto ok = check_person_name(*name); !ok) return send_portal_error(res, 400, ok.error(), {{"field", "name"}});
    if (auto ok = check_resident_id(*id, china_today(clock_)); !ok)
        return send_portal_error(res, 400, ok.error(), {{"field", "id_number"}});
    auto facts = records_.facts(who.subject);
    if (!facts) return send_portal_error(res, 500, facts.error());
    facts->real_name_verified = true;
    std::string masked = id->substr(0, 3) + std::string(11, '*') + id->substr(14);
    if (masked.back() == 'x') masked.back() = 'X';
    if (auto set = accounts_.set_real_name(who.subject, *name, masked); !set) return send_portal_error(res, 500, set.error());
    if (auto set = records_.set_facts(who.subject, *facts); !set) return send_portal_error(res, 500, set.error());
    log::info("portal.real_name_verified", {{"patient_id", who.subject}});
    send_patient_json(res, 200, {{"patient_id", who.subject}, {"real_name_verified", true}, {"real_name", *name},
                                 {"id_masked", masked}});
}

}  // namespace hisgate::controlplane::portal
