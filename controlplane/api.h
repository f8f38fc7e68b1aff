// The control plane's HTTP API (JSON). Every response carries a traceparent header; an
// error body is always {"code", "message", "traceId"}.
//
//   GET /api/v1/hospitals                                  hospitals whose agents are online
//   GET /api/v1/fleet, GET /api/v1/fleet/{hospitalId}      every hospital ever seen, with filters and
//                                                          cursor pages (controlplane/fleet_api.h): staff
//                                                          and service tokens
//   GET /api/v1/hospitals/{hospitalId}/reports/{reportId}  one lab report, from the HIS; reports are
//                                                          deferred work at the agent, so a report not
//                                                          ready in time is 202 {taskId, status, poll}
//   GET /api/v1/tasks/{taskId}                             a request's answer once it came: 200, or 202
//                                                          while pending; 410 task.contents_dropped once a
//                                                          report was delivered and its contents dropped
//                                                          (controlplane/task_results.h)
//
// While a hospital's agent is offline a real-time request is 503 hospital.offline with
// Retry-After, at once; a deferred one (a report) is 202 {taskId, status, poll, reason:
// "agent.offline"} and goes to the agent when it is back (controlplane/router.h).
//   POST /api/v1/hospitals/{hospitalId}/appointments       book (body: agent/booking_request.h);
//                                                          422 with the patient's words when a rule refuses
//
// Retries are safe (controlplane/idempotency_store.h): a POST may carry an Idempotency-Key
// (1 to 255 characters of A-Z a-z 0-9 - _ . :, else 400 idempotency.bad_key); a repeat with
// the same key and body is the same task (422 idempotency.key_reused with another body).
// A booking's request id is derived from the hospital, the patient and its orderId, so the
// same order sent again is the same task even without a key. Every answer about a task
// names it in a Task-Id header; a repeat of a key also carries Idempotent-Replayed: true.
//   GET /api/v1/patients/{patientId}/facts                 what the booking rules take as the patient's
//                                                          facts: staff, or the patient themself
//   PUT /api/v1/patients/{patientId}/facts                 {"realNameVerified", "noShowCount"} (either;
//                                                          the other stays): admin and service tokens
//   PUT /api/v1/hospitals/{hospitalId}/orders/{orderId}/payment
//                                                          {"patientId", "prepaid", "depositCents"}: what
//                                                          was paid towards an order; admin and service
//
// A booking's rule facts (real-name verification, missed visits, bookings already made,
// what was paid) are the platform's records (controlplane/booking_facts.h); whatever the
// caller writes in those fields is replaced before the booking goes to the hospital.
//   GET /api/v1/traces/{traceId}?hospitals=H001,H002      the lines of a trace from this instance and from
//                                                          each agent (over MQTT; without hospitals: those
//                                                          the trace went to): staff and services
//   POST /api/v1/hospitals/{hospitalId}/doctor             the agent's doctor, its read-only checks
//                                                          (controlplane/remote_diagnostics.h): operators,
//                                                          admins and services
//   GET /api/v1/triage?owner=X&since=T&limit=N             open errors grouped by owning team, with counts and
//                                                          a sample trace id (controlplane/triage/triage_listing.h):
//                                                          staff tokens; a patient's is 403
//   GET /api/v1/alerts?state=firing|resolved&hospital=H    alerts of the fleet (controlplane/alerts/alerts_api.h):
//                                                          staff tokens; a patient's is 403
//   GET /api/v1/health/paths?hospital=H                    availability per hospital per path over 1 h and 24 h
//                                                          (controlplane/health/health_api.h): staff tokens
//   GET /api/v1/replication/stream, /api/v1/replication/snapshot
//                                                          what the read replicas follow the public
//                                                          partition's primary by
//                                                          (controlplane/public_partition/replication_api.h):
//                                                          service and admin tokens
//   GET /api/v1/releases, /api/v1/releases/{version}/manifest, /api/v1/releases/{version}/packages/{name}
//                                                          the published releases, packages with HTTP
//                                                          Range (controlplane/release_api.h): staff and
//                                                          service tokens
//   GET/POST /api/v1/rollouts, GET /api/v1/rollouts/{id}, POST /api/v1/rollouts/{id}/pause|resume|abort
//                                                          releases taken to the fleet in waves
//                                                          (controlplane/rollout/rollout_api.h): staff
//                                                          read, operators and admins start and change
//   POST /api/v1/config/push, GET /api/v1/hospitals/{hospitalId}/config[/{N}],
//   POST /api/v1/hospitals/{hospitalId}/config/rollback, GET /api/v1/flags, PUT|DELETE /api/v1/flags/{name}
//                                                          remote configuration and feature flags
//                                                          (controlplane/config_push.h): staff read, operators,
//                                                          admins and services write
//   GET /metrics (staff and service tokens), GET /healthz (no token)
//   GET /api/v1/openapi.json                               the OpenAPI 3 document of /api/v1 (no token)
//   /api/v1/auth/*, /api/v1/me                             the patient portal (controlplane/portal/portal_api.h)
//   GET/POST/DELETE /api/v1/console/session                the operator console's sign-in
//                                                          (controlplane/console/console_session.h)
//   GET /api/v1/audit?who=&route=&since_ms=&until_ms=      the operator audit log, newest first
//                                                          (controlplane/audit/audit_api.h): operator
//                                                          and admin tokens
//   GET /api/v1/hospitals/{h}/reports                      a patient's reports, paged (controlplane/report_list.h)
//   GET /fhir/r4/...                                       the FHIR R4 read facade: any signed-in role
//                                                          (controlplane/fhir/fhir_api.h, docs/fhir.md)
//
// Every answer carries the security headers: Content-Security-Policy (default-src 'none'),
// X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, X-Frame-Options: DENY,
// Cache-Control: no-store (answers are patient data or live state; none may be cached),
// and Strict-Transport-Security when the API is reached over HTTPS.
//
// Every route but /healthz, the OpenAPI document and sign-in needs "Authorization: Bearer
// <token>" (auth/access_token.h), or, for a patient signed in through the portal, the
// hg_session cookie; a POST, PUT, PATCH or DELETE by cookie also needs X-CSRF-Token equal
// to the hg_csrf cookie (403 auth.csrf):
// 401 without a valid one, 403 when the role may not use the route. A patient token sees
// only its own patient's reports, tasks and bookings; another patient's answer is 404, as
// if it did not exist. Viewers read; operators, admins and services also book. A staff
// session cookie (console sign-in) is taken exactly like a staff bearer token.
//
// Every POST, PUT, PATCH or DELETE by a staff or service token (refused ones too, a CSRF
// refusal included), and every console sign-in and sign-out, is written to the audit log
// here, in handle(), once the route has answered (controlplane/audit/audit_log.h).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "auth/access_token.h"
#include "common/clock.h"
#include "common/ip_range.h"
#include "controlplane/alerts/alert_store.h"
#include "controlplane/audit/audit_log.h"
#include "controlplane/api_route.h"
#include "controlplane/health/path_health_store.h"
#include "controlplane/hospital_registry.h"
#include "controlplane/idempotency_store.h"
#include "controlplane/patient_links.h"
#include "controlplane/patient_records.h"
#include "controlplane/public_partition/public_primary.h"
#include "controlplane/public_partition/public_status.h"
#include "controlplane/remote_diagnostics.h"
#include "controlplane/router.h"
#include "controlplane/triage/error_book.h"

namespace hisgate::controlplane::money {
class MoneyApi;
}
namespace hisgate::controlplane::vitals {
class VitalsApi;
}
namespace hisgate::controlplane {
class ReleaseApi;
class ConfigPush;
}
namespace hisgate::controlplane::rollout {
class RolloutApi;
}
namespace hisgate::controlplane::portal {
class PortalApi;
}
namespace hisgate::controlplane::fhir {
class FhirApi;
}
namespace hisgate::controlplane::console {
class ConsoleSession;
}

namespace hisgate::controlplane {

class Api {
public:
    Api(const HospitalRegistry& registry, Router& router, TaskResults& results, auth::KeyRing& keys,
        IdempotencyStore& idempotency, PatientRecords& records, Clock& clock = SystemClock::instance())
        : registry_(registry), router_(router), results_(results), keys_(keys), idempotency_(idempotency),
          records_(records), clock_(clock) {}
    void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    // The error book GET /api/v1/triage lists, and the rules that route into it (their
    // teams are the owners a query may name). Set before serving; without it the route is 503.
    void set_triage(triage::ErrorBook* book, const triage::OwnerRules* rules) {
        triage_book_ = book;
        triage_rules_ = rules;
    }

    // What the trace and doctor routes ask agents through. Set before serving; without it
    // those routes are 404.
    void set_diagnostics(RemoteDiagnostics* diagnostics) { diagnostics_ = diagnostics; }
    // The alert store GET /api/v1/alerts lists. Set before serving; without it the route is 503.
    void set_alerts(alerts::AlertStore* store) { alerts_ = store; }
    // The health board GET /api/v1/health/paths reads. Set before serving; without it 503.
    void set_health(health::PathHealthStore* store) { health_ = store; }

    // The public partition's primary the replication routes serve, and a directory for
    // the snapshot files they write. Set before serving; without it those routes are 503.
    void set_public(public_partition::PublicPrimary* primary, std::string scratch_dir) {
        public_ = primary;
        scratch_dir_ = std::move(scratch_dir);
        roster_ = std::make_unique<public_partition::ReplicaRoster>(clock_);
    }

    // The money and booking routes (controlplane/money/money_api.h). Set before serving;
    // without it those routes are 404.
    void set_money(money::MoneyApi* money) { money_ = money; }
    // The bedside vitals routes (controlplane/vitals/vitals_api.h). Set before serving.
    void set_vitals(vitals::VitalsApi* vitals) { vitals_ = vitals; }
    // The release repository's routes (controlplane/release_api.h). Set before serving;
    // without it those routes are 404.
    void set_releases(ReleaseApi* releases) { releases_ = releases; }
    // The rollouts' routes (controlplane/rollout/rollout_api.h). Set before serving;
    // without it those routes are 404.
    void set_rollouts(rollout::RolloutApi* rollouts) { rollouts_ = rollouts; }
    // Remote configuration and feature flags (controlplane/config_push.h). Set before
    // serving; without it those routes are 404.
    void set_config(ConfigPush* config) { config_ = config; }

    // The patient portal's routes (controlplane/portal/portal_api.h): sign-in, /me. Set
    // before serving; without it those routes are 404.
    void set_portal(portal::PortalApi* portal) { portal_ = portal; }
    // The FHIR R4 read facade, /fhir/r4/... (controlplane/fhir/fhir_api.h): any signed-in
    // role. Set before serving; without it those paths are 404.
    void set_fhir(fhir::FhirApi* fhir) { fhir_ = fhir; }
    // The console's sign-in (controlplane/console/console_session.h). Set before serving;
    // without it the route is 404.
    void set_console(console::ConsoleSession* console) { console_ = console; }
    // The audit log operator actions are written to, and the proxies whose X-Forwarded-For
    // names the caller (audit::caller_address). Set before serving; without it nothing is
    // recorded and GET /api/v1/audit is 503 audit.off.
    void set_audit(audit::AuditLog* log, std::vector<IpRange> trusted_proxies) {
        audit_ = log;
        trusted_proxies_ = std::move(trusted_proxies);
    }
    // The links of portal patients to hospitals' patient numbers (controlplane/patient_links.h):
    // GET /api/v1/me/reports asks only the linked hospitals, and a patient's report or list at
    // a linked hospital is asked for by that hospital's number. Set before serving; without
    // it /api/v1/me/reports is 503 links.off and the per-hospital routes use the platform's id.
    void set_patient_links(PatientLinks* links) { links_ = links; }
    // The API is reached over HTTPS (a TLS-terminating proxy): answers carry HSTS.
    void set_https(bool https) { https_ = https; }

    // The routes this part serves itself (controlplane/api_route.h), and every route of
    // /api/v1 a control plane with every part set serves: what GET /api/v1/openapi.json
    // (controlplane/openapi.json) documents, one operation per route and method.
    static const std::vector<RouteTemplate>& routes();
    static std::vector<RouteTemplate> all_routes();
    // The OpenAPI 3 document of /api/v1 (controlplane/openapi.json, built in).
    static std::string_view openapi_json();

private:
    // The route of a path's segments among the parts set, or nothing.
    std::optional<ApiRoute> route_of(const std::vector<std::string>& parts) const;
    // Serves a route that needs no token (the OpenAPI document, sign-in); false when the
    // request is for another.
    bool serve_public(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    // The caller's token, or the 401 already sent. A change made with a valid session cookie
    // but no X-CSRF-Token is refused here (403 auth.csrf); `csrf_refused` then gets its token.
    std::optional<auth::AccessToken> authenticate(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                                  auth::AccessToken* csrf_refused = nullptr);
    // Writes an answered request of `who` on `route` to the audit log (when one is set).
    void audit_action(const auth::AccessToken& who, const std::string& route, const std::string& path,
                      const std::vector<std::string>& parts, Poco::Net::HTTPServerRequest& req,
                      const Poco::Net::HTTPServerResponse& res);
    // Whether a verified token's portal session is still open (a token of no session is);
    // false with the 401 (signed out) or the store's error already sent.
    bool session_usable(const auth::AccessToken& token, const Poco::Net::HTTPServerRequest& req,
                        Poco::Net::HTTPServerResponse& res);
    // 401 with WWW-Authenticate: the API's JSON error, or an OperationOutcome under /fhir/.
    static void send_unauthenticated(const Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                     const Error& why);
    void list_hospitals(Poco::Net::HTTPServerResponse& res);
    void book(const auth::AccessToken& who, const std::string& hospital_id, Poco::Net::HTTPServerRequest& req,
              Poco::Net::HTTPServerResponse& res);
    // GET /api/v1/hospitals/{hospitalId}/reports: a patient's reports, a page (report_list.h).
    void list_reports(const auth::AccessToken& who, const std::string& hospital_id, Poco::Net::HTTPServerRequest& req,
                      Poco::Net::HTTPServerResponse& res);
    void get_report(const auth::AccessToken& who, const std::string& hospital_id, const std::string& report_id,
                    Poco::Net::HTTPServerResponse& res);
    // GET /api/v1/me/reports: the first page of the patient's reports at each hospital linked
    // to them, asked at once; none asked when none is linked (docs/portal-api.md).
    void my_reports(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    // The number a patient is asked for at `hospital_id`, and that its answers must name: the
    // linked one; at a hospital not linked to them their platform id, unless that is another
    // patient's linked number there (then none, and nothing is asked). Staff: their subject
    // (unused: staff see every answer).
    std::optional<std::string> patient_number(const auth::AccessToken& who, const std::string& hospital_id);
    void get_task(const auth::AccessToken& who, const std::string& task_id, Poco::Net::HTTPServerResponse& res);
    void patient_facts(const auth::AccessToken& who, const std::string& patient_id, Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res);
    void order_payment(const std::string& hospital_id, const std::string& order_id, Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res);
    void get_trace(const std::string& trace_id, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void run_doctor(const std::string& hospital_id, Poco::Net::HTTPServerResponse& res);
    void config_route(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                      Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void list_triage(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void replication_stream(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void replication_snapshot(Poco::Net::HTTPServerResponse& res);
    // Adds each hospital's "reference" state and the "publicPartition" summary to a fleet page.
    void with_reference_data(nlohmann::json& page);
    // The request's JSON object body, bounded before it is parsed; or nothing, the error
    // already sent. `what` names it in errors ("the booking body").
    std::optional<nlohmann::json> read_json_body(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res,
                                                 const std::string& what);

    // An answer was handed to whom it is for (TaskResults::mark_delivered).
    void note_delivered(const std::string& task_id);

    const HospitalRegistry& registry_;
    Router& router_;
    TaskResults& results_;
    auth::KeyRing& keys_;
    auth::VerifiedTokens verified_tokens_;  // a bearer token's signature is checked once
    IdempotencyStore& idempotency_;
    PatientRecords& records_;
    PatientLinks* links_ = nullptr;
    Clock& clock_;  // token expiry
    RemoteDiagnostics* diagnostics_ = nullptr;
    triage::ErrorBook* triage_book_ = nullptr;
    public_partition::PublicPrimary* public_ = nullptr;
    std::unique_ptr<public_partition::ReplicaRoster> roster_;  // the replicas following this instance
    std::string scratch_dir_;
    const triage::OwnerRules* triage_rules_ = nullptr;
    alerts::AlertStore* alerts_ = nullptr;
    money::MoneyApi* money_ = nullptr;
    vitals::VitalsApi* vitals_ = nullptr;
    ReleaseApi* releases_ = nullptr;
    rollout::RolloutApi* rollouts_ = nullptr;
    portal::PortalApi* portal_ = nullptr;
    bool https_ = false;
    fhir::FhirApi* fhir_ = nullptr;
    ConfigPush* config_ = nullptr;
    health::PathHealthStore* health_ = nullptr;
    console::ConsoleSession* console_ = nullptr;
    audit::AuditLog* audit_ = nullptr;
    std::vector<IpRange> trusted_proxies_;
};

}  // namespace hisgate::controlplane
