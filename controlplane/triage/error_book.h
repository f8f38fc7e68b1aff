// The error book: the errors the control plane saw, grouped so a team reads a list, not a
// stream. A group is one (class, code, hospital, path) while it keeps happening, with its
// owner (OwnerRules), how many times, when first and last, and one trace id to follow.
// A group with no new occurrence for the quiet period is resolved; the next occurrence of
// the same error opens a new group.
//
// Owners follow what the book sees: when an error arrives, the open groups of the window
// at its hospital and with its code are routed again, so a rule that looks around ("the
// same code at many hospitals": a broker outage) moves the groups it now explains, and
// the earliest of an outage's errors do not stay with the team its first one suggested.
//
// Codes and ids only: an error's message never reaches the book (it may quote a HIS's
// words about a patient). This is the interface; SQLite implements it on the control
// plane's results_db (open_sqlite_error_book), as controlplane/idempotency_store.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/triage/error_record.h"
#include "controlplane/triage/owner_rules.h"

namespace hisgate::controlplane::triage {

struct ErrorGroup {
    std::string owner;
    std::string rule;  // the rule that routed it ("default": none did)
    ErrorClass cls = ErrorClass::Internal;
    std::string code;
    ErrorTags tags;    // hospital and path are the group's; dialect, version, region as last seen
    int64_t count = 0;
    int64_t first_ms = 0, last_ms = 0;  // wall ms
    std::string sample_trace_id;        // the first occurrence's that had one
    bool resolved = false;
};

struct BookSettings {
    std::chrono::milliseconds quiet{std::chrono::minutes(30)};  // no occurrence this long: resolved
    std::chrono::milliseconds keep_resolved{std::chrono::hours(7 * 24)};  // then forgotten
    int64_t max_groups = 100000;  // groups kept at most; beyond, new groups are dropped and counted
};

struct TriageQuery {
    std::string owner;     // empty: every owner
    int64_t since_ms = 0;  // groups last seen at or after
    int64_t limit = 1000;  // groups at most
};

class ErrorBook {
public:
    virtual ~ErrorBook() = default;
    // Books one occurrence (unless its rule says it is not booked) and returns its routing.
    // A record out of bounds (out_of_bounds) is refused with that error and changes nothing.
    virtual Result<Routing> record(const ErrorRecord& r) = 0;
    // The open groups matching `q`, by owner, then the most frequent first.
    virtual Result<std::vector<ErrorGroup>> open_groups(const TriageQuery& q) = 0;
    // Resolves the groups quiet for the quiet period and forgets resolved ones past
    // keep_resolved; record() and open_groups() run it themselves. Returns how many changed.
    virtual Result<int> settle() = 0;
};

// `path`: a SQLite file (the control plane's results_db) or ":memory:".
Result<std::unique_ptr<ErrorBook>> open_sqlite_error_book(const std::string& path, OwnerRules rules, Clock& clock,
                                                          BookSettings settings = {});

}  // namespace hisgate::controlplane::triage
