// One row of the doctor's answer: a check, its verdict, what was seen, and what to do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hisgate::agent::doctor {

enum class Status { Ok, Warn, Fail };

const char* to_string(Status s);

struct Finding {
    std::string check;   // e.g. "broker.credentials", "his.payment_status"
    Status status = Status::Ok;
    std::string detail;  // what was seen; may hold several lines (validator messages)
    std::string fix;     // empty when there is nothing to do
    std::optional<int64_t> millis;  // time the check took, where the time is the point
};

inline Finding ok(std::string check, std::string detail) { return {std::move(check), Status::Ok, std::move(detail), "", {}}; }
inline Finding warn(std::string check, std::string detail, std::string fix) {
    return {std::move(check), Status::Warn, std::move(detail), std::move(fix), {}};
}
inline Finding fail(std::string check, std::string detail, std::string fix) {
    return {std::move(check), Status::Fail, std::move(detail), std::move(fix), {}};
}

using Findings = std::vector<Finding>;

}  // namespace hisgate::agent::doctor
