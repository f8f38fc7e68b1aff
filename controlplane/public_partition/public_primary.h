// The public partition's primary: every hospital's reference data, applied from the agents'
// change sets, and the ordered change stream the read replicas follow (docs/public-partition.md).
//
// Per hospital it keeps `seq`, the last change set applied. A change set
//   - at or below seq is from the past: ignored (a QoS 1 repeat, a resend), counted;
//   - at seq + 1 applies, and so do the held ones that follow it;
//   - above seq + 1 is from the future: it is held (at most max_held per hospital) and the
//     hospital has a gap [seq + 1, highest seen] until the missing change sets, or a
//     snapshot, arrive (gap_repair.h asks the agent). While the gap is open the hospital is
//     `suspect`: searches show its data flagged as possibly incomplete.
// A snapshot at or above seq replaces the hospital's rows; one below seq is from the past.
//
// Invariants, each kept by one transaction per call: an apply writes all of a change set
// and its stream entries, or nothing; stream positions rise by one with no gaps; an entry's
// checksum is the tables' checksum after it (reference_tables.h).
//
// This is the interface; SQLite implements it (open_sqlite_public_primary), and a
// PostgreSQL implementation could take its place without its callers knowing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/public_partition/change_set.h"
#include "controlplane/public_partition/reference_tables.h"
#include "controlplane/public_partition/search_query.h"

namespace hisgate::controlplane::public_partition {

enum class Applied {
    Applied,  // it (and maybe held ones after it) is in the tables
    Past,     // at or below what the hospital has: nothing changed
    Held,     // from the future: kept until the gap before it closes
};

struct ApplyOutcome {
    Applied applied = Applied::Applied;
    int64_t seq = 0;        // the hospital's seq after the call
    int64_t stream_pos = 0; // the stream's last position after the call
    bool contradicted = false;  // a snapshot at the hospital's own seq held other rows than the stream built
};

struct HospitalGap {
    std::string hospital_id;
    int64_t seq = 0;      // applied up to here
    int64_t highest = 0;  // the highest seq seen; [seq + 1, highest] is missing (or held)
    int64_t since_ms = 0; // when the gap opened
    int64_t held = 0;     // change sets held
};

struct StreamHead {
    int64_t pos = 0;
    uint64_t checksum = 0;
    int64_t at_ms = 0;      // when the last entry was applied (0: none yet)
    int64_t oldest = 0;     // the oldest entry still kept (0: none); a replica behind it re-seeds
};

struct PrimarySettings {
    int64_t max_held = 1000;        // change sets held per hospital; later ones wait for a snapshot
    int64_t stream_keep = 100000;   // stream entries kept for replicas catching up
};

class PublicPrimary {
public:
    virtual ~PublicPrimary() = default;

    virtual Result<ApplyOutcome> apply(const ChangeSet& cs) = 0;
    virtual Result<ApplyOutcome> apply_snapshot(const Snapshot& s) = 0;

    // Every hospital with a gap, oldest gap first.
    virtual Result<std::vector<HospitalGap>> gaps() = 0;
    virtual Result<std::vector<HospitalState>> hospitals() = 0;
    virtual Result<StreamHead> head() = 0;
    // One slot's record as the hospital's change sets left it (doctorId, departmentId, date,
    // start, end, half, capacity, booked, feeCents); nullopt when the primary has none.
    virtual Result<std::optional<nlohmann::json>> slot(const std::string& hospital_id, const std::string& slot_id) = 0;
    // One hospital's or doctor's record (entity kHospital or kDoctor; a hospital's key is its
    // id), as the change sets left it, with "hospitalId" and "suspect" added as search adds
    // them; nullopt when the primary has none. What the FHIR facade reads (docs/fhir.md).
    virtual Result<std::optional<nlohmann::json>> reference(const std::string& entity, const std::string& hospital_id,
                                                            const std::string& key) = 0;
    // A search page over the primary's own tables (search_query.h's run_search).
    virtual Result<nlohmann::json> search(const SearchRequest& r) = 0;
    // The entries after `after` (as JSON texts), in order, at most max_entries and about
    // max_bytes (at least one entry if any follows). Errors: NotFound "stream.gone" when
    // entries after `after` are no longer kept (the caller re-seeds from a snapshot).
    virtual Result<std::vector<std::string>> stream_after(int64_t after, size_t max_entries, size_t max_bytes) = 0;
    // A consistent copy of the reference tables, with their position, written to `path`
    // (a new file): what a new or re-seeding replica starts from.
    virtual Result<Position> write_snapshot(const std::string& path) = 0;
};

// Counts one change set or snapshot the primary took, in
// hisgate_public_changesets_total{outcome}: applied, past, held, snapshot, snapshot_past,
// snapshot_contradicted, or refused (malformed, before any store saw it).
void count_applied(const char* outcome);

Result<std::unique_ptr<PublicPrimary>> open_sqlite_public_primary(const std::string& path, Clock& clock,
                                                                  PrimarySettings settings = {});

}  // namespace hisgate::controlplane::public_partition
