#include <filesystem>

#include "controlplane/api.h"

#include <Poco/URI.h>

#include <chrono>

#include "appointment-rules/booking.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/random_id.h"
#include "common/trace.h"
#include "common/bounded_json.h"
#include "common/config.h"
#include "controlplane/api_error.h"
#include "controlplane/audit/audit_api.h"
#include "controlplane/console/console_session.h"
#include "controlplane/booking_facts.h"
#include "controlplane/json_body.h"
#include "controlplane/money/money_api.h"
#include "controlplane/vitals/vitals_api.h"
#include "controlplane/config_push.h"
#include "controlplane/release_api.h"
#include "controlplane/rollout/rollout_api.h"
#include "controlplane/triage/triage_listing.h"
#include "controlplane/fleet_api.h"
#include "controlplane/fleet_metrics.h"
#include "controlplane/alerts/alerts_api.h"
#include "controlplane/public_partition/replication_api.h"
#include "controlplane/health/health_api.h"
#include "controlplane/portal/portal_api.h"
#include "controlplane/fhir/fhir_api.h"
#include "common/query_params.h"
#include "controlplane/report_list.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

namespace {
// send_json and error_body are common/http_server.h's, which other routes (the public
// partition's search) answer with too.
void send_error_status(Poco::Net::HTTPServerResponse& res, int status, const Error& e, const std::string& task_id = "") {
    nlohmann::json body = error_body(e);
    if (!task_id.empty()) body["taskId"] = task_id;
    send_json(res, status, body);
}

// How soon a caller turned away because its hospital's agent is offline may try again: a
// hint (agents reconnect within seconds of a network blip; an outage takes longer).
constexpr int kOfflineRetryAfterSeconds = 30;

// Codes whose HTTP status is not their class's (api_error.h). A hospital that is away
// (for now: offline; until it is upgraded: outside the version window) is a service
// unavailable, not a peer's refusal (502).
constexpr CodeStatus kCodeStatuses[] = {
    {"hospital.offline", 503, kOfflineRetryAfterSeconds},
    {"hospital.incompatible", 503},
    {"stream.gone", 410},   // a replica this far behind re-seeds
    {"stream.ahead", 409},  // a replica ahead of the primary holds something else: re-seeds
    {"alert.not_firing", 409},  // resolved already: the state conflicts, nothing is wrong with the request
};

// A task id is given when the request reached the agent's queue: its answer may come later.
void send_error(Poco::Net::HTTPServerResponse& res, const Error& e, const std::string& task_id = "") {
    send_api_error(res, e, kCodeStatuses, task_id.empty() ? nlohmann::json::object() : nlohmann::json{{"taskId", task_id}});
}

// A deferred request not answered yet; `reason` says why when it is not simply slow
// ("agent.offline": it goes to the agent when it is back).
nlohmann::json pending(const std::string& task_id, const std::string& reason = "") {
    nlohmann::json out = {{"taskId", task_id}, {"status", "pending"}, {"poll", "/api/v1/tasks/" + task_id}};
    if (!reason.empty()) out["reason"] = reason;
    return out;
}


// Counts and logs an answered request by its route (the metrics label).
void count_request(const std::string& route, std::chrono::steady_clock::time_point started,
                   const Poco::Net::HTTPServerResponse& res) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    int status = static_cast<int>(res.getStatus());
    metrics::global()
        .counter("hisgate_http_requests_total", "HTTP API requests", {{"route", route}, {"status", std::to_string(status)}})
        .inc();
    metrics::global().histogram("hisgate_http_request_duration_seconds", "HTTP API latency", {{"route", route}}).observe(seconds);
    log::info("api.response", {{"route", route}, {"status", status}, {"ms", seconds * 1000}});
}

// The agent's answer; 202 with where to poll when a deferred request was not answered in time.
void send_answer(Poco::Net::HTTPServerResponse& res, const Asked& asked) {
    if (!asked.task_id.empty()) res.set("Task-Id", asked.task_id);
    if (!asked.answer && asked.answer.error().cls == ErrorClass::Timeout && asked.deferred && !asked.task_id.empty())
        return send_json(res, 202,
                         pending(asked.task_id, asked.answer.error().code == "agent.offline" ? "agent.offline" : ""));
    if (!asked.answer) return send_error(res, asked.answer.error(), asked.task_id);
    send_json(res, 200, asked.answer.value());
}

void send_forbidden(Poco::Net::HTTPServerResponse& res, const std::string& why) {
    send_json(res, 403, error_body(make_error(ErrorClass::Rejected, "auth.forbidden", why)));
}

bool is_staff(auth::Role r) { return r != auth::Role::Patient; }
// Reading the audit log is for those who act: operators and admins.
bool may_read_audit(auth::Role r) { return r == auth::Role::Operator || r == auth::Role::Admin; }
// What the audit log records: a change by anyone but a patient (a patient's own requests
// are no operator actions, and their bookings are the ledgers' to keep).
bool audited_change(auth::Role r, const std::string& method) {
    return r != auth::Role::Patient && (method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE");
}
bool may_book(auth::Role r) { return r != auth::Role::Viewer; }
// The facts the booking rules trust are written by the platform's own services and admins.
bool may_keep_records(auth::Role r) { return r == auth::Role::Admin || r == auth::Role::Service; }

// Whether `answer` (an agent's result: a report, a booking) belongs to `who`. Staff and
// services see every answer; a patient only those naming their own patient id.
// `number`: the patient's number at the answering hospital (Api::patient_number: the linked
// one, else their platform id), none when nothing there is theirs.
bool belongs_to(const auth::AccessToken& who, const nlohmann::json& answer, const std::optional<std::string>& number) {
    if (who.role != auth::Role::Patient) return true;
    if (!number || !answer.is_object() || !answer.contains("patientId") || !answer["patientId"].is_string()) return false;
    return answer["patientId"].get_ref<const std::string&>() == *number;
}

// The patient a request body names (patient.id), or "".
std::string patient_of(const nlohmann::json& body) {
    auto p = body.find("patient");
    if (p == body.end() || !p->is_object()) return "";
    auto id = p->find("id");
    return id != p->end() && id->is_string() ? id->get<std::string>() : "";
}

// Report, patient and order ids travel into HL7 fields, SQL parameters and logs; keep
// them to a safe alphabet (1 to 64 of A-Z a-z 0-9 _ -).
bool valid_report_id(const std::string& id) { return topics::valid_hospital_id(id); }
bool valid_record_id(const std::string& id) { return topics::valid_hospital_id(id); }
}  // namespace

void Api::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto incoming = TraceContext::parse(req.get("traceparent", ""));
    ScopedTrace trace(incoming ? incoming->child() : TraceContext::start());
    clear_answered_code();  // a keep-alive connection's thread answered others before
    res.set("traceparent", current_trace().traceparent());
    // The API answers JSON (and release packages): no page may run, frame or cache it.
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
    res.set("Cache-Control", "no-store");
    if (https_) res.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    if (req.getURI() == "/healthz") {  // the one route without a token: load balancers ask it
        serve_metrics(req, res);
        return;
    }
    if (money_ && money::MoneyApi::is_notify(req.getURI())) {  // the provider signs instead of a token
        money_->notify(req, res);
        return;
    }
    if (serve_public(req, res)) return;
    auth::AccessToken csrf_refused;
    auto who = authenticate(req, res, &csrf_refused);
    if (!who && !csrf_refused.subject.empty()) {
        // A change by a staff session's cookie without its CSRF header: a page of another
        // site may be acting with an operator's cookie, which is worth an audit row.
        try {
            std::string refused_path = Poco::URI(req.getURI()).getPath();
            auto refused_parts = route_segments(refused_path);
            if (auto found = route_of(refused_parts))
                audit_action(csrf_refused, found->name, refused_path, refused_parts, req, res);
        } catch (const Poco::Exception&) {
        }
    }
    if (!who) return;
    if (fhir_ && fhir::FhirApi::serves(req.getURI())) {  // its own routes, errors as OperationOutcome
        auto started = std::chrono::steady_clock::now();
        auto route = fhir_->handle(*who, req, res);
        count_request(route, started, res);
        return;
    }
    if (req.getURI() == "/metrics") {
        if (!is_staff(who->role)) return send_forbidden(res, "/metrics is for operators and services");
        publish_fleet_metrics(registry_, clock_.wall_ms());  // the fleet, as of now
        if (public_) public_partition::publish_public_metrics(*public_, *roster_);
        serve_metrics(req, res);
        return;
    }

    auto started = std::chrono::steady_clock::now();
    std::string route = "unknown";
    std::string path;
    std::vector<std::string> parts;
    [&] {
        try {
            path = Poco::URI(req.getURI()).getPath();
        } catch (const Poco::Exception&) {
            // Logged and counted (route "bad_uri"); the target itself is the caller's input.
            log::warn("api.bad_uri", {{"method", req.getMethod()}, {"uri_bytes", req.getURI().size()}});
            route = "bad_uri";
            return send_error(res, make_error(ErrorClass::BadInput, "http.bad_uri",
                                              "the request target is not a valid URI (bad percent-encoding)"));
        }
        log::info("api.request", {{"method", req.getMethod()}, {"path", path}});
        parts = route_segments(path);
        // The route, and the methods it serves (HEAD: a GET without the body).
        const char* allow = "GET, HEAD";
        auto found = route_of(parts);
        if (!found) return send_error(res, make_error(ErrorClass::NotFound, "http.not_found", "no such endpoint: " + path));
        route = found->name, allow = found->allow;
        const std::string& method = req.getMethod();
        // `allow` lists the methods as "A, B": a method is served when ", <allow>," holds " <method>,".
        bool served = (", " + std::string(allow) + ",").find(" " + method + ",") != std::string::npos;
        if (!served) {
            res.set("Allow", allow);
            return send_error_status(res, 405, make_error(ErrorClass::BadInput, "http.method_not_allowed",
                                                          method + " is not served on " + path + " (allowed: " + allow + ")"));
        }
        if (money_ && money::MoneyApi::route_of(parts)) money_->handle(route, *who, parts, req, res);
        else if (vitals_ && route.starts_with("vitals_")) vitals_->handle(route, *who, parts, req, res);
        else if (releases_ && route.starts_with("releases_")) releases_->handle(route, *who, parts, req, res);
        else if (rollouts_ && route.starts_with("rollout")) rollouts_->handle(route, *who, parts, req, res);
        else if (portal_ && (route == "me" || route == "me_real_name" || route == "me_sessions"))
            portal_->handle(route, *who, req, res);
        else if (config_ && (route.starts_with("config_") || route.starts_with("flags_")))
            config_route(route, *who, parts, req, res);
        else if (route == "hospitals") list_hospitals(res);
        else if (route == "audit" && !may_read_audit(who->role)) send_forbidden(res, "the audit log is for operators and admins");
        else if (route == "audit" && !audit_)
            send_error(res, make_error(ErrorClass::Unavailable, "audit.off", "this instance keeps no audit log"));
        else if (route == "audit") {
            auto page = audit::audit_page(*audit_, Poco::URI(req.getURI()).getRawQuery());
            if (page) send_json(res, 200, page.value());
            else send_error(res, page.error());
        }
        else if (route.starts_with("replication_") && !may_keep_records(who->role))
            send_forbidden(res, "replication is for the read replicas' service tokens");
        else if (route.starts_with("replication_") && !public_)
            send_error(res, make_error(ErrorClass::Unavailable, "public.off", "this instance serves no public partition"));
        else if (route == "replication_stream") replication_stream(*who, req, res);
        else if (route == "replication_snapshot") replication_snapshot(res);
        else if (route == "triage" && !is_staff(who->role)) send_forbidden(res, "triage is for operators and services");
        else if (route == "triage") list_triage(req, res);
        else if (route == "alerts" && !is_staff(who->role)) send_forbidden(res, "alerts are for operators and services");
        else if (route == "alert_resolve" && !may_read_audit(who->role))
            send_forbidden(res, "alerts are resolved by operators and admins");
        else if ((route == "alerts" || route == "alert_resolve") && !alerts_)
            send_error(res, make_error(ErrorClass::Unavailable, "alerts.off", "this instance keeps no alerts"));
        else if (route == "alert_resolve") {
            auto body = read_json_object(req, "the resolution");
            if (!body) return send_error(res, body.error());
            auto done = alerts::resolve_alert(*alerts_, parts[3], std::string(auth::to_string(who->role)) + ":" + who->subject,
                                              *body, clock_.wall_ms());
            if (done) send_json(res, 200, done.value());
            else send_error(res, done.error());
        }
        else if (route == "alerts") {
            auto page = alerts::alerts_page(*alerts_, Poco::URI(req.getURI()).getRawQuery());
            if (page) send_json(res, 200, page.value());
            else send_error(res, page.error());
        }
        else if (route == "health_paths" && !is_staff(who->role))
            send_forbidden(res, "the health board is for operators and services");
        else if (route == "health_paths" && !health_)
            send_error(res, make_error(ErrorClass::Unavailable, "health.off", "this instance keeps no health board"));
        else if (route == "health_paths") {
            auto paths = health::health_paths(*health_, Poco::URI(req.getURI()).getRawQuery());
            if (paths) send_json(res, 200, paths.value());
            else send_error(res, paths.error());
        }
        else if ((route == "fleet" || route == "fleet_hospital") && !is_staff(who->role))
            send_forbidden(res, "the fleet is for operators and services");
        else if (route == "fleet") {
            auto page = fleet_page(registry_, Poco::URI(req.getURI()).getRawQuery());
            if (page) with_reference_data(page.value());
            if (page) send_json(res, 200, page.value());
            else send_error(res, page.error());
        } else if (route == "fleet_hospital") {
            auto one = fleet_one(registry_, parts[3]);
            if (one) {
                nlohmann::json page = {{"hospitals", {one.value()}}};
                with_reference_data(page);
                one.value() = page["hospitals"][0];
            }
            if (one) send_json(res, 200, one.value());
            else send_error(res, one.error());
        }
        else if (route == "book" && !may_book(who->role)) send_forbidden(res, "a viewer token cannot book");
        else if (route == "book") book(*who, parts[3], req, res);
        else if (route == "report") get_report(*who, parts[3], parts[5], res);
        else if (route == "reports") list_reports(*who, parts[3], req, res);
        else if (route == "my_reports" && who->role != auth::Role::Patient)
            send_forbidden(res, "the linked hospitals' reports are a patient's own view; staff list one hospital's "
                                "(GET /api/v1/hospitals/{hospitalId}/reports?patientId=)");
        else if (route == "my_reports") my_reports(*who, req, res);
        else if (route == "task") get_task(*who, parts[3], res);
        else if (route == "patient_facts") patient_facts(*who, parts[3], req, res);
        else if (route == "trace" && !is_staff(who->role)) send_forbidden(res, "traces are for operators and services");
        else if (route == "trace") get_trace(parts[3], req, res);
        else if (route == "doctor" && (!is_staff(who->role) || !may_book(who->role)))
            send_forbidden(res, "the doctor is run by operators, admins and services");
        else if (route == "doctor") run_doctor(parts[3], res);
        else if (route != "order_payment")
            send_error(res, make_error(ErrorClass::NotFound, "http.not_found", "no such endpoint: " + path));
        else if (!may_keep_records(who->role)) send_forbidden(res, "payments are recorded by admin and service tokens");
        else order_payment(parts[3], parts[5], req, res);
    }();
    // Once answered, so the row holds the answer's status and code; a route never found
    // (404 http.not_found, a bad URI) is no action.
    if (route != "unknown" && route != "bad_uri") audit_action(*who, route, path, parts, req, res);
    count_request(route, started, res);
}

void Api::audit_action(const auth::AccessToken& who, const std::string& route, const std::string& path,
                       const std::vector<std::string>& parts, Poco::Net::HTTPServerRequest& req,
                       const Poco::Net::HTTPServerResponse& res) {
    if (!audit_ || !audited_change(who.role, req.getMethod())) return;
    audit::AuditEntry e;
    e.at_ms = clock_.wall_ms();
    e.role = std::string(auth::to_string(who.role));
    e.who = e.role + ":" + who.subject;
    e.method = req.getMethod();
    e.route = route;
    e.path = path.substr(0, 512);  // a route's path is ids and names; bounded all the same
    e.targets = audit::path_targets(all_routes(), route, parts);
    e.status = static_cast<int>(res.getStatus());
    e.code = e.status >= 400 ? answered_code() : "";
    e.from = audit::caller_address(req.clientAddress().host().toString(), req.get("X-Forwarded-For", ""), trusted_proxies_);
    // The answer went out before this row is written, and a row that cannot be written is
    // logged and counted (audit::record), not answered: the change it records has already
    // been made (or refused), and a 500 now would tell the caller it failed, inviting a
    // second attempt at something that was done. The metric is what pages an operator.
    audit::record(*audit_, e);
}

const std::vector<RouteTemplate>& Api::routes() {
    static const std::vector<RouteTemplate> table = {
        {"openapi", "/api/v1/openapi.json", "GET, HEAD"},
        {"hospitals", "/api/v1/hospitals", "GET, HEAD"},
        {"book", "/api/v1/hospitals/{hospitalId}/appointments", "POST"},
        {"report", "/api/v1/hospitals/{hospitalId}/reports/{reportId}", "GET, HEAD"},
        {"reports", "/api/v1/hospitals/{hospitalId}/reports", "GET, HEAD"},
        {"my_reports", "/api/v1/me/reports", "GET, HEAD"},
        {"task", "/api/v1/tasks/{taskId}", "GET, HEAD"},
        {"fleet", "/api/v1/fleet", "GET, HEAD"},
        {"fleet_hospital", "/api/v1/fleet/{hospitalId}", "GET, HEAD"},
        {"patient_facts", "/api/v1/patients/{patientId}/facts", "GET, HEAD, PUT"},
        {"order_payment", "/api/v1/hospitals/{hospitalId}/orders/{orderId}/payment", "PUT"},
        {"trace", "/api/v1/traces/{traceId}", "GET, HEAD"},
        {"doctor", "/api/v1/hospitals/{hospitalId}/doctor", "POST"},
        {"triage", "/api/v1/triage", "GET, HEAD"},
        {"alerts", "/api/v1/alerts", "GET, HEAD"},
        {"alert_resolve", "/api/v1/alerts/{alertId}/resolve", "POST"},
        {"health_paths", "/api/v1/health/paths", "GET, HEAD"},
        {"replication_stream", "/api/v1/replication/stream", "GET, HEAD"},
        {"replication_snapshot", "/api/v1/replication/snapshot", "GET, HEAD"},
        {"audit", "/api/v1/audit", "GET, HEAD"},
    };
    return table;
}

std::vector<RouteTemplate> Api::all_routes() {
    std::vector<RouteTemplate> all = routes();
    for (const auto* part : {&portal::PortalApi::routes(), &money::MoneyApi::routes(), &vitals::VitalsApi::routes(),
                             &ReleaseApi::routes(), &rollout::RolloutApi::routes(), &ConfigPush::routes(),
                             &console::ConsoleSession::routes()})
        all.insert(all.end(), part->begin(), part->end());
    return all;
}

std::optional<ApiRoute> Api::route_of(const std::vector<std::string>& parts) const {
    if (auto core = match_route(routes(), parts)) {
        // The trace and doctor routes ask agents through the diagnostics; without them they are not served.
        if ((core->name == "trace" || core->name == "doctor") && !diagnostics_) return std::nullopt;
        return core;
    }
    if (portal_)
        if (auto r = portal::PortalApi::route_of(parts)) return r;
    if (money_)
        if (auto r = money::MoneyApi::route_of(parts)) return r;
    if (vitals_)
        if (auto r = vitals::VitalsApi::route_of(parts)) return r;
    if (releases_)
        if (auto r = ReleaseApi::route_of(parts)) return r;
    if (rollouts_)
        if (auto r = rollout::RolloutApi::route_of(parts)) return r;
    if (config_)
        if (auto r = ConfigPush::route_of(parts)) return r;
    if (console_)
        if (auto r = console::ConsoleSession::route_of(parts)) return r;
    return std::nullopt;
}

bool Api::serve_public(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::optional<ApiRoute> found;
    try {
        found = route_of(route_segments(Poco::URI(req.getURI()).getPath()));
    } catch (const Poco::Exception&) {
        return false;  // answered as a bad URI once the caller is known
    }
    if (!found || (found->name != "openapi" && found->name != "console_session" &&
                   !(portal_ && portal::PortalApi::is_public(found->name))))
        return false;
    auto started = std::chrono::steady_clock::now();
    const std::string& method = req.getMethod();
    if ((", " + std::string(found->allow) + ",").find(" " + method + ",") == std::string::npos) {
        res.set("Allow", found->allow);
        send_error_status(res, 405, make_error(ErrorClass::BadInput, "http.method_not_allowed",
                                               method + " is not served here (allowed: " + found->allow + ")"));
    } else if (found->name == "openapi") {
        send_text(res, 200, "application/json", std::string(openapi_json()));
    } else if (found->name == "console_session") {
        // The token is the body (sign-in) or the cookie: no Authorization. Sign-in and
        // sign-out are audited as the changes they are, by whom they were.
        const std::string path = Poco::URI(req.getURI()).getPath();
        if (auto by = console_->handle(req, res)) audit_action(*by, found->name, path, route_segments(path), req, res);
    } else {
        portal_->handle_public(found->name, req, res);
    }
    count_request(found->name, started, res);
    return true;
}

std::optional<auth::AccessToken> Api::authenticate(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                                   auth::AccessToken* csrf_refused) {
    static auto& refused = metrics::global().counter("hisgate_http_unauthenticated_total",
                                                     "API requests refused for a missing or invalid token");
    std::string header = req.get("Authorization", "");
    std::optional<Error> why;
    constexpr std::string_view kScheme = "Bearer ";
    auto now = std::chrono::floor<std::chrono::seconds>(clock_.wall_now());
    // A bearer token wins; without one, a portal session cookie is the same token.
    auto cookie = header.empty() && portal_ ? portal::request_cookie(req, portal::kSessionCookie) : std::nullopt;
    if (cookie) {
        auto token = verified_tokens_.verify(keys_, *cookie, now);
        if (token && !portal::csrf_ok(req)) {
            if (csrf_refused && token->role != auth::Role::Patient) *csrf_refused = token.value();
            refused.inc();
            log::warn("api.csrf_refused", {{"method", req.getMethod()}});
            portal::send_patient_json(res, 403, error_body(make_error(ErrorClass::Rejected, "auth.csrf",
                                                                     "a change made with the session cookie needs "
                                                                     "X-CSRF-Token equal to the hg_csrf cookie")));
            return std::nullopt;
        }
        if (token && !session_usable(*token, req, res)) return std::nullopt;
        if (token) {
            portal_->refresh_session(req, res, *token);
            return std::move(token.value());
        }
        why = token.error();
    } else if (header.empty()) {
        why = make_error(ErrorClass::Rejected, "auth.missing_token", "this route needs Authorization: Bearer <token>");
    } else if (header.size() <= kScheme.size() || header.compare(0, kScheme.size(), kScheme) != 0) {
        why = make_error(ErrorClass::Rejected, "auth.invalid_token", "expected Authorization: Bearer <token>");
    } else {
        auto token = verified_tokens_.verify(keys_, std::string_view(header).substr(kScheme.size()), now);
        if (token && !session_usable(*token, req, res)) return std::nullopt;
        if (token) return std::move(token.value());
        why = token.error();
    }
    refused.inc();
    log::warn("api.unauthenticated", {{"code", why->code}, {"reason", why->message}});
    send_unauthenticated(req, res, *why);
    return std::nullopt;
}

void Api::send_unauthenticated(const Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                               const Error& why) {
    res.set("WWW-Authenticate", why.code == "auth.missing_token" ? R"(Bearer realm="hisgate")"
                                                                 : R"(Bearer realm="hisgate", error="invalid_token")");
    // A FHIR client reads errors as OperationOutcomes (issue type "login": authenticate).
    if (fhir::FhirApi::serves(req.getURI()))
        return fhir::FhirApi::send_outcome(res, 401, "login", why.message + " (" + why.code + ")");
    send_json(res, 401, error_body(why));
}

bool Api::session_usable(const auth::AccessToken& token, const Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& res) {
    if (token.session.empty()) return true;
    // A portal session's token on an instance without the portal: its session cannot be
    // checked, so it is refused like a signed-out one.
    auto open = portal_ ? portal_->session_open(token) : Result<bool>(false);
    if (!open) {
        log::error("api.session_check_failed", {{"code", open.error().code}});
        send_error(res, open.error());
        return false;
    }
    if (*open) return true;
    static auto& refused = metrics::global().counter("hisgate_http_unauthenticated_total",
                                                     "API requests refused for a missing or invalid token");
    refused.inc();
    log::warn("api.unauthenticated", {{"code", "auth.invalid_token"}, {"reason", "session signed out"}});
    send_unauthenticated(req, res, make_error(ErrorClass::Rejected, "auth.invalid_token",
                                              "the session has been signed out (or has ended): sign in again"));
    return false;
}

void Api::list_hospitals(Poco::Net::HTTPServerResponse& res) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& h : registry_.online()) {
        nlohmann::json item = h.birth;
        item["hospitalId"] = h.hospital_id;
        item["updatedAt"] = h.updated_at;
        list.push_back(std::move(item));
    }
    send_json(res, 200, {{"hospitals", list}});
}

std::optional<nlohmann::json> Api::read_json_body(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                                   const std::string& what) {
    auto doc = read_json_object(req, what);
    if (doc) return std::move(doc.value());
    send_error(res, doc.error());
    return std::nullopt;
}

void Api::book(const auth::AccessToken& who, const std::string& hospital_id, Poco::Net::HTTPServerRequest& req,
               Poco::Net::HTTPServerResponse& res) {
    // The key is checked before the body is read (bounded input before any work).
    std::optional<std::string> idempotency_key;
    if (req.has("Idempotency-Key")) {
        idempotency_key = req.get("Idempotency-Key");
        if (!valid_idempotency_key(*idempotency_key))
            return send_error(res, make_error(ErrorClass::BadInput, "idempotency.bad_key",
                                              "an Idempotency-Key is 1 to " + std::to_string(kMaxIdempotencyKey) +
                                                  " characters of A-Z a-z 0-9 - _ . :"));
    }
    auto doc = read_json_body(req, res, "the booking body");
    if (!doc) return;
    if (!topics::valid_hospital_id(hospital_id)) {
        send_error(res, make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with that id"));
        return;
    }
    auto& booking = doc.value();
    // The slot id goes to the hospital whole (its ':' included): bounded and of known characters.
    if (auto slot = booking.find("slotId"); slot != booking.end() && slot->is_string() &&
                                            !appointments::valid_slot_id(slot->get_ref<const std::string&>()))
        return send_error(res, make_error(ErrorClass::BadInput, "request.bad_field",
                                          std::string("slotId: expected ") + appointments::kSlotIdForm));
    if (who.role == auth::Role::Patient) {
        // A patient books for themself: the patient named is the token's, whatever the body says.
        if (!booking.contains("patient") || !booking["patient"].is_object()) booking["patient"] = nlohmann::json::object();
        if (booking["patient"].contains("id") && booking["patient"]["id"] != who.subject) {
            send_forbidden(res, "a patient token books only for its own patient");
            return;
        }
        booking["patient"]["id"] = who.subject;
    }
    // The same order is the same request: its id is derived from the hospital, the patient
    // and the order id, so a retry (after a 504, without a key) reaches the same task.
    constexpr const char* kType = "appointment.book";
    std::string request_id = new_id();
    if (booking.contains("orderId") && booking["orderId"].is_string() && !booking["orderId"].get<std::string>().empty()) {
        request_id = idempotency_.order_request_id(hospital_id, kType, patient_of(booking),
                                                   booking["orderId"].get<std::string>());
    }
    // The request as the caller made it: a retry is the same request even though the facts
    // added below may have changed since (its own first attempt was counted).
    RequestOrigin origin{patient_of(booking), fingerprint_of(booking)};
    if (idempotency_key) {
        IdempotencyScope scope{std::string(auth::to_string(who.role)) + ":" + who.subject,
                               "POST /api/v1/hospitals/" + hospital_id + "/appointments", *idempotency_key};
        auto claimed = idempotency_.claim(scope, origin.fingerprint, request_id);
        if (!claimed) {
            if (claimed.error().code == "idempotency.key_reused") count_retry("key_reused");
            return send_error(res, claimed.error());
        }
        count_retry(claimed->replay ? "key_replayed" : "key_new");
        request_id = claimed->request_id;
        if (claimed->replay) res.set("Idempotent-Replayed", "true");
    }
    // The rules decide on the platform's records, never on what the caller wrote.
    if (auto filled = fill_booking_facts(records_, hospital_id, booking); !filled) return send_error(res, filled.error());
    send_answer(res, router_.ask(hospital_id, kType, std::move(booking), request_id, origin));
}

void Api::patient_facts(const auth::AccessToken& who, const std::string& patient_id, Poco::Net::HTTPServerRequest& req,
                        Poco::Net::HTTPServerResponse& res) {
    if (!valid_record_id(patient_id))
        return send_error(res, make_error(ErrorClass::BadInput, "patient.bad_id",
                                          "a patient id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
    const bool writing = req.getMethod() == "PUT";
    if (writing && !may_keep_records(who.role))
        return send_forbidden(res, "a patient's facts are recorded by admin and service tokens");
    if (!writing && who.role == auth::Role::Patient && who.subject != patient_id)
        return send_error(res, make_error(ErrorClass::NotFound, "patient.unknown", "no patient with that id"));
    auto facts = records_.facts(patient_id);
    if (!facts) return send_error(res, facts.error());
    if (writing) {
        auto doc = read_json_body(req, res, "a patient's facts");
        if (!doc) return;
        ConfigReader r(*doc, "body");
        facts->real_name_verified = r.boolean("realNameVerified", facts->real_name_verified);
        facts->no_show_count = static_cast<int>(r.integer("noShowCount", facts->no_show_count, 0, 100000));
        if (auto done = r.finish(); !done)
            return send_error(res, make_error(ErrorClass::BadInput, "request.invalid", done.error().message));
        if (auto set = records_.set_facts(patient_id, *facts); !set) return send_error(res, set.error());
        log::info("api.patient_facts_set", {{"by", std::string(auth::to_string(who.role)) + ":" + who.subject}});
    }
    send_json(res, 200, {{"patientId", patient_id},
                         {"realNameVerified", facts->real_name_verified},
                         {"noShowCount", facts->no_show_count}});
}

void Api::order_payment(const std::string& hospital_id, const std::string& order_id, Poco::Net::HTTPServerRequest& req,
                        Poco::Net::HTTPServerResponse& res) {
    if (!topics::valid_hospital_id(hospital_id))
        return send_error(res, make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with that id"));
    if (!valid_record_id(order_id))
        return send_error(res, make_error(ErrorClass::BadInput, "order.bad_id",
                                          "an order id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
    auto doc = read_json_body(req, res, "an order's payment");
    if (!doc) return;
    ConfigReader r(*doc, "body");
    std::string patient_id = r.string("patientId");
    OrderPayment paid;
    paid.prepaid = r.boolean("prepaid", false);
    paid.deposit_cents = r.integer("depositCents", 0, 0, INT64_MAX);
    if (auto done = r.finish(); !done)
        return send_error(res, make_error(ErrorClass::BadInput, "request.invalid", done.error().message));
    if (!valid_record_id(patient_id))
        return send_error(res, make_error(ErrorClass::BadInput, "patient.bad_id",
                                          "body.patientId: a patient id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
    if (auto set = records_.set_payment(hospital_id, patient_id, order_id, paid); !set) return send_error(res, set.error());
    send_json(res, 200, {{"hospitalId", hospital_id}, {"orderId", order_id}, {"patientId", patient_id},
                         {"prepaid", paid.prepaid}, {"depositCents", paid.deposit_cents}});
}

void Api::get_report(const auth::AccessToken& who, const std::string& hospital_id, const std::string& report_id,
                     Poco::Net::HTTPServerResponse& res) {
    if (!topics::valid_hospital_id(hospital_id)) {
        send_error(res, make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with that id"));
        return;
    }
    if (!valid_report_id(report_id)) {
        send_error(res, make_error(ErrorClass::BadInput, "report.bad_id",
                                   "a report id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
        return;
    }
    const auto number = patient_number(who, hospital_id);
    if (who.role == auth::Role::Patient && !number)  // nothing at that hospital is theirs: not asked
        return send_error(res, make_error(ErrorClass::NotFound, "report.not_found", "no report with that id"));
    RequestOrigin origin{who.role == auth::Role::Patient ? who.subject : "", ""};
    auto asked = router_.ask(hospital_id, "report.get", {{"reportId", report_id}}, "", origin);
    if (asked.answer && !belongs_to(who, asked.answer.value(), number)) {
        // Another patient's report is answered as one that does not exist.
        send_error(res, make_error(ErrorClass::NotFound, "report.not_found", "no report with that id"));
        return;
    }
    send_answer(res, asked);
    if (asked.answer) note_delivered(asked.task_id);
}

void Api::list_reports(const auth::AccessToken& who, const std::string& hospital_id, Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) {
    if (!topics::valid_hospital_id(hospital_id))
        return send_error(res, make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with that id"));
    auto q = read_reports_query(Poco::URI(req.getURI()).getRawQuery());
    if (!q) return send_error(res, q.error());
    std::string patient = q->patient_id;
    if (who.role == auth::Role::Patient) {
        if (!patient.empty() && patient != who.subject)
            return send_forbidden(res, "a patient token lists only its own reports");
        patient = who.subject;
    }
    if (!valid_record_id(patient))
        return send_error(res, make_error(ErrorClass::BadInput, "patient.bad_id",
                                          "patientId: a patient id is 1 to 64 characters of A-Z a-z 0-9 _ -"));
    RequestOrigin origin{who.role == auth::Role::Patient ? who.subject : "", ""};
    // A patient linked to this hospital is asked for by the hospital's own number; one not
    // linked (a hospital the caller named) by the platform's id, as before the links, unless
    // that is another patient's number there: then nothing is asked.
    std::string asked_for = patient;
    if (who.role == auth::Role::Patient) {
        auto number = patient_number(who, hospital_id);
        if (!number) return send_json(res, 200, {{"patientId", patient}, {"reports", nlohmann::json::array()}});
        asked_for = *number;
    }
    auto asked = router_.ask(hospital_id, "report.list", {{"patientId", asked_for}}, "", origin);
    if (!asked.answer) return send_answer(res, asked);  // 202 with the task while the hospital is slow
    auto page = reports_page(asked.answer.value(), patient, *q);
    if (!page) {
        log::error("api.reports_bad_answer", {{"hospital_id", hospital_id}, {"error", page.error().message}});
        return send_error(res, page.error(), asked.task_id);
    }
    if (!asked.task_id.empty()) res.set("Task-Id", asked.task_id);
    send_json(res, 200, page.value());
    note_delivered(asked.task_id);
}

std::optional<std::string> Api::patient_number(const auth::AccessToken& who, const std::string& hospital_id) {
    if (!links_ || who.role != auth::Role::Patient) return who.subject;
    auto linked = links_->his_patient_id(who.subject, hospital_id);
    if (linked && *linked) return *linked;
    auto holder = linked ? links_->patient_of(hospital_id, who.subject) : Result<std::optional<std::string>>(linked.error());
    if (!holder) {
        // Unreadable: nothing is asked (the platform's id may be another patient's number there).
        log::error("api.link_unreadable", {{"hospital_id", hospital_id}, {"error", holder.error().describe()}});
        return std::nullopt;
    }
    if (*holder && **holder != who.subject) return std::nullopt;
    return who.subject;
}

void Api::my_reports(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (!links_)
        return send_error(res, make_error(ErrorClass::Unavailable, "links.off", "this instance keeps no patient links"));
    auto given = read_query(Poco::URI(req.getURI()).getRawQuery(), "reports.bad_query", 256, {"limit"});
    if (!given) return send_error(res, given.error());
    ReportsQuery q;
    auto limit = query_int(*given, "reports.bad_query", "limit", 1, kMaxReportsPage, q.limit);
    if (!limit) return send_error(res, limit.error());
    q.limit = *limit;
    auto links = links_->links_of(who.subject);
    if (!links) return send_error(res, links.error());
    nlohmann::json body = {{"patientId", who.subject}, {"hospitals", nlohmann::json::array()}};
    if (links->empty()) {
        // Nothing is asked: no hospital has told the platform this patient's number yet.
        body["hint"] = {{"code", "reports.no_linked_hospital"},
                        {"message", "no hospital has linked you yet: your reports show here once a hospital has "
                                    "confirmed a booking you made through the portal"}};
        return send_json(res, 200, body);
    }
    RequestOrigin origin{who.subject, ""};
    auto asked = ask_each_link<Asked>(*links, [&](const PatientLink& l) {
        return router_.ask(l.hospital_id, "report.list", {{"patientId", l.his_patient_id}}, "", origin);
    });
    for (size_t i = 0; i < links->size(); ++i) {
        const std::string& hospital = (*links)[i].hospital_id;
        const Asked& a = asked[i];
        nlohmann::json part = {{"hospitalId", hospital}};
        if (!a.task_id.empty()) part["taskId"] = a.task_id;
        if (a.answer) {
            auto page = reports_page(a.answer.value(), who.subject, q);
            if (page) {
                part["status"] = "listed";
                part["reports"] = (*page)["reports"];
                if (page->contains("nextCursor")) part["nextCursor"] = (*page)["nextCursor"];
                note_delivered(a.task_id);
            } else {
                log::error("api.reports_bad_answer", {{"hospital_id", hospital}, {"error", page.error().message}});
                part["status"] = "failed";
                part["error"] = {{"code", page.error().code}, {"message", page.error().message}};
            }
        } else if (a.answer.error().cls == ErrorClass::Timeout && a.deferred && !a.task_id.empty()) {
            part["status"] = "on_its_way";  // GET /api/v1/tasks/{taskId} has the whole list when it comes
            part["poll"] = "/api/v1/tasks/" + a.task_id;
        } else {
            part["status"] = "failed";
            part["error"] = {{"code", a.answer.error().code}, {"message", a.answer.error().message}};
        }
        body["hospitals"].push_back(std::move(part));
    }
    send_json(res, 200, body);
}

void Api::replication_stream(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res) {
    auto q = public_partition::parse_stream_query(Poco::URI(req.getURI()).getRawQuery());
    if (!q) return send_error(res, q.error());
    roster_->heard(who.subject, q->after);
    auto page = public_partition::stream_page(*public_, *q, clock_);
    if (!page) return send_error(res, page.error());
    send_text(res, 200, "application/json", *page);
}

void Api::with_reference_data(nlohmann::json& page) {
    if (!public_) return;
    // The fleet stays readable when the public partition is not: its part is then null.
    auto by_hospital = public_partition::reference_by_hospital(*public_);
    for (auto& h : page["hospitals"]) {
        h["reference"] = nullptr;
        if (!by_hospital) continue;
        if (auto it = by_hospital->find(h.value("hospitalId", "")); it != by_hospital->end()) h["reference"] = it->second;
    }
    auto summary = public_partition::public_summary(*public_, *roster_);
    page["publicPartition"] = summary ? summary.value() : nlohmann::json(nullptr);
}

void Api::replication_snapshot(Poco::Net::HTTPServerResponse& res) {
    // A file of its own per request (two replicas may seed at once), removed once sent.
    const std::string path = scratch_dir_ + "/public-snapshot-" + random_hex(8) + ".db";
    auto written = public_->write_snapshot(path);
    if (!written) {
        std::filesystem::remove(path);
        return send_error(res, written.error());
    }
    res.set("Stream-Position", std::to_string(written->pos));
    res.set("Stream-Checksum", public_partition::checksum_text(written->checksum));
    try {
        res.sendFile(path, "application/vnd.sqlite3");
    } catch (const Poco::Exception& e) {
        log::warn("api.snapshot_not_sent", {{"error", e.displayText()}});
    }
    std::error_code ec;
    std::filesystem::remove(path, ec);
    for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
}

void Api::list_triage(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (!triage_book_ || !triage_rules_)
        return send_error(res, make_error(ErrorClass::Unavailable, "triage.off", "this instance keeps no error book"));
    std::vector<std::pair<std::string, std::string>> params;
    try {
        for (auto& p : Poco::URI(req.getURI()).getQueryParameters()) params.push_back(std::move(p));
    } catch (const Poco::Exception&) {
        return send_error(res, make_error(ErrorClass::BadInput, "triage.bad_query",
                                          "the query is not valid percent-encoding"));
    }
    auto q = triage::read_triage_query(params, *triage_rules_, clock_.wall_ms());
    if (!q) return send_error(res, q.error());
    auto groups = triage_book_->open_groups(*q);
    if (!groups) return send_error(res, groups.error());
    send_json(res, 200, triage::triage_listing(*groups, *q));
}

void Api::get_task(const auth::AccessToken& who, const std::string& task_id, Poco::Net::HTTPServerResponse& res) {
    if (task_id.size() > limits::kMessageIdBytes) {
        send_error(res, make_error(ErrorClass::BadInput, "task.bad_id",
                                   "a task id is at most " + std::to_string(limits::kMessageIdBytes) + " bytes"));
        return;
    }
    auto found = results_.find(task_id);
    // A patient sees only tasks made for them (pending, answered, failed or expired), and
    // of an answered one only a result that names them (a report id can name another
    // patient's report).
    if (found && who.role == auth::Role::Patient) {
        if (found->owner != who.subject) found.reset();
        // A report list was asked for the owner's own patient id (list_reports): its result names nobody.
        else if (auto shown = found->to_json();
                 found->type != "report.list" && shown.contains("result") &&
                 !belongs_to(who, shown["result"], patient_number(who, found->hospital_id)))
            found.reset();
    }
    if (!found) {
        send_error(res, make_error(ErrorClass::NotFound, "task.unknown", "no task with that id"));
        return;
    }
    if (found->contents_dropped) {
        res.set("Task-Id", task_id);
        return send_error_status(res, 410, found->outcome().error(), task_id);
    }
    send_json(res, found->finished() ? 200 : 202, found->finished() ? found->to_json() : pending(task_id));
    // Handed to whom it is for: the patient it was made for, or anyone for a task of no patient's.
    if (found->answered && (found->owner.empty() || found->owner == who.subject)) note_delivered(task_id);
}

void Api::note_delivered(const std::string& task_id) {
    if (auto noted = results_.mark_delivered(task_id); !noted)
        log::error("api.delivery_not_noted", {{"task_id", task_id}, {"error", noted.error().describe()}});
}

void Api::get_trace(const std::string& trace_id, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::vector<std::string> hospitals;
    Poco::URI::QueryParameters query;
    try {
        query = Poco::URI(req.getURI()).getQueryParameters();
    } catch (const Poco::Exception&) {
        return send_error(res, make_error(ErrorClass::BadInput, "http.bad_uri", "the query is not valid (bad percent-encoding)"));
    }
    for (const auto& [name, value] : query) {
        if (name != "hospitals")
            return send_error(res, make_error(ErrorClass::BadInput, "query.unknown",
                                              "unknown query parameter \"" + name.substr(0, 64) + "\" (expected: hospitals)"));
        for (size_t i = 0; i <= value.size();) {
            size_t comma = value.find(',', i);
            if (comma == std::string::npos) comma = value.size();
            if (comma > i) hospitals.push_back(value.substr(i, comma - i));
            if (hospitals.size() > RemoteDiagnostics::kMaxHospitals) break;
            i = comma + 1;
        }
    }
    auto found = diagnostics_->trace(trace_id, std::move(hospitals));
    if (!found) return send_error(res, found.error());
    send_json(res, 200, found.value());
}

void Api::config_route(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                       Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    nlohmann::json body;  // null: a GET or DELETE carries none
    if (req.getMethod() == "POST" || req.getMethod() == "PUT") {
        auto doc = read_json_body(req, res, "the configuration body");
        if (!doc) return;
        body = std::move(doc.value());
    }
    auto answer = config_->handle(route, who, parts, body);
    if (!answer && answer.error().code == "auth.forbidden") return send_forbidden(res, answer.error().message);
    if (!answer) return send_error(res, answer.error());
    send_json(res, 200, answer.value());
}

void Api::run_doctor(const std::string& hospital_id, Poco::Net::HTTPServerResponse& res) {
    if (!topics::valid_hospital_id(hospital_id))
        return send_error(res, make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with that id"));
    auto findings = diagnostics_->doctor(hospital_id);
    if (!findings) return send_error(res, findings.error());
    send_json(res, 200, findings.value());
}

}  // namespace hisgate::controlplane
