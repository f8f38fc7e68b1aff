#include "adapters/hl7v2/hl7v2_adapter.h"

#include <algorithm>
#include <chrono>
#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "adapters/his_values.h"
#include "adapters/money.h"
#include "common/log.h"
#include "common/trace.h"
#include "hl7/report_values.h"

namespace hisgate {

namespace {

using hl7v2::Hl7Dialect;

std::string indexed(const std::string& path, int i) {
    // "OBR-3" -> "OBR[2]-3"
    return path.substr(0, 3) + "[" + std::to_string(i) + "]" + path.substr(3);
}

class Hl7v2Adapter : public HisAdapter {
public:
    Hl7v2Adapter(mllp::ClientOptions mllp, Hl7Dialect dialect, int sessions, std::optional<hl7v2::PushSettings> push)
        : d_(std::move(dialect)), push_(std::move(push)) {
        for (int i = 0; i < std::max(1, sessions); ++i) idle_.push_back(std::make_unique<mllp::Client>(mllp));
    }

    std::string dialect() const override { return "hl7v2-mllp"; }

    Result<Report> get_report(const std::string& report_id) override {
        auto a = exchange(report_query(report_id, ""), "report query");
        if (!a) return a.error();
        const auto& m = a.value();
        if (m.get(d_.field("report.id")).empty())
            return make_error(ErrorClass::NotFound, "report.not_found", "report " + report_id + " does not exist");
        Report r;
        r.report_id = m.get(d_.field("report.id"));
        r.patient_id = m.get(d_.field("patient.id"));
        r.title = m.get(d_.field("report.title"));
        r.issued_at = m.get(d_.field("report.issued"));
        r.issued_at = hl7::iso_timestamp(r.issued_at).value_or(r.issued_at);
        r.status = m.get(d_.field("report.status"));
        r.status = hl7::report_status(r.status).value_or(r.status);
        r.patient_sex = m.get(d_.field("patient.sex"));
        for (int i = 1; !m.get("OBX[" + std::to_string(i) + "]-3-1").empty(); ++i) {
            std::string seg = "OBX[" + std::to_string(i) + "]";
            r.observations.push_back(Observation{m.get(seg + "-3-1"), m.get(seg + "-3-2"), m.get(seg + "-5"),
                                                 m.get(seg + "-6"), m.get(seg + "-7"), m.get(seg + "-8")});
        }
        return r;
    }

    Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) override {
        auto a = exchange(report_query("", patient_id), "report list query");
        if (!a) return a.error();
        std::vector<ReportSummary> out;
        for (int i = 1; !a->get(indexed(d_.field("report.id"), i)).empty(); ++i) {
            std::string status = a->get(indexed(d_.field("report.status"), i));
            std::string issued = a->get(indexed(d_.field("report.issued"), i));
            out.push_back({a->get(indexed(d_.field("report.id"), i)), a->get(indexed(d_.field("report.title"), i)),
                           hl7::report_status(status).value_or(status), hl7::iso_timestamp(issued).value_or(issued)});
        }
        return out;
    }

    Result<ReferenceData> extract_reference_data(const std::string& from, const std::string& to) override {
        auto a = exchange(query("QBP^ZRD^QBP_Q11", {{"QPD-1", "ZRD"}, {"QPD-3", from}, {"QPD-4", to}}),
                          "reference data query");
        if (!a) return a.error();
        const auto& m = a.value();
        ReferenceData out;
        for (int i = 1; !m.get("ZDP[" + std::to_string(i) + "]-1").empty(); ++i) {
            std::string s = "ZDP[" + std::to_string(i) + "]";
            out.departments.push_back({m.get(s + "-1"), m.get(s + "-2")});
        }
        for (int i = 1; !m.get("ZDR[" + std::to_string(i) + "]-1").empty(); ++i) {
            std::string s = "ZDR[" + std::to_string(i) + "]";
            out.doctors.push_back({m.get(s + "-1"), m.get(s + "-2"), m.get(s + "-3"), m.get(s + "-4")});
        }
        for (int i = 1; !m.get("ZSL[" + std::to_string(i) + "]-1").empty(); ++i) {
            std::string s = "ZSL[" + std::to_string(i) + "]";
            auto slot = slot_with_numbers({m.get(s + "-1"), m.get(s + "-2"), m.get(s + "-3"), m.get(s + "-4"),
                                           m.get(s + "-5"), m.get(s + "-6"), m.get(s + "-7"), 0, 0, 0},
                                          m.get(s + "-8"), m.get(s + "-9"), m.get(s + "-10"));
            if (!slot) return slot.error();
            out.slots.push_back(std::move(slot.value()));
        }
        return out;
    }

    Result<Booking> book(const BookingOrder& order) override {
        auto q = query("SRM^S01^SRM_S01", {{d_.field("order.id"), order.order_id},
                                            {d_.field("patient.id"), order.patient_id},
                                            {"RGS-1", "1"},
                                            {d_.field("slot.id"), order.slot_id}});
        if (q && !order.patient_sex.empty()) q = with(std::move(q), {{d_.field("patient.sex"), order.patient_sex}});
        return appointment(std::move(q), "booking", order.patient_id, mllp::Resend::Never);
    }

    Result<Booking> cancel(const std::string& order_id) override {
        return appointment(query("SRM^S04^SRM_S01", {{d_.field("order.id"), order_id}}), "cancellation", "",
                           mllp::Resend::Never);
    }

    Result<Booking> booking_status(const std::string& order_id) override {
        auto a = exchange(query("QBP^ZBS^QBP_Q11", {{"QPD-1", "ZBS"}, {d_.field("query.key"), order_id}}),
                          "booking status query");
        if (!a) return a.error();
        if (a->get("QAK-2") == "NF") return Booking{order_id, "", "", "not_found"};
        auto b = booking_from(a.value(), "booking status query", a->get(d_.field("patient.id")));
        if (b && b->order_id != order_id)
            return mismatched_answer("booking status query", d_.field("appointment.order_id"));
        return b;
    }

    Result<Payment> pay(const PaymentOrder& order) override { return financial(order, "PY", "payment"); }
    Result<Payment> refund(const PaymentOrder& order) override { return financial(order, "RF", "refund"); }

    Result<Payment> payment_status(const std::string& order_id) override {
        auto a = exchange(query("QBP^ZPS^QBP_Q11", {{"QPD-1", "ZPS"}, {d_.field("query.key"), order_id}}),
                          "payment status query");
        if (!a) return a.error();
        if (a->get("QAK-2") == "NF") return Payment{order_id, 0, "not_found"};
        return payment_from(a.value(), order_id, "payment status");
    }

    Result<std::vector<StatementLine>> daily_statement(const std::string& date) override {
        auto a = exchange(query("QBP^ZST^QBP_Q11", {{"QPD-1", "ZST"}, {d_.field("query.key"), date}}), "statement query");
        if (!a) return a.error();
        std::vector<StatementLine> out;
        for (int i = 1; !a->get(indexed(d_.field("payment.order_id"), i)).empty(); ++i) {
            auto amount = decimal_to_cents(a->get(indexed(d_.field("payment.amount"), i)));
            if (!amount) return unreadable_answer("statement", "line " + std::to_string(i) + " has no readable amount");
            std::string kind = a->get(indexed(d_.field("payment.kind"), i));
            out.push_back({a->get(indexed(d_.field("payment.order_id"), i)), kind == "RF" ? "refund" : "payment", *amount});
        }
        return out;
    }

    // MSH-7 of the answer to a payment status query for an order nobody has: read-only,
    // and every HIS answers it. Without an offset it is read in the HIS's zone.
    Result<HisClockReading> read_clock() override {
        auto zone = TimeZone::load(d_.timezone);
        if (!zone) return zone.error();
        auto sent = std::chrono::system_clock::now();
        auto a = exchange(query("QBP^ZPS^QBP_Q11", {{"QPD-1", "ZPS"}, {d_.field("query.key"), "CLOCK-" + random_hex(6)}}),
                          "clock query");
        auto received = std::chrono::system_clock::now();
        if (!a) return a.error();
        std::string msh7 = a->get("MSH-7");
        bool had_offset = false;
        auto his = hl7_instant(msh7, zone.value(), &had_offset);
        if (!his) return unreadable_answer("clock query", "MSH-7: " + his.error().message);
        return HisClockReading{*his, sent + (received - sent) / 2,
                               "MSH-7 \"" + msh7 + "\" of its answer" + (had_offset ? "" : ", read in " + zone->name()),
                               !had_offset};
    }

    Result<std::unique_ptr<PushListener>> listen_for_pushes(PushHandler handler) override {
        if (!push_) return std::unique_ptr<PushListener>();
        return hl7v2::listen_for_hl7_pushes(*push_, d_.parse_options(), std::move(handler));
    }

private:
    // A request of `type` with `fields` set in order. A value the HIS's charset cannot
    // carry is BadInput naming the field, and the request is never sent: a HIS must not
    // get a booking without its patient or a payment without its method.
    Result<hl7::Message> query(const std::string& type, std::initializer_list<hl7::FieldValue> fields) {
        auto m = d_.message(type, random_hex(10));
        if (!m) return m.error();
        return with(std::move(m), fields);
    }
    static Result<hl7::Message> with(Result<hl7::Message> m, std::initializer_list<hl7::FieldValue> fields) {
        if (!m) return m;
        if (auto r = m->set_all(fields); !r) return r.error();
        return m;
    }

    // One report by id, or a patient's reports: QRY^R02 (QRD) or QBP^Q11 (QPD-3 report id,
    // QPD-4 patient id), as his.hl7.query_style says. Both are answered with OBR/OBX.
    Result<hl7::Message> report_query(const std::string& report_id, const std::string& patient_id) {
        if (d_.qbp_queries) {
            auto q = query("QBP^Q11^QBP_Q11", {{"QPD-1", "ZRQ"}});
            if (!report_id.empty()) q = with(std::move(q), {{"QPD-3", report_id}});
            if (!patient_id.empty()) q = with(std::move(q), {{"QPD-4", patient_id}});
            return with(std::move(q), {{"RCP-1", "I"}});
        }
        auto q = query("QRY^R02^QRY_R02", {});
        if (!report_id.empty()) q = with(std::move(q), {{d_.field("query.report_id"), report_id}});
        if (!patient_id.empty()) q = with(std::move(q), {{d_.field("query.patient_id"), patient_id}});
        return q;
    }

    // Sends one message and returns the application's answer, read in the HIS's charset
    // when its MSH-18 is empty. MSA-1 other than AA/CA is an error mapped through the
    // dialect's error map. A request that could not be built is returned as it is, unsent.
    // A change (mllp::Resend::Never) goes out once: an uncertain outcome goes back to the
    // agent, which settles it with a status query before anything is sent again.
    Result<hl7::Message> exchange(const Result<hl7::Message>& built, const std::string& what,
                                  mllp::Resend resend = mllp::Resend::Allowed) {
        if (!built) {
            log::warn("his.request_unsendable", {{"what", what}, {"error", built.error().describe()}});
            return make_error(built.error().cls, built.error().code, what + ": " + built.error().message);
        }
        const hl7::Message& request = built.value();
        std::string control_id = request.get("MSH-10");
        std::string type = request.get("MSH-9-1") + "^" + request.get("MSH-9-2");
        // The HIS cannot carry our trace context; the control id links its log lines to ours.
        log::info("his.query_sent", {{"hl7_control_id", control_id}, {"message_type", type}});
        Result<std::string> answer = [&] {
            auto session = take_session();
            auto sent = session->send(d_.wire(request), resend);
            give_back(std::move(session));
            return sent;
        }();
        if (!answer) {
            log::warn("his.query_failed", {{"hl7_control_id", control_id}, {"error", answer.error().describe()}});
            return answer.error();
        }
        log::info("his.answer_received", {{"hl7_control_id", control_id}});
        auto parsed = hl7::Message::parse(answer.value(), d_.parse_options());
        if (!parsed) return unreadable_answer(what, parsed.error().message);
        std::string ack = parsed->get("MSA-1");
        if (ack != "AA" && ack != "CA") return d_.answer_error(parsed.value(), what);
        return std::move(parsed.value());
    }

    Result<Booking> appointment(const Result<hl7::Message>& q, const std::string& what, const std::string& patient_id,
                                mllp::Resend resend = mllp::Resend::Allowed) {
        auto a = exchange(q, what, resend);
        if (!a) return a.error();
        return booking_from(a.value(), what, patient_id);
    }

    // The booking an SCH segment describes (SCH-25 Booked / Cancelled).
    Result<Booking> booking_from(const hl7::Message& a, const std::string& what, const std::string& patient_id) {
        std::string status = a.get(d_.field("appointment.status"));
        Booking b{a.get(d_.field("appointment.order_id")), a.get(d_.field("appointment.slot_id")), patient_id,
                  status == "Booked" ? "booked" : status == "Cancelled" ? "cancelled" : status};
        if (b.order_id.empty()) return unreadable_answer(what, "the answer names no appointment");
        b.patient_sex = a.get(d_.field("patient.sex"));
        return b;
    }

    Result<Payment> financial(const PaymentOrder& order, const char* kind, const std::string& what) {
        auto a = exchange(query("DFT^P03^DFT_P03", {{"EVN-1", "P03"},
                                                     {"FT1-1", "1"},
                                                     {d_.field("payment.order_id"), order.order_id},
                                                     {d_.field("payment.kind"), kind},
                                                     {d_.field("payment.method"), order.method},
                                                     {d_.field("payment.amount"), cents_to_decimal(order.amount_cents)}}),
                          what, mllp::Resend::Never);
        if (!a) return a.error();
        return payment_from(a.value(), order.order_id, what);
    }

    Result<Payment> payment_from(const hl7::Message& a, const std::string& order_id, const std::string& what) {
        auto amount = decimal_to_cents(a.get("ZPY-2"));
        if (a.get("ZPY-1") != order_id || !amount)
            return unreadable_answer(what, "the answer's ZPY segment does not describe order " + order_id);
        return Payment{order_id, *amount, a.get(d_.field("payment.status"))};
    }

    // A session carries one message at a time (the MLLP client is not thread-safe); a
    // caller waits for an idle one. One by default: HIS interfaces commonly allow a
    // single session (his.hl7.sessions).
    std::unique_ptr<mllp::Client> take_session() {
        std::unique_lock lock(sessions_mu_);
        session_free_.wait(lock, [&] { return !idle_.empty(); });
        auto s = std::move(idle_.back());
        idle_.pop_back();
        return s;
    }
    void give_back(std::unique_ptr<mllp::Client> s) {
        {
            std::lock_guard lock(sessions_mu_);
            idle_.push_back(std::move(s));
        }
        session_free_.notify_one();
    }

    std::mutex sessions_mu_;
    std::condition_variable session_free_;
    std::vector<std::unique_ptr<mllp::Client>> idle_;
    Hl7Dialect d_;
    std::optional<hl7v2::PushSettings> push_;
};

}  // namespace

std::unique_ptr<HisAdapter> make_hl7v2_adapter(mllp::ClientOptions mllp, hl7v2::Hl7Dialect dialect, int sessions,
                                               std::optional<hl7v2::PushSettings> push) {
    // The dialect decides: in enhanced mode the client waits past the accept ACK, and an
    // answer with an empty MSH-18 is matched in the HIS's charset.
    mllp.enhanced_ack = dialect.enhanced_ack;
    mllp.default_charset = dialect.charset;
    return std::make_unique<Hl7v2Adapter>(std::move(mllp), std::move(dialect), sessions, std::move(push));
}

Result<mllp::ClientOptions> mllp_options_from_params(const params::ParamSet& p) {
    auto endpoint = host_and_port(p.string("his.endpoint"), "his.endpoint");
    if (!endpoint) return endpoint.error();
    mllp::ClientOptions o;
    o.host = endpoint->first;
    o.port = endpoint->second;
    o.connect_timeout = p.duration("his.connect_timeout");
    o.ack_timeout = p.duration("his.answer_timeout");
    o.max_attempts = static_cast<int>(p.integer("his.max_attempts"));
    o.tls = p.boolean("his.tls.enabled");
    o.ca_file = p.string("his.tls.ca_file");
    return o;
}

Result<std::unique_ptr<HisAdapter>> make_hl7v2_adapter(const params::ParamSet& p) {
    auto mllp = mllp_options_from_params(p);
    if (!mllp) return mllp.error();
    auto dialect = hl7v2::dialect_from_params(p);
    if (!dialect) return dialect.error();
    auto push = hl7v2::push_settings_from_params(p);
    if (!push) return push.error();
    return make_hl7v2_adapter(std::move(mllp.value()), std::move(dialect.value()),
                              static_cast<int>(p.integer("his.hl7.sessions")), std::move(push.value()));
}

Result<void> register_hl7v2_mllp(AdapterRegistry& registry) {
    return registry.add("hl7v2-mllp", [](const params::ParamSet& p) { return make_hl7v2_adapter(p); });
}

}  // namespace hisgate
