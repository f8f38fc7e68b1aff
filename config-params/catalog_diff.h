// What changed between two catalogs (two releases), parameter by parameter.
//
// A change is breaking when a parameter file that was valid for the old catalog may be
// invalid, or mean something else, for the new one: a parameter removed, retyped, newly
// required (always or conditionally), its range, allowed values or pattern narrowed or
// changed, or its meaning changed (meaning_version bumped).
#pragma once

#include <string>
#include <vector>

#include "config-params/catalog.h"

namespace hisgate::params {

struct Change {
    std::string kind;    // added, removed, retyped, default, required, range, values, pattern, meaning
    std::string name;
    std::string detail;  // "1..10 -> 1..5"
    bool breaking = false;

    // "range his.max_attempts: 1..10 -> 1..5 (breaking)"
    std::string line() const;
};

// Every change, in name order (a parameter may have several).
std::vector<Change> diff(const Catalog& before, const Catalog& after);

}  // namespace hisgate::params
