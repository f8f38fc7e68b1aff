#include "his-sim/hl7_responder.h"

#include <ctime>
#include <thread>

#include "common/log.h"
#include "common/trace.h"
#include "hl7/ack.h"
#include "hl7/escape.h"
#include "hl7/message.h"

namespace hisgate::sim {

namespace {
std::string hl7_now() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

// Escapes a value for the default delimiters |^~\&.
std::string esc(std::string_view v) {
    auto r = hl7::escape(v, hl7::Delimiters{});
    return r ? r.value() : std::string();
}
}  // namespace

std::string Hl7Responder::answer(std::string_view raw) {
    auto parsed = hl7::Message::parse(raw);
    if (!parsed) {
        log::warn("sim.unreadable_message", {{"error", parsed.error().describe()}});
        return hl7::ack_for(raw);
    }
    const auto& msg = parsed.value();
    std::string control_id = msg.get("MSH-10");
    std::string type = msg.get("MSH-9-1") + "^" + msg.get("MSH-9-2");
    log::info("sim.message_received", {{"hl7_control_id", control_id}, {"message_type", type}});

    if (faults_.latency.count() > 0) std::this_thread::sleep_for(faults_.latency);
    if (faults_.silent) {
        log::info("sim.fault_silent", {{"hl7_control_id", control_id}});
        return {};
    }
    if (type == "QRY^R02") {
        std::string report_id = msg.get("QRD-10");
        db_.record_query(control_id, "report", report_id);
        std::string response = report_response(control_id, report_id, msg.get("QRD-4"));
        log::info("sim.report_answered", {{"hl7_control_id", control_id}, {"report_id", report_id}});
        return response;
    }
    log::info("sim.unsupported_message", {{"hl7_control_id", control_id}, {"message_type", type}});
    return hl7::make_ack(msg, hl7::AckCode::AR, "message type " + type + " is not supported by this HIS");
}

std::string Hl7Responder::report_response(const std::string& query_control_id, const std::string& report_id,
                                          const std::string& query_id) {
    std::string out = "MSH|^~\\&|HIS|" + esc(hospital_id_) + "|HISGATE||" + hl7_now() + "||ORF^R04^ORF_R04|" +
                      random_hex(10) + "|P|2.4\r";
    out += "MSA|AA|" + esc(query_control_id) + "\r";
    out += "QRD|" + hl7_now() + "|R|I|" + esc(query_id) + "|||1^RD||RES|" + esc(report_id) + "\r";
    auto report = db_.report(report_id);
    if (!report) return out;  // no OBR: the report does not exist
    out += "PID|1||" + esc(report->patient_id) + "\r";
    out += "OBR|1||" + esc(report->report_id) + "|^" + esc(report->title) + "|||" + esc(report->issued_at) +
           "||||||||||||||||||" + esc(report->status) + "\r";
    int seq = 1;
    for (const auto& o : report->observations) {
        out += "OBX|" + std::to_string(seq++) + "|NM|" + esc(o.code) + "^" + esc(o.name) + "||" + esc(o.value) + "|" +
               esc(o.units) + "|" + esc(o.reference_range) + "|" + esc(o.flag) + "|||F\r";
    }
    return out;
}

}  // namespace hisgate::sim
