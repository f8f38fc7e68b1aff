#include "controlplane/answer_intake.h"

#include "common/log.h"
#include "controlplane/booking_facts.h"
#include "transport/envelope.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

Result<bool> link_booked(PatientLinks& links, const std::string& hospital_id, const Envelope& request, const Envelope& reply,
                         const std::string& owner) {
    const bool book = request.type == "appointment.book", probe = request.type == "appointment.status";
    if ((!book && !probe) || reply.error || !reply.body.is_object() || reply.body.value("status", "") != "booked")
        return false;
    auto number = reply.body.find("patientId");
    if (number == reply.body.end() || !number->is_string()) return false;
    // The booking names its patient; a probe's body names only the order, its task the patient.
    std::string patient = owner;
    if (book) {
        auto named = request.body.is_object() ? request.body.find("patient") : request.body.end();
        if (named == request.body.end() || !named->is_object() || !named->contains("id") || !(*named)["id"].is_string())
            return false;
        patient = (*named)["id"].get<std::string>();
    }
    if (patient.empty()) return false;
    // Linked to that number already (the common case: a patient books again where they
    // booked before): a read, not a write, and the link stays as it is.
    if (auto known = links.his_patient_id(patient, hospital_id); known && *known && **known == number->get<std::string>())
        return true;
    auto written = links.link({{patient, hospital_id, number->get<std::string>()}});
    if (!written) return written.error();
    return true;
}

std::optional<AnswerIn> read_answer(TaskResults& results, Requester& requester, const IncomingMessage& m,
                                    std::string_view instance_id) {
    auto hospital = topics::hospital_of(m.topic);
    const bool mine = hospital && m.topic == topics::response(*hospital, instance_id);
    auto reply = Envelope::parse(m.payload);
    if (!hospital || !reply || reply->in_reply_to.empty()) {
        log::warn("controlplane.unreadable_answer", {{"topic", m.topic}});
        if (mine && (!reply || !reply->is_stored_ack())) requester.deliver(m);  // the requester counts what it refuses
        return std::nullopt;
    }
    if (reply->is_stored_ack()) {  // the agent stored the request: no more re-sending
        if (auto marked = results.mark_stored(*hospital, reply->in_reply_to); !marked)
            log::error("controlplane.stored_not_kept", {{"error", marked.error().describe()}});
        return std::nullopt;
    }
    return AnswerIn{&m, std::move(*hospital), std::move(*reply), mine};
}

AnswerKept keep_answer(TaskResults& results, PatientRecords& records, PatientLinks* links, const AnswerIn& a) {
    AnswerKept out;
    out.recorded = results.record(a.hospital_id, a.reply, a.message->payload, &out.task);
    if (!out.recorded || *out.recorded != TaskResults::Recorded::kept) return out;
    auto request = Envelope::parse(out.task.request, limits::kRequestBytes);
    if (!request) {
        out.noted = request.error();
        return out;
    }
    out.booking = booking_note(a.hospital_id, *request, a.reply);
    if (out.booking) out.noted = records.note_booking(*out.booking);
    if (links) out.linked = link_booked(*links, a.hospital_id, *request, a.reply, out.task.owner);
    return out;
}

void answer_kept(AnswerIn& a, const Result<AnswerKept>& kept, Requester& requester, triage::ErrorIntake* triage) {
    const std::string& id = a.reply.in_reply_to;
    const auto recorded = kept ? kept->recorded : Result<TaskResults::Recorded>(kept.error());
    if (!recorded) log::error("controlplane.answer_not_kept", {{"error", recorded.error().describe()}});
    else if (*recorded == TaskResults::Recorded::kept) {
        if (triage && a.reply.error) triage->answer_error(a.hospital_id, kept->task.type, *a.reply.error, a.message->traceparent);
        if (!kept->noted)
            log::error("controlplane.booking_not_noted", {{"request_id", id}, {"error", kept->noted.error().describe()}});
        // Logged by hospital and request only: the hospital's patient number is never logged.
        if (!kept->linked)
            log::warn("controlplane.patient_not_linked",
                      {{"request_id", id}, {"hospital_id", a.hospital_id}, {"code", kept->linked.error().code}});
        else if (*kept->linked)
            log::info("controlplane.patient_linked", {{"request_id", id}, {"hospital_id", a.hospital_id}});
    } else if (*recorded == TaskResults::Recorded::duplicate)
        log::info("controlplane.duplicate_answer", {{"request_id", id}});
    else if (*recorded == TaskResults::Recorded::late)
        log::info("controlplane.late_answer", {{"request_id", id}, {"reason", "the request had expired"}});
    else if (*recorded == TaskResults::Recorded::refused)
        log::warn("controlplane.answer_refused", {{"request_id", id}, {"hospital_id", a.hospital_id},
                                                  {"reason", "no such request sent to this hospital"}});
    if (a.mine) requester.deliver(*a.message, std::move(a.reply));
}

void take_answer(TaskResults& results, PatientRecords& records, Requester& requester, const IncomingMessage& m,
                 std::string_view instance_id, triage::ErrorIntake* triage, PatientLinks* links) {
    auto answer = read_answer(results, requester, m, instance_id);
    if (!answer) return;
    Result<AnswerKept> kept = keep_answer(results, records, links, *answer);
    answer_kept(*answer, kept, requester, triage);
}

}  // namespace hisgate::controlplane
