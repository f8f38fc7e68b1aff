#include "controlplane/vitals/vitals_batch.h"

#include <cmath>

namespace hisgate::controlplane::vitals {

namespace {
// Device times before 2000 or after 2100 are not times a monitor can mean.
constexpr int64_t kEarliestMs = 946684800000;
constexpr int64_t kLatestMs = 4102444800000;

struct Reader {
    const nlohmann::json& j;
    std::string where;  // "records[3]"
    const char* code;

    Error bad(const std::string& field, const std::string& expected) const {
        return make_error(ErrorClass::BadInput, code, where + "." + field + ": expected " + expected);
    }
    Result<std::string> text(const char* field, std::size_t max, bool required = true) const {
        auto it = j.find(field);
        if (it == j.end() || it->is_null()) {
            if (required) return bad(field, "a string of 1.." + std::to_string(max) + " bytes");
            return std::string();
        }
        if (!it->is_string()) return bad(field, "a string");
        const auto& s = it->get_ref<const std::string&>();
        if ((required && s.empty()) || s.size() > max)
            return bad(field, "a string of " + std::string(required ? "1" : "0") + ".." + std::to_string(max) + " bytes, found " +
                                  std::to_string(s.size()));
        for (unsigned char c : s)
            if (c < 0x20 || c == 0x7f) return bad(field, "printable text (a control character found)");
        return s;
    }
    Result<int64_t> integer(const char* field, int64_t lo, int64_t hi, bool required = true) const {
        auto it = j.find(field);
        if (it == j.end() || it->is_null()) {
            if (required) return bad(field, "an integer");
            return int64_t{0};
        }
        if (!it->is_number_integer() && !it->is_number_unsigned()) return bad(field, "an integer");
        if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
            return bad(field, "an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
        int64_t v = it->get<int64_t>();
        if (v < lo || v > hi) return bad(field, "an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
        return v;
    }
};

Result<Priority> priority_of(const std::string& s, const Reader& r) {
    if (s == "high") return Priority::High;
    if (s == "medium") return Priority::Medium;
    if (s == "low") return Priority::Low;
    return r.bad("priority", "high, medium or low");
}
}  // namespace

const char* priority_name(Priority p) {
    return p == Priority::High ? "high" : p == Priority::Medium ? "medium" : "low";
}

Result<VitalsBatch> parse_vitals_batch(const nlohmann::json& body) {
    const char* code = "vitals.bad_batch";
    if (!body.is_object()) return make_error(ErrorClass::BadInput, code, "body: expected an object");
    auto records = body.find("records");
    if (records == body.end() || !records->is_array())
        return make_error(ErrorClass::BadInput, code, "body.records: expected an array");
    if (records->size() > kMaxBatchRecords)
        return make_error(ErrorClass::BadInput, code,
                          "body.records: at most " + std::to_string(kMaxBatchRecords) + " records, found " +
                              std::to_string(records->size()));
    VitalsBatch out;
    Reader top{body, "body", code};
    auto thinned = top.integer("thinnedSinceLast", 0, INT64_MAX / 2, false);
    if (!thinned) return thinned.error();
    out.thinned_since_last = *thinned;
    for (std::size_t i = 0; i < records->size(); ++i) {
        const auto& rec = (*records)[i];
        if (!rec.is_object())
            return make_error(ErrorClass::BadInput, code, "body.records[" + std::to_string(i) + "]: expected an object");
        Reader r{rec, "body.records[" + std::to_string(i) + "]", code};
        auto seq = r.integer("seq", 1, INT64_MAX / 2);
        auto kind = r.text("kind", 16);
        auto device = r.text("device", kMaxNameBytes);
        auto bed = r.text("bed", kMaxNameBytes);
        auto observed = r.integer("observedAt", kEarliestMs, kLatestMs);
        auto received = r.integer("receivedAt", kEarliestMs, kLatestMs);
        for (const Error* e : {seq ? nullptr : &seq.error(), kind ? nullptr : &kind.error(),
                               device ? nullptr : &device.error(), bed ? nullptr : &bed.error(),
                               observed ? nullptr : &observed.error(), received ? nullptr : &received.error()})
            if (e) return *e;
        if (*kind == "sample") {
            auto name = r.text("name", kMaxNameBytes);
            if (!name) return name.error();
            auto unit = r.text("unit", kMaxNameBytes, false);
            if (!unit) return unit.error();
            auto v = rec.find("value");
            if (v == rec.end() || !v->is_number() || !std::isfinite(v->get<double>()) || std::fabs(v->get<double>()) > 1e9)
                return r.bad("value", "a finite number within +-1e9");
            out.samples.push_back({*seq, *device, *bed, *name, *unit, v->get<double>(), *observed, *received});
        } else if (*kind == "alarm") {
            auto alarm_code = r.text("code", kMaxNameBytes);
            if (!alarm_code) return alarm_code.error();
            auto text = r.text("text", kMaxAlarmTextBytes, false);
            if (!text) return text.error();
            auto p = r.text("priority", 16);
            if (!p) return p.error();
            auto priority = priority_of(*p, r);
            if (!priority) return priority.error();
            auto technical = rec.find("technical");
            if (technical != rec.end() && !technical->is_boolean()) return r.bad("technical", "true or false");
            out.alarms.push_back({*seq, *device, *bed, *alarm_code, *text, *priority,
                                  technical != rec.end() && technical->get<bool>(), *observed, *received});
        } else {
            return r.bad("kind", "sample or alarm");
        }
    }
    return out;
}

Result<std::vector<MonitorReport>> parse_monitor_report(const nlohmann::json& body) {
    const char* code = "vitals.bad_monitors";
    if (!body.is_object()) return make_error(ErrorClass::BadInput, code, "body: expected an object");
    auto monitors = body.find("monitors");
    if (monitors == body.end() || !monitors->is_array())
        return make_error(ErrorClass::BadInput, code, "body.monitors: expected an array");
    if (monitors->size() > kMaxMonitorsPerReport)
        return make_error(ErrorClass::BadInput, code,
                          "body.monitors: at most " + std::to_string(kMaxMonitorsPerReport) + " monitors, found " +
                              std::to_string(monitors->size()));
    std::vector<MonitorReport> out;
    for (std::size_t i = 0; i < monitors->size(); ++i) {
        const auto& m = (*monitors)[i];
        if (!m.is_object())
            return make_error(ErrorClass::BadInput, code, "body.monitors[" + std::to_string(i) + "]: expected an object");
        Reader r{m, "body.monitors[" + std::to_string(i) + "]", code};
        MonitorReport report;
        for (auto [field, into, required] :
             {std::tuple{"device", &report.device, true}, std::tuple{"model", &report.model, false},
              std::tuple{"ward", &report.ward, false}, std::tuple{"bed", &report.bed, false},
              std::tuple{"interface", &report.interface, false}, std::tuple{"state", &report.state, true}}) {
            auto t = r.text(field, kMaxNameBytes, required);
            if (!t) return t.error();
            *into = *t;
        }
        auto last = m.find("lastSampleAt");
        if (last != m.end() && !last->is_null()) {
            auto at = r.integer("lastSampleAt", 0, kLatestMs);
            if (!at) return at.error();
            report.last_sample_ms = *at;
        }
        out.push_back(std::move(report));
    }
    return out;
}

}  // namespace hisgate::controlplane::vitals
