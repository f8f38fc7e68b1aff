#include "appointment-rules/rule_set.h"

#include <algorithm>

#include "appointment-rules/rule_kinds.h"
#include "common/config.h"

namespace hisgate::appointments {

using namespace std::chrono;

namespace {

std::string all_kind_names() {
    std::string out;
    for (const auto& k : rule_kinds()) out += (out.empty() ? "\"" : ", \"") + std::string(k.name) + "\"";
    return out;
}

// A slot the caller could not have taken from a real schedule. It is refused, never
// guessed at: the patient is asked to pick it again.
std::optional<Refusal> invalid_slot(const Slot& s) {
    bool ok = s.date.ok() && (!s.time || (s.time->start >= 0 && s.time->start < s.time->end &&
                                          s.time->end <= minutes_per_day));
    if (ok) return std::nullopt;
    return Refusal{"request", "request.invalid_slot",
                   "This appointment's details are incomplete, so it cannot be booked. Please choose it again from "
                   "the list of free appointments."};
}

}  // namespace

Result<RuleSet> RuleSet::from_params(const nlohmann::json& section, const std::string& source,
                                     const std::string& hospital_timezone) {
    std::vector<std::string> problems;
    auto problem = [&](const std::string& path, const std::string& expected, const std::string& found) {
        problems.push_back(source + ": " + path + ": expected " + expected + ", found " + found);
    };
    auto failed = [&] {
        std::string all;
        for (const auto& p : problems) all += (all.empty() ? "" : "\n") + p;
        return make_error(ErrorClass::Config, "appointment.invalid_rules", all);
    };

    if (!section.is_object()) {
        problem("appointment", "an object with \"rules\" and \"timezone\"", describe_json_type(section));
        return failed();
    }
    for (const auto& [key, value] : section.items())
        if (key != "rules" && key != "timezone")
            problems.push_back(source + ": appointment." + key + ": unknown field (the section has \"rules\" and \"timezone\")");

    RuleSet set;
    size_t rules_given = 0;
    if (section.contains("rules")) {
        const auto& rules = section["rules"];
        if (!rules.is_array()) problem("appointment.rules", "a list of rule objects", describe_json_type(rules));
        else rules_given = rules.size();
        for (size_t i = 0; i < rules_given; ++i) {
            const auto& item = rules[i];
            std::string path = "appointment.rules[" + std::to_string(i) + "]";
            if (!item.is_object()) {
                problem(path, "a rule object such as {\"rule\": \"fixed_slots\", \"minutes\": 15}", describe_json_type(item));
                continue;
            }
            const RuleKind* kind = nullptr;
            if (!item.contains("rule")) problem(path + ".rule", "a value (this field is required)", "nothing");
            else if (!item["rule"].is_string() || !(kind = find_rule_kind(item["rule"].get<std::string>())))
                problem(path + ".rule", "one of " + all_kind_names(), describe_json_type(item["rule"]));

            RuleFields fields(item, source, path, problems);
            fields.known("rule");
            auto departments = fields.optional_names("departments");
            // An unknown kind has no fields to read: finish() would call every field
            // unknown, which says nothing new.
            if (!kind) continue;
            std::shared_ptr<const Rule> rule = kind->make(fields);
            if (fields.finish()) set.entries_.push_back(Entry{kind, std::move(departments), std::move(rule)});
        }
    }

    std::string zone_path = "appointment.timezone";
    std::string zone_name;
    if (section.contains("timezone")) {
        const auto& tz = section["timezone"];
        if (tz.is_string()) zone_name = tz.get<std::string>();
        else problem(zone_path, "a tz database name such as \"Asia/Shanghai\"", describe_json_type(tz));
    }
    if (zone_name.empty() && !hospital_timezone.empty()) {
        zone_path = "hospital.timezone";
        zone_name = hospital_timezone;
    }
    if (!zone_name.empty()) {
        auto zone = TimeZone::load(zone_name);
        if (zone) set.zone_ = std::move(*zone);
        else problem(zone_path, "a tz database name such as \"Asia/Shanghai\"", zone.error().message);
    } else if (rules_given > 0) {
        problem(zone_path, "a tz database name such as \"Asia/Shanghai\" (the rules compare local times)", "nothing");
    }

    if (!problems.empty()) return failed();
    std::stable_sort(set.entries_.begin(), set.entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.kind < b.kind; });  // kinds live in one array
    return set;
}

Moment RuleSet::place(sys_seconds now, const Slot& slot) const {
    local_seconds local = zone_.to_local(now);
    local_days day = floor<days>(local);
    std::optional<sys_seconds> slot_start;
    if (slot.time) slot_start = zone_.to_utc(slot.date, slot.time->start);
    return Moment{now,
                  Date{day},
                  MinuteOfDay(duration_cast<minutes>(local - day).count()),
                  zone_.to_utc(slot.date, 0),
                  slot_start,
                  &zone_};
}

template <class Check>
std::optional<Refusal> RuleSet::first_refusal(const Slot& slot, Check check) const {
    for (const auto& e : entries_) {
        if (e.departments && !e.departments->count(slot.department_id)) continue;
        if (auto objection = check(*e.rule)) {
            std::string rule(e.kind->name);
            return Refusal{rule, rule + "." + objection->reason, std::move(objection->message_for_patient)};
        }
    }
    return std::nullopt;
}

std::optional<Refusal> RuleSet::check_booking(const BookingRequest& request, const BookingCounts& counts) const {
    if (auto bad = invalid_slot(request.slot)) return bad;
    Moment moment = place(request.requested_at, request.slot);
    BookingView view{request, counts, moment};
    return first_refusal(request.slot, [&](const Rule& r) { return r.check_booking(view); });
}

std::optional<Refusal> RuleSet::check_cancellation(const CancellationRequest& request) const {
    if (auto bad = invalid_slot(request.slot)) return bad;
    Moment moment = place(request.requested_at, request.slot);
    CancellationView view{request, moment};
    return first_refusal(request.slot, [&](const Rule& r) { return r.check_cancellation(view); });
}

std::vector<std::string> RuleSet::rule_names() const {
    std::vector<std::string> names;
    for (const auto& e : entries_) names.emplace_back(e.kind->name);
    return names;
}

}  // namespace hisgate::appointments
