#include "his-sim/hl7_responder.h"

#include <thread>

#include "adapters/money.h"
#include "common/log.h"
#include "common/trace.h"
#include "hl7/ack.h"

namespace hisgate::sim {

namespace {
std::string indexed(const std::string& path, int i) { return path.substr(0, 3) + "[" + std::to_string(i) + "]" + path.substr(3); }

}  // namespace

std::string vendor_code(const Error& e) {
    if (e.code == "slot.full") return "SLOT_FULL";
    if (e.code == "order.conflict") return "ORDER_CONFLICT";
    if (e.cls == ErrorClass::NotFound) return "NOT_FOUND";
    return "REFUSED";
}

hl7::Message Hl7Responder::reply(const hl7v2::Hl7Dialect& d, const hl7::Message& request, const std::string& type) {
    auto m = d.message(type, random_hex(10), /*reply=*/true);
    (void)m.set("MSA-1", "AA");
    (void)m.set("MSA-2", request.get("MSH-10"));
    return m;
}

std::string Hl7Responder::refuse(const hl7v2::Hl7Dialect& d, const hl7::Message& request, const std::string& type,
                                 const std::string& code, const std::string& why) {
    auto m = reply(d, request, type);
    (void)m.set("MSA-1", "AE");
    (void)m.set("MSA-3", why);
    (void)m.set(hl7::err_code_path(d.version), code);
    (void)m.set("ERR-4", "E");
    return d.wire(m);
}

mllp::Answer Hl7Responder::answer(std::string_view raw) {
    auto parsed = hl7::Message::parse(raw);
    if (!parsed) {
        log::warn("sim.unreadable_message", {{"error", parsed.error().describe()}});
        return hl7::ack_for(raw);
    }
    const auto& msg = parsed.value();
    std::string control_id = msg.get("MSH-10");
    std::string type = msg.get("MSH-9-1") + "^" + msg.get("MSH-9-2");
    log::info("sim.message_received", {{"hl7_control_id", control_id}, {"message_type", type}});

    Faults faults = faults_.current();
    if (faults.latency.count() > 0) std::this_thread::sleep_for(faults.latency);
    if (faults.silent) {
        log::info("sim.fault_silent", {{"hl7_control_id", control_id}});
        return {};
    }
    if (!faults.reject.empty()) {
        log::info("sim.fault_reject", {{"hl7_control_id", control_id}, {"vendor_code", faults.reject}});
        return refuse(dialect_, msg, "ACK", faults.reject, "refused by fault injection");
    }
    // An interface change: this message is answered with some fields somewhere else.
    hl7v2::Hl7Dialect d = dialect_;
    for (const auto& [logical, path] : faults.moved_fields) d.fields[logical] = path;

    std::string out;
    if (type == "QRY^R02" || type == "QBP^Q11") out = report(d, msg);
    else if (type == "QBP^ZRD") out = reference_data(d, msg);
    else if (type == "SRM^S01") out = appointment(d, msg, false);
    else if (type == "SRM^S04") out = appointment(d, msg, true);
    else if (type == "DFT^P03") out = financial(d, msg);
    else if (type == "QBP^ZBS") out = booking_status(d, msg);
    else if (type == "QBP^ZPS") out = payment_status(d, msg);
    else if (type == "QBP^ZST") out = statement(d, msg);
    else {
        log::info("sim.unsupported_message", {{"hl7_control_id", control_id}, {"message_type", type}});
        return hl7::make_ack(msg, hl7::AckCode::AR, "message type " + type + " is not supported by this HIS");
    }
    // Enhanced mode: the HIS first accepts the message (CA), then answers it.
    std::string accepted;
    if (d.enhanced_ack) {
        auto ca = reply(d, msg, "ACK^" + msg.get("MSH-9-2") + "^ACK");
        (void)ca.set("MSA-1", "CA");
        accepted = d.wire(ca);
    }
    if (faults_.take_drop()) {
        log::info("sim.fault_answer_dropped", {{"hl7_control_id", control_id}, {"message_type", type}});
        mllp::Answer only_accepted;
        only_accepted.accept_ack = std::move(accepted);
        return only_accepted;
    }
    mllp::Answer answer(std::move(out));
    answer.accept_ack = std::move(accepted);
    if (faults_.take_duplicate()) {
        answer.copies = 2;
        log::info("sim.fault_duplicate_answer", {{"hl7_control_id", control_id}});
    }
    log::info("sim.answered", {{"hl7_control_id", control_id}, {"message_type", type}});
    return answer;
}

std::string Hl7Responder::report(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    bool qbp = m.get("MSH-9-1") == "QBP";
    std::string report_id = m.get(qbp ? "QPD-3" : d.field("query.report_id"));
    std::string patient_id = m.get(qbp ? "QPD-4" : d.field("query.patient_id"));
    hospital_.record_query(m.get("MSH-10"), report_id.empty() ? "report_list" : "report",
                           report_id.empty() ? patient_id : report_id);
    auto r = reply(d, m, qbp ? "RSP^K11^RSP_K11" : "ORF^R04^ORF_R04");
    if (qbp) (void)r.set("QAK-2", "OK");
    else (void)r.set("QRD-1", hl7v2::hl7_timestamp_now());
    if (!report_id.empty()) {
        auto rep = hospital_.report(report_id);
        if (!rep) return d.wire(r);  // no OBR: no such report
        (void)r.set(d.field("patient.id"), rep->patient_id);
        (void)r.set(d.field("patient.sex"), SexCodes::recode(rep->patient_sex, SexCodes::hl7_table_0001(), sex_));
        (void)r.set("OBR-1", "1");
        (void)r.set(d.field("report.id"), rep->report_id);
        (void)r.set(d.field("report.title"), rep->title);
        (void)r.set(d.field("report.issued"), rep->issued_at);
        (void)r.set(d.field("report.status"), rep->status);
        int seq = 1;
        for (const auto& o : rep->observations) {
            std::string seg = "OBX[" + std::to_string(seq) + "]";
            (void)r.set(seg + "-1", std::to_string(seq++));
            (void)r.set(seg + "-2", "NM");
            (void)r.set(seg + "-3-1", o.code);
            (void)r.set(seg + "-3-2", o.name);
            (void)r.set(seg + "-5", o.value);
            (void)r.set(seg + "-6", o.units);
            (void)r.set(seg + "-7", o.reference_range);
            (void)r.set(seg + "-8", o.flag);
            (void)r.set(seg + "-11", "F");
        }
        return d.wire(r);
    }
    (void)r.set(d.field("patient.id"), patient_id);
    int i = 1;
    for (const auto& s : hospital_.reports_of(patient_id)) {
        (void)r.set(indexed(d.field("report.id"), i), s.report_id);
        (void)r.set(indexed(d.field("report.title"), i), s.title);
        (void)r.set(indexed(d.field("report.issued"), i), s.issued_at);
        (void)r.set(indexed(d.field("report.status"), i), s.status);
        ++i;
    }
    return d.wire(r);
}

std::string Hl7Responder::reference_data(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    hospital_.record_query(m.get("MSH-10"), "reference_data", m.get("QPD-3"));
    auto data = hospital_.reference_data(m.get("QPD-3"), m.get("QPD-4"));
    auto r = reply(d, m, "RSP^ZRD^RSP_K11");
    (void)r.set("QAK-2", "OK");
    int i = 1;
    for (const auto& d : data.departments) {
        std::string s = "ZDP[" + std::to_string(i++) + "]";
        (void)r.set(s + "-1", d.department_id);
        (void)r.set(s + "-2", d.name);
    }
    i = 1;
    for (const auto& d : data.doctors) {
        std::string s = "ZDR[" + std::to_string(i++) + "]";
        (void)r.set(s + "-1", d.doctor_id);
        (void)r.set(s + "-2", d.department_id);
        (void)r.set(s + "-3", d.name);
        (void)r.set(s + "-4", d.title);
    }
    i = 1;
    for (const auto& sl : data.slots) {
        std::string s = "ZSL[" + std::to_string(i++) + "]";
        const std::string values[] = {sl.slot_id, sl.doctor_id, sl.department_id, sl.date, sl.start, sl.end, sl.half,
                                      std::to_string(sl.capacity), std::to_string(sl.booked),
                                      cents_to_decimal(sl.fee_cents)};
        for (int f = 0; f < 10; ++f) (void)r.set(s + "-" + std::to_string(f + 1), values[f]);
    }
    return d.wire(r);
}

std::string Hl7Responder::appointment(const hl7v2::Hl7Dialect& d, const hl7::Message& m, bool cancel) {
    std::string order_id = m.get(d.field("order.id"));
    hospital_.record_query(m.get("MSH-10"), cancel ? "cancel" : "book", order_id);
    std::string type = cancel ? "SRR^S04^SRR_S01" : "SRR^S01^SRR_S01";
    std::string sex = SexCodes::recode(m.get(d.field("patient.sex")), sex_, SexCodes::hl7_table_0001());
    auto done = cancel ? hospital_.cancel(order_id)
                       : hospital_.book({order_id, m.get(d.field("slot.id")), m.get(d.field("patient.id")), sex});
    if (!done) return refuse(d, m, type, vendor_code(done.error()), done.error().message);
    auto r = reply(d, m, type);
    (void)r.set(d.field("patient.id"), done->patient_id);
    (void)r.set(d.field("patient.sex"), SexCodes::recode(done->patient_sex, SexCodes::hl7_table_0001(), sex_));
    (void)r.set(d.field("appointment.order_id"), done->order_id);
    (void)r.set(d.field("appointment.slot_id"), done->slot_id);
    (void)r.set(d.field("appointment.status"), done->status == "booked" ? "Booked" : "Cancelled");
    return d.wire(r);
}

std::string Hl7Responder::financial(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string order_id = m.get(d.field("payment.order_id"));
    std::string kind = m.get(d.field("payment.kind"));
    hospital_.record_query(m.get("MSH-10"), kind == "RF" ? "refund" : "pay", order_id);
    auto amount = decimal_to_cents(m.get(d.field("payment.amount")));
    if (!amount) {
        auto ack = reply(d, m, "ACK^P03^ACK");
        (void)ack.set("MSA-1", "AE");
        (void)ack.set("MSA-3", "FT1 amount is not a decimal number");
        return d.wire(ack);
    }
    PaymentOrder order{order_id, *amount, m.get(d.field("payment.method"))};
    auto done = kind == "RF" ? hospital_.refund(order) : hospital_.pay(order);
    if (!done) return refuse(d, m, "ACK^P03^ACK", vendor_code(done.error()), done.error().message);
    auto r = reply(d, m, "ACK^P03^ACK");
    (void)r.set("ZPY-1", done->order_id);
    (void)r.set("ZPY-2", cents_to_decimal(done->amount_cents));
    (void)r.set(d.field("payment.status"), done->status);
    return d.wire(r);
}

std::string Hl7Responder::booking_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string order_id = m.get(d.field("query.key"));
    hospital_.record_query(m.get("MSH-10"), "booking_status", order_id);
    auto b = hospital_.booking_status(order_id);
    auto r = reply(d, m, "RSP^ZBS^RSP_K11");
    (void)r.set("QAK-2", b.status == "not_found" ? "NF" : "OK");
    if (b.status != "not_found") {
        (void)r.set(d.field("patient.id"), b.patient_id);
        (void)r.set(d.field("patient.sex"), SexCodes::recode(b.patient_sex, SexCodes::hl7_table_0001(), sex_));
        (void)r.set(d.field("appointment.order_id"), b.order_id);
        (void)r.set(d.field("appointment.slot_id"), b.slot_id);
        (void)r.set(d.field("appointment.status"), b.status == "booked" ? "Booked" : "Cancelled");
    }
    return d.wire(r);
}

std::string Hl7Responder::payment_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string order_id = m.get(d.field("query.key"));
    hospital_.record_query(m.get("MSH-10"), "payment_status", order_id);
    auto p = hospital_.payment_status(order_id);
    auto r = reply(d, m, "RSP^ZPS^RSP_K11");
    (void)r.set("QAK-2", p.status == "not_found" ? "NF" : "OK");
    if (p.status != "not_found") {
        (void)r.set("ZPY-1", p.order_id);
        (void)r.set("ZPY-2", cents_to_decimal(p.amount_cents));
        (void)r.set(d.field("payment.status"), p.status);
    }
    return d.wire(r);
}

std::string Hl7Responder::statement(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string date = m.get(d.field("query.key"));
    hospital_.record_query(m.get("MSH-10"), "statement", date);
    auto r = reply(d, m, "RSP^ZST^RSP_K11");
    (void)r.set("QAK-2", "OK");
    int i = 1;
    for (const auto& line : hospital_.statement(date)) {
        (void)r.set(indexed("FT1-1", i), std::to_string(i));
        (void)r.set(indexed(d.field("payment.order_id"), i), line.order_id);
        (void)r.set(indexed(d.field("payment.kind"), i), line.kind == "refund" ? "RF" : "PY");
        (void)r.set(indexed(d.field("payment.amount"), i), cents_to_decimal(line.amount_cents));
        ++i;
    }
    return d.wire(r);
}

}  // namespace hisgate::sim
