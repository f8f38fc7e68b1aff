#include "his-sim/rest_responder.h"

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include <thread>

#include "common/http_server.h"
#include "common/log.h"
#include "his-sim/body_limits.h"
#include "his-sim/hl7_responder.h"
#include "hl7/report_values.h"

namespace hisgate::sim {

namespace {

using nlohmann::json;
using rest::RestFields;

json error_body(const std::string& code, const std::string& message) {
    return {{"error", {{"code", code}, {"message", message}}}};
}

int http_status(const Error& e) {
    return e.cls == ErrorClass::NotFound ? 404 : e.cls == ErrorClass::BadInput ? 400 : 409;
}

// Closes the connection without an answer: the client sees it end where the answer should be.
void hang_up(Poco::Net::StreamSocket& s) {
    try {
        s.shutdown();
    } catch (const Poco::Exception&) {
        // already gone
    }
}

// Silence: the request was read and is never answered. The connection stays open until
// the client gives up (or the fault is lifted), so the client's own timeout is what ends it.
void hold_until_client_leaves(Poco::Net::StreamSocket& s, FaultSwitch& faults) {
    char buf[512];
    try {
        while (faults.current().silent) {
            if (!s.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ)) continue;
            if (s.receiveBytes(buf, sizeof buf) <= 0) break;
        }
    } catch (const Poco::Exception&) {
        // reset by the client: it has left
    }
    hang_up(s);
}

}  // namespace

RestResponder::RestResponder(Hospital& hospital, json field_map, std::string base_path, FaultSwitch& faults, SexCodes sex)
    : hospital_(hospital), field_map_(std::move(field_map)), faults_(faults), sex_(std::move(sex)) {
    Poco::URI(base_path).getPathSegments(base_);
}

void RestResponder::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::string request_id = req.get("X-Request-Id", "");
    log::info("sim.request_received", {{"his_request_id", request_id}, {"method", req.getMethod()}});
    auto read = read_body(req, kMaxHisRequestBytes, "a request to this HIS");
    if (!read) return send_text(res, 413, "application/json", error_body("TOO_LARGE", read.error().message).dump());
    const std::string& raw = read.value();
    auto& socket = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket();

    Faults faults = faults_.current();
    if (faults.latency.count() > 0) std::this_thread::sleep_for(faults.latency);
    if (faults.silent) {
        log::info("sim.fault_silent", {{"his_request_id", request_id}});
        return hold_until_client_leaves(socket, faults_);
    }
    auto send = [&res](const Answer& a) { send_text(res, a.status, "application/json", a.body.dump()); };
    if (!faults.reject.empty()) {
        log::info("sim.fault_reject", {{"his_request_id", request_id}, {"vendor_code", faults.reject}});
        return send({422, error_body(faults.reject, "refused by fault injection")});
    }
    // An interface change: this request is answered with some keys renamed.
    json renames = field_map_;
    for (const auto& [logical, key] : faults.moved_fields) renames[logical] = key;
    auto fields = RestFields::from_json(renames, "moved_fields");
    if (!fields) return send({500, error_body("SIM_BAD_FAULT", fields.error().message)});

    Poco::URI uri(req.getURI());
    // Segments split on the raw path, then decoded: an id holding an encoded '/' stays one
    // segment (Poco's decoded path would split it), as a HIS's router would see it.
    std::vector<std::string> path;
    std::string raw_path = req.getURI().substr(0, req.getURI().find_first_of("?#"));
    for (size_t at = 0; at <= raw_path.size();) {
        size_t end = std::min(raw_path.find('/', at), raw_path.size());
        if (end > at) {
            std::string segment;
            Poco::URI::decode(raw_path.substr(at, end - at), segment);
            path.push_back(std::move(segment));
        }
        at = end + 1;
    }
    bool under_base = path.size() >= base_.size() && std::equal(base_.begin(), base_.end(), path.begin());
    std::map<std::string, std::string> query;
    for (const auto& [k, v] : uri.getQueryParameters()) query[k] = v;
    json body = raw.empty() ? json::object() : json::parse(raw, nullptr, /*allow_exceptions=*/false);

    Answer a;
    if (!under_base) a = {404, {{"message", "no such resource"}}};
    else if (!body.is_object()) a = {400, error_body("BAD_REQUEST", "the body is not a JSON object")};
    else a = route(fields.value(), req.getMethod(), {path.begin() + static_cast<long>(base_.size()), path.end()}, query,
                   body, request_id);
    if (faults_.take_drop(req.getMethod() == "POST")) {  // every change is a POST, every query a GET
        log::info("sim.fault_answer_dropped", {{"his_request_id", request_id}});
        return hang_up(socket);
    }
    Answer sent = stale_.pass(a, request_id);
    log::info("sim.answered", {{"his_request_id", request_id}, {"http_status", sent.status}});
    send(sent);
}

RestResponder::Answer RestResponder::route(const RestFields& f, const std::string& method, const std::vector<std::string>& p,
                                           const std::map<std::string, std::string>& query, const json& body,
                                           const std::string& request_id) {
    auto is = [&](std::initializer_list<const char*> shape) {
        if (p.size() != shape.size()) return false;
        size_t i = 0;
        for (const char* s : shape) {
            if (*s != '{' && p[i] != s) return false;
            ++i;
        }
        return true;
    };
    auto refused = [](const Error& e) { return Answer{http_status(e), error_body(vendor_code(e), e.message)}; };
    auto booking = [&](const Result<Booking>& b) {
        if (!b) return refused(b.error());
        Answer a{200, json::object()};
        f.put(a.body, "order.id", b->order_id);
        f.put(a.body, "slot.id", b->slot_id);
        f.put(a.body, "patient.id", b->patient_id);
        f.put(a.body, "patient.sex", SexCodes::recode(b->patient_sex, SexCodes::hl7_table_0001(), sex_));
        f.put(a.body, "appointment.status", b->status);
        return a;
    };
    auto payment = [&](const Result<Payment>& r) {
        if (!r) return refused(r.error());
        if (r->status == "not_found") return Answer{404, error_body("NOT_FOUND", "no payment for this order")};
        Answer a{200, json::object()};
        f.put(a.body, "order.id", r->order_id);
        f.put(a.body, "payment.amount", r->amount_cents);
        f.put(a.body, "payment.status", r->status);
        return a;
    };
    auto amount = [&]() -> std::optional<int64_t> {
        const json* v = f.find(body, "payment.amount");
        if (!v || !v->is_number_integer()) return std::nullopt;
        return v->get<int64_t>();
    };
    const Answer bad_amount{400, error_body("BAD_REQUEST", f.where("payment.amount") + " is not a whole number of cents")};

    if (method == "GET" && is({"reports", "{id}"})) {
        hospital_.record_query(request_id, "report", p[1]);
        return report(f, p[1]);
    }
    if (method == "GET" && is({"patients", "{id}", "reports"})) {
        hospital_.record_query(request_id, "report_list", p[1]);
        return reports_of(f, p[1]);
    }
    if (method == "GET" && is({"reference"})) {
        std::string from = query.count("from") ? query.at("from") : "", to = query.count("to") ? query.at("to") : "";
        hospital_.record_query(request_id, "reference_data", from);
        return reference_data(f, from, to);
    }
    if (method == "POST" && is({"appointments"})) {
        std::string order_id = f.text(body, "order.id");
        hospital_.record_query(request_id, "book", order_id);
        std::string sex = SexCodes::recode(f.text(body, "patient.sex"), sex_, SexCodes::hl7_table_0001());
        return booking(hospital_.book({order_id, f.text(body, "slot.id"), f.text(body, "patient.id"), sex}));
    }
    if (method == "POST" && is({"appointments", "{id}", "cancel"})) {
        hospital_.record_query(request_id, "cancel", p[1]);
        return booking(hospital_.cancel(p[1]));
    }
    if (method == "GET" && is({"appointments", "{id}"})) {
        hospital_.record_query(request_id, "booking_status", p[1]);
        auto b = hospital_.booking_status(p[1]);
        if (b.status == "not_found") return Answer{404, error_body("NOT_FOUND", "no booking for this order")};
        return booking(b);
    }
    if (method == "POST" && is({"payments"})) {
        std::string order_id = f.text(body, "order.id");
        hospital_.record_query(request_id, "pay", order_id);
        auto cents = amount();
        if (!cents) return bad_amount;
        return payment(hospital_.pay({order_id, *cents, f.text(body, "payment.method")}));
    }
    if (method == "POST" && is({"payments", "{id}", "refund"})) {
        hospital_.record_query(request_id, "refund", p[1]);
        auto cents = amount();
        if (!cents) return bad_amount;
        return payment(hospital_.refund({p[1], *cents, ""}));
    }
    if (method == "GET" && is({"payments", "{id}"})) {
        hospital_.record_query(request_id, "payment_status", p[1]);
        return payment(hospital_.payment_status(p[1]));
    }
    if (method == "GET" && is({"statements", "{date}"})) {
        hospital_.record_query(request_id, "statement", p[1]);
        return statement(f, p[1]);
    }
    return {404, {{"message", "no such resource"}}};
}

RestResponder::Answer RestResponder::report(const RestFields& f, const std::string& report_id) {
    auto rep = hospital_.report(report_id);
    if (!rep) return {404, error_body("NOT_FOUND", "no such report")};
    json r = json::object();
    f.put(r, "report.id", rep->report_id);
    f.put(r, "patient.id", rep->patient_id);
    f.put(r, "patient.sex", SexCodes::recode(rep->patient_sex, SexCodes::hl7_table_0001(), sex_));
    f.put(r, "report.title", rep->title);
    // The hospital keeps HL7-native values; this vendor publishes words and ISO 8601.
    f.put(r, "report.status", hl7::report_status(rep->status).value_or(rep->status));
    f.put(r, "report.issued", hl7::iso_timestamp(rep->issued_at).value_or(rep->issued_at));
    json obs = json::array();
    for (const auto& o : rep->observations) {
        json j = json::object();
        f.put(j, "observation.code", o.code);
        f.put(j, "observation.name", o.name);
        f.put(j, "observation.value", o.value);
        f.put(j, "observation.units", o.units);
        f.put(j, "observation.reference_range", o.reference_range);
        f.put(j, "observation.flag", o.flag);
        obs.push_back(std::move(j));
    }
    f.put(r, "report.observations", std::move(obs));
    return {200, std::move(r)};
}

RestResponder::Answer RestResponder::reports_of(const RestFields& f, const std::string& patient_id) {
    json list = json::array();
    for (const auto& s : hospital_.reports_of(patient_id)) {
        json j = json::object();
        f.put(j, "report.id", s.report_id);
        f.put(j, "report.title", s.title);
        f.put(j, "report.status", hl7::report_status(s.status).value_or(s.status));
        f.put(j, "report.issued", hl7::iso_timestamp(s.issued_at).value_or(s.issued_at));
        list.push_back(std::move(j));
    }
    json r = json::object();
    f.put(r, "patient.id", patient_id);
    f.put(r, "reports", std::move(list));
    return {200, std::move(r)};
}

RestResponder::Answer RestResponder::reference_data(const RestFields& f, const std::string& from, const std::string& to) {
    auto data = hospital_.reference_data(from, to);
    json departments = json::array(), doctors = json::array(), slots = json::array();
    for (const auto& d : data.departments) {
        json j = json::object();
        f.put(j, "department.id", d.department_id);
        f.put(j, "department.name", d.name);
        departments.push_back(std::move(j));
    }
    for (const auto& d : data.doctors) {
        json j = json::object();
        f.put(j, "doctor.id", d.doctor_id);
        f.put(j, "department.id", d.department_id);
        f.put(j, "doctor.name", d.name);
        f.put(j, "doctor.title", d.title);
        doctors.push_back(std::move(j));
    }
    for (const auto& s : data.slots) {
        json j = json::object();
        f.put(j, "slot.id", s.slot_id);
        f.put(j, "doctor.id", s.doctor_id);
        f.put(j, "department.id", s.department_id);
        f.put(j, "slot.date", s.date);
        f.put(j, "slot.start", s.start);
        f.put(j, "slot.end", s.end);
        f.put(j, "slot.half", s.half);
        f.put(j, "slot.capacity", s.capacity);
        f.put(j, "slot.booked", s.booked);
        f.put(j, "slot.fee", s.fee_cents);
        slots.push_back(std::move(j));
    }
    json r = json::object();
    f.put(r, "reference.from", from);
    f.put(r, "reference.to", to);
    f.put(r, "reference.departments", std::move(departments));
    f.put(r, "reference.doctors", std::move(doctors));
    f.put(r, "reference.slots", std::move(slots));
    return {200, std::move(r)};
}

RestResponder::Answer RestResponder::statement(const RestFields& f, const std::string& date) {
    json lines = json::array();
    for (const auto& line : hospital_.statement(date)) {
        json j = json::object();
        f.put(j, "order.id", line.order_id);
        f.put(j, "payment.kind", line.kind);
        f.put(j, "payment.amount", line.amount_cents);
        lines.push_back(std::move(j));
    }
    json r = json::object();
    f.put(r, "statement.date", date);
    f.put(r, "statement.lines", std::move(lines));
    return {200, std::move(r)};
}

}  // namespace hisgate::sim
