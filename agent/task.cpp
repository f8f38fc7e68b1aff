#include "agent/task.h"

#include <chrono>

namespace hisgate::agent {

std::string Task::business() const { return type.substr(0, type.find('.')); }

const char* to_string(TaskClass c) { return c == TaskClass::RealTime ? "realtime" : "deferred"; }

const char* to_string(TaskState s) {
    switch (s) {
        case TaskState::Queued: return "queued";
        case TaskState::Dispatched: return "dispatched";
        case TaskState::Done: return "done";
        case TaskState::Parked: return "parked";
    }
    return "queued";
}

int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace hisgate::agent
