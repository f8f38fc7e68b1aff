// What the control plane does with each message on a response topic
// (hisgate/v1/hospitals/+/response/<instance>). Every instance hears every instance's
// answers (topics::every_response): an answer is kept in the store all instances share
// by whichever hears it first, so a request whose instance died (kill -9 under load) is
// still answered and any instance serves its poll; only the instance that sent it hands it
// to a caller waiting there. An agent's word that it stored a request
// stops the re-sending; an answer is kept by request id (TaskResults::record, which takes it
// only from the hospital the request went to) before the waiting caller, if any, gets it
// (Requester::deliver). A booking the hospital confirmed is noted in the platform's records
// (controlplane/booking_facts.h) before its caller hears of it, so the patient's next
// booking is counted against it; its "patientId", the hospital's number for the patient,
// links the patient to that hospital (controlplane/patient_links.h, when `links` is given)
// before the caller hears of it too, so the next reports view asks that hospital. An answer carrying an error is booked for triage
// (controlplane/triage/error_intake.h) with its request's type, when `triage` is given. A message that cannot be read is logged and dropped; nothing here
// throws or trusts the payload.
//
// The steps, apart so that the answers' group commit (controlplane/answer_commit.h) runs
// them with the writes of many answers in one transaction: read_answer, then keep_answer
// (the writes), then answer_kept once they are durable (triage, logs, the waiting caller).
#pragma once

#include <optional>

#include "controlplane/booking_facts.h"
#include "controlplane/patient_links.h"
#include "controlplane/patient_records.h"
#include "controlplane/task_results.h"
#include "controlplane/triage/error_intake.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/requester.h"

namespace hisgate::controlplane {

// One answer read off a response topic.
struct AnswerIn {
    const IncomingMessage* message = nullptr;  // as it came (handed to the requester)
    std::string hospital_id;                   // the topic's
    Envelope reply;
    bool mine = false;  // this instance sent its request: a caller may be waiting here
};

// What keeping one answer wrote.
struct AnswerKept {
    Result<TaskResults::Recorded> recorded = TaskResults::Recorded::refused;
    TaskResult task;                     // the request's row, when kept
    std::optional<BookingNote> booking;  // the booking noted with it, if any
    Result<void> noted;                  // the note's outcome
    Result<bool> linked = false;         // the patient's link's (link_booked), when `links` was given
};

// `m` as an answer to keep, or nullopt when there is nothing to keep: an unreadable
// message (logged; handed to the requester if it came on this instance's topic) or an
// agent's word that it stored a request (marked, so it is no longer re-sent).
std::optional<AnswerIn> read_answer(TaskResults& results, Requester& requester, const IncomingMessage& m,
                                    std::string_view instance_id);
// The answer's writes: kept by request id (TaskResults::record); when kept, the booking
// noted and the patient linked, each all or nothing on its own (a note or a link refused
// does not undo the answer). Inside a transaction open on the stores' shared connection,
// they are part of it.
AnswerKept keep_answer(TaskResults& results, PatientRecords& records, PatientLinks* links, const AnswerIn& answer);
// Once the writes are durable (or failed: `kept` is the error): the error booked for
// triage, the log lines, and the answer handed to the caller waiting here, if any.
void answer_kept(AnswerIn& answer, const Result<AnswerKept>& kept, Requester& requester,
                 triage::ErrorIntake* triage = nullptr);

// All three for one message, each answer's writes committed on their own.
// `instance_id`: this instance's (the last level of its own response topic).
void take_answer(TaskResults& results, PatientRecords& records, Requester& requester, const IncomingMessage& m,
                 std::string_view instance_id, triage::ErrorIntake* triage = nullptr, PatientLinks* links = nullptr);

// The link `reply` from `hospital_id` gives for `request`: an appointment.book answered
// "booked" whose "patientId" (the hospital's number) is for the request's patient.id, or an
// appointment.status (the ledger's probe of a booking in doubt) answered "booked" for
// `owner`, the patient its task was asked for; none for any other answer (or one without a
// number or a patient). A number the store refuses (link.taken, a malformed one) is the
// error; nothing is linked then.
Result<bool> link_booked(PatientLinks& links, const std::string& hospital_id, const Envelope& request, const Envelope& reply,
                         const std::string& owner = "");

}  // namespace hisgate::controlplane
