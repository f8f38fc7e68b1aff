// The duplicate_answers fault for HTTP front ends. HTTP gives one response per request, so
// a duplicated answer is served again in place of the NEXT request's own answer (which
// the HIS has computed, and committed if it changed anything): a caching proxy gone wrong.
// Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "common/log.h"
#include "his-sim/faults.h"

namespace hisgate::sim {

template <class Answer>
class StaleAnswers {
public:
    explicit StaleAnswers(FaultSwitch& faults) : faults_(faults) {}

    // What to send for this request: a stale copy if one waits, else `fresh`; and keeps
    // `fresh` to serve next time when the fault asks for a duplicate.
    Answer pass(const Answer& fresh, const std::string& request_id) {
        bool duplicate = faults_.take_duplicate();
        std::lock_guard lock(mu_);
        Answer sent = fresh;
        if (stale_) {
            log::info("sim.fault_stale_answer", {{"his_request_id", request_id}});
            sent = std::move(*stale_);
            stale_.reset();
        }
        if (duplicate) {
            log::info("sim.fault_duplicate_answer", {{"his_request_id", request_id}});
            stale_ = fresh;
        }
        return sent;
    }

private:
    FaultSwitch& faults_;
    std::mutex mu_;
    std::optional<Answer> stale_;
};

}  // namespace hisgate::sim
