// The fleet registry over HTTP (issue 13 item 1), for staff (viewer and up) and service
// tokens; the Api checks the role before calling these.
//
//   GET /api/v1/fleet[?region=&dialect=&version=&state=online|offline|incompatible&limit=&cursor=]
//       {"hospitals": [...], "nextCursor": "..." (when another page follows),
//        "window": {"min", "max"}}: hospitals by id, limit 1..1000 (default 100); the
//       cursor is opaque (the previous page's nextCursor)
//   GET /api/v1/fleet/{hospitalId}   one hospital, 404 hospital.unknown
//
// Every query parameter is bounded and checked: an unknown or repeated one, or a value out
// of its shape, is 400 fleet.bad_query naming the parameter, what it expects and what came.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "controlplane/hospital_registry.h"

namespace hisgate::controlplane {

// The JSON of one hospital as the API shows it.
nlohmann::json fleet_json(const FleetRecord& r, const ProtocolWindow& window);

// GET /api/v1/fleet with the URI's raw query ("" when none): the page, or a BadInput error.
Result<nlohmann::json> fleet_page(const HospitalRegistry& registry, const std::string& raw_query);
// GET /api/v1/fleet/{id}: the hospital, or NotFound hospital.unknown.
Result<nlohmann::json> fleet_one(const HospitalRegistry& registry, const std::string& hospital_id);

// The opaque cursor that resumes after `hospital_id`, and back ("" when it is not one).
std::string fleet_cursor(const std::string& hospital_id);
std::string fleet_cursor_position(const std::string& cursor);

}  // namespace hisgate::controlplane
