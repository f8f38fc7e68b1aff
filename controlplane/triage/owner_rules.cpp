#include "controlplane/triage/owner_rules.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/bounded_json.h"
#include "common/config.h"

namespace hisgate::controlplane::triage {

namespace {
constexpr std::size_t kMaxFileBytes = 1024 * 1024;
constexpr std::size_t kMaxRules = 10000;
constexpr std::size_t kMaxPatterns = 1000;
constexpr std::size_t kMaxName = 64;
const std::set<std::string> kWhenFields = {"class", "code", "hospital", "dialect", "path", "version",
                                           "region", "source", "with", "spread"};
const ErrorClass kClasses[] = {ErrorClass::BadInput, ErrorClass::NotFound, ErrorClass::Config,
                               ErrorClass::Unavailable, ErrorClass::Timeout, ErrorClass::Protocol,
                               ErrorClass::Rejected, ErrorClass::Internal};
const Source kSources[] = {Source::Answer, Source::Router, Source::Event, Source::Reconcile};

std::string class_names() {
    std::string out;
    for (auto c : kClasses) out += (out.empty() ? "" : ", ") + std::string(to_string(c));
    return out;
}

// A team name: 1 to 64 of a-z 0-9 - _ (it is a query parameter and a table column).
bool valid_team(const std::string& s) {
    if (s.empty() || s.size() > kMaxName) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    return true;
}

// Collects every problem of one file, each "<source>: <where>: expected <what>, found <what>".
class Reader {
public:
    explicit Reader(std::string source) : source_(std::move(source)) {}
    void problem(const std::string& where, const std::string& expected, const std::string& found) {
        problems_.push_back(source_ + ": " + where + ": expected " + expected + ", found " + found);
    }
    void unknown(const std::string& where, const std::string& known) {
        problems_.push_back(source_ + ": " + where + ": unknown field (known here: " + known + ")");
    }
    bool ok() const { return problems_.empty(); }
    Error error() const {
        std::string all;
        for (const auto& p : problems_) all += (all.empty() ? "" : "\n") + p;
        return make_error(ErrorClass::Config, "triage.rules_invalid", all);
    }

    // A string, or a non-empty array of strings.
    std::vector<std::string> strings(const nlohmann::json& v, const std::string& where) {
        std::vector<std::string> out;
        if (v.is_string()) out.push_back(v.get<std::string>());
        else if (v.is_array() && !v.empty() && v.size() <= kMaxPatterns) {
            for (size_t i = 0; i < v.size(); ++i) {
                if (v[i].is_string()) out.push_back(v[i].get<std::string>());
                else problem(where + "[" + std::to_string(i) + "]", "a string", describe_json_type(v[i]));
            }
        } else problem(where, "a string or an array of 1 to " + std::to_string(kMaxPatterns) + " strings", describe_json_type(v));
        for (const auto& s : out)
            if (s.empty() || s.size() > kCodeBytes) problem(where, "values of 1 to " + std::to_string(kCodeBytes) + " bytes", std::to_string(s.size()) + " bytes");
        return out;
    }

    std::vector<Pattern> patterns(const nlohmann::json& v, const std::string& where) {
        std::vector<Pattern> out;
        for (auto& s : strings(v, where)) {
            auto star = s.find('*');
            if (star != std::string::npos && star != s.size() - 1) {
                problem(where, "an exact value or a prefix ending in a single '*'", "\"" + s + "\"");
                continue;
            }
            bool prefix = star != std::string::npos;
            if (prefix) s.pop_back();
            out.push_back({s, prefix});
        }
        return out;
    }

    Rule rule(const nlohmann::json& v, const std::string& where, const std::map<std::string, std::string>& teams) {
        Rule r;
        if (!v.is_object()) {
            problem(where, "an object {name, owner, when}", describe_json_type(v));
            return r;
        }
        for (const auto& [key, value] : v.items()) {
            const std::string at = where + "." + key;
            if (key == "name") {
                if (!value.is_string() || value.get<std::string>().empty() || value.get<std::string>().size() > kMaxName)
                    problem(at, "a string of 1 to " + std::to_string(kMaxName) + " bytes", describe_json_type(value));
                else r.name = value.get<std::string>();
            } else if (key == "owner") {
                if (!value.is_string()) problem(at, "a team named in \"teams\"", describe_json_type(value));
                else if (!teams.count(value.get<std::string>()))
                    problem(at, "a team named in \"teams\"", "\"" + value.get<std::string>() + "\"");
                else r.owner = value.get<std::string>();
            } else if (key == "book") {
                if (!value.is_boolean()) problem(at, "true or false", describe_json_type(value));
                else r.book = value.get<bool>();
            } else if (key == "why") {
                if (!value.is_string()) problem(at, "a string (a note for people)", describe_json_type(value));
            } else if (key == "when") {
                when(value, at, r);
            } else unknown(at, "name, owner, book, why, when");
        }
        if (!v.contains("name")) problem(where + ".name", "a string (this field is required)", "nothing");
        if (r.book && !v.contains("owner")) problem(where + ".owner", "a team (required unless \"book\": false)", "nothing");
        if (!r.book && v.contains("owner")) problem(where + ".owner", "no owner: a rule with \"book\": false books nothing", "an owner");
        if (!v.contains("when")) problem(where + ".when", "an object (this field is required)", "nothing");
        return r;
    }

    void when(const nlohmann::json& v, const std::string& where, Rule& r) {
        if (!v.is_object() || v.empty()) {
            problem(where, "an object with at least one condition", describe_json_type(v));
            return;
        }
        for (const auto& [key, value] : v.items()) {
            const std::string at = where + "." + key;
            if (!kWhenFields.count(key)) {
                unknown(at, "class, code, hospital, dialect, path, version, region, source, with, spread");
            } else if (key == "class") {
                for (const auto& name : strings(value, at)) {
                    bool known = false;
                    for (auto c : kClasses)
                        if (to_string(c) == name) r.classes.push_back(c), known = true;
                    if (!known) problem(at, "one of " + class_names(), "\"" + name + "\"");
                }
            } else if (key == "source") {
                for (const auto& name : strings(value, at)) {
                    bool known = false;
                    for (auto s : kSources)
                        if (name == to_string(s)) r.sources.push_back(s), known = true;
                    if (!known) problem(at, "one of answer, router, event, reconcile", "\"" + name + "\"");
                }
            } else if (key == "with") {
                r.with = patterns(value, at);
            } else if (key == "spread") {
                spread(value, at, r.spread);
            } else {
                r.patterns[key] = patterns(value, at);
            }
        }
    }

    void spread(const nlohmann::json& v, const std::string& where, Spread& s) {
        if (!v.is_object() || v.empty()) {
            problem(where, "an object of hospitals, dialects, paths (minimum counts), same_version", describe_json_type(v));
            return;
        }
        for (const auto& [key, value] : v.items()) {
            const std::string at = where + "." + key;
            if (key == "same_version") {
                if (!value.is_boolean()) problem(at, "true or false", describe_json_type(value));
                else s.same_version = value.get<bool>();
                continue;
            }
            int* field = key == "hospitals" ? &s.hospitals : key == "dialects" ? &s.dialects : key == "paths" ? &s.paths : nullptr;
            if (!field) {
                unknown(at, "hospitals, dialects, paths, same_version");
                continue;
            }
            if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 100000)
                problem(at, "an integer from 1 to 100000", describe_json_type(value));
            else *field = static_cast<int>(value.get<int64_t>());
        }
    }

private:
    std::string source_;
    std::vector<std::string> problems_;
};

bool any_pattern(const std::vector<Pattern>& ps, const std::string& value) {
    for (const auto& p : ps)
        if (p.matches(value)) return true;
    return false;
}

const std::string& tag_of(const ErrorRecord& r, const std::string& field) {
    if (field == "code") return r.code;
    if (field == "hospital") return r.tags.hospital;
    if (field == "dialect") return r.tags.dialect;
    if (field == "path") return r.tags.path;
    if (field == "version") return r.tags.version;
    return r.tags.region;
}

bool matches(const Rule& rule, const ErrorRecord& r, Neighbourhood* around) {
    if (!rule.classes.empty() &&
        std::find(rule.classes.begin(), rule.classes.end(), r.cls) == rule.classes.end())
        return false;
    if (!rule.sources.empty() &&
        std::find(rule.sources.begin(), rule.sources.end(), r.source) == rule.sources.end())
        return false;
    for (const auto& [field, ps] : rule.patterns)
        if (!any_pattern(ps, tag_of(r, field))) return false;
    if (!rule.with.empty()) {
        if (!around || r.tags.hospital.empty()) return false;
        bool seen = false;
        for (const auto& code : around->codes_at(r.tags.hospital))
            if (code != r.code && any_pattern(rule.with, code)) seen = true;
        if (!seen) return false;
    }
    if (rule.spread.hospitals || rule.spread.dialects || rule.spread.paths) {
        if (!around) return false;
        Spread s = around->spread_of(r.code, r.tags.hospital, rule.spread.same_version ? r.tags.version : "");
        if (s.hospitals < rule.spread.hospitals || s.dialects < rule.spread.dialects || s.paths < rule.spread.paths)
            return false;
    }
    return true;
}
}  // namespace

bool Pattern::matches(const std::string& value) const {
    if (prefix) return value.compare(0, text.size(), text) == 0;
    return value == text;
}

Result<OwnerRules> OwnerRules::parse(const std::string& json_text, const std::string& source) {
    auto doc = parse_bounded_json(json_text, {"the triage rules file " + source, kMaxFileBytes, "triage.rules"});
    if (!doc) return make_error(ErrorClass::Config, "triage.rules_invalid", doc.error().message);
    Reader in(source);
    OwnerRules out;
    const auto& d = *doc;
    if (!d.is_object()) {
        in.problem("(top level)", "an object {teams, default_owner, rules}", describe_json_type(d));
        return in.error();
    }
    // Teams first: owners are checked against them.
    if (auto t = d.find("teams"); t == d.end()) in.problem("teams", "an object of team name -> what it owns (required)", "nothing");
    else if (!t->is_object() || t->empty()) in.problem("teams", "an object of team name -> what it owns", describe_json_type(*t));
    else
        for (const auto& [name, what] : t->items()) {
            if (!valid_team(name)) in.problem("teams." + name, "a team name of 1 to 64 of a-z 0-9 - _", "\"" + name + "\"");
            else if (!what.is_string()) in.problem("teams." + name, "a string saying what the team owns", describe_json_type(what));
            else out.teams_[name] = what.get<std::string>();
        }
    for (const auto& [key, value] : d.items()) {
        if (key == "teams") continue;
        if (key == "default_owner") {
            if (!value.is_string() || !out.teams_.count(value.get<std::string>()))
                in.problem(key, "a team named in \"teams\"", value.is_string() ? "\"" + value.get<std::string>() + "\"" : describe_json_type(value));
            else out.default_owner_ = value.get<std::string>();
        } else if (key == "window_seconds") {
            if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 7 * 86400)
                in.problem(key, "an integer from 1 to 604800", describe_json_type(value));
            else out.window_ = std::chrono::seconds(value.get<int64_t>());
        } else if (key == "rules") {
            if (!value.is_array() || value.size() > kMaxRules) {
                in.problem(key, "an array of at most " + std::to_string(kMaxRules) + " rules", describe_json_type(value));
                continue;
            }
            std::set<std::string> names;
            for (size_t i = 0; i < value.size(); ++i) {
                const std::string where = "rules[" + std::to_string(i) + "]";
                Rule r = in.rule(value[i], where, out.teams_);
                if (!r.name.empty() && !names.insert(r.name).second)
                    in.problem(where + ".name", "a name no other rule has", "\"" + r.name + "\" again");
                out.rules_.push_back(std::move(r));
            }
        } else if (key == "$comment") {
            // a note for people
        } else in.unknown(key, "teams, default_owner, window_seconds, rules, $comment");
    }
    if (!d.contains("default_owner")) in.problem("default_owner", "a team named in \"teams\" (required)", "nothing");
    if (!d.contains("rules")) in.problem("rules", "an array of rules (required; may be empty)", "nothing");
    if (!in.ok()) return in.error();
    return out;
}

Result<OwnerRules> OwnerRules::load_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(ErrorClass::Config, "triage.rules_unreadable", path + ": cannot open the triage rules file");
    std::string text;
    char buf[65536];
    while (f.read(buf, sizeof buf) || f.gcount() > 0) {
        text.append(buf, static_cast<size_t>(f.gcount()));
        if (text.size() > kMaxFileBytes)
            return make_error(ErrorClass::Config, "triage.rules_invalid",
                              path + ": expected at most " + std::to_string(kMaxFileBytes) + " bytes, found more");
    }
    return parse(text, path);
}

Routing OwnerRules::route(const ErrorRecord& r, Neighbourhood* around) const {
    for (const auto& rule : rules_)
        if (matches(rule, r, around)) return {rule.owner, rule.book, rule.name};
    return {default_owner_, true, "default"};
}

bool OwnerRules::looks_around() const {
    for (const auto& r : rules_)
        if (!r.with.empty() || r.spread.hospitals || r.spread.dialects || r.spread.paths) return true;
    return false;
}

}  // namespace hisgate::controlplane::triage
