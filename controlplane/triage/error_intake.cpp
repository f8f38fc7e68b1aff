#include "controlplane/triage/error_intake.h"

#include "common/log.h"
#include "common/metrics.h"
#include "common/trace.h"

namespace hisgate::controlplane::triage {

namespace {
void count_rejected() {
    metrics::global()
        .counter("hisgate_triage_events_rejected_total", "Failed probe events triage could not book (no code or path)")
        .inc();
}

// A tag from the birth: a string within the record's bounds, else empty.
std::string tag(const nlohmann::json& birth, const char* key) {
    if (!birth.is_object()) return "";
    auto it = birth.find(key);
    if (it == birth.end() || !it->is_string()) return "";
    std::string v = it->get<std::string>();
    if (v.size() > kTagBytes) return "";
    for (char c : v)
        if (!(c > ' ' && c < 0x7f)) return "";
    return v;
}

// A string field of an object, or "" (never a throw on another type).
std::string text_of(const nlohmann::json& o, const char* key) {
    if (!o.is_object()) return "";
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string trace_of(const std::string& traceparent) {
    auto t = TraceContext::parse(traceparent);
    return t ? t->trace_id : "";
}
}  // namespace

ErrorTags ErrorIntake::tags_of(const std::string& hospital_id, const std::string& path) const {
    ErrorTags t;
    t.hospital = hospital_id;
    t.path = path.size() <= kTagBytes ? path : "";
    if (auto h = registry_.find(hospital_id)) {
        t.dialect = tag(h->birth, "adapter");
        t.version = tag(h->birth, "version");
        t.region = tag(h->birth, "region");
    }
    return t;
}

void ErrorIntake::book(ErrorRecord r) {
    auto routed = book_.record(r);
    if (!routed) {
        log::warn("triage.not_booked", {{"code", r.code}, {"hospital_id", r.tags.hospital}, {"error", routed.error().describe()}});
        return;
    }
    if (routed->book)
        log::info("triage.booked", {{"code", r.code}, {"class", to_string(r.cls)}, {"hospital_id", r.tags.hospital},
                                    {"path", r.tags.path}, {"owner", routed->owner}, {"rule", routed->rule}});
}

void ErrorIntake::answer_error(const std::string& hospital_id, const std::string& type, const Error& e,
                               const std::string& traceparent) {
    if (e.cls == ErrorClass::NotFound) return;  // the thing asked for does not exist: an answer, not a fault
    book({e.cls, e.code, tags_of(hospital_id, type), Source::Answer, trace_of(traceparent)});
}

void ErrorIntake::router_failure(const std::string& hospital_id, const std::string& type, const Error& e,
                                 const std::string& trace_id) {
    if (e.cls == ErrorClass::NotFound || e.cls == ErrorClass::BadInput || e.cls == ErrorClass::Rejected) return;
    book({e.cls, e.code, tags_of(hospital_id, type), Source::Router, trace_id});
}

void ErrorIntake::probe_event(const events::AgentEvent& e) {
    const auto& b = e.envelope.body;
    if (text_of(b, "outcome") != "failed") return;
    auto err = b.find("error");  // the body is an object: Envelope::parse refuses any other
    const std::string code = err != b.end() ? text_of(*err, "code") : "";
    const std::string path = text_of(b, "path");
    if (code.empty() || path.empty()) {
        count_rejected();
        log::warn("triage.event_rejected",
                  {{"hospital_id", e.hospital_id}, {"reason", "a failed probe without error.code or path"}});
        return;
    }
    book({error_class_from_string(text_of(*err, "class")), code, tags_of(e.hospital_id, path), Source::Event,
          trace_of(e.traceparent)});
}

}  // namespace hisgate::controlplane::triage
