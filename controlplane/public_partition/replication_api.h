// What the read replicas follow the primary by, over the control plane's HTTP API (service
// and admin tokens; the Api checks the role):
//
//   GET /api/v1/replication/stream?after=P[&wait_ms=W][&max=N]
//       {"head": {"pos", "checksum", "atMs", "oldest"}, "nowMs",
//        "entries": [<stream entries after P, in order: stream_entry.h>]}
//       Long poll: with no entry after P it waits up to W ms (default 10000, at most 30000)
//       for one, and answers an empty list when none came: the heartbeat by which an idle
//       replica knows it is current (lag 0), not falling behind. At most N entries
//       (default 1000, at most 5000) and about 8 MiB. 410 stream.gone when entries after
//       P are no longer kept, 409 stream.ahead when P is past the primary's head: either
//       way the replica re-seeds.
//   GET /api/v1/replication/snapshot
//       the reference tables at one position, as an SQLite file
//       (application/vnd.sqlite3), its position in the Stream-Position and
//       Stream-Checksum headers; a replica starts from it, then follows the stream.
//
// Parameters are read within bounds first; anything else is 400 replication.bad_query
// naming the parameter.
#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/public_partition/public_primary.h"

namespace hisgate::controlplane::public_partition {

struct StreamQuery {
    int64_t after = 0;
    std::chrono::milliseconds wait{10000};
    size_t max_entries = 1000;
};

Result<StreamQuery> parse_stream_query(const std::string& raw_query);

// The stream answer's JSON text (the entries are the primary's stored texts, not re-read).
Result<std::string> stream_page(PublicPrimary& primary, const StreamQuery& q, Clock& clock);

}  // namespace hisgate::controlplane::public_partition
