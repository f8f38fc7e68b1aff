#include "adapters/rest/rest_adapter.h"

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

#include "adapters/his_values.h"
#include "adapters/http/his_http.h"
#include "adapters/rest/rest_fields.h"
#include "common/bounded_json.h"
#include "common/log.h"
#include "common/trace.h"

namespace hisgate {

namespace {

using nlohmann::json;
using rest::RestFields;

std::optional<int64_t> whole_number(const json* v) {
    if (!v || !v->is_number_integer()) return std::nullopt;
    return v->get<int64_t>();
}

// An absent list is empty; anything else but an array is unreadable (nullptr).
const json* array_of(const json* v) {
    static const json empty = json::array();
    if (!v) return &empty;
    return v->is_array() ? v : nullptr;
}

class RestAdapter : public HisAdapter {
public:
    RestAdapter(std::string base, http::HttpOptions http, int max_attempts, RestFields fields,
                std::map<std::string, std::string> error_map)
        : base_(std::move(base)), http_(std::move(http)), max_attempts_(max_attempts), f_(std::move(fields)),
          error_map_(std::move(error_map)) {}

    std::string dialect() const override { return "rest-json"; }

    Result<Report> get_report(const std::string& report_id) override {
        auto a = call("GET", "/reports/" + http::path_segment(report_id), nullptr, "report query", {{"report.id", report_id}});
        if (!a) return a.error();
        Report r{f_.text(*a, "report.id"), f_.text(*a, "patient.id"), f_.text(*a, "report.title"),
                 f_.text(*a, "report.status"), f_.text(*a, "report.issued"), {}, f_.text(*a, "patient.sex")};
        if (r.report_id.empty()) return unreadable_answer("report query", "the answer names no report");
        const json* obs = array_of(f_.find(*a, "report.observations"));
        if (!obs) return unreadable_answer("report query", "observations is not an array");
        for (const auto& o : *obs)
            r.observations.push_back({f_.text(o, "observation.code"), f_.text(o, "observation.name"),
                                      f_.text(o, "observation.value"), f_.text(o, "observation.units"),
                                      f_.text(o, "observation.reference_range"), f_.text(o, "observation.flag")});
        return r;
    }

    Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) override {
        auto a = call("GET", "/patients/" + http::path_segment(patient_id) + "/reports", nullptr, "report list query",
                      {{"patient.id", patient_id}, {"reports", std::nullopt}});
        if (!a) return a.error();
        const json* reports = array_of(f_.find(*a, "reports"));
        if (!reports) return unreadable_answer("report list query", "reports is not an array");
        std::vector<ReportSummary> out;
        for (const auto& s : *reports)
            out.push_back({f_.text(s, "report.id"), f_.text(s, "report.title"), f_.text(s, "report.status"),
                           f_.text(s, "report.issued")});
        return out;
    }

    Result<ReferenceData> extract_reference_data(const std::string& from, const std::string& to) override {
        auto a = call("GET", "/reference?from=" + http::path_segment(from) + "&to=" + http::path_segment(to), nullptr,
                      "reference data query", {{"reference.from", from}, {"reference.to", to}});
        if (!a) return a.error();
        const json* departments = array_of(f_.find(*a, "reference.departments"));
        const json* doctors = array_of(f_.find(*a, "reference.doctors"));
        const json* slots = array_of(f_.find(*a, "reference.slots"));
        if (!departments || !doctors || !slots) return unreadable_answer("reference data", "a list is not an array");
        ReferenceData out;
        for (const auto& d : *departments) out.departments.push_back({f_.text(d, "department.id"), f_.text(d, "department.name")});
        for (const auto& d : *doctors)
            out.doctors.push_back({f_.text(d, "doctor.id"), f_.text(d, "department.id"), f_.text(d, "doctor.name"),
                                   f_.text(d, "doctor.title")});
        for (const auto& s : *slots) {
            ScheduleSlot slot{f_.text(s, "slot.id"),   f_.text(s, "doctor.id"), f_.text(s, "department.id"),
                              f_.text(s, "slot.date"), f_.text(s, "slot.start"), f_.text(s, "slot.end"),
                              f_.text(s, "slot.half"), 0, 0, 0};
            auto capacity = whole_number(f_.find(s, "slot.capacity"));
            auto booked = whole_number(f_.find(s, "slot.booked"));
            auto fee = whole_number(f_.find(s, "slot.fee"));
            if (!capacity || !booked || !fee)
                return unreadable_answer("reference data", "slot " + slot.slot_id + " has a non-numeric capacity, count or fee");
            slot.capacity = static_cast<int>(*capacity);
            slot.booked = static_cast<int>(*booked);
            slot.fee_cents = *fee;
            out.slots.push_back(std::move(slot));
        }
        return out;
    }

    Result<Booking> book(const BookingOrder& order) override {
        json body = json::object();
        f_.put(body, "order.id", order.order_id);
        f_.put(body, "slot.id", order.slot_id);
        f_.put(body, "patient.id", order.patient_id);
        if (!order.patient_sex.empty()) f_.put(body, "patient.sex", order.patient_sex);
        return appointment(call("POST", "/appointments", &body, "booking", {{"order.id", order.order_id}}), "booking");
    }

    Result<Booking> cancel(const std::string& order_id) override {
        json body = json::object();
        return appointment(call("POST", "/appointments/" + http::path_segment(order_id) + "/cancel", &body, "cancellation",
                                {{"order.id", order_id}}),
                           "cancellation");
    }

    Result<Booking> booking_status(const std::string& order_id) override {
        auto a = call("GET", "/appointments/" + http::path_segment(order_id), nullptr, "booking status query",
                      {{"order.id", order_id}});
        // As for payments: only the HIS's own "no such order" settles a booking as absent.
        if (!a && a.error().cls == ErrorClass::NotFound && a.error().code.rfind("his.", 0) == 0)
            return Booking{order_id, "", "", "not_found"};
        return appointment(std::move(a), "booking status query");
    }

    Result<Payment> pay(const PaymentOrder& order) override {
        json body = json::object();
        f_.put(body, "order.id", order.order_id);
        f_.put(body, "payment.amount", order.amount_cents);
        f_.put(body, "payment.method", order.method);
        return payment_from(call("POST", "/payments", &body, "payment", {{"order.id", order.order_id}}), order.order_id,
                            "payment");
    }

    Result<Payment> refund(const PaymentOrder& order) override {
        json body = json::object();
        f_.put(body, "payment.amount", order.amount_cents);
        return payment_from(call("POST", "/payments/" + http::path_segment(order.order_id) + "/refund", &body, "refund",
                                 {{"order.id", order.order_id}}),
                            order.order_id, "refund");
    }

    Result<Payment> payment_status(const std::string& order_id) override {
        auto a = call("GET", "/payments/" + http::path_segment(order_id), nullptr, "payment status query",
                      {{"order.id", order_id}});
        // Only the HIS's own "no such payment" settles a payment as absent: a 404 without a
        // vendor code (a wrong base path, say) must not pass for one.
        if (!a && a.error().cls == ErrorClass::NotFound && a.error().code.rfind("his.", 0) == 0)
            return Payment{order_id, 0, "not_found"};
        return payment_from(std::move(a), order_id, "payment status query");
    }

    Result<std::vector<StatementLine>> daily_statement(const std::string& date) override {
        auto a = call("GET", "/statements/" + http::path_segment(date), nullptr, "statement query", {{"statement.date", date}});
        if (!a) return a.error();
        const json* lines = array_of(f_.find(*a, "statement.lines"));
        if (!lines) return unreadable_answer("statement", "lines is not an array");
        std::vector<StatementLine> out;
        for (const auto& l : *lines) {
            auto amount = whole_number(f_.find(l, "payment.amount"));
            if (!amount) return unreadable_answer("statement", "line " + std::to_string(out.size() + 1) + " has no readable amount");
            out.push_back({f_.text(l, "order.id"), f_.text(l, "payment.kind"), *amount});
        }
        return out;
    }

    // The factory refuses extraction.push.listen: this dialect takes no pushes.
    Result<std::unique_ptr<PushListener>> listen_for_pushes(PushHandler) override {
        return std::unique_ptr<PushListener>();
    }
    Result<HisClockReading> read_clock() override { return http::read_http_clock(http_, base_); }

private:
    // Logical field -> the value a successful answer must repeat (nullopt: must hold at all):
    // what ties an answer to its request, so a stale copy of another answer is never taken
    // for this one.
    using Echoes = std::vector<std::pair<std::string, std::optional<std::string>>>;

    // One request, and its answer as a JSON object. Reads are sent up to his.max_attempts
    // times; a change is sent once, because after a lost or mismatched answer its outcome
    // is unknown.
    Result<json> call(const std::string& method, const std::string& path, const json* body, const std::string& what,
                      const Echoes& echoes) {
        int attempts = body ? 1 : max_attempts_;
        auto worth_retrying = [](const Result<json>& r) {
            return !r && (r.error().cls == ErrorClass::Unavailable || r.error().cls == ErrorClass::Timeout ||
                          r.error().code == "his.mismatched_answer");
        };
        Result<json> r = call_once(method, path, body, what, echoes);
        for (int i = 1; i < attempts && worth_retrying(r); ++i) r = call_once(method, path, body, what, echoes);
        return r;
    }

    Result<json> call_once(const std::string& method, const std::string& path, const json* body, const std::string& what,
                           const Echoes& echoes) {
        // The HIS cannot carry our trace context; the request id links its log lines to ours.
        std::string request_id = random_hex(8);
        log::info("his.query_sent", {{"his_request_id", request_id}, {"method", method}, {"operation", what}});
        http::HttpRequest request{method, base_ + path, body ? body->dump() : "", request_id, {{"Accept", "application/json"}}};
        if (body) request.headers.emplace_back("Content-Type", "application/json");
        auto a = http::http_exchange(http_, request);
        if (!a) {
            log::warn("his.query_failed", {{"his_request_id", request_id}, {"error", a.error().describe()}});
            return a.error();
        }
        log::info("his.answer_received", {{"his_request_id", request_id}, {"http_status", a->status}});
        // The HIS's answer is JSON from the network too: read only within its bounds.
        auto bounded = parse_bounded_json(a->body, {"the HIS's answer", http::kMaxAnswerBytes, "rest.answer"});
        json doc = bounded ? std::move(bounded.value()) : json(json::value_t::discarded);
        if (!bounded && bounded.error().code != "rest.answer.invalid") {
            log::warn("his.answer_refused", {{"his_request_id", request_id}, {"error", bounded.error().describe()}});
            return unreadable_answer(what, bounded.error().message);
        }
        if (a->status < 200 || a->status >= 300) return answer_error(a->status, doc, what);
        if (!doc.is_object()) return unreadable_answer(what, "the body is not a JSON object");
        for (const auto& [field, value] : echoes)
            if (value ? f_.text(doc, field) != *value : f_.find(doc, field) == nullptr) {
                log::warn("his.mismatched_answer", {{"his_request_id", request_id}, {"field", f_.where(field)}});
                return mismatched_answer(what, f_.where(field));
            }
        return doc;
    }

    // A refusal: the class follows the HTTP status unless his.error_map names the vendor code.
    Error answer_error(long status, const json& doc, const std::string& what) const {
        std::string code, text;
        if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
            const json& e = doc["error"];
            if (e.contains("code") && e["code"].is_string()) code = e["code"].get<std::string>();
            if (e.contains("message") && e["message"].is_string()) text = e["message"].get<std::string>();
        }
        // A 404 is the HIS saying "no such thing" only when its application says so in its
        // error body; a bare 404 is a web server without the application (being redeployed,
        // moved): the HIS is unavailable, and nothing may be concluded about the thing asked.
        ErrorClass cls = status == 404 ? (code.empty() ? ErrorClass::Unavailable : ErrorClass::NotFound)
                         : status >= 500 ? ErrorClass::Unavailable
                                         : ErrorClass::Rejected;
        if (auto it = error_map_.find(code); !code.empty() && it != error_map_.end()) cls = error_class_from_string(it->second);
        std::string ecode = !code.empty() ? "his." + code : "rest.http_" + std::to_string(status);
        return make_error(cls, ecode,
                          what + ": the HIS answered HTTP " + std::to_string(status) + (text.empty() ? "" : " (" + text + ")"));
    }

    Result<Booking> appointment(Result<json> a, const std::string& what) const {
        if (!a) return a.error();
        Booking b{f_.text(*a, "order.id"), f_.text(*a, "slot.id"), f_.text(*a, "patient.id"),
                  f_.text(*a, "appointment.status"), f_.text(*a, "patient.sex")};
        if (b.order_id.empty()) return unreadable_answer(what, "the answer names no appointment");
        return b;
    }

    Result<Payment> payment_from(Result<json> a, const std::string& order_id, const std::string& what) const {
        if (!a) return a.error();
        auto amount = whole_number(f_.find(*a, "payment.amount"));
        if (f_.text(*a, "order.id") != order_id || !amount)
            return unreadable_answer(what, "the answer does not describe payment " + order_id);
        return Payment{order_id, *amount, f_.text(*a, "payment.status")};
    }

    std::string base_;
    http::HttpOptions http_;
    int max_attempts_;
    RestFields f_;
    std::map<std::string, std::string> error_map_;
};

Error invalid(const std::string& parameter, const std::string& expected) {
    return make_error(ErrorClass::Config, "params.invalid", parameter + ": expected " + expected);
}

std::string without_trailing_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

}  // namespace

Result<std::unique_ptr<HisAdapter>> make_rest_adapter(const params::ParamSet& p) {
    std::string endpoint = p.string("his.endpoint");
    bool https = endpoint.rfind("https://", 0) == 0;
    if (!https && endpoint.rfind("http://", 0) != 0)
        return invalid("his.endpoint", "an http:// or https:// URL for the rest-json dialect, found \"" + endpoint + "\"");
    if (p.boolean("his.tls.enabled") && !https)
        return invalid("his.tls.enabled", "an https:// his.endpoint when TLS is enabled, found \"" + endpoint + "\"");
    if (!p.string("extraction.push.listen").empty())
        return invalid("extraction.push.listen", "\"\" for the rest-json dialect, which takes no pushes (HL7 v2 only)");
    auto fields = RestFields::from_json(p.json("his.rest.field_map"), "his.rest.field_map");
    if (!fields) return fields.error();

    http::HttpOptions http;
    http.code_prefix = "rest";
    http.connect_timeout = p.duration("his.connect_timeout");
    http.answer_timeout = p.duration("his.answer_timeout");
    http.ca_file = p.string("his.tls.ca_file");
    if (std::string token_file = p.string("his.rest.token_file"); !token_file.empty()) {
        std::ifstream in(token_file);
        std::stringstream token;
        token << in.rdbuf();
        http.auth_value = token.str();
        while (!http.auth_value.empty() && std::isspace(static_cast<unsigned char>(http.auth_value.back())))
            http.auth_value.pop_back();
        if (!in || http.auth_value.empty())
            return invalid("his.rest.token_file", "a readable file holding the HIS's secret, found \"" + token_file + "\"");
        http.auth_header = p.string("his.rest.auth_header");
    }
    std::string base = without_trailing_slash(endpoint) + without_trailing_slash(p.string("his.rest.base_path"));
    return std::unique_ptr<HisAdapter>(std::make_unique<RestAdapter>(std::move(base), std::move(http),
                                                                     static_cast<int>(p.integer("his.max_attempts")),
                                                                     std::move(fields.value()), p.code_table("his.error_map")));
}

Result<void> register_rest_json(AdapterRegistry& registry) { return registry.add("rest-json", make_rest_adapter); }

}  // namespace hisgate
