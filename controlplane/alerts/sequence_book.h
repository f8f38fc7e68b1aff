// Event sequence gaps (issue 13 item 5): the agents number their reference change sets
// (reference.changeset events: `seq`, one after another per hospital), and the control
// plane keeps, per hospital, the highest seq up to which it has every one (contiguous) and
// the highest seen. A gap is a hospital whose highest is above its contiguous seq: change
// sets between them never arrived (yet). Events may come repeated or out of order: a seq
// at or below contiguous is no news; one above it is kept (at most kMaxPendingSeqs per
// hospital) until the seqs before it arrive. The first change set of a hospital starts its
// count (the control plane may join late).
//
// Kept where every instance sees it (the events of one hospital are shared among the
// instances): this is the interface; SQLite implements it (open_sqlite_sequence_book on
// the control plane's results_db).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/events/agent_event.h"

namespace hisgate::controlplane::alerts {

inline constexpr int64_t kMaxPendingSeqs = 1000;

struct SequenceGap {
    std::string hospital_id;
    int64_t contiguous = 0;  // every seq up to this one arrived
    int64_t highest = 0;     // the highest seq that arrived
    int64_t since_ms = 0;    // when the gap opened
};

class SequenceBook {
public:
    virtual ~SequenceBook() = default;
    // One change set's seq of `hospital_id` arrived (at the book's clock).
    virtual Result<void> arrived(const std::string& hospital_id, int64_t seq) = 0;
    // Every hospital with a gap.
    virtual Result<std::vector<SequenceGap>> gaps() = 0;
};

Result<std::unique_ptr<SequenceBook>> open_sqlite_sequence_book(const std::string& path, Clock& clock);

// Feeds the book from a reference.changeset event given by the event intake
// (controlplane/events/event_intake.h); a change set without a readable seq is logged and
// counted in hisgate_controlplane_sequence_events_total{outcome="rejected"}.
void take_changeset_event(SequenceBook& book, const events::AgentEvent& e);

}  // namespace hisgate::controlplane::alerts
