// Reference-data extraction: keeps the platform's copy of a hospital's departments,
// doctors and slots in step with its HIS, as numbered change sets sent upstream through
// the agent's EventSink (event type "reference.changeset").
//
// Two ways in: a pull of today + extraction.days_ahead on a schedule (and on demand), and
// the HIS's own pushes, which the adapter listens for (HisAdapter::listen_for_pushes:
// MFN/SIU over MLLP for HL7, when extraction.push.listen is set). Either is diffed against
// the snapshot; anything that changed becomes ONE change set:
//   {"schema": 1, "seq": 7, "baseSeq": 6, "hospital": "H001", "source": "pull"|"push",
//    "createdAt": "...Z", "window": {"from", "to"} (pull) | "trigger": "SIU^S12" (push),
//    "changes": [{"entity": "hospital"|"department"|"doctor"|"slot", "op": "upsert"|"delete",
//                 "key": "<HIS id>", "data": {...} | null}]}
// Nothing that is unchanged is ever sent. The hospital record comes from the agent's
// parameters (hospital.name, region, city, level), not the HIS; every pull compares it.
//
// The latest change sets (extraction.history_keep) stay in the state file after the
// hand-over, and the extractor serves them, and the snapshot page by page, to a receiver
// that lost its place (ReferenceHistory: the reference.changesets and reference.snapshot
// requests).
//
// Invariants (docs/extraction.md):
//  - seq starts at 1, rises by exactly 1 per change set, and survives restarts; a change
//    set applies on top of baseSeq = seq - 1.
//  - The snapshot update, the seq and a pending copy of the change set are one SQLite
//    transaction. A change set is handed to the sink only after that commit, in seq order,
//    and its pending copy is removed only after the sink took it. A crash in between leaves
//    it pending and it is handed over again at the next open(): publication is
//    at-least-once, and the receiver makes it exactly-once by ignoring a seq it has applied.
//  - Pulls and pushes are applied one at a time, so change sets never interleave.
//  - A pull never undoes a push: it reads the HIS before it takes the lock, so a record
//    pushed while it was reading is newer than what it read, and it leaves that record to
//    the next pull (measured: without this, a pull every 10 s beside pushes every 2 s put a
//    slot back to its older value until the next push, bench/change-to-visible).
//
// Time (which day is today, createdAt, the pull schedule) is the given Clock's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "adapters/his_adapter.h"
#include "agent/events/event_sink.h"
#include <optional>

#include "agent/extraction/extraction_settings.h"
#include "agent/extraction/pull_diff.h"
#include "agent/extraction/reference_history.h"
#include "agent/extraction/snapshot_store.h"
#include "common/clock.h"
#include "common/time_zone.h"

namespace hisgate::extraction {

struct ExtractionOutcome {
    int64_t seq = 0;     // the change set stored; 0 when nothing changed
    size_t changes = 0;  // how many changes it holds
    // Why the change sets pending (this one, and any earlier) were not all handed to the
    // sink; they stay pending and go first at the next pull, push or start.
    std::optional<Error> handover_error;
};

class Extractor : public ReferenceHistory {
public:
    // Opens the extraction tables in the agent's state file and hands over any change set
    // left pending by a crash. `his` and `sink` must outlive the extractor.
    // Errors: Config "extraction.state_file", "params.invalid" (time zone); Internal "extraction.storage".
    static Result<std::unique_ptr<Extractor>> open(HisAdapter& his, ExtractionSettings settings,
                                                   const std::string& state_file, std::string hospital_id,
                                                   agent::EventSink& sink, Clock& clock = SystemClock::instance());
    ~Extractor() override;  // stops
    Extractor(const Extractor&) = delete;
    Extractor& operator=(const Extractor&) = delete;

    // Starts the adapter's push listener (when the parameters ask for one) and the
    // schedule, whose first pull runs at once. Errors: those of listen_for_pushes (nothing started).
    Result<void> start();
    // Stops the schedule (waiting for a pull in progress) and the listener. Idempotent.
    void stop();

    // One pull now, of today (hospital time) + days_ahead - 1.
    Result<ExtractionOutcome> extract_now();
    // One pull of [from_date, to_date] (YYYY-MM-DD). Errors: BadInput "extraction.bad_window",
    // those of the adapter (nothing applied), Protocol "extraction.bad_key", Internal
    // "extraction.storage".
    Result<ExtractionOutcome> extract(const std::string& from_date, const std::string& to_date);

    // The push listener's port (0 when not listening).
    uint16_t push_port() const;
    // The last seq allocated (0 before the first change set).
    int64_t last_seq();

    // ReferenceHistory: under the same lock as commits, so never between two change sets.
    Result<ChangeSetRange> changesets(int64_t from_seq, int64_t to_seq, size_t max_bytes,
                                      size_t max_first_bytes) override;
    Result<ReferenceSnapshot> snapshot_page(const std::optional<SnapshotCursor>& after, size_t max_bytes,
                                            size_t max_first_bytes) override;

private:
    Extractor(HisAdapter& his, ExtractionSettings settings, std::string hospital_id, agent::EventSink& sink,
              SnapshotStore store, TimeZone zone, Clock& clock);
    // Under mu_: applies the changes that differ from the snapshot as one change set.
    Result<ExtractionOutcome> commit_locked(std::vector<Change> changes, const std::string& source,
                                            const nlohmann::json& origin);
    // Under mu_: hands every pending change set to the sink, in seq order, stopping at the
    // first the sink refuses (that one and the later ones stay pending).
    Result<void> hand_over_pending_locked();
    // Under mu_: hand_over_pending_locked, its failure recorded in the outcome.
    ExtractionOutcome handed_over(ExtractionOutcome outcome);
    // Applies one push as one change set; an error means it was not stored or not handed
    // over (the HIS is answered AE and sends it again).
    Result<void> on_push(const ReferencePush& push);
    void run_schedule();
    // Under mu_: this pull (begun at push count `began`) has read the HIS; forgets the
    // pushed records no pull still reading can need.
    void pull_done_locked(uint64_t began);

    HisAdapter& his_;
    ExtractionSettings settings_;
    std::string hospital_id_;
    agent::EventSink& sink_;
    Clock& clock_;  // today's date, change set times, the schedule
    TimeZone zone_;

    std::mutex mu_;  // the store, and the order of change sets
    SnapshotStore store_;
    // Under mu_: pushes taken so far; for each record pushed while a pull was reading the
    // HIS, the count at its push; the count at which each pull now reading began.
    uint64_t pushes_ = 0;
    std::map<RecordKey, uint64_t> pushed_while_pulling_;
    std::multiset<uint64_t> pulls_reading_;

    std::unique_ptr<PushListener> push_listener_;
    std::mutex schedule_mu_;
    std::condition_variable schedule_cv_;
    bool stopping_ = false;
    std::thread schedule_;
};

}  // namespace hisgate::extraction
