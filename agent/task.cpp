#include "agent/task.h"

#include <chrono>
#include <map>

namespace hisgate::agent {

namespace {
struct TypeInfo {
    TaskClass cls;
    bool changes_his;
};
// Every request type the agent serves.
const std::map<std::string, TypeInfo>& served_types() {
    static const std::map<std::string, TypeInfo> types = {
        {"appointment.book", {TaskClass::RealTime, true}},
        {"appointment.cancel", {TaskClass::RealTime, true}},
        {"appointment.status", {TaskClass::RealTime, false}},
        {"payment.pay", {TaskClass::RealTime, true}},
        {"payment.refund", {TaskClass::RealTime, true}},
        {"payment.status", {TaskClass::RealTime, false}},
        {"report.get", {TaskClass::Deferred, false}},
        {"report.list", {TaskClass::Deferred, false}},
        {"statement.daily", {TaskClass::Deferred, false}},
    };
    return types;
}
}  // namespace

std::string Task::business() const { return type.substr(0, type.find('.')); }

std::optional<TaskClass> class_of(const std::string& type) {
    auto it = served_types().find(type);
    if (it == served_types().end()) return std::nullopt;
    return it->second.cls;
}

bool changes_his(const std::string& type) {
    auto it = served_types().find(type);
    return it != served_types().end() && it->second.changes_his;
}

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
