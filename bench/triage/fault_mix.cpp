#include "bench/triage/fault_mix.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <set>

#include "common/check.h"
#include "common/clock.h"

namespace hisgate::triage_sim {

using controlplane::triage::ErrorTags;
using controlplane::triage::Source;

const char* to_string(FaultKind k) {
    switch (k) {
        case FaultKind::HisDown: return "his_down";
        case FaultKind::InterfaceChanged: return "his_interface_changed";
        case FaultKind::VendorRejection: return "vendor_rejection";
        case FaultKind::BadParameterFile: return "bad_parameter_file";
        case FaultKind::BrokerOutage: return "broker_outage";
        case FaultKind::AgentCrashLoop: return "agent_crash_loop";
        case FaultKind::OurBug: return "our_bug";
    }
    return "?";
}

const char* true_owner(FaultKind k) {
    switch (k) {
        case FaultKind::HisDown: return "hospital-it";
        case FaultKind::InterfaceChanged: return "integration";
        case FaultKind::VendorRejection: return "his-vendor";
        case FaultKind::BadParameterFile: return "integration";
        case FaultKind::BrokerOutage: return "platform-ops";
        case FaultKind::AgentCrashLoop: return "agent-team";
        case FaultKind::OurBug: return "platform-dev";
    }
    return "?";
}

const std::vector<EmittedCode>& emitted_codes() {
    using C = ErrorClass;
    static const std::vector<EmittedCode> kCodes = {
        // HIS unreachable, slow, redeploying, in maintenance
        {"mllp.connect_failed", C::Unavailable, "libs/mllp/client.cpp", R"(make_error(ErrorClass::Unavailable, "mllp.connect_failed")"},
        {"mllp.read_timeout", C::Timeout, "libs/mllp/socket_io.cpp", R"(make_error(ErrorClass::Timeout, "mllp.read_timeout")"},
        {"mllp.connection_lost", C::Unavailable, "libs/mllp/socket_io.cpp", R"(make_error(ErrorClass::Unavailable, "mllp.connection_lost")"},
        {"rest.connect_failed", C::Unavailable, "adapters/http/his_http.cpp", R"(make_error(ErrorClass::Unavailable, prefix + ".connect_failed")",
         "adapters/rest/rest_adapter.cpp", R"(http.code_prefix = "rest")"},
        {"rest.timeout", C::Timeout, "adapters/http/his_http.cpp", R"(make_error(ErrorClass::Timeout, prefix + ".timeout")",
         "adapters/rest/rest_adapter.cpp", R"(http.code_prefix = "rest")"},
        {"rest.http_503", C::Unavailable, "adapters/rest/rest_adapter.cpp", R"(: status >= 500 ? ErrorClass::Unavailable)",
         "adapters/rest/rest_adapter.cpp", R"("rest.http_" + std::to_string(status))"},
        {"rest.http_404", C::Unavailable, "adapters/rest/rest_adapter.cpp",
         R"(status == 404 ? (code.empty() ? ErrorClass::Unavailable : ErrorClass::NotFound))", "adapters/rest/rest_adapter.cpp",
         R"("rest.http_" + std::to_string(status))"},
        {"soap.connect_failed", C::Unavailable, "adapters/http/his_http.cpp", R"(make_error(ErrorClass::Unavailable, prefix + ".connect_failed")",
         "adapters/soap/soap_adapter.cpp", R"(http.options.code_prefix = "soap")"},
        {"soap.timeout", C::Timeout, "adapters/http/his_http.cpp", R"(make_error(ErrorClass::Timeout, prefix + ".timeout")",
         "adapters/soap/soap_adapter.cpp", R"(http.options.code_prefix = "soap")"},
        {"his.http_404", C::Unavailable, "adapters/soap/soap_adapter.cpp", R"(make_error(ErrorClass::Unavailable, "his.http_404")"},
        {"his.MAINTENANCE", C::Unavailable, "adapters/soap/soap_dialect.cpp", R"(std::string code = "his." + (vendor_code.empty())",
         "tools/his-sim/dialects/vendor-d-soap.json", R"("MAINTENANCE": "unavailable")"},
        {"his.busy", C::Unavailable, "agent/his_gate.cpp", R"(make_error(ErrorClass::Unavailable, "his.busy")"},
        {"his.in_doubt", C::Timeout, "agent/task_executor.cpp", R"(make_error(ErrorClass::Timeout, "his.in_doubt")"},
        // The HIS answers something else than before
        {"his.unreadable_answer", C::Protocol, "adapters/his_values.cpp", R"(make_error(ErrorClass::Protocol, "his.unreadable_answer")"},
        {"his.mismatched_answer", C::Protocol, "adapters/his_values.cpp", R"(make_error(ErrorClass::Protocol, "his.mismatched_answer")"},
        {"his.unreadable_time", C::Protocol, "adapters/his_values.cpp", R"(make_error(ErrorClass::Protocol, "his.unreadable_time")"},
        {"soap.unreadable", C::Protocol, "adapters/soap/soap_envelope.cpp", R"(make_error(ErrorClass::Protocol, "soap.unreadable")"},
        {"his.BAD_REQUEST", C::Rejected, "adapters/rest/rest_adapter.cpp", R"(std::string ecode = !code.empty() ? "his." + code)",
         "tools/his-sim/rest_responder.cpp", R"(error_body("BAD_REQUEST")"},
        // Vendor refusals in the HIS's own codes
        {"his.REFUSED", C::Rejected, "adapters/hl7v2/hl7_dialect.cpp", R"(std::string code = "his." + (vendor_code.empty())",
         "tools/his-sim/hl7_responder.cpp", R"(return "REFUSED";)"},
        {"his.rejected", C::Rejected, "adapters/hl7v2/hl7_dialect.cpp", R"((vendor_code.empty() ? std::string("rejected") : vendor_code))"},
        // The parameter file does not fit
        {"his.unknown_sex", C::BadInput, "adapters/parameter_rules.cpp", R"(make_error(ErrorClass::BadInput, "his.unknown_sex")"},
        {"his.unknown_payment_method", C::BadInput, "adapters/parameter_rules.cpp",
         R"(make_error(ErrorClass::BadInput, "his.unknown_payment_method")"},
        {"his.bad_patient_id", C::BadInput, "adapters/parameter_rules.cpp", R"(make_error(ErrorClass::BadInput, "his.bad_patient_id")"},
        {"hl7.charset_unrepresentable", C::BadInput, "libs/hl7/charset.cpp", R"(make_error(ErrorClass::BadInput, "hl7.charset_unrepresentable")"},
        {"soap.charset_unrepresentable", C::BadInput, "adapters/soap/soap_envelope.cpp",
         R"(make_error(ErrorClass::BadInput, "soap.charset_unrepresentable")"},
        {"probe.no_case", C::Config, "agent/probes/probe_runner.cpp", R"(make_error(ErrorClass::Config, "probe.no_case")"},
        // The broker
        {"hospital.offline", C::Unavailable, "controlplane/router.cpp", R"(make_error(ErrorClass::Unavailable, "hospital.offline")"},
        {"agent.timeout", C::Timeout, "libs/transport/requester.cpp", R"(make_error(ErrorClass::Timeout, "agent.timeout")"},
        {"request.not_sent", C::Unavailable, "controlplane/router.cpp", R"(make_error(ErrorClass::Unavailable, "request.not_sent")"},
        {"mqtt.publish_failed", C::Unavailable, "libs/transport/mqtt_link.cpp", R"(make_error(ErrorClass::Unavailable, "mqtt.publish_failed")"},
        {"mqtt.disconnected", C::Unavailable, "libs/transport/mqtt_link.cpp", R"(make_error(ErrorClass::Unavailable, "mqtt.disconnected")"},
        // The agent crashing
        {"agent.attempts_exhausted", C::Internal, "agent/task_queue.cpp", R"(make_error(ErrorClass::Internal, "agent.attempts_exhausted")"},
        // Our own bugs
        {"agent.task_failed", C::Internal, "agent/task_executor.cpp", R"(make_error(ErrorClass::Internal, "agent.task_failed")"},
        {"sqlite.error", C::Internal, "libs/common/sqlite.cpp", R"(make_error(ErrorClass::Internal, "sqlite.error")"},
        {"records.no_row", C::Internal, "controlplane/patient_records_sqlite.cpp", R"(make_error(ErrorClass::Internal, "records.no_row")"},
        {"idempotency.lost", C::Internal, "controlplane/idempotency_store_sqlite.cpp",
         R"(make_error(ErrorClass::Internal, "idempotency.lost")"},
        {"envelope.invalid", C::BadInput, "libs/transport/envelope.cpp", R"(make_error(ErrorClass::BadInput, "envelope.invalid")"},
    };
    return kCodes;
}

namespace {
constexpr const char* kDialects[] = {"hl7v2-mllp", "rest-json", "soap-xml"};
constexpr const char* kVersions[] = {"0.3.0", "0.2.9", "0.2.8", "0.2.7", "0.2.6"};
constexpr const char* kRealTime[] = {"appointment.book", "appointment.cancel", "appointment.status", "payment.pay",
                                     "payment.refund", "payment.status"};
constexpr const char* kDeferred[] = {"report.get", "report.list"};
constexpr const char* kProbes[] = {"lab_report", "schedule", "payment"};
constexpr int64_t kMinute = 60 * 1000;

struct Hospital {
    std::string id, dialect, version, region;
};

class Gen {
public:
    Gen(uint64_t seed, int fleet) : rng_(seed) {
        for (int i = 0; i < fleet; ++i) {
            char id[16];
            std::snprintf(id, sizeof id, "H%04d", i + 1);
            fleet_.push_back({id, kDialects[i % 3], kVersions[(i / 3) % 5], i % 2 ? "north" : "south"});
        }
    }

    uint64_t below(uint64_t n) { return rng_() % n; }
    int64_t between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1))); }
    bool chance(double p) { return static_cast<double>(below(1000000)) < p * 1000000; }
    template <class T, size_t N>
    const T& pick(const T (&a)[N]) { return a[below(N)]; }
    template <class T>
    const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
    double unit() { return static_cast<double>(below(1u << 30)) / static_cast<double>(1u << 30); }

    const Hospital& hospital() { return pick(fleet_); }
    std::vector<const Hospital*> hospitals(int n, const std::function<bool(const Hospital&)>& fits) {
        std::vector<const Hospital*> out;
        std::set<std::string> taken;
        for (int tries = 0; tries < 20 * n && static_cast<int>(out.size()) < n; ++tries) {
            const Hospital& h = hospital();
            if (fits(h) && taken.insert(h.id).second) out.push_back(&h);
        }
        for (const auto& h : fleet_)  // never none: the first that fits
            if (out.empty() && fits(h)) out.push_back(&h);
        return out;
    }

    std::string trace() {
        static const char* hex = "0123456789abcdef";
        std::string t(32, '0');
        for (auto& c : t) c = hex[below(16)];
        return t;
    }

    // One error of `code` (from emitted_codes()) at `h` on `path`, at a time within the incident.
    void emit(const char* code, const Hospital& h, const std::string& path, Source source) {
        const EmittedCode* known = nullptr;
        for (const auto& c : emitted_codes())
            if (std::string(c.code) == code) known = &c;
        HISGATE_CHECK(known != nullptr, "triage_sim", std::string("a code not in emitted_codes(): ") + code);
        ErrorRecord r{known->cls, code, ErrorTags{h.id, h.dialect, path, h.version, h.region}, source,
                      source == Source::Event ? "" : trace()};
        int64_t at = incident_.start_ms + between(0, incident_.end_ms - incident_.start_ms);
        records_.push_back({at, incident_.id, std::move(r)});
    }
    // A request path (answer source) or a probe path (event source).
    void emit_somewhere(const char* code, const Hospital& h, bool probes = true) {
        if (probes && chance(0.35)) emit(code, h, pick(kProbes), Source::Event);
        else emit(code, h, chance(0.7) ? pick(kRealTime) : pick(kDeferred), Source::Answer);
    }

    Incident incident_;
    std::vector<SimRecord> records_;
    std::mt19937_64 rng_;
    std::vector<Hospital> fleet_;
};

void his_down(Gen& g) {
    const Hospital& h = g.hospital();
    int n = static_cast<int>(g.between(3, 25));
    if (h.dialect == "hl7v2-mllp") {
        g.incident_.variant = "unreachable";
        for (int i = 0; i < n; ++i)
            g.emit_somewhere(g.chance(0.6) ? "mllp.connect_failed" : g.chance(0.6) ? "mllp.read_timeout" : "mllp.connection_lost", h);
    } else if (h.dialect == "rest-json") {
        double v = g.unit();
        g.incident_.variant = v < 0.6 ? "unreachable" : v < 0.85 ? "redeploying" : "slow";
        for (int i = 0; i < n; ++i) {
            if (v < 0.6) g.emit_somewhere(g.chance(0.5) ? "rest.connect_failed" : g.chance(0.5) ? "rest.timeout" : "rest.http_503", h);
            else if (v < 0.85) g.emit_somewhere("rest.http_404", h);
            else g.emit_somewhere(g.chance(0.6) ? "rest.timeout" : g.chance(0.7) ? "his.busy" : "his.in_doubt", h);
        }
    } else {
        double v = g.unit();
        g.incident_.variant = v < 0.6 ? "unreachable" : v < 0.8 ? "redeploying" : "maintenance";
        for (int i = 0; i < n; ++i) {
            if (v < 0.6) g.emit_somewhere(g.chance(0.6) ? "soap.connect_failed" : "soap.timeout", h);
            else if (v < 0.8) g.emit_somewhere("his.http_404", h);
            else g.emit_somewhere("his.MAINTENANCE", h);
        }
    }
}

void interface_changed(Gen& g) {
    const Hospital& first = g.hospital();
    // A vendor's upgrade reaches several hospitals of its dialect at once, now and then.
    int reach = g.chance(0.2) ? static_cast<int>(g.between(2, 5)) : 1;
    auto hs = g.hospitals(reach, [&](const Hospital& h) { return h.dialect == first.dialect; });
    g.incident_.variant = reach > 1 ? "vendor-upgrade" : "one-hospital";
    for (const Hospital* h : hs) {
        int n = static_cast<int>(g.between(2, 15));
        if (h->dialect == "hl7v2-mllp") {
            for (int i = 0; i < n; ++i)
                g.emit_somewhere(g.chance(0.5) ? "his.unreadable_answer" : g.chance(0.5) ? "his.mismatched_answer" : "his.unreadable_time", *h);
        } else if (h->dialect == "rest-json") {
            double v = g.unit();
            if (v < 0.25) {  // an endpoint moved: one path (sometimes two) answers a bare 404
                g.incident_.variant += "/endpoint-moved";
                std::string p1 = g.pick(kRealTime), p2 = g.pick(kDeferred);
                bool two = g.chance(0.25);
                for (int i = 0; i < n; ++i) g.emit("rest.http_404", *h, two && g.chance(0.5) ? p2 : p1, Source::Answer);
            } else if (v < 0.4) {
                g.incident_.variant += "/new-required-field";
                for (int i = 0; i < n; ++i) g.emit("his.BAD_REQUEST", *h, g.pick(kRealTime), Source::Answer);
            } else {
                for (int i = 0; i < n; ++i) g.emit_somewhere(g.chance(0.6) ? "his.mismatched_answer" : "his.unreadable_answer", *h);
            }
        } else {
            double v = g.unit();
            if (v < 0.2) {
                g.incident_.variant += "/service-moved";
                std::string p = g.pick(kRealTime);
                for (int i = 0; i < n; ++i) g.emit("his.http_404", *h, p, Source::Answer);
            } else {
                for (int i = 0; i < n; ++i) g.emit_somewhere(g.chance(0.5) ? "soap.unreadable" : "his.unreadable_answer", *h);
            }
        }
    }
}

void vendor_rejection(Gen& g) {
    const Hospital& h = g.hospital();
    int n = static_cast<int>(g.between(2, 15));
    // HL7 HISs answer AE/AR with an ERR code, or (some) without one.
    bool coded = h.dialect != "hl7v2-mllp" || g.chance(0.75);
    g.incident_.variant = coded ? "vendor-code" : "no-code";
    for (int i = 0; i < n; ++i) g.emit(coded ? "his.REFUSED" : "his.rejected", h, g.pick(kRealTime), Source::Answer);
}

void bad_parameter_file(Gen& g) {
    const Hospital& h = g.hospital();
    int n = static_cast<int>(g.between(2, 15));
    double v = g.unit();
    if (v < 0.2) {
        g.incident_.variant = "code-table";
        for (int i = 0; i < n; ++i)
            g.emit(g.chance(0.5) ? "his.unknown_sex" : "his.unknown_payment_method", h,
                   g.chance(0.5) ? "appointment.book" : "payment.pay", Source::Answer);
    } else if (v < 0.35) {
        g.incident_.variant = "patient-id-pattern";
        for (int i = 0; i < n; ++i) g.emit("his.bad_patient_id", h, g.pick(kRealTime), Source::Answer);
    } else if (v < 0.5) {
        g.incident_.variant = "charset";
        const char* code = h.dialect == "soap-xml" ? "soap.charset_unrepresentable" : "hl7.charset_unrepresentable";
        if (h.dialect == "rest-json") code = "his.unreadable_time";  // JSON is UTF-8: its slip is the time zone
        for (int i = 0; i < n; ++i) g.emit_somewhere(code, h);
    } else if (v < 0.65) {
        g.incident_.variant = "probe-cases";
        for (int i = 0; i < n; ++i) g.emit("probe.no_case", h, g.pick(kProbes), Source::Event);
    } else if (v < 0.8) {
        g.incident_.variant = "time-zone";
        for (int i = 0; i < n; ++i) g.emit_somewhere("his.unreadable_time", h);
    } else {
        // Field positions or names wrong: the HIS refuses what it cannot read.
        g.incident_.variant = "field-map";
        const char* code = h.dialect == "hl7v2-mllp" ? "his.rejected" : "his.BAD_REQUEST";
        for (int i = 0; i < n; ++i) g.emit(code, h, g.pick(kRealTime), Source::Answer);
    }
}

void broker_outage(Gen& g) {
    // One node of a broker cluster: the hospitals connected to it; sometimes very few.
    int reach = g.chance(0.15) ? static_cast<int>(g.between(1, 2)) : static_cast<int>(g.between(4, 40));
    auto hs = g.hospitals(reach, [](const Hospital&) { return true; });
    g.incident_.variant = reach <= 2 ? "few-hospitals" : "many-hospitals";
    for (const Hospital* h : hs) {
        int n = static_cast<int>(g.between(1, 3));
        for (int i = 0; i < n; ++i) g.emit("hospital.offline", *h, g.pick(kRealTime), Source::Router);
        if (g.chance(0.3)) g.emit("agent.timeout", *h, g.pick(kRealTime), Source::Router);
    }
    if (g.chance(0.5)) {  // the control plane's own connection went too
        int n = static_cast<int>(g.between(1, 5));
        for (int i = 0; i < n; ++i)
            g.emit(g.chance(0.4) ? "mqtt.publish_failed" : g.chance(0.5) ? "mqtt.disconnected" : "request.not_sent",
                   *g.pick(hs), g.pick(kRealTime), Source::Router);
    }
}

void agent_crash_loop(Gen& g) {
    const Hospital& h = g.hospital();
    // A poison task crashes the agent each time it runs: parked after queue.max_attempts.
    // A crash at start-up parks nothing: only absence shows.
    bool poison = g.chance(0.7);
    g.incident_.variant = poison ? "poison-task" : "start-up-crash";
    int n = static_cast<int>(g.between(2, 8));
    for (int i = 0; i < n; ++i) g.emit("hospital.offline", h, g.pick(kRealTime), Source::Router);
    int timeouts = static_cast<int>(g.between(0, 3));
    for (int i = 0; i < timeouts; ++i) g.emit("agent.timeout", h, g.pick(kRealTime), Source::Router);
    if (poison) {
        int parked = static_cast<int>(g.between(1, 3));
        for (int i = 0; i < parked; ++i) g.emit("agent.attempts_exhausted", h, g.pick(kRealTime), Source::Answer);
    }
}

void our_bug(Gen& g) {
    double v = g.unit();
    if (v < 0.3) {
        g.incident_.variant = "control-plane-store";
        int n = static_cast<int>(g.between(1, 10));
        const char* code = g.chance(0.5) ? "sqlite.error" : g.chance(0.5) ? "records.no_row" : "idempotency.lost";
        for (int i = 0; i < n; ++i) g.emit(code, g.hospital(), "appointment.book", Source::Router);
    } else if (v < 0.55) {
        g.incident_.variant = "agent-exception";
        const char* version = g.pick(kVersions);
        auto hs = g.hospitals(static_cast<int>(g.between(1, 8)), [&](const Hospital& h) { return h.version == version; });
        for (const Hospital* h : hs) {
            int n = static_cast<int>(g.between(1, 4));
            for (int i = 0; i < n; ++i) g.emit_somewhere("agent.task_failed", *h, false);
        }
    } else if (v < 0.9) {
        // A release's reader regressed: its hospitals, whatever their vendor, fail to read answers.
        g.incident_.variant = "parser-regression";
        const char* version = g.pick(kVersions);
        auto hs = g.hospitals(static_cast<int>(g.between(2, 15)), [&](const Hospital& h) { return h.version == version; });
        for (const Hospital* h : hs) {
            int n = static_cast<int>(g.between(1, 5));
            for (int i = 0; i < n; ++i) g.emit_somewhere(g.chance(0.6) ? "his.unreadable_answer" : "his.mismatched_answer", *h);
        }
    } else {
        g.incident_.variant = "bad-envelope";
        auto hs = g.hospitals(static_cast<int>(g.between(1, 5)), [](const Hospital&) { return true; });
        for (const Hospital* h : hs) g.emit("envelope.invalid", *h, g.pick(kRealTime), Source::Answer);
    }
}
}  // namespace

FaultMix generate(uint64_t seed, int n, int fleet) {
    HISGATE_CHECK(fleet >= 10, "triage_sim", "a fleet of at least 10 hospitals");
    Gen g(seed, fleet);
    FaultMix mix;
    // Shares of the kinds, in per mille.
    const std::pair<FaultKind, int> shares[] = {{FaultKind::HisDown, 250},          {FaultKind::InterfaceChanged, 120},
                                                {FaultKind::VendorRejection, 130},  {FaultKind::BadParameterFile, 150},
                                                {FaultKind::BrokerOutage, 80},      {FaultKind::AgentCrashLoop, 120},
                                                {FaultKind::OurBug, 150}};
    int64_t t = 0;
    for (int i = 0; i < n; ++i) {
        // Poisson arrivals, 10 minutes apart on average: some incidents overlap.
        t += static_cast<int64_t>(-std::log(1.0 - g.unit()) * 10 * kMinute);
        int roll = static_cast<int>(g.below(1000));
        FaultKind kind = FaultKind::OurBug;
        for (const auto& [k, share] : shares) {
            if (roll < share) {
                kind = k;
                break;
            }
            roll -= share;
        }
        // Shorter than the book's quiet period (30 min), so an incident's groups are open at its end.
        g.incident_ = {i, kind, "", t, t + g.between(2, 25) * kMinute};
        switch (kind) {
            case FaultKind::HisDown: his_down(g); break;
            case FaultKind::InterfaceChanged: interface_changed(g); break;
            case FaultKind::VendorRejection: vendor_rejection(g); break;
            case FaultKind::BadParameterFile: bad_parameter_file(g); break;
            case FaultKind::BrokerOutage: broker_outage(g); break;
            case FaultKind::AgentCrashLoop: agent_crash_loop(g); break;
            case FaultKind::OurBug: our_bug(g); break;
        }
        mix.incidents.push_back(g.incident_);
    }
    mix.records = std::move(g.records_);
    std::stable_sort(mix.records.begin(), mix.records.end(),
                     [](const SimRecord& a, const SimRecord& b) { return a.at_ms < b.at_ms; });
    return mix;
}

Result<Report> run(const FaultMix& mix, const controlplane::triage::OwnerRules& rules,
                   controlplane::triage::BookSettings settings, size_t samples) {
    ManualClock clock;
    const int64_t base = clock.wall_ms();
    auto opened = controlplane::triage::open_sqlite_error_book(":memory:", rules, clock, settings);
    if (!opened) return opened.error();
    auto& book = **opened;
    // Each incident ends after its last error: its errors' owners are read then.
    std::vector<std::vector<size_t>> of_incident(mix.incidents.size());
    std::vector<int64_t> last_at(mix.incidents.size(), -1);
    for (size_t i = 0; i < mix.records.size(); ++i) {
        of_incident[mix.records[i].incident].push_back(i);
        last_at[mix.records[i].incident] = std::max(last_at[mix.records[i].incident], mix.records[i].at_ms);
    }
    std::vector<std::pair<int64_t, int>> ends;  // (time, incident)
    for (size_t k = 0; k < mix.incidents.size(); ++k)
        if (last_at[k] >= 0) ends.push_back({last_at[k], static_cast<int>(k)});
    std::sort(ends.begin(), ends.end());

    std::vector<controlplane::triage::Routing> routed(mix.records.size());
    Report report;
    auto move_to = [&](int64_t at) {
        int64_t now = clock.wall_ms() - base;
        if (at > now) clock.advance(std::chrono::milliseconds(at - now));
    };
    auto judge = [&](int k) -> Result<void> {
        auto open = book.open_groups({"", 0, 1000000});
        if (!open) return open.error();
        std::map<std::string, const controlplane::triage::ErrorGroup*> by_key;
        for (const auto& g : *open)
            by_key[std::string(hisgate::to_string(g.cls)) + "|" + g.code + "|" + g.tags.hospital + "|" + g.tags.path] = &g;
        const Incident& inc = mix.incidents[k];
        const std::string truth = true_owner(inc.kind);
        Score& s = report.kinds[inc.kind];
        bool all_right = true;
        for (size_t i : of_incident[k]) {
            const auto& r = mix.records[i].record;
            std::string owner = "(not booked)", rule = routed[i].rule;
            if (routed[i].book) {
                auto it = by_key.find(std::string(hisgate::to_string(r.cls)) + "|" + r.code + "|" + r.tags.hospital + "|" +
                                      r.tags.path);
                owner = it == by_key.end() ? "(lost)" : it->second->owner;
                if (it != by_key.end()) rule = it->second->rule;
            }
            bool right = owner == truth;
            s.errors++, report.overall.errors++;
            if (right) s.right++, report.overall.right++;
            else {
                all_right = false;
                auto key = std::make_pair(std::string(to_string(inc.kind)), owner);
                if (report.confusion[key]++ == 0) report.confusion_rule[key] = rule;
                if (report.wrong_samples.size() < samples)
                    report.wrong_samples.push_back("incident " + std::to_string(k) + " " + to_string(inc.kind) + "/" +
                                                   inc.variant + ": " + r.code + " at " + r.tags.hospital + " (" +
                                                   r.tags.dialect + ", " + r.tags.version + ") on " + r.tags.path +
                                                   " -> " + owner + " by rule " + rule + ", expected " + truth);
            }
        }
        s.incidents++, report.overall.incidents++;
        if (all_right) s.incidents_right++, report.overall.incidents_right++;
        return {};
    };
    size_t e = 0;
    for (size_t i = 0; i < mix.records.size(); ++i) {
        while (e < ends.size() && ends[e].first < mix.records[i].at_ms) {
            move_to(ends[e].first);
            if (auto j = judge(ends[e].second); !j) return j.error();
            ++e;
        }
        move_to(mix.records[i].at_ms);
        auto r = book.record(mix.records[i].record);
        if (!r) return r.error();
        routed[i] = *r;
    }
    for (; e < ends.size(); ++e) {
        move_to(ends[e].first);
        if (auto j = judge(ends[e].second); !j) return j.error();
    }
    return report;
}

}  // namespace hisgate::triage_sim
