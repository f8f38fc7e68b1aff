// Faults his-sim takes on command, to rehearse what real HIS interfaces do.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace hisgate::sim {

struct Faults {
    std::chrono::milliseconds latency{0};  // wait this long before answering
    bool silent = false;                   // read every message, never answer
    int drop_after_commit = 0;             // the next N answers to changes (book, cancel, pay, refund) are lost
    int drop_answers = 0;                  // the next N answers of any kind are lost
    int duplicate_answers = 0;             // the next N answers are sent twice
    std::string reject;                    // non-empty: refuse everything with this vendor error code
    std::map<std::string, std::string> moved_fields;  // interface change: logical field -> new HL7 path

    nlohmann::json to_json() const;
    // Every field is optional; unknown fields and wrong types are errors naming the field.
    static Result<Faults> from_json(const nlohmann::json& doc);
};

// The faults in force, changed at run time through the control API; thread-safe.
class FaultSwitch {
public:
    explicit FaultSwitch(Faults initial) : faults_(std::move(initial)) {}
    Faults current() const;
    void set(Faults f);
    // True if this answer must be dropped now (uses up one): drop_after_commit counts only
    // answers to changes, so a query the agent makes meanwhile (a probe, an extraction)
    // never takes the drop meant for a payment; drop_answers counts every answer.
    bool take_drop(bool change);
    // True if this answer must be sent twice (uses up one).
    bool take_duplicate();

private:
    mutable std::mutex mu_;
    Faults faults_;
};

}  // namespace hisgate::sim
