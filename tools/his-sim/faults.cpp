#include "his-sim/faults.h"

#include "common/config.h"

namespace hisgate::sim {

nlohmann::json Faults::to_json() const {
    return {{"latency_ms", latency.count()},
            {"silent", silent},
            {"drop_after_commit", drop_after_commit},
            {"drop_answers", drop_answers},
            {"duplicate_answers", duplicate_answers},
            {"reject", reject},
            {"moved_fields", moved_fields}};
}

Result<Faults> Faults::from_json(const nlohmann::json& doc) {
    ConfigReader c(doc, "faults");
    Faults f;
    f.latency = std::chrono::milliseconds(c.integer("latency_ms", 0, 0, 600000));
    f.silent = c.boolean("silent", false);
    f.drop_after_commit = static_cast<int>(c.integer("drop_after_commit", 0, 0, 1000000));
    f.drop_answers = static_cast<int>(c.integer("drop_answers", 0, 0, 1000000));
    f.duplicate_answers = static_cast<int>(c.integer("duplicate_answers", 0, 0, 1000000));
    f.reject = c.string("reject", "");
    if (const auto* moved = c.section("moved_fields")) {
        if (!moved->is_object()) c.problem("moved_fields", "an object of logical field -> HL7 path", describe_json_type(*moved));
        else
            for (const auto& [logical, path] : moved->items()) {
                if (!path.is_string()) c.problem("moved_fields." + logical, "an HL7 path as a string", describe_json_type(path));
                else f.moved_fields[logical] = path.get<std::string>();
            }
    }
    if (auto done = c.finish(); !done) return done.error();
    return f;
}

Faults FaultSwitch::current() const {
    std::lock_guard lock(mu_);
    return faults_;
}

void FaultSwitch::set(Faults f) {
    std::lock_guard lock(mu_);
    faults_ = std::move(f);
}

bool FaultSwitch::take_drop(bool change) {
    std::lock_guard lock(mu_);
    if (change && faults_.drop_after_commit > 0) {
        --faults_.drop_after_commit;
        return true;
    }
    if (faults_.drop_answers <= 0) return false;
    --faults_.drop_answers;
    return true;
}

bool FaultSwitch::take_duplicate() {
    std::lock_guard lock(mu_);
    if (faults_.duplicate_answers <= 0) return false;
    --faults_.duplicate_answers;
    return true;
}

}  // namespace hisgate::sim
