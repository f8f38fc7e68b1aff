#include "agent/probes/probe_result.h"

#include <chrono>

#include "common/utc_time.h"

namespace hisgate::agent::probes {

namespace {
const std::pair<Outcome, const char*> kOutcomes[] = {
    {Outcome::Ok, "ok"}, {Outcome::Changed, "changed"}, {Outcome::Failed, "failed"}, {Outcome::Archived, "archived"}};

}  // namespace

std::string_view to_string(Outcome o) {
    for (const auto& [v, name] : kOutcomes)
        if (v == o) return name;
    return "failed";
}

std::optional<Outcome> outcome_from_string(std::string_view s) {
    for (const auto& [v, name] : kOutcomes)
        if (s == name) return v;
    return std::nullopt;
}

bool counts_as_available(Outcome o) { return o != Outcome::Failed; }

std::optional<double> Availability::share() const {
    if (probes == 0) return std::nullopt;
    return static_cast<double>(available) / static_cast<double>(probes);
}

nlohmann::json Availability::to_json() const {
    auto s = share();
    return {{"share", s ? nlohmann::json(*s) : nlohmann::json(nullptr)},
            {"probes", probes},
            {"available", available},
            {"changed", changed}};
}

nlohmann::json ProbeResult::to_json() const {
    nlohmann::json j{{"path", path},
                     {"operation", to_string(operation)},
                     {"case", case_id},
                     {"outcome", to_string(outcome)},
                     {"at", iso_utc_ms(at_ms)},
                     {"seconds", seconds},
                     {"availability", {{"1h", last_hour.to_json()}, {"24h", last_day.to_json()}}}};
    if (!fingerprint.empty()) j["fingerprint"] = fingerprint;
    if (outcome == Outcome::Ok) j["first_answer"] = first_answer;
    if (outcome == Outcome::Changed) j["diff"] = diff.to_json();
    if (error) j["error"] = {{"class", hisgate::to_string(error->cls)}, {"code", error->code}, {"message", error->message}};
    if (outcome == Outcome::Archived) j["next_case"] = next_case ? nlohmann::json(*next_case) : nlohmann::json(nullptr);
    return j;
}

}  // namespace hisgate::agent::probes
