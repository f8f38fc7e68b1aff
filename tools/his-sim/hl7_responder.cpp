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

Result<hl7::Message> Hl7Responder::reply(const hl7v2::Hl7Dialect& d, const hl7::Message& request,
                                         const std::string& type, std::initializer_list<hl7::FieldValue> fields) {
    auto m = d.message(type, random_hex(10), /*reply=*/true);
    if (!m) return m;
    if (auto r = m->set_all({{"MSA-1", "AA"}, {"MSA-2", request.get("MSH-10")}}); !r) return r.error();
    if (auto r = m->set_all(fields); !r) return r.error();
    return m;
}

Result<std::string> Hl7Responder::wire(const hl7v2::Hl7Dialect& d, const Result<hl7::Message>& m) {
    if (!m) return m.error();
    return d.wire(m.value());
}

Result<std::string> Hl7Responder::refuse(const hl7v2::Hl7Dialect& d, const hl7::Message& request,
                                         const std::string& type, const std::string& code, const std::string& why) {
    return wire(d, reply(d, request, type, {{"MSA-1", "AE"}, {"MSA-3", why}, {hl7::err_code_path(d.version), code}, {"ERR-4", "E"}}));
}

mllp::Answer Hl7Responder::answer(std::string_view raw) {
    // A message that does not name its charset is in the hospital's (his.charset).
    auto parsed = hl7::Message::parse(raw, dialect_.parse_options());
    if (!parsed) {
        log::warn("sim.unreadable_message", {{"error", parsed.error().describe()}});
        return hl7::ack_for(raw, dialect_.parse_options());
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
        return answered_or_error(msg, refuse(dialect_, msg, "ACK", faults.reject, "refused by fault injection"));
    }
    // An interface change: this message is answered with some fields somewhere else.
    hl7v2::Hl7Dialect d = dialect_;
    for (const auto& [logical, path] : faults.moved_fields) d.fields[logical] = path;

    Result<std::string> out = std::string();
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
        auto ca = wire(d, reply(d, msg, "ACK^" + msg.get("MSH-9-2") + "^ACK", {{"MSA-1", "CA"}}));
        if (!ca) return answered_or_error(msg, ca.error());
        accepted = std::move(ca.value());
    }
    if (!out) return answered_or_error(msg, out.error());
    bool change = type == "SRM^S01" || type == "SRM^S04" || type == "DFT^P03";
    if (faults_.take_drop(change)) {
        log::info("sim.fault_answer_dropped", {{"hl7_control_id", control_id}, {"message_type", type}});
        mllp::Answer only_accepted;
        only_accepted.accept_ack = std::move(accepted);
        return only_accepted;
    }
    mllp::Answer answer(std::move(out.value()));
    answer.accept_ack = std::move(accepted);
    if (faults_.take_duplicate()) {
        answer.copies = 2;
        log::info("sim.fault_duplicate_answer", {{"hl7_control_id", control_id}});
    }
    log::info("sim.answered", {{"hl7_control_id", control_id}, {"message_type", type}});
    return answer;
}

mllp::Answer Hl7Responder::answered_or_error(const hl7::Message& request, const Result<std::string>& answer) {
    if (answer) return answer.value();
    // What this HIS cannot write (text its charset cannot carry) is its application error.
    log::warn("sim.answer_unwritable", {{"hl7_control_id", request.get("MSH-10")}, {"error", answer.error().describe()}});
    return hl7::make_ack(request, hl7::AckCode::AE, "the HIS cannot write its answer: " + answer.error().message);
}

Result<std::string> Hl7Responder::report(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    bool qbp = m.get("MSH-9-1") == "QBP";
    std::string report_id = m.get(qbp ? "QPD-3" : d.field("query.report_id"));
    std::string patient_id = m.get(qbp ? "QPD-4" : d.field("query.patient_id"));
    hospital_.record_query(m.get("MSH-10"), report_id.empty() ? "report_list" : "report",
                           report_id.empty() ? patient_id : report_id);
    auto r = qbp ? reply(d, m, "RSP^K11^RSP_K11", {{"QAK-2", "OK"}})
                 : reply(d, m, "ORF^R04^ORF_R04", {{"QRD-1", hl7v2::hl7_timestamp_now()}});
    if (!r) return r.error();
    if (!report_id.empty()) {
        auto rep = hospital_.report(report_id);
        if (!rep) return d.wire(r.value());  // no OBR: no such report
        auto set = r->set_all({{d.field("patient.id"), rep->patient_id},
                               {d.field("patient.sex"), SexCodes::recode(rep->patient_sex, SexCodes::hl7_table_0001(), sex_)},
                               {"OBR-1", "1"},
                               {d.field("report.id"), rep->report_id},
                               {d.field("report.title"), rep->title},
                               {d.field("report.issued"), rep->issued_at},
                               {d.field("report.status"), rep->status}});
        int seq = 1;
        for (const auto& o : rep->observations) {
            if (!set) break;
            std::string seg = "OBX[" + std::to_string(seq) + "]";
            set = r->set_all({{seg + "-1", std::to_string(seq)},
                              {seg + "-2", "NM"},
                              {seg + "-3-1", o.code},
                              {seg + "-3-2", o.name},
                              {seg + "-5", o.value},
                              {seg + "-6", o.units},
                              {seg + "-7", o.reference_range},
                              {seg + "-8", o.flag},
                              {seg + "-11", "F"}});
            ++seq;
        }
        if (!set) return set.error();
        return d.wire(r.value());
    }
    auto set = r->set(d.field("patient.id"), patient_id);
    int i = 1;
    for (const auto& s : hospital_.reports_of(patient_id)) {
        if (!set) break;
        set = r->set_all({{indexed(d.field("report.id"), i), s.report_id},
                          {indexed(d.field("report.title"), i), s.title},
                          {indexed(d.field("report.issued"), i), s.issued_at},
                          {indexed(d.field("report.status"), i), s.status}});
        ++i;
    }
    if (!set) return set.error();
    return d.wire(r.value());
}

Result<std::string> Hl7Responder::reference_data(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    hospital_.record_query(m.get("MSH-10"), "reference_data", m.get("QPD-3"));
    auto data = hospital_.reference_data(m.get("QPD-3"), m.get("QPD-4"));
    auto r = reply(d, m, "RSP^ZRD^RSP_K11", {{"QAK-2", "OK"}});
    if (!r) return r.error();
    Result<void> set;
    int i = 1;
    for (const auto& dep : data.departments) {
        std::string s = "ZDP[" + std::to_string(i++) + "]";
        if (set) set = r->set_all({{s + "-1", dep.department_id}, {s + "-2", dep.name}});
    }
    i = 1;
    for (const auto& doc : data.doctors) {
        std::string s = "ZDR[" + std::to_string(i++) + "]";
        if (set)
            set = r->set_all({{s + "-1", doc.doctor_id}, {s + "-2", doc.department_id}, {s + "-3", doc.name}, {s + "-4", doc.title}});
    }
    i = 1;
    for (const auto& sl : data.slots) {
        std::string s = "ZSL[" + std::to_string(i++) + "]";
        const std::string values[] = {sl.slot_id, sl.doctor_id, sl.department_id, sl.date, sl.start, sl.end, sl.half,
                                      std::to_string(sl.capacity), std::to_string(sl.booked),
                                      cents_to_decimal(sl.fee_cents)};
        for (int f = 0; f < 10 && set; ++f) set = r->set(s + "-" + std::to_string(f + 1), values[f]);
    }
    if (!set) return set.error();
    return d.wire(r.value());
}

Result<std::string> Hl7Responder::appointment(const hl7v2::Hl7Dialect& d, const hl7::Message& m, bool cancel) {
    std::string order_id = m.get(d.field("order.id"));
    hospital_.record_query(m.get("MSH-10"), cancel ? "cancel" : "book", order_id);
    std::string type = cancel ? "SRR^S04^SRR_S01" : "SRR^S01^SRR_S01";
    std::string sex = SexCodes::recode(m.get(d.field("patient.sex")), sex_, SexCodes::hl7_table_0001());
    auto done = cancel ? hospital_.cancel(order_id)
                       : hospital_.book({order_id, m.get(d.field("slot.id")), m.get(d.field("patient.id")), sex});
    if (!done) return refuse(d, m, type, vendor_code(done.error()), done.error().message);
    return wire(d, reply(d, m, type,
                         {{d.field("patient.id"), done->patient_id},
                          {d.field("patient.sex"), SexCodes::recode(done->patient_sex, SexCodes::hl7_table_0001(), sex_)},
                          {d.field("appointment.order_id"), done->order_id},
                          {d.field("appointment.slot_id"), done->slot_id},
                          {d.field("appointment.status"), done->status == "booked" ? "Booked" : "Cancelled"}}));
}

Result<std::string> Hl7Responder::financial(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string order_id = m.get(d.field("payment.order_id"));
    std::string kind = m.get(d.field("payment.kind"));
    hospital_.record_query(m.get("MSH-10"), kind == "RF" ? "refund" : "pay", order_id);
    auto amount = decimal_to_cents(m.get(d.field("payment.amount")));
    if (!amount)
        return wire(d, reply(d, m, "ACK^P03^ACK", {{"MSA-1", "AE"}, {"MSA-3", "FT1 amount is not a decimal number"}}));
    PaymentOrder order{order_id, *amount, m.get(d.field("payment.method"))};
    auto done = kind == "RF" ? hospital_.refund(order) : hospital_.pay(order);
    if (!done) return refuse(d, m, "ACK^P03^ACK", vendor_code(done.error()), done.error().message);
    return wire(d, reply(d, m, "ACK^P03^ACK",
                         {{"ZPY-1", done->order_id},
                          {"ZPY-2", cents_to_decimal(done->amount_cents)},
                          {d.field("payment.status"), done->status}}));
}

Result<std::string> Hl7Responder::booking_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string order_id = m.get(d.field("query.key"));
    hospital_.record_query(m.get("MSH-10"), "booking_status", order_id);
    auto b = hospital_.booking_status(order_id);
    if (b.status == "not_found") return wire(d, reply(d, m, "RSP^ZBS^RSP_K11", {{"QAK-2", "NF"}}));
    return wire(d, reply(d, m, "RSP^ZBS^RSP_K11",
                         {{"QAK-2", "OK"},
                          {d.field("patient.id"), b.patient_id},
                          {d.field("patient.sex"), SexCodes::recode(b.patient_sex, SexCodes::hl7_table_0001(), sex_)},
                          {d.field("appointment.order_id"), b.order_id},
                          {d.field("appointment.slot_id"), b.slot_id},
                          {d.field("appointment.status"), b.status == "booked" ? "Booked" : "Cancelled"}}));
}

Result<std::string> Hl7Responder::payment_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string order_id = m.get(d.field("query.key"));
    hospital_.record_query(m.get("MSH-10"), "payment_status", order_id);
    auto p = hospital_.payment_status(order_id);
    if (p.status == "not_found") return wire(d, reply(d, m, "RSP^ZPS^RSP_K11", {{"QAK-2", "NF"}}));
    return wire(d, reply(d, m, "RSP^ZPS^RSP_K11",
                         {{"QAK-2", "OK"},
                          {"ZPY-1", p.order_id},
                          {"ZPY-2", cents_to_decimal(p.amount_cents)},
                          {d.field("payment.status"), p.status}}));
}

Result<std::string> Hl7Responder::statement(const hl7v2::Hl7Dialect& d, const hl7::Message& m) {
    std::string date = m.get(d.field("query.key"));
    hospital_.record_query(m.get("MSH-10"), "statement", date);
    auto r = reply(d, m, "RSP^ZST^RSP_K11", {{"QAK-2", "OK"}});
    if (!r) return r.error();
    Result<void> set;
    int i = 1;
    for (const auto& line : hospital_.statement(date)) {
        if (!set) break;
        set = r->set_all({{indexed("FT1-1", i), std::to_string(i)},
                          {indexed(d.field("payment.order_id"), i), line.order_id},
                          {indexed(d.field("payment.kind"), i), line.kind == "refund" ? "RF" : "PY"},
                          {indexed(d.field("payment.amount"), i), cents_to_decimal(line.amount_cents)}});
        ++i;
    }
    if (!set) return set.error();
    return d.wire(r.value());
}

}  // namespace hisgate::sim
