// The two requests by which the control plane's public partition catches up with this
// agent's reference data (issue 14, docs/extraction.md "Resends"):
//   reference.changesets {"fromSeq": N, "toSeq": M}  (1 <= N <= M)
//     -> {"hospital", "lastSeq", "changesets": [each as emitted, seqs N..min(M, lastSeq)],
//         "complete"}: cut before the answer passes kChangeSetPageBytes (complete false:
//         ask again from the next seq). Rejected "reference.range_gone" when N is older
//         than the oldest change set kept (the message names it): ask for the snapshot.
//   reference.snapshot {}
//     -> {"schema": 1, "hospital", "seq", "records": [{"entity", "key", "data"}]}: the
//        whole snapshot, the state after change set `seq`. Rejected
//        "reference.snapshot_too_large" when it cannot fit one answer.
// Both are request types of the agent's table (agent/request_types.h): real-time,
// reading the agent's own state file only, never the HIS.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>

#include "agent/extraction/reference_history.h"
#include "common/error.h"

namespace hisgate::agent {

// The change sets of one answer: a bound well under the answer limit, so the envelope and
// the MQTT properties always fit (transport/limits.h kAnswerBytes).
inline constexpr std::size_t kChangeSetPageBytes = 3 * 1024 * 1024;

// `history` is null in an agent without extraction: Internal "reference.unavailable".
// Errors also BadInput "reference.bad_range" naming the field.
Result<nlohmann::json> reference_changesets(extraction::ReferenceHistory* history, const nlohmann::json& body);
Result<nlohmann::json> reference_snapshot(extraction::ReferenceHistory* history, const nlohmann::json& body);

}  // namespace hisgate::agent
