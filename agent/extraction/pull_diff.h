// What a pull changed: the extracted records against the snapshot's records in the pull's
// scope (the hospital, every department and doctor; slots dated within the window). A record in scope
// that the HIS no longer lists is deleted; a slot outside the window is out of scope and
// never deleted by a pull.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "agent/extraction/reference_records.h"

namespace hisgate::extraction {

using RecordKey = std::pair<std::string, std::string>;  // entity, key

// Changes in a replica-friendly order: upserts of the hospital, departments, doctors,
// slots; then deletes of slots, doctors, departments, hospitals (a slot never names a
// doctor the replica lacks, nor a doctor a hospital it lacks).
std::vector<Change> pull_diff(const std::map<RecordKey, Record>& in_scope, const std::vector<Record>& extracted);

}  // namespace hisgate::extraction
