#include "appointment-rules/rule_fields.h"

#include "common/config.h"

namespace hisgate::appointments {

namespace {

// The allowed values as JSON writes them: 5, 10 or "female", "male".
template <class T>
std::string listing(std::initializer_list<T> allowed) {
    std::string out;
    for (const auto& a : allowed) out += (out.empty() ? "" : ", ") + nlohmann::json(a).dump();
    return out;
}

}  // namespace

RuleFields::RuleFields(const nlohmann::json& object, std::string source, std::string path,
                       std::vector<std::string>& problems)
    : object_(object),
      source_(std::move(source)),
      path_(std::move(path)),
      problems_(problems),
      problems_before_(problems.size()) {}

void RuleFields::problem(const std::string& field, const std::string& expected, const std::string& found) {
    problems_.push_back(source_ + ": " + path_ + "." + field + ": expected " + expected + ", found " + found);
}

const nlohmann::json* RuleFields::take(const std::string& field, bool required) {
    known_.insert(field);
    auto it = object_.find(field);
    if (it == object_.end()) {
        if (required) problem(field, "a value (this field is required)", "nothing");
        return nullptr;
    }
    return &*it;
}

std::optional<int> RuleFields::optional_integer(const std::string& field, int min, int max) {
    const auto* v = take(field, false);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) {
        problem(field, "an integer", describe_json_type(*v));
        return min;
    }
    auto n = v->get<int64_t>();
    if (n < min || n > max) {
        problem(field, "an integer from " + std::to_string(min) + " to " + std::to_string(max), std::to_string(n));
        return min;
    }
    return int(n);
}

int RuleFields::integer(const std::string& field, int min, int max) {
    if (!object_.contains(field)) {
        take(field, true);
        return min;
    }
    return *optional_integer(field, min, max);
}

std::optional<int64_t> RuleFields::optional_money(const std::string& field) {
    const auto* v = take(field, false);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || v->get<int64_t>() < 0) {
        problem(field, "an amount in minor units (a whole number of fen or cents, 0 or more)",
                describe_json_type(*v));
        return 0;
    }
    return v->get<int64_t>();
}

int64_t RuleFields::money(const std::string& field) {
    if (!object_.contains(field)) {
        take(field, true);
        return 0;
    }
    return *optional_money(field);
}

int RuleFields::one_of(const std::string& field, std::initializer_list<int> allowed) {
    const auto* v = take(field, true);
    if (!v) return *allowed.begin();
    for (int a : allowed)
        if (v->is_number_integer() && v->get<int64_t>() == a) return a;
    problem(field, "one of " + listing(allowed), v->is_number() ? v->dump() : describe_json_type(*v));
    return *allowed.begin();
}

std::string RuleFields::one_of(const std::string& field, std::initializer_list<const char*> allowed) {
    const auto* v = take(field, true);
    if (!v) return *allowed.begin();
    for (const char* a : allowed)
        if (v->is_string() && v->get<std::string>() == a) return a;
    problem(field, "one of " + listing(allowed), describe_json_type(*v));
    return *allowed.begin();
}

std::optional<MinuteOfDay> RuleFields::optional_time_of_day(const std::string& field) {
    const auto* v = take(field, false);
    if (!v) return std::nullopt;
    std::optional<MinuteOfDay> m = v->is_string() ? parse_time_of_day(v->get<std::string>()) : std::nullopt;
    if (!m) problem(field, "a time of day \"HH:MM\" from 00:00 to 23:59", describe_json_type(*v));
    return m.value_or(0);
}

MinuteOfDay RuleFields::time_of_day(const std::string& field) {
    if (!object_.contains(field)) {
        take(field, true);
        return 0;
    }
    return *optional_time_of_day(field);
}

std::set<Date> RuleFields::optional_dates(const std::string& field) {
    const auto* v = take(field, false);
    std::set<Date> out;
    if (!v) return out;
    if (!v->is_array()) {
        problem(field, "a list of dates \"YYYY-MM-DD\"", describe_json_type(*v));
        return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
        const auto& item = (*v)[i];
        auto d = item.is_string() ? parse_date(item.get<std::string>()) : std::nullopt;
        if (d) out.insert(*d);
        else problem(field + "[" + std::to_string(i) + "]", "a date \"YYYY-MM-DD\"", describe_json_type(item));
    }
    return out;
}

std::set<Date> RuleFields::dates(const std::string& field) {
    if (!object_.contains(field)) take(field, true);
    return optional_dates(field);
}

WeekdaySet RuleFields::weekdays(const std::string& field) {
    const auto* v = take(field, true);
    WeekdaySet out;
    if (!v) return out;
    if (!v->is_array() || v->empty()) {
        problem(field, "a non-empty list of weekdays \"mon\" .. \"sun\"", describe_json_type(*v));
        return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
        const auto& item = (*v)[i];
        auto w = item.is_string() ? parse_weekday(item.get<std::string>()) : std::nullopt;
        if (w) out.insert(*w);
        else problem(field + "[" + std::to_string(i) + "]", "one of \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"",
                     describe_json_type(item));
    }
    return out;
}

std::optional<std::set<std::string>> RuleFields::optional_names(const std::string& field) {
    const auto* v = take(field, false);
    if (!v) return std::nullopt;
    std::set<std::string> out;
    if (!v->is_array() || v->empty()) {
        problem(field, "a non-empty list of ids", describe_json_type(*v));
        return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
        const auto& item = (*v)[i];
        if (item.is_string() && !item.get<std::string>().empty()) out.insert(item.get<std::string>());
        else problem(field + "[" + std::to_string(i) + "]", "a non-empty string", describe_json_type(item));
    }
    return out;
}

bool RuleFields::finish() {
    if (object_.is_object())
        for (const auto& [key, value] : object_.items())
            if (!known_.count(key))
                problems_.push_back(source_ + ": " + path_ + "." + key +
                                    ": unknown field (check its spelling; docs/appointment-rules.md lists each rule's fields)");
    return clean();
}

}  // namespace hisgate::appointments
