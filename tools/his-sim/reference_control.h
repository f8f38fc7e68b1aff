// The control API's reference-data commands: the hospital's staff changing a doctor or a
// slot, so tests and the demo can watch the change travel (pull, change set, public
// partition). On his-sim's control port:
//   PUT    /doctors/{doctorId}  {"departmentId", "name", "title"}            upsert
//   DELETE /doctors/{doctorId}                                               (none of its slots left)
//   PUT    /slots/{slotId}      {"doctorId", "departmentId", "date", "start", "end", "half",
//                                "capacity", "booked", "feeCents"}           upsert
//   DELETE /slots/{slotId}                                                   (no booking of it on record)
// Answers: 200 with the record as stored ({"deleted": true|false} for a delete), 400
// naming the field and what was expected, 409 when the hospital's records forbid it.
// The change is committed to the hospital's SQLite file before the answer, so the next
// extraction, of any dialect, returns it. his-sim does not push it (it has no HL7 client
// towards the agent's push listener): the agent sees it at its next pull.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <nlohmann/json.hpp>
#include <string>

#include "adapters/his_adapter.h"
#include "common/error.h"
#include "his-sim/hospital.h"

namespace hisgate::sim {

// The record a PUT body describes; BadInput naming the field ("body.capacity is ...").
Result<Doctor> doctor_from_json(const std::string& doctor_id, const nlohmann::json& body);
Result<ScheduleSlot> slot_from_json(const std::string& slot_id, const nlohmann::json& body);

// Serves the request if its path is /doctors/... or /slots/...; false when it is not.
bool serve_reference_control(Hospital& hospital, Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res);

}  // namespace hisgate::sim
