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

void take_answer(TaskResults& results, PatientRecords& records, Requester& requester, const IncomingMessage& m,
                 std::string_view instance_id, triage::ErrorIntake* triage, PatientLinks* links) {
    auto hospital = topics::hospital_of(m.topic);
    const bool mine = hospital && m.topic == topics::response(*hospital, instance_id);
    auto reply = Envelope::parse(m.payload);
    if (!hospital || !reply || reply->in_reply_to.empty()) {
        log::warn("controlplane.unreadable_answer", {{"topic", m.topic}});
        if (mine && (!reply || !reply->is_stored_ack())) requester.deliver(m);  // the requester counts what it refuses
        return;
    }
    if (reply->is_stored_ack()) {  // the agent stored the request: no more re-sending
        if (auto marked = results.mark_stored(*hospital, reply->in_reply_to); !marked)
            log::error("controlplane.stored_not_kept", {{"error", marked.error().describe()}});
        return;
    }
    TaskResult task;  // the request's row, read as its answer is kept
    auto kept = results.record(*hospital, *reply, m.payload, &task);
    if (!kept) log::error("controlplane.answer_not_kept", {{"error", kept.error().describe()}});
    else if (*kept == TaskResults::Recorded::kept) {
        if (triage && reply->error) triage->answer_error(*hospital, task.type, *reply->error, m.traceparent);
        auto request = Envelope::parse(task.request, limits::kRequestBytes);
        auto noted = request ? note_booked(records, *hospital, *request, *reply) : Result<void>(request.error());
        if (!noted)
            log::error("controlplane.booking_not_noted", {{"request_id", reply->in_reply_to}, {"error", noted.error().describe()}});
        if (links && request) {
            // Logged by hospital and request only: the hospital's patient number is never logged.
            auto linked = link_booked(*links, *hospital, *request, *reply, task.owner);
            if (!linked)
                log::warn("controlplane.patient_not_linked",
                          {{"request_id", reply->in_reply_to}, {"hospital_id", *hospital}, {"code", linked.error().code}});
            else if (*linked)
                log::info("controlplane.patient_linked", {{"request_id", reply->in_reply_to}, {"hospital_id", *hospital}});
        }
    } else if (*kept == TaskResults::Recorded::duplicate)
        log::info("controlplane.duplicate_answer", {{"request_id", reply->in_reply_to}});
    else if (*kept == TaskResults::Recorded::late)
        log::info("controlplane.late_answer", {{"request_id", reply->in_reply_to}, {"reason", "the request had expired"}});
    else if (*kept == TaskResults::Recorded::refused)
        log::warn("controlplane.answer_refused", {{"request_id", reply->in_reply_to}, {"hospital_id", *hospital},
                                                  {"reason", "no such request sent to this hospital"}});
    if (mine) requester.deliver(m, std::move(*reply));
}

}  // namespace hisgate::controlplane
