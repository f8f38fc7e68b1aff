#include "controlplane/console/console_session.h"

#include "common/bounded_json.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/random_id.h"
#include "common/trace.h"
#include "controlplane/audit/audit_api.h"

namespace hisgate::controlplane::console {

namespace {

// The body is one token, a few hundred bytes as `hisgate token issue` makes them: 4 KiB
// bounds it before any parsing (the token's own 4 KiB bound is verify_token's).
constexpr size_t kMaxConsoleBody = 4096;

void send_console_error(Poco::Net::HTTPServerResponse& res, int status, const std::string& code,
                        const std::string& message) {
    portal::send_patient_json(res, status, error_body(make_error(ErrorClass::Rejected, code, message)));
}

bool console_role(auth::Role r) { return r == auth::Role::Viewer || r == auth::Role::Operator || r == auth::Role::Admin; }

void count_console(const char* outcome) {
    metrics::global().counter("hisgate_console_sign_ins_total", "Console sign-in steps by outcome", {{"outcome", outcome}}).inc();
}

std::chrono::sys_seconds now_s(Clock& clock) { return std::chrono::floor<std::chrono::seconds>(clock.wall_now()); }

}  // namespace

const std::vector<RouteTemplate>& ConsoleSession::routes() {
    static const std::vector<RouteTemplate> table = {
        {"console_session", "/api/v1/console/session", "GET, HEAD, POST, DELETE"},
    };
    return table;
}

std::optional<auth::AccessToken> ConsoleSession::handle(Poco::Net::HTTPServerRequest& req,
                                                        Poco::Net::HTTPServerResponse& res) {
    const std::string& m = req.getMethod();
    if (m == "POST") return sign_in(req, res);
    if (m == "DELETE") return sign_out(req, res);
    show(req, res);
    return std::nullopt;
}

std::optional<auth::AccessToken> ConsoleSession::sign_in(Poco::Net::HTTPServerRequest& req,
                                                         Poco::Net::HTTPServerResponse& res) {
    const std::string from = audit::caller_address(req.clientAddress().host().toString(), req.get("X-Forwarded-For", ""),
                                                   settings_.trusted_proxies);
    auto wait = limiter_.take("console-sign-in:" + from, {settings_.sign_ins_per_address, kSignInWindow});
    if (!wait) {  // the shared count cannot be read: refused, never let through uncounted
        res.setKeepAlive(false);  // the body is unread
        send_console_error(res, 503, wait.error().code, wait.error().message);
        return std::nullopt;
    }
    if (*wait) return refuse_limited(req, res, **wait);
    auto text = read_body(req, kMaxConsoleBody, "the console sign-in");
    if (!text) {
        res.setKeepAlive(false);  // the rest of the body is unread, or its framing is broken
        send_console_error(res, text.error().code == "http.body_too_large" ? 413 : 400, text.error().code,
                           text.error().message);
        return std::nullopt;
    }
    auto doc = parse_bounded_json(*text, {"the console sign-in", kMaxConsoleBody, "http.body"});
    if (!doc || !doc->is_object() || doc->size() != 1 || !doc->contains("token") || !(*doc)["token"].is_string()) {
        send_console_error(res, 400, "request.invalid", "the body must be {\"token\": \"<staff bearer token>\"}");
        return std::nullopt;
    }
    const auto now = now_s(clock_);
    auto presented = auth::verify_token(keys_, (*doc)["token"].get_ref<const std::string&>(), now);
    if (presented) {
        // A session's own token may be presented only while its session is open.
        auto open = portal_.session_open(*presented);
        if (!open) {
            send_console_error(res, 500, open.error().code, open.error().message);
            return std::nullopt;
        }
        if (!*open) presented = make_error(ErrorClass::Rejected, "auth.invalid_token", "the session has been signed out");
    }
    if (!presented) {
        count_console("refused");
        log::warn("console.sign_in_refused", {{"code", presented.error().code}});
        // Not audited: nobody is known, and an anonymous caller must not be able to grow
        // an append-only table at will.
        send_console_error(res, 401, "auth.invalid_token", presented.error().message);
        return std::nullopt;
    }
    if (!console_role(presented->role)) {
        count_console("role_refused");
        send_console_error(res, 403, "console.role",
                           "the console is for viewer, operator and admin tokens, not " +
                               std::string(auth::to_string(presented->role)) + " ones");
        if (presented->role == auth::Role::Patient) return std::nullopt;  // a patient's request is no operator action
        return presented.value();
    }
    // Never past the presented token's own expiry.
    const auto expires = std::min(now + settings_.session_ttl, presented->expires);
    auto session = sessions_.open_session(presented->subject, expires);
    if (!session) {
        send_console_error(res, 500, session.error().code, session.error().message);
        return presented.value();
    }
    auto token = auth::issue_token(keys_, {presented->role, presented->subject, expires, *session}, now);
    if (!token) {
        send_console_error(res, 500, token.error().code, token.error().message);
        return presented.value();
    }
    const std::string csrf = random_hex(16);
    const auto ttl = expires - now;
    portal_.set_session_cookies(res, *token, csrf, ttl);
    count_console("signed_in");
    log::info("console.signed_in", {{"role", std::string(auth::to_string(presented->role))}, {"subject", presented->subject}});
    portal::send_patient_json(res, 200, {{"role", auth::to_string(presented->role)},
                                         {"subject", presented->subject},
                                         {"csrf_token", csrf},
                                         {"expires_in_s", ttl.count()}});
    return presented.value();
}

std::optional<auth::AccessToken> ConsoleSession::refuse_limited(Poco::Net::HTTPServerRequest& req,
                                                                Poco::Net::HTTPServerResponse& res,
                                                                std::chrono::seconds wait) {
    count_console("rate_limited");
    log::warn("console.sign_in_rate_limited", {{"retry_after_s", wait.count()}});
    // Whom the refusal was of, for the audit log: the body's token when it verifies as staff.
    // Nothing else of the body is used: no session is looked up or opened.
    std::optional<auth::AccessToken> who;
    if (auto text = read_body(req, kMaxConsoleBody, "the console sign-in"); text) {
        auto doc = parse_bounded_json(*text, {"the console sign-in", kMaxConsoleBody, "http.body"});
        if (doc && doc->is_object() && doc->contains("token") && (*doc)["token"].is_string())
            if (auto token = auth::verify_token(keys_, (*doc)["token"].get_ref<const std::string&>(), now_s(clock_));
                token && console_role(token->role))
                who = token.value();
    } else {
        res.setKeepAlive(false);  // the rest of the body is unread
    }
    res.set("Retry-After", std::to_string(wait.count()));
    auto body = error_body(make_error(ErrorClass::Unavailable, "auth.rate_limited",
                                      "too many sign-in tries from this address: wait and try again"));
    body["retry_after_s"] = wait.count();
    portal::send_patient_json(res, 429, body);
    return who;
}

void ConsoleSession::show(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto cookie = portal::request_cookie(req, portal::kSessionCookie);
    if (!cookie || cookie->empty())
        return send_console_error(res, 401, "console.no_session", "not signed in to the console");
    const auto now = now_s(clock_);
    auto token = auth::verify_token(keys_, *cookie, now);
    if (token && !console_role(token->role))
        return send_console_error(res, 401, "console.no_session", "not signed in to the console");
    if (token) {
        auto open = portal_.session_open(*token);
        if (!open) return send_console_error(res, 500, open.error().code, open.error().message);
        if (!*open) token = make_error(ErrorClass::Rejected, "auth.invalid_token", "the session has been signed out");
    }
    if (!token) return send_console_error(res, 401, "auth.invalid_token", token.error().message);
    auto csrf = portal::request_cookie(req, portal::kCsrfCookie);
    portal::send_patient_json(res, 200, {{"role", auth::to_string(token->role)},
                                         {"subject", token->subject},
                                         {"csrf_token", csrf.value_or("")},
                                         {"expires_in_s", (token->expires - now).count()}});
}

std::optional<auth::AccessToken> ConsoleSession::sign_out(Poco::Net::HTTPServerRequest& req,
                                                          Poco::Net::HTTPServerResponse& res) {
    auto cookie = portal::request_cookie(req, portal::kSessionCookie);
    std::optional<auth::AccessToken> who;
    if (cookie && !cookie->empty())
        if (auto token = auth::verify_token(keys_, *cookie, now_s(clock_)); token && token->role != auth::Role::Patient)
            who = token.value();
    // Signing out changes state: a page of another site must not sign the operator out.
    if (cookie && !portal::csrf_ok(req)) {
        send_console_error(res, 403, "auth.csrf", "X-CSRF-Token must equal the hg_csrf cookie");
        return who;
    }
    if (who && !who->session.empty()) {
        if (auto closed = sessions_.close_session(who->session); !closed) {
            send_console_error(res, 500, closed.error().code, closed.error().message);
            return who;
        }
        count_console("signed_out");
        log::info("console.signed_out", {{"role", std::string(auth::to_string(who->role))}, {"subject", who->subject}});
    }
    // Cleared whatever the cookie held: a tampered or expired one has nothing left to close.
    portal_.set_session_cookies(res, "", "", std::chrono::seconds(0));
    portal::send_patient_json(res, 200, {{"signed_out", true}});
    return who;
}

}  // namespace hisgate::controlplane::console
