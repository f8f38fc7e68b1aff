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
#pragma once

#include "controlplane/patient_links.h"
#include "controlplane/patient_records.h"
#include "controlplane/task_results.h"
#include "controlplane/triage/error_intake.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/requester.h"

namespace hisgate::controlplane {

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
