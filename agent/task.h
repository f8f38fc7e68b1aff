// A task: one request from the control plane, kept in the agent's queue until the HIS
// has answered it and the answer is in the outbox.
//
// Invariants:
//  - The request id is the task's id and its idempotency key: one id, one task, for ever
//    (a redelivered request finds its task and never makes a second one).
//  - `attempts` counts dispatches to the HIS and is stored before each dispatch, so after
//    a crash the agent knows whether the HIS may already have seen the task.
#pragma once

#include <cstdint>
#include <string>

namespace hisgate::agent {

// Real-time tasks (a patient is waiting: book, cancel, pay, refund) go to the HIS at once;
// deferred ones (reports, records, statements) are drained in batches on a timer. Which
// request type is which: agent/request_types.h. The HIS gate orders its callers by it too.
enum class TaskClass { RealTime, Deferred };

enum class TaskState { Queued, Dispatched, Done, Parked };

// A task's row in the agent's state file, handed out when the task is admitted.
using TaskRow = int64_t;

struct Task {
    TaskRow row = 0;      // 0 until admitted
    std::string id;       // the request id
    std::string type;     // e.g. "appointment.book"
    TaskClass cls = TaskClass::RealTime;
    std::string request;  // the request envelope, JSON
    std::string reply_topic;
    std::string correlation;
    std::string traceparent;
    TaskState state = TaskState::Queued;
    int attempts = 0;
    int64_t next_attempt_ms = 0;  // unix ms; not before
    int64_t created_ms = 0;       // unix ms; when the agent accepted it
    std::string last_error;

    // The business the task belongs to, for queue figures: "appointment" for
    // "appointment.book".
    std::string business() const;
};

const char* to_string(TaskClass c);
const char* to_string(TaskState s);

int64_t unix_ms_now();

}  // namespace hisgate::agent
