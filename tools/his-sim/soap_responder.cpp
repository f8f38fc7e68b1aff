#include "his-sim/soap_responder.h"

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>

#include <thread>

#include "adapters/money.h"
#include "common/http_server.h"
#include "common/log.h"
#include "his-sim/body_limits.h"
#include "his-sim/hl7_responder.h"

namespace hisgate::sim {

namespace {
using soap::Element;

Poco::Net::StreamSocket& socket_of(Poco::Net::HTTPServerRequest& req) {
    return dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket();
}

// A silent HIS holds the request unanswered until the caller gives up (or the fault is
// lifted): the caller must see its own timeout, not a closed connection.
void hold_silently(Poco::Net::StreamSocket& socket, const FaultSwitch& faults) {
    while (faults.current().silent) {
        try {
            if (socket.poll(Poco::Timespan(0, 50000), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR) &&
                socket.available() == 0)
                return;  // the caller hung up
        } catch (const Poco::Exception&) {
            return;
        }
    }
}

Element payment_element(const std::string& name, const Payment& p) {
    Element e{name, {}, {}};
    e.add("OrderId", p.order_id);
    e.add("Amount", cents_to_decimal(p.amount_cents));
    e.add("Status", p.status);
    return e;
}

Element booking_element(const std::string& name, const Booking& b, const SexCodes& sex) {
    Element e{name, {}, {}};
    e.add("OrderId", b.order_id);
    e.add("SlotId", b.slot_id);
    e.add("PatientId", b.patient_id);
    e.add("PatientSex", SexCodes::recode(b.patient_sex, SexCodes::hl7_table_0001(), sex));
    e.add("Status", b.status);
    return e;
}

soap::SoapDialect dialect_of(std::string ns, const nlohmann::json& field_map, hl7::Charset charset) {
    soap::SoapDialect d;
    d.ns = std::move(ns);
    d.charset = charset;
    for (const auto& [ours, theirs] : field_map.items())
        if (theirs.is_string()) d.fields[ours] = theirs.get<std::string>();
    return d;
}
}  // namespace

SoapResponder::SoapResponder(Hospital& hospital, std::string ns, nlohmann::json field_map, FaultSwitch& faults,
                             hl7::Charset charset, SexCodes sex)
    : hospital_(hospital), dialect_(dialect_of(std::move(ns), field_map, charset)), faults_(faults), sex_(std::move(sex)) {}

void SoapResponder::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::string request_id = req.get("X-Request-Id", "");
    auto read = read_body(req, kMaxHisRequestBytes, "a request to this HIS");
    if (!read) return send_text(res, 413, "text/plain", read.error().describe());
    const std::string& body = read.value();
    Faults faults = faults_.current();
    // An interface change: this answer uses some other element names.
    soap::SoapDialect d = dialect_;
    for (const auto& [ours, theirs] : faults.moved_fields) d.fields[ours] = theirs;

    auto send = [&](int status, const Result<std::string>& xml) {
        if (!xml) {
            send_text(res, 500, "text/plain", xml.error().describe());
            return;
        }
        send_text(res, status, "text/xml; charset=" + soap::xml_encoding_name(d.charset), xml.value());
    };
    if (req.getMethod() != "POST") return send_text(res, 405, "text/plain", "SOAP wants POST");
    auto envelope = soap::read_envelope(dialect_, body);
    if (!envelope || envelope->fault || envelope->operation_ns != d.ns) {
        log::info("sim.unreadable_message", {{"his_request_id", request_id}});
        return send(500, soap::write_fault(d, true, "BAD_REQUEST", "expected a SOAP request in namespace " + d.ns));
    }
    const std::string& operation = envelope->operation.name;
    log::info("sim.message_received", {{"his_request_id", request_id}, {"operation", operation}});

    if (faults.latency.count() > 0) std::this_thread::sleep_for(faults.latency);
    if (faults.silent) {
        log::info("sim.fault_silent", {{"his_request_id", request_id}});
        hold_silently(socket_of(req), faults_);
        return socket_of(req).close();
    }
    if (!faults.reject.empty()) {
        log::info("sim.fault_reject", {{"his_request_id", request_id}, {"vendor_code", faults.reject}});
        return send(500, soap::write_fault(d, false, faults.reject, "refused by fault injection"));
    }
    auto answer = perform(envelope->operation, request_id);
    bool change = operation == "BookAppointment" || operation == "CancelAppointment" || operation == "Pay" ||
                  operation == "Refund";
    if (faults_.take_drop(change)) {
        // Committed, and the answer is lost on the way: the connection closes with nothing sent.
        log::info("sim.fault_answer_dropped", {{"his_request_id", request_id}, {"operation", operation}});
        socket_of(req).shutdown();
        return socket_of(req).close();
    }
    std::pair<int, std::string> out{200, {}};
    Result<std::string> xml = answer ? soap::write_envelope(d, answer.value()) : Result<std::string>(std::string());
    if (!answer) {
        bool client = answer.error().code == "soap.unknown_operation";
        out.first = 500;
        xml = soap::write_fault(d, client, client ? "BAD_REQUEST" : vendor_code(answer.error()), answer.error().message);
    }
    if (!xml) return send(500, xml);
    out.second = std::move(xml.value());
    auto sent = stale_.pass(out, request_id);
    log::info("sim.answered", {{"his_request_id", request_id}, {"operation", operation}});
    send(sent.first, sent.second);
}

Result<Element> SoapResponder::perform(const Element& op, const std::string& request_id) {
    const std::string& name = op.name;
    Element out{name + "Response", {}, {}};
    if (name == "GetReport") {
        hospital_.record_query(request_id, "report", op.text_of("ReportId"));
        auto r = hospital_.report(op.text_of("ReportId"));
        if (!r) return make_error(ErrorClass::NotFound, "report.not_found", "no such report");
        for (const auto& [k, v] : {std::pair{"ReportId", r->report_id}, {"PatientId", r->patient_id},
                                   {"PatientSex", SexCodes::recode(r->patient_sex, SexCodes::hl7_table_0001(), sex_)},
                                   {"Title", r->title},
                                   {"Status", r->status}, {"IssuedAt", r->issued_at}})
            out.add(k, v);
        for (const auto& o : r->observations) {
            auto& e = out.add("Observation");
            for (const auto& [k, v] : {std::pair{"Code", o.code}, {"Name", o.name}, {"Value", o.value}, {"Units", o.units},
                                       {"ReferenceRange", o.reference_range}, {"Flag", o.flag}})
                e.add(k, v);
        }
    } else if (name == "ListReports") {
        hospital_.record_query(request_id, "report_list", op.text_of("PatientId"));
        out.add("PatientId", op.text_of("PatientId"));
        for (const auto& s : hospital_.reports_of(op.text_of("PatientId"))) {
            auto& e = out.add("Report");
            for (const auto& [k, v] : {std::pair{"ReportId", s.report_id}, {"Title", s.title}, {"Status", s.status}, {"IssuedAt", s.issued_at}})
                e.add(k, v);
        }
    } else if (name == "GetReferenceData") {
        hospital_.record_query(request_id, "reference_data", op.text_of("FromDate"));
        auto data = hospital_.reference_data(op.text_of("FromDate"), op.text_of("ToDate"));
        out.add("FromDate", op.text_of("FromDate"));
        out.add("ToDate", op.text_of("ToDate"));
        for (const auto& dep : data.departments) {
            auto& e = out.add("Department");
            e.add("DepartmentId", dep.department_id);
            e.add("Name", dep.name);
        }
        for (const auto& doc : data.doctors) {
            auto& e = out.add("Doctor");
            for (const auto& [k, v] : {std::pair{"DoctorId", doc.doctor_id}, {"DepartmentId", doc.department_id},
                                       {"Name", doc.name}, {"DoctorTitle", doc.title}})
                e.add(k, v);
        }
        for (const auto& sl : data.slots) {
            auto& e = out.add("Slot");
            for (const auto& [k, v] : {std::pair{"SlotId", sl.slot_id}, {"DoctorId", sl.doctor_id}, {"DepartmentId", sl.department_id},
                                       {"Date", sl.date}, {"Start", sl.start}, {"End", sl.end}, {"Half", sl.half},
                                       {"Capacity", std::to_string(sl.capacity)}, {"Booked", std::to_string(sl.booked)},
                                       {"Fee", cents_to_decimal(sl.fee_cents)}})
                e.add(k, v);
        }
    } else if (name == "BookAppointment" || name == "CancelAppointment") {
        bool cancel = name == "CancelAppointment";
        std::string order_id = op.text_of("OrderId");
        hospital_.record_query(request_id, cancel ? "cancel" : "book", order_id);
        std::string sex = SexCodes::recode(op.text_of("PatientSex"), sex_, SexCodes::hl7_table_0001());
        auto done = cancel ? hospital_.cancel(order_id) : hospital_.book({order_id, op.text_of("SlotId"), op.text_of("PatientId"), sex});
        if (!done) return done.error();
        return booking_element(out.name, done.value(), sex_);
    } else if (name == "Pay" || name == "Refund") {
        std::string order_id = op.text_of("OrderId");
        hospital_.record_query(request_id, name == "Pay" ? "pay" : "refund", order_id);
        auto amount = decimal_to_cents(op.text_of("Amount"));
        if (!amount) return make_error(ErrorClass::BadInput, "amount.invalid", "Amount is not a decimal number");
        PaymentOrder order{order_id, *amount, op.text_of("Method")};
        auto done = name == "Pay" ? hospital_.pay(order) : hospital_.refund(order);
        if (!done) return done.error();
        return payment_element(out.name, done.value());
    } else if (name == "GetBookingStatus") {
        hospital_.record_query(request_id, "booking_status", op.text_of("OrderId"));
        return booking_element(out.name, hospital_.booking_status(op.text_of("OrderId")), sex_);
    } else if (name == "GetPaymentStatus") {
        hospital_.record_query(request_id, "payment_status", op.text_of("OrderId"));
        return payment_element(out.name, hospital_.payment_status(op.text_of("OrderId")));
    } else if (name == "GetStatement") {
        hospital_.record_query(request_id, "statement", op.text_of("Date"));
        out.add("Date", op.text_of("Date"));
        for (const auto& line : hospital_.statement(op.text_of("Date"))) {
            auto& e = out.add("Line");
            e.add("OrderId", line.order_id);
            e.add("Kind", line.kind);
            e.add("Amount", cents_to_decimal(line.amount_cents));
        }
    } else {
        return make_error(ErrorClass::BadInput, "soap.unknown_operation", "operation " + name + " is not supported by this HIS");
    }
    return out;
}

}  // namespace hisgate::sim
