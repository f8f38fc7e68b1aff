#include "his-sim/reference_push.h"

#include "adapters/hl7v2/push_listener.h"
#include "adapters/money.h"
#include "common/random_id.h"

namespace hisgate::sim {

namespace {

// "2026-12-05" + "09:30" -> "202612050930"; a quota without times is the date alone.
std::string hl7_time(const std::string& date, const std::string& hhmm) {
    std::string out;
    for (char c : date + hhmm)
        if (c != '-' && c != ':') out += c;
    return out;
}

}  // namespace

ReferencePusher::ReferencePusher(hl7v2::Hl7Dialect dialect, hl7v2::PushFields fields, mllp::ClientOptions to)
    : dialect_(std::move(dialect)), fields_(std::move(fields)), client_(std::move(to)) {}

Result<std::unique_ptr<ReferencePusher>> ReferencePusher::from_params(const params::ParamSet& p) {
    if (p.string("his.dialect") != "hl7v2-mllp") return std::unique_ptr<ReferencePusher>();
    auto settings = hl7v2::push_settings_from_params(p);
    if (!settings) return settings.error();
    if (!settings.value() || !settings.value()->cert_file.empty()) return std::unique_ptr<ReferencePusher>();
    auto dialect = hl7v2::dialect_from_params(p);
    if (!dialect) return dialect.error();
    mllp::ClientOptions to;
    to.host = settings.value()->host;
    to.port = settings.value()->port;
    to.max_attempts = 1;  // once per change; a lost one comes with the next pull
    to.default_charset = dialect->charset;
    return std::make_unique<ReferencePusher>(std::move(dialect.value()), settings.value()->fields, std::move(to));
}

Result<hl7::Message> ReferencePusher::message(const std::string& type) {
    // From the HIS's side (reply = true swaps sender and receiver), original acknowledgement
    // mode: the agent answers each push with one ACK.
    auto m = dialect_.message(type, random_hex(10), /*reply=*/true);
    if (!m) return m;
    if (auto r = m->set_all({{"MSH-15", ""}, {"MSH-16", ""}}); !r) return r.error();
    return m;
}

Result<PushAck> ReferencePusher::send(const Result<hl7::Message>& m) {
    if (!m) return m.error();
    std::lock_guard lock(mutex_);
    auto answer = client_.send(dialect_.wire(m.value()));
    if (!answer) return answer.error();
    auto ack = hl7::Message::parse(answer.value(), dialect_.parse_options());
    if (!ack || ack->get("MSH-9-1") != "ACK" || ack->get("MSA-1").empty())
        return make_error(ErrorClass::Protocol, "push.bad_ack", "the agent's answer to a push is not an HL7 ACK");
    return PushAck{ack->get("MSA-1"), ack->get("MSA-3")};
}

Result<PushAck> ReferencePusher::doctor_put(const Doctor& d) {
    auto m = message("MFN^M02^MFN_M02");
    // The whole name in the family name: the agent joins family and given with a space, and
    // a name kept whole reads back exactly as the next pull returns it.
    if (m)
        if (auto r = m->set_all({{"MFI-1", "PRA"},
                                 {"MFI-3", "UPD"},
                                 {fields_.path("record.event"), "MUP"},
                                 {fields_.path("record.key"), d.doctor_id},
                                 {"STF-1", d.doctor_id},
                                 {fields_.path("doctor.family_name"), d.name},
                                 {fields_.path("doctor.department_id"), d.department_id},
                                 {"PRA-1", d.doctor_id},
                                 {fields_.path("doctor.title"), d.title}});
            !r)
            return r.error();
    return send(m);
}

Result<PushAck> ReferencePusher::doctor_deleted(const std::string& doctor_id) {
    auto m = message("MFN^M02^MFN_M02");
    if (m)
        if (auto r = m->set_all({{"MFI-1", "PRA"},
                                 {"MFI-3", "UPD"},
                                 {fields_.path("record.event"), "MDL"},
                                 {fields_.path("record.key"), doctor_id}});
            !r)
            return r.error();
    return send(m);
}

Result<PushAck> ReferencePusher::slot_put(const ScheduleSlot& s) {
    auto m = message("SIU^S12^SIU_S12");
    if (m)
        if (auto r = m->set_all({{"SCH-1", s.slot_id},
                                 {fields_.path("slot.id"), s.slot_id},
                                 {fields_.path("slot.start"), hl7_time(s.date, s.start)},
                                 {fields_.path("slot.end"), s.end.empty() ? "" : hl7_time(s.date, s.end)},
                                 {"RGS-1", "1"},
                                 {"AIL-1", "1"},
                                 {fields_.path("slot.department_id"), s.department_id},
                                 {"AIP-1", "1"},
                                 {fields_.path("slot.doctor_id"), s.doctor_id},
                                 {fields_.path("slot.half"), s.half},
                                 {fields_.path("slot.capacity"), std::to_string(s.capacity)},
                                 {fields_.path("slot.booked"), std::to_string(s.booked)},
                                 {fields_.path("slot.fee"), cents_to_decimal(s.fee_cents)}});
            !r)
            return r.error();
    return send(m);
}

Result<PushAck> ReferencePusher::slot_deleted(const std::string& slot_id) {
    auto m = message("SIU^S17^SIU_S12");
    if (m)
        if (auto r = m->set_all({{"SCH-1", slot_id}, {fields_.path("slot.id"), slot_id}}); !r) return r.error();
    return send(m);
}

}  // namespace hisgate::sim
