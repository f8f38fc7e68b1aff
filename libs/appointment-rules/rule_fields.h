// Reading one rule object of the parameters, every problem recorded with its JSON path.
//
// Each accessor marks its field as known, records a problem if the field is missing or of
// the wrong type or range, and returns a harmless value so reading goes on: one pass over
// a parameter file reports all of its problems. finish() records every field nothing
// asked for, so a misspelt field is an error, never silently ignored.
#pragma once

#include <chrono>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "appointment-rules/calendar.h"

namespace hisgate::appointments {

class RuleFields {
public:
    // `path` is the object's own path, e.g. "appointment.rules[2]"; problems are appended
    // to `problems` as "<source>: <path>.<field>: expected ..., found ...".
    RuleFields(const nlohmann::json& object, std::string source, std::string path,
               std::vector<std::string>& problems);

    int integer(const std::string& field, int min, int max);
    std::optional<int> optional_integer(const std::string& field, int min, int max);
    int64_t money(const std::string& field);  // minor units, >= 0
    std::optional<int64_t> optional_money(const std::string& field);
    int one_of(const std::string& field, std::initializer_list<int> allowed);
    std::string one_of(const std::string& field, std::initializer_list<const char*> allowed);
    MinuteOfDay time_of_day(const std::string& field);
    std::optional<MinuteOfDay> optional_time_of_day(const std::string& field);
    std::set<Date> dates(const std::string& field);  // a list of "YYYY-MM-DD", may be empty
    std::set<Date> optional_dates(const std::string& field);
    WeekdaySet weekdays(const std::string& field);  // non-empty list of "mon".."sun"
    std::optional<std::set<std::string>> optional_names(const std::string& field);  // non-empty list of ids

    // Marks a field as read by someone else (RuleSet reads "rule").
    void known(const std::string& field) { known_.insert(field); }

    // A problem that is about the object as a whole, e.g. two fields that disagree.
    void problem(const std::string& field, const std::string& expected, const std::string& found);

    // True while no problem has been recorded for this object: checks across fields
    // (e.g. from < until) run only on fields that read well.
    bool clean() const { return problems_.size() == problems_before_; }

    // Records the fields nobody asked for. Returns clean().
    bool finish();

private:
    const nlohmann::json* take(const std::string& field, bool required);

    const nlohmann::json& object_;
    std::string source_;
    std::string path_;
    std::vector<std::string>& problems_;
    size_t problems_before_;
    std::set<std::string> known_;
};

}  // namespace hisgate::appointments
