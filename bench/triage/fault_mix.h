// A seeded simulated fault mix with known true owners, for measuring triage (docs/triage.md,
// docs/benchmarks.md). Each incident is one fault of one kind; it emits the error records
// the control plane would see from it (class, code, tags, source), with the real code
// strings: every code comes from emitted_codes(), a table naming where the code base emits
// it, which a unit test checks against the sources.
//
// What the simulation assumes (docs/triage.md, "Accuracy"): the fleet's dialects, versions
// and regions are spread evenly; each kind's symptoms and their shares are this file's
// (below), not measured on a real fleet; incidents arrive at random (mean 10 min apart)
// and may overlap; only what the control plane really receives is emitted (no log lines,
// no birth/will flapping, which the error book does not see).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "controlplane/triage/error_book.h"
#include "controlplane/triage/owner_rules.h"

namespace hisgate::triage_sim {

using controlplane::triage::ErrorRecord;

enum class FaultKind { HisDown, InterfaceChanged, VendorRejection, BadParameterFile, BrokerOutage, AgentCrashLoop, OurBug };
inline constexpr FaultKind kKinds[] = {FaultKind::HisDown,          FaultKind::InterfaceChanged, FaultKind::VendorRejection,
                                       FaultKind::BadParameterFile, FaultKind::BrokerOutage,     FaultKind::AgentCrashLoop,
                                       FaultKind::OurBug};
const char* to_string(FaultKind k);
// The team that fixes it: what the triage of its errors should say.
const char* true_owner(FaultKind k);

// A code the simulation emits, and where the code base emits it: `evidence` occurs in
// `file` (whitespace runs compared as one space), and `evidence2` in `file2` when given
// (the vendor code in a dialect file, the prefix an adapter sets).
struct EmittedCode {
    const char* code;
    ErrorClass cls;
    const char* file;
    const char* evidence;
    const char* file2 = "";
    const char* evidence2 = "";
};
const std::vector<EmittedCode>& emitted_codes();

struct Incident {
    int id = 0;
    FaultKind kind = FaultKind::HisDown;
    std::string variant;  // the symptom shape chosen ("redeploying", "poison-task", ...)
    int64_t start_ms = 0, end_ms = 0;
};

struct SimRecord {
    int64_t at_ms = 0;
    int incident = 0;
    ErrorRecord record;
};

struct FaultMix {
    std::vector<Incident> incidents;
    std::vector<SimRecord> records;  // in time order
};

// `n` incidents over a fleet of `fleet` hospitals; the same seed gives the same mix.
FaultMix generate(uint64_t seed, int n, int fleet = 300);

struct Score {
    int64_t errors = 0, right = 0;        // error records; routed to the true owner
    int64_t incidents = 0, incidents_right = 0;  // incidents all of whose errors were
};

struct Report {
    Score overall;
    std::map<FaultKind, Score> kinds;
    // (kind, routed owner or "(not booked)") -> errors, for the wrong routings
    std::map<std::pair<std::string, std::string>, int64_t> confusion;
    // (kind, routed owner) -> the rule that routed most of them
    std::map<std::pair<std::string, std::string>, std::string> confusion_rule;
    std::vector<std::string> wrong_samples;  // the first few misrouted records, readable
};

// Feeds the mix into a fresh error book (":memory:", time stepped by a ManualClock) under
// `rules`; an error counts as right when its group's owner, as the book holds it when its
// incident ends, is the incident's true owner.
Result<Report> run(const FaultMix& mix, const controlplane::triage::OwnerRules& rules,
                   controlplane::triage::BookSettings settings = {}, size_t samples = 10);

}  // namespace hisgate::triage_sim
