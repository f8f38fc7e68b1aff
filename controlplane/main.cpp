// hisgate-controlplane: routes patient requests to hospitals over MQTT 5 and serves the
// HTTP API. Instances are identical; each has its own response topic and broker user, and
// they share one results_db (answers, Idempotency-Keys, the platform's records), so any
// instance serves any HTTP request and a killed one loses no answer (docs/architecture.md,
// "Several control-plane instances").
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "auth/key_ring.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process_metrics.h"
#include "common/program.h"
#include "common/random_id.h"
#include "common/settings.h"
#include "common/trace.h"
#include "controlplane/agent_refusals.h"
#include "controlplane/answer_commit.h"
#include "controlplane/answer_intake.h"
#include "controlplane/answer_workers.h"
#include "controlplane/api.h"
#include "controlplane/alerts/alert_engine.h"
#include "controlplane/events/event_intake.h"
#include "controlplane/health/path_health_intake.h"
#include "controlplane/hospital_registry.h"
#include "controlplane/booking_facts.h"
#include "controlplane/idempotency_store.h"
#include "common/ip_range.h"
#include "controlplane/audit/audit_log.h"
#include "controlplane/console/console_session.h"
#include "controlplane/money/money_desk.h"
#include "controlplane/config_push.h"
#include "controlplane/release_api.h"
#include "controlplane/rollout/rollout_api.h"
#include "controlplane/vitals/vitals_api.h"
#include "controlplane/fhir/fhir_api.h"
#include "controlplane/notify/notifier.h"
#include "controlplane/web/static_files.h"
#include "controlplane/patient_records.h"
#include "controlplane/portal/portal_api.h"
#include "controlplane/public_partition/gap_repair.h"
#include "controlplane/remote_diagnostics.h"
#include "controlplane/router.h"
#include "controlplane/task_expiry.h"
#include "controlplane/task_results.h"
#include "controlplane/triage/default_rules.h"
#include "controlplane/triage/error_book.h"
#include "controlplane/triage/error_intake.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/requester.h"
#include "transport/topics.h"

using namespace hisgate;

static std::string usage() {
    return std::string(R"(usage: hisgate-controlplane --config FILE | --help | --version

Routes patient requests to hospital agents and serves the HTTP API. FILE is JSON:
  instance_id         string   this instance's id (default: random); names its response topic
)") + kBrokerConfigHelp + kHttpTlsConfigHelp + R"(  http.bind           string   API address (default 127.0.0.1)
  http.port           int, required   API port (0 = any free port, printed at start)
  request_timeout_ms  int      how long to wait for an agent's answer (default 5000)
  request_timeouts_ms object   per request type, e.g. {"appointment.book": 8000}: the wait
                               for that type's answer (100..600000; others: request_timeout_ms;
                               doctor.run: 70000 unless given)
  auth.keys_dir       string, required   directory of the API's signing keys (<kid>.key;
                               `hisgate token new-key --keys DIR` makes one; the newest signs)
  results_db          string   SQLite file keeping every request's answer, also late ones,
                               and the Idempotency-Keys of 24 h (default ":memory:", kept
                               until the instance stops)
  task_deadline_ms    int      a request unanswered this long after it was sent ends
                               "expired" with the reason (default 600000: 10 min)
  results_retention_ms int     how long a finished request's answer is kept (default 86400000)
  results_max         int      finished requests kept at most (default 100000)
  results_after_delivery_ms int  a delivered answer that changed nothing at the HIS (a
                               report) loses its contents this long after delivery (default 60000)
  idempotency_retention_ms int how long an Idempotency-Key is honoured (default 86400000)
  idempotency_max     int      Idempotency-Keys kept at most (default 100000)
  triage.rules_file   string   owner rules for triage (docs/triage.md; default: the built-in
                               controlplane/triage/default-rules.json)
  triage.quiet_ms     int      an error group with no occurrence this long is resolved
                               (default 1800000: 30 min); the book lives in results_db
  triage.max_groups   int      error groups kept at most (default 100000)
  events.repeat_window_ms int  an agent event repeated within this long has no second effect
                               (default 21600000: 6 h; controlplane/events/seen_events.h)
  fleet_db            string   SQLite file of the fleet registry: every hospital ever seen
                               (default: the results_db file)
  public.db           string   SQLite file of the public partition's primary: every hospital's
                               reference data from the agents' change sets, and the change
                               stream the read replicas follow (default: the results_db file;
                               a ":memory:" one serves no snapshots). docs/public-partition.md
  public.max_held     int      change sets from the future held per hospital (default 1000)
  public.stream_keep  int      stream entries kept for replicas catching up (default 100000)
  public.repair_interval_ms int  how often missing change sets are asked of the agents
                               (default 10000; also at once when a gap opens)
  public.snapshot_page_bytes int  size of a snapshot page asked of an agent (default 262144,
                               1024 to 3145728)
  public.max_snapshot_pages int  pages one snapshot may take (default 400); past it the repair
                               fails (public.snapshot_too_many_pages), the hospital stays suspect
  alerts.interval_ms  int      how often the alert rules are evaluated (default 10000; also on
                               every state change); alerts live in results_db (docs/alerts.md)
  alerts.offline_ms   int      agent.offline fires after this long offline (default 300000)
  alerts.dwell_seconds int     queue.dwell fires above this oldest task / dwell p99 (default 600),
                               and when an agent's own queue.dwell_exceeded event says so
  alerts.cert_days    int      cert.expiring fires this many days before notAfter (default 30)
  alerts.gap_ms       int      event.seq_gap fires when change sets stay missing this long (default 60000)
  alerts.owner        string   the owner of alerts (default "operations"); alerts.owner_<rule
                               with _ for .> (e.g. alerts.owner_agent_offline) per rule
  vitals.db           string   SQLite file of the bedside monitors' samples, rollups and alarms
                               (default: the results_db file; docs/vitals.md)
  vitals.raw_keep_ms, vitals.minute_keep_ms, vitals.hour_keep_ms  int   how long raw samples,
                               per-minute and per-hour rollups are kept (default 1 day, 7 days, 90 days)
  vitals.escalate_after_ms int an alarm not acknowledged this long escalates, and again every
                               such period (default 60000)
  vitals.silent_after_ms int   a monitor with no sample this long shows offline (default 5000)
  releases.repo_dir   string   the release repository `hisgate release publish` writes; served
                               at /api/v1/releases, and rollouts of it (docs/rollouts.md)
  rollouts.interval_ms int     how often the rollouts' wave engine runs a round (default 1000)
  rollouts.manifest_base_url string  the API's URL as agents reach it, for release.install's
                               manifest_url (default http://<http.bind>:<http port>)
  rollouts.version_window int  releases an agent may be behind and still be upgraded (default 5)
  protocol.min, protocol.max  int   the protocol versions this instance serves agents in
                               (default: all it speaks, [1,1]; may only narrow it). An agent
                               advertising a range outside it is refused (control.refused)
  portal.session_ttl_s int     how long a patient's portal session (hg_session cookie) lasts
                               (default 1800, 60..86400)
  console.session_ttl_s int    how long an operator's console session lasts (default 28800:
                               8 h, 300..86400; never past the token signed in with)
  console.sign_ins_per_address int  console sign-in tries one client address may make per
                               10 min (default 30; the address as the audit log has it)
  audit.trusted_proxies [string]  proxies (IP addresses or CIDR blocks) whose X-Forwarded-For
                               names the caller in the audit log (default none: the peer)
  portal.https        bool     the API is reached over HTTPS (its own, below, or a TLS-terminating
                               proxy's): cookies are Secure and answers carry HSTS (default: true
                               with http.tls, else false)
  portal.code_interval_s int    one sign-in code per phone this often (default 60)
  portal.codes_per_address_hour int  sign-in codes one client address may ask for an hour
                               (default 20); portal.verifies_per_address: sign-in tries per 10 min
                               (default 30)
  notify.smtp_host, notify.smtp_port  the SMTP relay messages to patients go through
                               (default 127.0.0.1:25; docs/portal-api.md)
  notify.from         string   the sender (default hisgate@localhost)
  notify.sms_domain   string   SMS goes as email to <phone>@<sms_domain> (default sms.hisgate.invalid)
  notify.outbox_db    string   SQLite file of the outbox (default: the results_db file)
  notify.interval_ms  int      how often the outbox is relayed (default 1000)
  notify.max_backoff_s int     longest pause before a failed message goes again (default 60)
  notify.reminder_hour int     the hour (UTC+8) of the reminder the day before a visit (default 18)
  web.dir             string   the built patient portal (web/dist, docs/portal.md), served at every
                               path outside /api/, /fhir/, /metrics and /healthz (default: none)
)" + controlplane::money::money_usage_help() + kLogConfigHelp;
}

int main(int argc, char** argv) {
    block_shutdown_signals();
    auto start = start_program(argc, argv, "hisgate-controlplane", usage());
    if (!start.config) return start.exit_status;
    auto& c = *start.config;
    std::string instance = c.string("instance_id", "cp-" + random_hex(4));
    if (!topics::valid_hospital_id(instance))
        c.problem("instance_id", "1 to 64 characters of A-Z a-z 0-9 _ -", "\"" + instance + "\"");
    auto broker = read_broker_settings(c);
    std::string http_bind = c.string("http.bind", "127.0.0.1");
    auto http_port = static_cast<uint16_t>(c.integer("http.port", std::nullopt, 0, 65535));
    auto api_tls_files = read_http_tls(c);
    const bool api_tls = api_tls_files.has_value();
    const std::string api_scheme = api_tls ? "https://" : "http://";
    controlplane::RouteTimeouts timeouts;
    timeouts.fallback = std::chrono::milliseconds(c.integer("request_timeout_ms", 5000, 100, 600000));
    if (const auto* by_type = c.section("request_timeouts_ms")) {
        if (!by_type->is_object()) c.problem("request_timeouts_ms", "an object of request type -> milliseconds", describe_json_type(*by_type));
        else
            for (const auto& [type, ms] : by_type->items()) {
                if (type.empty() || type.size() > 64)
                    c.problem("request_timeouts_ms", "request type names of 1 to 64 characters", "\"" + type.substr(0, 64) + "\"");
                else if (!ms.is_number_integer() || ms.get<int64_t>() < 100 || ms.get<int64_t>() > 600000)
                    c.problem("request_timeouts_ms." + type, "an integer from 100 to 600000", ms.dump().substr(0, 64));
                else timeouts.by_type[type] = std::chrono::milliseconds(ms.get<int64_t>());
            }
    }
    // The agent's doctor may take up to its own bound (agent/diagnostics.h: 60 s).
    timeouts.by_type.try_emplace("doctor.run", std::chrono::milliseconds(70000));
    // A pushed set is applied, then the doctor's path checks run through the HIS gate
    // (four calls, each within his.answer_timeout) before the agent answers.
    timeouts.by_type.try_emplace("config.apply", std::chrono::milliseconds(70000));
    std::string results_db = c.string("results_db", ":memory:");
    std::string keys_dir = c.string("auth.keys_dir", std::nullopt);
    controlplane::TaskRetention retention;
    retention.deadline = std::chrono::milliseconds(c.integer("task_deadline_ms", 600000, 1000, 7 * 86400000LL));
    retention.keep = std::chrono::milliseconds(c.integer("results_retention_ms", 86400000, 1000, 30 * 86400000LL));
    retention.max_kept = c.integer("results_max", 100000, 1, 100000000);
    retention.after_delivery =
        std::chrono::milliseconds(c.integer("results_after_delivery_ms", 60000, 0, 30 * 86400000LL));
    controlplane::IdempotencyRetention key_retention;
    key_retention.keep = std::chrono::milliseconds(c.integer("idempotency_retention_ms", 86400000, 1000, 30 * 86400000LL));
    key_retention.max_kept = c.integer("idempotency_max", 100000, 1, 100000000);
    std::string triage_rules_file = c.string("triage.rules_file", "");
    controlplane::triage::BookSettings book_settings;
    book_settings.quiet = std::chrono::milliseconds(c.integer("triage.quiet_ms", 1800000, 1000, 30 * 86400000LL));
    book_settings.max_groups = c.integer("triage.max_groups", 100000, 1, 100000000);
    controlplane::events::SeenEventsWindow event_window;
    event_window.keep = std::chrono::milliseconds(c.integer("events.repeat_window_ms", 21600000, 60000, 30 * 86400000LL));
    std::string fleet_db = c.string("fleet_db", results_db);
    std::string public_db = c.string("public.db", results_db);
    controlplane::public_partition::PrimarySettings public_settings;
    public_settings.max_held = c.integer("public.max_held", 1000, 1, 1000000);
    public_settings.stream_keep = c.integer("public.stream_keep", 100000, 100, 100000000);
    controlplane::public_partition::RepairSettings repair_settings;
    repair_settings.interval = std::chrono::milliseconds(c.integer("public.repair_interval_ms", 10000, 100, 3600000));
    repair_settings.snapshot_page_bytes = c.integer("public.snapshot_page_bytes", 256 * 1024, 1024, 3 * 1024 * 1024);
    repair_settings.max_snapshot_pages = static_cast<int>(c.integer("public.max_snapshot_pages", 400, 1, 100000));
    controlplane::ProtocolWindow window{
        static_cast<int>(c.integer("protocol.min", Envelope::kMinSchema, Envelope::kMinSchema, Envelope::kMaxSchema)),
        static_cast<int>(c.integer("protocol.max", Envelope::kMaxSchema, Envelope::kMinSchema, Envelope::kMaxSchema))};
    if (window.min > window.max)
        c.problem("protocol", "protocol.min <= protocol.max", std::to_string(window.min) + " > " + std::to_string(window.max));
    auto alert_interval = std::chrono::milliseconds(c.integer("alerts.interval_ms", 10000, 100, 3600000));
    controlplane::alerts::AlertThresholds alert_thresholds;
    alert_thresholds.offline = std::chrono::milliseconds(c.integer("alerts.offline_ms", 300000, 0, 30 * 86400000LL));
    alert_thresholds.dwell_seconds = static_cast<double>(c.integer("alerts.dwell_seconds", 600, 1, 30 * 86400LL));
    alert_thresholds.cert_within = std::chrono::hours(24 * c.integer("alerts.cert_days", 30, 0, 3650));
    alert_thresholds.gap = std::chrono::milliseconds(c.integer("alerts.gap_ms", 60000, 0, 30 * 86400000LL));
    alert_thresholds.default_owner = c.string("alerts.owner", "operations");
    for (const char* rule : {controlplane::alerts::rule::kOffline, controlplane::alerts::rule::kIncompatible,
                             controlplane::alerts::rule::kCertExpiring, controlplane::alerts::rule::kDwell,
                             controlplane::alerts::rule::kPathFailed, controlplane::alerts::rule::kSeqGap}) {
        std::string key = std::string("alerts.owner_") + rule;
        for (size_t i = 7; i < key.size(); ++i)
            if (key[i] == '.') key[i] = '_';
        std::string owner = c.string(key, "");
        if (!owner.empty()) alert_thresholds.owners[rule] = owner;
    }
    // The release repository `hisgate release publish` writes and /api/v1/releases serves
    // (controlplane/release_api.h); empty: no release routes.
    std::string releases_repo = c.string("releases.repo_dir", "");
    // Rollouts of those releases (controlplane/rollout/rollout_engine.h), with the repository.
    auto rollout_interval = std::chrono::milliseconds(c.integer("rollouts.interval_ms", 1000, 10, 60000));
    std::string manifest_base = c.string("rollouts.manifest_base_url", "");
    int rollout_window = static_cast<int>(c.integer("rollouts.version_window", 5, 1, 100));
    // The built patient portal (web/dist, docs/portal.md); empty: no front end is served.
    std::string web_dir = c.string("web.dir", "");
    std::string vitals_db = c.string("vitals.db", results_db);
    controlplane::vitals::VitalsRetention vitals_retention;
    vitals_retention.raw_keep = std::chrono::milliseconds(c.integer("vitals.raw_keep_ms", 86400000, 60000, 365 * 86400000LL));
    vitals_retention.minute_keep =
        std::chrono::milliseconds(c.integer("vitals.minute_keep_ms", 7 * 86400000LL, 60000, 3650 * 86400000LL));
    vitals_retention.hour_keep =
        std::chrono::milliseconds(c.integer("vitals.hour_keep_ms", 90 * 86400000LL, 60000, 3650 * 86400000LL));
    controlplane::vitals::VitalsIntakeSettings vitals_intake_settings;
    vitals_intake_settings.escalate_after =
        std::chrono::milliseconds(c.integer("vitals.escalate_after_ms", 60000, 1000, 86400000));
    auto vitals_silent_after = std::chrono::milliseconds(c.integer("vitals.silent_after_ms", 5000, 1000, 600000));
    auto money_settings = controlplane::money::read_money_settings(c, results_db);
    controlplane::portal::PortalSettings portal_settings;
    portal_settings.session_ttl = std::chrono::seconds(c.integer("portal.session_ttl_s", 1800, 60, 86400));
    portal_settings.https = c.boolean("portal.https", api_tls);
    portal_settings.code_interval = std::chrono::seconds(c.integer("portal.code_interval_s", 60, 1, 3600));
    portal_settings.codes_per_address_hour = static_cast<int>(c.integer("portal.codes_per_address_hour", 20, 1, 100000));
    portal_settings.verifies_per_address = static_cast<int>(c.integer("portal.verifies_per_address", 30, 1, 100000));
    controlplane::notify::SmtpSettings smtp_settings;
    smtp_settings.host = c.string("notify.smtp_host", "127.0.0.1");
    smtp_settings.port = static_cast<uint16_t>(c.integer("notify.smtp_port", 25, 1, 65535));
    smtp_settings.from = c.string("notify.from", "hisgate@localhost");
    controlplane::notify::NotifySettings notify_settings;
    notify_settings.sms_domain = c.string("notify.sms_domain", notify_settings.sms_domain);
    notify_settings.interval = std::chrono::milliseconds(c.integer("notify.interval_ms", 1000, 10, 3600000));
    notify_settings.max_backoff = std::chrono::seconds(c.integer("notify.max_backoff_s", 60, 1, 86400));
    notify_settings.reminder_hour = static_cast<int>(c.integer("notify.reminder_hour", 18, 0, 23));
    std::string outbox_db = c.string("notify.outbox_db", results_db);
    controlplane::console::ConsoleSettings console_settings;
    console_settings.session_ttl = std::chrono::seconds(c.integer("console.session_ttl_s", 28800, 300, 86400));
    console_settings.sign_ins_per_address = static_cast<int>(c.integer("console.sign_ins_per_address", 30, 1, 100000));
    std::vector<IpRange> trusted_proxies;
    if (const auto* proxies = c.section("audit.trusted_proxies")) {
        if (!proxies->is_array()) c.problem("audit.trusted_proxies", "a list of IP addresses or CIDR blocks", proxies->dump());
        else
            for (const auto& item : *proxies) {
                auto range = item.is_string() ? IpRange::parse(item.get<std::string>()) : std::nullopt;
                if (range) trusted_proxies.push_back(*range);
                else c.problem("audit.trusted_proxies", "an IP address or CIDR block", item.dump().substr(0, 64));
            }
    }
    // The console's and the portal's per-address limits key by the same address.
    console_settings.trusted_proxies = trusted_proxies;
    portal_settings.trusted_proxies = trusted_proxies;
    auto log_settings = read_log_settings(c);
    if (auto done = c.finish(); !done) return invalid_config("hisgate-controlplane", done.error());
    log::init("controlplane:" + instance, log_settings.file, log_settings.level);

    auto triage_rules = triage_rules_file.empty()
                            ? controlplane::triage::OwnerRules::parse(std::string(controlplane::triage::default_rules_json()),
                                                                      "the built-in triage rules")
                            : controlplane::triage::OwnerRules::load_file(triage_rules_file);
    if (!triage_rules) return invalid_config("hisgate-controlplane", triage_rules.error());
    auto keys = auth::KeyRing::open(keys_dir);
    if (!keys) return invalid_config("hisgate-controlplane", keys.error());
    // The stores an answer writes (its task's row, the booking's note, the patient's link)
    // share one connection, so the answers that arrive together are one transaction
    // (controlplane/answer_commit.h) and none of them re-reads what the others wrote.
    auto answers_db = sql::SharedDb::open(results_db);
    if (!answers_db) return invalid_config("hisgate-controlplane", answers_db.error());
    auto results = controlplane::TaskResults::open(*answers_db, SystemClock::instance(), retention);
    if (!results) return invalid_config("hisgate-controlplane", results.error());
    // The tasks the API's threads send at the same time are kept in one commit.
    (*results)->group_expects();
    auto idempotency = controlplane::open_sqlite_idempotency_store(results_db, SystemClock::instance(), key_retention);
    if (!idempotency) return invalid_config("hisgate-controlplane", idempotency.error());
    auto stored_records = controlplane::open_sqlite_patient_records(*answers_db, SystemClock::instance());
    if (!stored_records) return invalid_config("hisgate-controlplane", stored_records.error());
    // Which hospitals know each portal patient, and by which number (controlplane/patient_links.h).
    auto patient_links = controlplane::open_sqlite_patient_links(*answers_db, SystemClock::instance());
    if (!patient_links) return invalid_config("hisgate-controlplane", patient_links.error());
    // The patient portal: accounts and codes, and the notification service's outbox.
    auto sign_ins = controlplane::portal::open_sqlite_sign_in_store(results_db, SystemClock::instance());
    if (!sign_ins) return invalid_config("hisgate-controlplane", sign_ins.error());
    // Sign-in rate limits, counted in the shared store: N instances still allow each key once.
    auto limiter = controlplane::portal::open_sqlite_rate_limiter(results_db, SystemClock::instance());
    if (!limiter) return invalid_config("hisgate-controlplane", limiter.error());
    // Operator actions, in results_db like the other stores every instance shares.
    auto audit_log = controlplane::audit::open_sqlite_audit_log(results_db);
    if (!audit_log) return invalid_config("hisgate-controlplane", audit_log.error());
    auto outbox = controlplane::notify::open_sqlite_outbox(outbox_db);
    if (!outbox) return invalid_config("hisgate-controlplane", outbox.error());
    controlplane::notify::SmtpSender smtp(smtp_settings);
    controlplane::notify::Notifier notifier(**outbox, smtp, **sign_ins, SystemClock::instance(), notify_settings);
    // Every booking noted (a hospital confirmed it) also queues its confirmation and reminder.
    controlplane::notify::NotifyingRecords patient_records(**stored_records, notifier);
    auto error_book = controlplane::triage::open_sqlite_error_book(results_db, *triage_rules, SystemClock::instance(),
                                                                   book_settings);
    if (!error_book) return invalid_config("hisgate-controlplane", error_book.error());
    auto fleet = controlplane::open_sqlite_fleet_store(fleet_db);
    if (!fleet) return invalid_config("hisgate-controlplane", fleet.error());
    auto opened_registry = controlplane::HospitalRegistry::open(**fleet, SystemClock::instance(), window);
    if (!opened_registry) return invalid_config("hisgate-controlplane", opened_registry.error());
    auto& registry = **opened_registry;
    auto vitals_store = controlplane::vitals::open_sqlite_vitals_store(vitals_db, vitals_retention);
    if (!vitals_store) return invalid_config("hisgate-controlplane", vitals_store.error());
    auto alert_store = controlplane::alerts::open_sqlite_alert_store(results_db, SystemClock::instance());
    if (!alert_store) return invalid_config("hisgate-controlplane", alert_store.error());
    controlplane::alerts::AlertEngine alert_engine(**alert_store, controlplane::alerts::registry_source(registry), window,
                                                   alert_thresholds, SystemClock::instance());
    auto sequence_book = controlplane::alerts::open_sqlite_sequence_book(results_db, SystemClock::instance());
    if (!sequence_book) return invalid_config("hisgate-controlplane", sequence_book.error());
    alert_engine.add_source([&](int64_t now_ms) -> Result<std::vector<controlplane::alerts::Condition>> {
        auto gaps = (*sequence_book)->gaps();
        if (!gaps) return gaps.error();
        return controlplane::alerts::gap_conditions(*gaps, now_ms, alert_thresholds);
    });
    auto dwell_reports = controlplane::alerts::open_sqlite_dwell_reports(results_db);
    if (!dwell_reports) return invalid_config("hisgate-controlplane", dwell_reports.error());
    alert_engine.add_source([&](int64_t) -> Result<std::vector<controlplane::alerts::Condition>> {
        auto exceeding = (*dwell_reports)->exceeding();
        if (!exceeding) return exceeding.error();
        return controlplane::alerts::dwell_conditions(*exceeding, [&](const std::string& hospital_id) {
            auto h = registry.find(hospital_id);
            return h && h->online;
        });
    });
    auto path_health = controlplane::health::open_sqlite_path_health_store(results_db, SystemClock::instance());
    if (!path_health) return invalid_config("hisgate-controlplane", path_health.error());
    auto public_primary = controlplane::public_partition::open_sqlite_public_primary(public_db, SystemClock::instance(),
                                                                                    public_settings);
    if (!public_primary) return invalid_config("hisgate-controlplane", public_primary.error());
    auto config_store = controlplane::open_sqlite_config_store(results_db);
    if (!config_store) return invalid_config("hisgate-controlplane", config_store.error());
    auto seen_events = controlplane::events::open_sqlite_seen_events(results_db, SystemClock::instance(), event_window);
    if (!seen_events) return invalid_config("hisgate-controlplane", seen_events.error());
    auto link_options = mqtt_options(broker, "controlplane-" + instance);
    // Answers the agents forward while this instance restarts wait for it in the broker.
    link_options.session_expiry = std::chrono::hours(1);
    MqttLink link(link_options);
    controlplane::AgentRefusals refusals(link, window);
    registry.on_incompatible([&](const controlplane::FleetRecord& agent) { refusals.refuse(agent); });
    refusals.start();
    Requester requester(link);
    controlplane::triage::ErrorIntake triage_intake(**error_book, registry);
    controlplane::events::EventIntake event_intake(**seen_events);
    event_intake.on("probe.result", [&](const auto& e) { triage_intake.probe_event(e); });
    event_intake.on("probe.result", [&](const auto& e) { controlplane::health::take_probe_event(**path_health, e); });
    event_intake.on("reference.changeset", [&](const auto& e) { controlplane::alerts::take_changeset_event(**sequence_book, e); });
    std::unique_ptr<controlplane::public_partition::GapRepair> gap_repair;  // needs the router, made below
    // A standard-mode set's outcome at the agent's quiet window (controlplane/config_push.h, made below).
    std::function<void(const controlplane::events::AgentEvent&)> config_applied;
    event_intake.on("config.applied", [&](const auto& e) {
        if (config_applied) config_applied(e);
    });
    event_intake.on("reference.changeset", [&](const auto& e) {
        controlplane::public_partition::take_changeset(**public_primary, gap_repair.get(), e.hospital_id, e.envelope.body);
    });
    for (const char* dwell : {"queue.dwell_exceeded", "queue.dwell_recovered"})
        event_intake.on(dwell, [&](const auto& e) {
            controlplane::alerts::take_dwell_event(**dwell_reports, e);
            alert_engine.poke();
        });
    auto ends_with = [](const std::string& topic, std::string_view tail) {
        return topic.size() > tail.size() && topic.compare(topic.size() - tail.size(), tail.size(), tail) == 0;
    };
    link.subscribe(topics::all_states(), 1);
    // Vitals are a stream (docs/vitals.md): every instance hears them, for its own ward
    // feed; the store keeps each sample once by the agent's seq.
    link.subscribe(topics::all_vitals(), 1);
    // Every instance's answers, not only its own: whichever instance hears an answer first
    // keeps it in the shared store (controlplane/answer_intake.h).
    link.subscribe(topics::every_response(), 1);
    // Events are shared among the instances: each goes to one of them.
    link.subscribe(topics::shared_events("controlplane"), 1);
    // Answers are kept off the MQTT client's thread, which also reads the PUBACKs every
    // request being sent waits for (controlplane/answer_workers.h).
    // Each worker waits for the commit that holds its answer: the answers the workers take
    // together are one transaction. The booking's note goes to the records themselves, and
    // its confirmation is queued once the note is committed.
    controlplane::AnswerCommitter answer_commits(
        {*answers_db, **results, **stored_records, patient_links->get()}, requester, instance, &triage_intake,
        [&](const controlplane::BookingNote& booking) { controlplane::notify::confirm_booking(notifier, booking); });
    controlplane::AnswerWorkers answer_workers([&](const IncomingMessage& m) { answer_commits.take(m); }, 4, 10000);
    answer_workers.start();
    controlplane::vitals::MonitorBoard monitor_board(SystemClock::instance(), vitals_silent_after);
    controlplane::vitals::WardFeed ward_feed;
    controlplane::vitals::VitalsIntake vitals_intake(**vitals_store, monitor_board, ward_feed, SystemClock::instance(),
                                                     vitals_intake_settings);
    // One worker: a hospital's batches are stored and fed in the order they came.
    controlplane::AnswerWorkers vitals_workers([&](const IncomingMessage& m) { vitals_intake.take(m); }, 1, 1000);
    vitals_workers.start();
    link.on_message([&](const IncomingMessage& m) {
        if (ends_with(m.topic, "/state")) {
            if (registry.apply_state(m)) alert_engine.poke();
        }
        else if (ends_with(m.topic, "/event")) event_intake.take(m);
        else if (ends_with(m.topic, "/vitals")) vitals_workers.post(m);
        else answer_workers.post(m);
    });
    // A deferred request the agent has not said it stored goes again, same id, every 5 s
    // (the agent stores a request id once); each copy expires in the broker before the next.
    constexpr auto kResendInterval = std::chrono::seconds(5);
    auto resend = [&](const std::string& hospital_id, const std::string& request) {
        OutgoingMessage out = OutgoingMessage::to(topics::request(hospital_id), request);
        out.response_topic = topics::response(hospital_id, instance);
        out.correlation_data = new_id();
        out.expiry_seconds = static_cast<uint32_t>(kResendInterval.count());
        auto sent = link.publish(out);
        metrics::global()
            .counter("hisgate_controlplane_resends_total", "Deferred requests sent again until their agent stored them",
                     {{"outcome", sent ? "sent" : "failed"}})
            .inc();
        if (!sent) log::warn("controlplane.resend_failed", {{"hospital_id", hospital_id}, {"error", sent.error().describe()}});
    };
    controlplane::TaskExpiry expiry(**results, registry, SystemClock::instance(), std::chrono::seconds(1), resend,
                                    kResendInterval);
    expiry.start();
    controlplane::Router router(registry, requester, **results, instance, timeouts);
    router.on_failure([&](const std::string& hospital_id, const std::string& type, const Error& e) {
        triage_intake.router_failure(hospital_id, type, e, current_trace().trace_id);
    });
    gap_repair = std::make_unique<controlplane::public_partition::GapRepair>(
        **public_primary,
        [&](const std::string& hospital_id, const std::string& type, const nlohmann::json& body) {
            return router.ask(hospital_id, type, body).answer;
        },
        SystemClock::instance(), repair_settings);
    gap_repair->watch_online([&] {
        std::vector<std::string> ids;
        for (const auto& h : registry.online()) ids.push_back(h.hospital_id);
        return ids;
    });
    controlplane::RemoteDiagnostics diagnostics(router, log_settings.file, "controlplane:" + instance);
    controlplane::Api api(registry, router, **results, **keys, **idempotency, patient_records);
    api.set_patient_links(patient_links->get());
    controlplane::portal::PortalApi portal_api(**sign_ins, notifier, patient_records, **keys, **limiter,
                                               SystemClock::instance(), portal_settings);
    api.set_portal(&portal_api);
    controlplane::console::ConsoleSession console_session(portal_api, **sign_ins, **keys, **limiter,
                                                          SystemClock::instance(), console_settings);
    api.set_console(&console_session);
    api.set_audit(audit_log->get(), std::move(trusted_proxies));
    api.set_https(portal_settings.https);
    api.set_triage(error_book->get(), &*triage_rules);
    api.set_diagnostics(&diagnostics);
    api.set_alerts(alert_store->get());
    api.set_health(path_health->get());
    controlplane::vitals::VitalsApi vitals_api(**vitals_store, monitor_board, ward_feed, vitals_intake, SystemClock::instance());
    api.set_vitals(&vitals_api);
    controlplane::ConfigPush config_push(
        **config_store, registry,
        [&](const std::string& hospital_id, const std::string& type, const nlohmann::json& body) {
            return router.ask(hospital_id, type, body).answer;
        },
        SystemClock::instance());
    api.set_config(&config_push);
    config_applied = [&](const controlplane::events::AgentEvent& e) { config_push.take_applied(e); };
    controlplane::ReleaseApi release_api(releases_repo);
    if (!releases_repo.empty()) api.set_releases(&release_api);
    std::unique_ptr<controlplane::rollout::RolloutStore> rollout_store;
    std::unique_ptr<controlplane::rollout::ReleaseSource> rollout_releases;
    std::unique_ptr<controlplane::rollout::RolloutEngine> rollouts;
    // Declared after the engine, so destroyed first: a send in flight answers a live engine.
    std::unique_ptr<controlplane::rollout::SendWorkers> rollout_sends;
    std::unique_ptr<controlplane::rollout::RolloutApi> rollout_api;
    HttpServer* http_server = nullptr;  // set below: the manifest URL's default port is the API's
    if (!releases_repo.empty()) {
        auto opened_rollouts = controlplane::rollout::open_sqlite_rollout_store(results_db);
        if (!opened_rollouts) return invalid_config("hisgate-controlplane", opened_rollouts.error());
        rollout_store = std::move(opened_rollouts.value());
        rollout_releases = controlplane::rollout::repository_releases(releases_repo);
        // Tasks of a rollout go through the normal routing (the router waits for each answer).
        rollout_sends = std::make_unique<controlplane::rollout::SendWorkers>(
            [&](const std::string& hospital_id, const std::string& type, const nlohmann::json& body,
                const controlplane::rollout::TaskDone& done) {
                auto asked = router.ask(hospital_id, type, body);
                done(asked.task_id, asked.answer);
            },
            4, 100000);
        controlplane::rollout::EngineSettings rollout_settings;
        rollout_settings.version_window = rollout_window;
        rollout_settings.window = window;
        rollout_settings.manifest_base_url = [&, manifest_base] {
            if (!manifest_base.empty()) return manifest_base;
            return api_scheme + http_bind + ":" + std::to_string(http_server ? http_server->port() : http_port);
        };
        rollouts = std::make_unique<controlplane::rollout::RolloutEngine>(
            *rollout_store, controlplane::alerts::registry_source(registry), *rollout_releases, rollout_sends->dispatch(),
            SystemClock::instance(), rollout_settings);
        rollout_api = std::make_unique<controlplane::rollout::RolloutApi>(*rollouts);
        api.set_rollouts(rollout_api.get());
        alert_engine.add_source([&](int64_t) { return rollouts->conditions(); });
    }
    {
        auto dir = std::filesystem::path(public_db).parent_path().string();
        api.set_public(public_primary->get(), dir.empty() ? "." : dir);
    }
    auto fhir_data = controlplane::fhir::primary_fhir_data(**public_primary);
    controlplane::fhir::FhirApi fhir_api(*fhir_data, portal_settings.https);
    api.set_fhir(&fhir_api);
    std::unique_ptr<controlplane::fhir::PatientData> fhir_patient;  // set once the ledgers are open (or not kept)
    controlplane::web::StaticFiles web_files(web_dir);
    HttpServer http(http_bind, http_port, [&](auto& req, auto& res) {
        if (!web_dir.empty() && controlplane::web::StaticFiles::serves(req.getURI())) return web_files.handle(req, res);
        api.handle(req, res);
    });
    http_server = &http;
    if (api_tls) {
        auto tls = make_server_tls(*api_tls_files);
        if (!tls) return invalid_config("hisgate-controlplane", tls.error());
        http.use_tls(*tls);
    }
    std::unique_ptr<controlplane::money::MoneyDesk> money;
    if (!money_settings.ledger.dir.empty()) {
        auto opened_money = controlplane::money::MoneyDesk::open(
            money_settings, router, **results, public_primary->get(), patient_records, error_book->get(), SystemClock::instance(),
            [&] { return api_scheme + http_bind + ":" + std::to_string(http.port()); },
            // The fleet registry's word: an agent offline since when (its probes are held).
            [&registry](const std::string& hospital_id) -> std::optional<int64_t> {
                auto r = registry.record(hospital_id);
                if (!r || r->online || r->since_ms <= 0) return std::nullopt;
                return r->since_ms;
            });
        if (!opened_money) return invalid_config("hisgate-controlplane", opened_money.error());
        money = std::move(opened_money.value());
        // An agent back (its birth in a newer session): the ledger's attempts held for it go
        // now, not at their next held slot (docs/ledger.md, "An absent agent").
        registry.on_back([ledgers = &money->ledgers()](const std::string& hospital_id) { ledgers->agent_back(hospital_id); });
        // A booking's cancellation deadline is the hospital's rule, as in the newest set of
        // parameters pushed to it that its agent applied (docs/ledger.md, "Cancellation deadline").
        money->set_hospital_params([&store = **config_store](const std::string& hospital_id)
                                       -> Result<std::optional<nlohmann::json>> {
            auto past = store.history(hospital_id, 50);
            if (!past) return past.error();
            for (const auto& r : past.value())
                if (r.status == "applied") return std::optional<nlohmann::json>(r.params);
            return std::optional<nlohmann::json>();
        });
        api.set_money(&money->api());
    }
    // The patient's own bookings and reports on the FHIR facade (docs/fhir.md).
    fhir_patient = controlplane::fhir::ledger_router_patient_data(router, **results, money ? &money->ledgers() : nullptr,
                                                                  &patient_records);
    fhir_api.set_patient_data(fhir_patient.get());
    fhir_api.set_patient_links(patient_links->get());
    alert_engine.start(alert_interval);
    if (rollouts) rollouts->start_thread(rollout_interval);
    if (auto started = http.start(); !started) {
        std::fprintf(stderr, "hisgate-controlplane: %s\n", started.error().describe().c_str());
        return 2;
    }
    link.start();
    notifier.start();
    gap_repair->start();
    if (money) money->start();
    // Escalations, monitors going offline, retention: once a second.
    std::mutex vitals_tick_mu;
    std::condition_variable vitals_tick_cv;
    bool vitals_tick_stop = false;
    std::thread vitals_ticker([&] {
        std::unique_lock lock(vitals_tick_mu);
        while (!vitals_tick_cv.wait_for(lock, std::chrono::seconds(1), [&] { return vitals_tick_stop; })) {
            lock.unlock();
            vitals_intake.tick();
            lock.lock();
        }
    });
    metrics::global().gauge("hisgate_controlplane_up", "1 while this instance runs").set(1);
    metrics::publish_build_info(HISGATE_REVISION);
    log::info("controlplane.started", {{"instance_id", instance}, {"http_port", http.port()}});
    std::printf("hisgate-controlplane %s: API on %s%s:%u/api/v1/hospitals\n", instance.c_str(), api_scheme.c_str(), http_bind.c_str(),
                http.port());
    std::fflush(stdout);
    wait_for_shutdown();
    ward_feed.close();  // the feed's listeners return, so the HTTP server can stop
    {
        std::lock_guard lock(vitals_tick_mu);
        vitals_tick_stop = true;
    }
    vitals_tick_cv.notify_all();
    vitals_ticker.join();
    http.stop();
    if (rollouts) rollouts->stop();
    if (rollout_sends) rollout_sends->stop();
    notifier.stop();
    if (money) money->close();
    gap_repair->stop();
    expiry.stop();
    alert_engine.stop();
    refusals.stop();
    link.stop();
    answer_workers.stop();
    vitals_workers.stop();
    log::info("controlplane.stopped");
    return 0;
}
