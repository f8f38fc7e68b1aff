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
// extraction, of any dialect, returns it. When the hospital's parameters name the agent's
// push listener (extraction.push.listen), the change is also pushed there as MFN or SIU
// (reference_push.h) before the answer, which then says how the agent took it:
// "push": {"ack": "AA"} or {"ack": "AE", "text": ...}, or {"error": ...} when it did not arrive.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <nlohmann/json.hpp>
#include <string>

#include "adapters/his_adapter.h"
#include "common/error.h"
#include "his-sim/hospital.h"
#include "his-sim/reference_push.h"

namespace hisgate::sim {

// The record a PUT body describes; BadInput naming the field ("body.capacity is ...").
Result<Doctor> doctor_from_json(const std::string& doctor_id, const nlohmann::json& body);
Result<ScheduleSlot> slot_from_json(const std::string& slot_id, const nlohmann::json& body);

// Serves the request if its path is /doctors/... or /slots/...; false when it is not.
// `pusher` (may be null) pushes each change to the agent.
bool serve_reference_control(Hospital& hospital, ReferencePusher* pusher, Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res);

}  // namespace hisgate::sim
