#include "adapters/soap/soap_adapter.h"

#include <charconv>
#include <optional>

#include "adapters/his_values.h"
#include "adapters/http/his_http.h"
#include "adapters/money.h"
#include "adapters/soap/soap_envelope.h"
#include "common/log.h"
#include "common/trace.h"
#include "hl7/report_values.h"

namespace hisgate {

namespace {

using soap::Element;

struct SoapHttp {
    std::string endpoint;
    http::HttpOptions options;
    int max_attempts = 1;
};

class SoapAdapter : public HisAdapter {
public:
    SoapAdapter(SoapHttp http, soap::SoapDialect d) : http_(std::move(http)), d_(std::move(d)) {}

    std::string dialect() const override { return "soap-xml"; }

    Result<Report> get_report(const std::string& report_id) override {
        Element q{"GetReport", {}, {}};
        q.add("ReportId", report_id);
        auto a = call(q, "report query", true, {"ReportId"});
        if (!a) return a.error();
        if (a->text_of("ReportId").empty()) return unreadable_answer("report query", "the answer names no report");
        const std::string status = a->text_of("Status"), issued = a->text_of("IssuedAt");
        Report r{a->text_of("ReportId"), a->text_of("PatientId"), a->text_of("Title"),
                 hl7::report_status(status).value_or(status), hl7::iso_timestamp(issued).value_or(issued), {},
                 a->text_of("PatientSex")};
        for (const auto* o : a->all("Observation"))
            r.observations.push_back({o->text_of("Code"), o->text_of("Name"), o->text_of("Value"), o->text_of("Units"),
                                      o->text_of("ReferenceRange"), o->text_of("Flag")});
        return r;
    }

    Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) override {
        Element q{"ListReports", {}, {}};
        q.add("PatientId", patient_id);
        auto a = call(q, "report list query", true, {"PatientId"});
        if (!a) return a.error();
        std::vector<ReportSummary> out;
        for (const auto* r : a->all("Report")) {
            const std::string status = r->text_of("Status"), issued = r->text_of("IssuedAt");
            out.push_back({r->text_of("ReportId"), r->text_of("Title"), hl7::report_status(status).value_or(status),
                           hl7::iso_timestamp(issued).value_or(issued)});
        }
        return out;
    }

    Result<ReferenceData> extract_reference_data(const std::string& from, const std::string& to) override {
        Element q{"GetReferenceData", {}, {}};
        q.add("FromDate", from);
        q.add("ToDate", to);
        auto a = call(q, "reference data query", true, {"FromDate", "ToDate"});
        if (!a) return a.error();
        ReferenceData out;
        for (const auto* e : a->all("Department")) out.departments.push_back({e->text_of("DepartmentId"), e->text_of("Name")});
        for (const auto* e : a->all("Doctor"))
            out.doctors.push_back({e->text_of("DoctorId"), e->text_of("DepartmentId"), e->text_of("Name"), e->text_of("DoctorTitle")});
        for (const auto* e : a->all("Slot")) {
            auto slot = slot_with_numbers({e->text_of("SlotId"), e->text_of("DoctorId"), e->text_of("DepartmentId"),
                                           e->text_of("Date"), e->text_of("Start"), e->text_of("End"),
                                           e->text_of("Half"), 0, 0, 0},
                                          e->text_of("Capacity"), e->text_of("Booked"), e->text_of("Fee"));
            if (!slot) return slot.error();
            out.slots.push_back(std::move(slot.value()));
        }
        return out;
    }

    Result<Booking> book(const BookingOrder& order) override {
        Element q{"BookAppointment", {}, {}};
        q.add("OrderId", order.order_id);
        q.add("SlotId", order.slot_id);
        q.add("PatientId", order.patient_id);
        if (!order.patient_sex.empty()) q.add("PatientSex", order.patient_sex);
        return appointment(q, "booking");
    }

    Result<Booking> cancel(const std::string& order_id) override {
        Element q{"CancelAppointment", {}, {}};
        q.add("OrderId", order_id);
        return appointment(q, "cancellation");
    }

    Result<Booking> booking_status(const std::string& order_id) override {
        Element q{"GetBookingStatus", {}, {}};
        q.add("OrderId", order_id);
        auto a = call(q, "booking status query", true, {"OrderId"});
        if (!a) return a.error();
        if (a->text_of("Status") == "not_found") return Booking{order_id, "", "", "not_found"};
        return booking_from(a.value(), "booking status query");
    }

    Result<Payment> pay(const PaymentOrder& order) override { return financial("Pay", order, "payment"); }
    Result<Payment> refund(const PaymentOrder& order) override { return financial("Refund", order, "refund"); }

    Result<Payment> payment_status(const std::string& order_id) override {
        Element q{"GetPaymentStatus", {}, {}};
        q.add("OrderId", order_id);
        auto a = call(q, "payment status query", true, {"OrderId"});
        if (!a) return a.error();
        if (a->text_of("Status") == "not_found") return Payment{order_id, 0, "not_found"};
        return payment_from(a.value(), order_id, "payment status query");
    }

    Result<std::vector<StatementLine>> daily_statement(const std::string& date) override {
        Element q{"GetStatement", {}, {}};
        q.add("Date", date);
        auto a = call(q, "statement query", true, {"Date"});
        if (!a) return a.error();
        std::vector<StatementLine> out;
        for (const auto* l : a->all("Line")) {
            auto amount = decimal_to_cents(l->text_of("Amount"));
            if (!amount) return unreadable_answer("statement", "line " + l->text_of("OrderId") + " has no readable amount");
            out.push_back({l->text_of("OrderId"), l->text_of("Kind"), *amount});
        }
        return out;
    }

    // The factory refuses extraction.push.listen: this dialect takes no pushes.
    Result<std::unique_ptr<PushListener>> listen_for_pushes(PushHandler) override {
        return std::unique_ptr<PushListener>();
    }
    Result<HisClockReading> read_clock() override { return http::read_http_clock(http_.options, http_.endpoint); }

private:
    Result<Booking> appointment(const Element& q, const std::string& what) {
        auto a = call(q, what, false, {"OrderId"});
        if (!a) return a.error();
        return booking_from(a.value(), what);
    }

    Result<Booking> booking_from(const Element& a, const std::string& what) {
        Booking b{a.text_of("OrderId"), a.text_of("SlotId"), a.text_of("PatientId"), a.text_of("Status"),
                  a.text_of("PatientSex")};
        if (b.order_id.empty()) return unreadable_answer(what, "the answer names no appointment");
        return b;
    }

    Result<Payment> financial(const char* operation, const PaymentOrder& order, const std::string& what) {
        Element q{operation, {}, {}};
        q.add("OrderId", order.order_id);
        q.add("Amount", cents_to_decimal(order.amount_cents));
        q.add("Method", order.method);
        auto a = call(q, what, false, {"OrderId"});
        if (!a) return a.error();
        return payment_from(a.value(), order.order_id, what);
    }

    Result<Payment> payment_from(const Element& a, const std::string& order_id, const std::string& what) {
        auto amount = decimal_to_cents(a.text_of("Amount"));
        if (a.text_of("OrderId") != order_id || !amount)
            return unreadable_answer(what, "the answer does not describe order " + order_id);
        return Payment{order_id, *amount, a.text_of("Status")};
    }

    // One operation: its answer element, or the error. The answer must repeat the request's
    // `echoes` elements: what ties it to this request, so a stale copy of another answer is
    // never taken for it. Reads are sent up to his.max_attempts times while the HIS is
    // unreachable, silent or answers something else; changes never are.
    Result<Element> call(const Element& operation, const std::string& what, bool read_only,
                         std::initializer_list<const char*> echoes) {
        auto body = soap::write_envelope(d_, operation);
        if (!body) return body.error();
        int attempts = read_only ? http_.max_attempts : 1;
        for (int attempt = 1;; ++attempt) {
            auto answer = exchange(operation.name, body.value(), what);
            if (answer)
                for (const char* name : echoes)
                    if (answer->text_of(name) != operation.text_of(name)) {
                        log::warn("his.mismatched_answer", {{"operation", operation.name}, {"field", d_.vendor_name(name)}});
                        answer = mismatched_answer(what, d_.vendor_name(name));
                        break;
                    }
            bool transient = !answer && (answer.error().cls == ErrorClass::Unavailable || answer.error().cls == ErrorClass::Timeout ||
                                         answer.error().code == "his.mismatched_answer");
            if (!transient || attempt >= attempts) return answer;
        }
    }

    Result<Element> exchange(const std::string& operation, const std::string& body, const std::string& what) {
        std::string request_id = random_hex(8);
        // The HIS cannot carry our trace context; the request id links its log lines to ours.
        log::info("his.query_sent", {{"his_request_id", request_id}, {"operation", operation}});
        long status = 0;
        auto bytes = post(operation, body, request_id, status);
        if (!bytes) {
            log::warn("his.query_failed", {{"his_request_id", request_id}, {"error", bytes.error().describe()}});
            return bytes.error();
        }
        log::info("his.answer_received", {{"his_request_id", request_id}, {"http_status", status}});
        if (status == 404)
            // No service at the endpoint says nothing about the thing asked for (a HIS being
            // redeployed answers so): unavailable, never "not found".
            return make_error(ErrorClass::Unavailable, "his.http_404", what + ": the HIS has no SOAP service at " + http_.endpoint);
        auto envelope = soap::read_envelope(d_, bytes.value());
        if (!envelope) return unreadable_answer(what, envelope.error().message);
        if (envelope->fault) return d_.fault_error(envelope->fault_code, envelope->fault_text, what);
        if (envelope->operation_ns != d_.ns)
            return unreadable_answer(what, "expected " + operation + "Response in namespace " + d_.ns + ", found " +
                                        envelope->operation.name + " in " + envelope->operation_ns);
        if (envelope->operation.name != operation + "Response")
            return mismatched_answer(what, "operation (" + envelope->operation.name + " for " + operation + ")");
        return std::move(envelope->operation);
    }

    // One POST through the shared HIS exchange (adapters/http/his_http.h).
    Result<std::string> post(const std::string& operation, const std::string& body, const std::string& request_id, long& status) {
        http::HttpRequest request{"POST", http_.endpoint, body, request_id,
                                  {{"Content-Type", "text/xml; charset=" + soap::xml_encoding_name(d_.charset)},
                                   {"SOAPAction", "\"" + d_.action_prefix + operation + "\""}}};
        auto answer = http::http_exchange(http_.options, request);
        if (!answer) return answer.error();
        status = answer->status;
        return std::move(answer->body);
    }

    SoapHttp http_;
    soap::SoapDialect d_;
};

}  // namespace

Result<std::unique_ptr<HisAdapter>> make_soap_adapter(const params::ParamSet& p) {
    SoapHttp http;
    http.options.code_prefix = "soap";
    http.endpoint = p.string("his.endpoint");
    bool https = http.endpoint.rfind("https://", 0) == 0;
    if (!https && http.endpoint.rfind("http://", 0) != 0)
        return make_error(ErrorClass::Config, "params.invalid",
                          "his.endpoint: expected http(s)://host:port/path for soap-xml, found \"" + http.endpoint + "\"");
    if (p.boolean("his.tls.enabled") && !https)
        return make_error(ErrorClass::Config, "params.invalid", "his.tls.enabled: TLS needs an https:// his.endpoint");
    if (!p.string("extraction.push.listen").empty())
        return make_error(ErrorClass::Config, "params.invalid",
                          "extraction.push.listen: expected \"\" for the soap-xml dialect, which takes no pushes (HL7 v2 only)");
    http.options.ca_file = p.string("his.tls.ca_file");
    http.options.connect_timeout = p.duration("his.connect_timeout");
    http.options.answer_timeout = p.duration("his.answer_timeout");
    http.max_attempts = static_cast<int>(p.integer("his.max_attempts"));
    auto dialect = soap::dialect_from_params(p);
    if (!dialect) return dialect.error();
    return std::unique_ptr<HisAdapter>(std::make_unique<SoapAdapter>(std::move(http), std::move(dialect.value())));
}

Result<void> register_soap_xml(AdapterRegistry& registry) { return registry.add("soap-xml", make_soap_adapter); }

}  // namespace hisgate
