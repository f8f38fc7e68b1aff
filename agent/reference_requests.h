// The two requests by which the control plane's public partition catches up with this
// agent's reference data (issue 14, docs/extraction.md "Resends"):
//   reference.changesets {"fromSeq": N, "toSeq": M}  (1 <= N <= M)
//     -> {"hospital", "lastSeq", "changesets": [each as emitted, seqs N..min(M, lastSeq)],
//         "complete"}: cut before the answer passes kChangeSetPageBytes (complete false:
//         ask again from the next seq). Rejected "reference.range_gone" when N is older
//         than the oldest change set kept (the message names it): ask for the snapshot.
//   reference.snapshot {"after": <cursor> | null (absent: from the first), "max_bytes": N}
//     -> {"schema": 1, "hospital", "seq", "records": [{"entity", "key", "data"}], "next", "done"}:
//        one page, the records after the cursor in (entity, key) order up to N bytes (a
//        record bigger than N alone), read at once as the state after change set `seq`;
//        `next` (null when done) is the cursor of the next page. Pages may be read at
//        different seqs: the caller closes the difference with reference.changesets.
//        Rejected "reference.bad_page" for a body that is not one of these (the message
//        names the field). A body naming neither field ({}, what control planes before
//        paging send) is the whole snapshot as one page, or Rejected
//        "reference.snapshot_too_large" when it cannot fit one answer: never a first page
//        that a caller unaware of `done` would take for the whole.
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
// A snapshot page's body.max_bytes: its default, and the range it must be in (the top
// leaves room for a record bigger than the page and for the envelope, as above).
inline constexpr std::size_t kSnapshotPageDefaultBytes = 256 * 1024;
inline constexpr std::size_t kSnapshotPageMinBytes = 1024;
inline constexpr std::size_t kSnapshotPageMaxBytes = kChangeSetPageBytes;
// A cursor is at most this long (an entity name, ':', the HIS's key).
inline constexpr std::size_t kSnapshotCursorMaxBytes = 1024;

// `history` is null in an agent without extraction: Internal "reference.unavailable".
// Errors also BadInput "reference.bad_range" (reference.changesets) and Rejected
// "reference.bad_page" (reference.snapshot), naming the field.
Result<nlohmann::json> reference_changesets(extraction::ReferenceHistory* history, const nlohmann::json& body);
Result<nlohmann::json> reference_snapshot(extraction::ReferenceHistory* history, const nlohmann::json& body);

}  // namespace hisgate::agent
