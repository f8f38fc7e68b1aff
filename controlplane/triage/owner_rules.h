// Who owns an error: a rules file maps an error's class, code and tags to the team that can
// fix it. The first rule that matches wins; an error no rule matches goes to the default
// owner. The file's format is in docs/triage.md; a file with an unknown field, a class that
// is not one, a value of the wrong type, an owner that is not among its teams is refused as
// a whole, every problem named with where it is and what was expected.
//
// A rule may look past the one error at what the error book saw around it within the
// file's window (Neighbourhood): another code at the same hospital ("with"), or the same
// code at several hospitals, dialects or paths ("spread"). That is how a broker outage (one
// code at many hospitals at once) is told from one agent gone, and a parser bug of ours (one
// code across dialects) from one vendor's interface change.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/triage/error_record.h"

namespace hisgate::controlplane::triage {

// "x" matches exactly x; "x*" every value starting with x; "*" any value, also an empty one.
struct Pattern {
    std::string text;
    bool prefix = false;
    bool matches(const std::string& value) const;
};

// How far one code reached among the open errors of the window.
struct Spread {
    int hospitals = 0;  // distinct hospitals with this code
    int dialects = 0;   // distinct dialects with this code
    int paths = 0;      // distinct paths with this code at this error's hospital
    // Count only the hospitals running this error's agent version (a release's regression
    // shows across vendors but within one version).
    bool same_version = false;
};

// What the error book saw within the window, asked only by rules that need it.
class Neighbourhood {
public:
    virtual ~Neighbourhood() = default;
    // The codes of open errors at `hospital` seen within the window.
    virtual std::vector<std::string> codes_at(const std::string& hospital) = 0;
    // `version`: count only errors at hospitals of this agent version; empty: every version.
    virtual Spread spread_of(const std::string& code, const std::string& hospital, const std::string& version) = 0;
};

struct Rule {
    std::string name;
    std::string owner;   // empty when book is false
    bool book = true;    // false: a business outcome, not an error anyone fixes; not booked
    std::vector<ErrorClass> classes;  // any of; empty: any class
    std::map<std::string, std::vector<Pattern>> patterns;  // code, hospital, dialect, path, version, region
    std::vector<Source> sources;      // any of; empty: any source
    std::vector<Pattern> with;        // some other open code at the same hospital matches one
    Spread spread;                    // each non-zero figure is a minimum
};

struct Routing {
    std::string owner;     // the team; empty when not booked
    bool book = true;
    std::string rule;      // the rule's name, or "default"
};

class OwnerRules {
public:
    // Reads the rules; `source` names them in problems (the file's path).
    static Result<OwnerRules> parse(const std::string& json_text, const std::string& source);
    static Result<OwnerRules> load_file(const std::string& path);

    // The first rule matching `r` (asking `around` only when a rule needs it), else the default.
    Routing route(const ErrorRecord& r, Neighbourhood* around = nullptr) const;

    const std::string& default_owner() const { return default_owner_; }
    const std::map<std::string, std::string>& teams() const { return teams_; }  // name -> what it does
    const std::vector<Rule>& rules() const { return rules_; }
    std::chrono::seconds window() const { return window_; }
    // Whether some rule looks at the neighbourhood (so its routings change as errors come).
    bool looks_around() const;

private:
    std::map<std::string, std::string> teams_;
    std::string default_owner_;
    std::chrono::seconds window_{900};
    std::vector<Rule> rules_;
};

}  // namespace hisgate::controlplane::triage
