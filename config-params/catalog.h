// The parameter catalog: every parameter a hospital's parameter file may set.
//
// The catalog is the union of its fragments (config-params/catalog/<area>.json, each
// {"parameters": [...]}); the fragments of this build are embedded in the library, so a
// program needs no install path. A merged catalog file (the output of
// `hisgate params list --json`) has the same shape, so a release's catalog can be saved
// and later diffed against another's.
//
// Invariants of a loaded Catalog: names are unique, and no name is a prefix group of
// another ("his.tls" and "his.tls.enabled" cannot both be parameters, because a nested
// parameter file could not hold both); every required_when names a parameter of the
// catalog with a value it accepts.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "config-params/param_def.h"

namespace hisgate::params {

struct Fragment {
    std::string source;  // file name or path, for messages
    std::string area;    // default area of its parameters: the file's stem
    std::string text;    // JSON
};

class Catalog {
public:
    // The catalog embedded at build time. Cached; an error here means a broken fragment
    // was committed (test_params catches that).
    static const Result<Catalog>& builtin();
    // A directory of fragments (*.json, merged in name order) or one merged JSON file.
    static Result<Catalog> load(const std::string& path);
    static Result<Catalog> from_fragments(const std::vector<Fragment>& fragments);

    const ParamDef* find(const std::string& name) const;
    // True when some parameter's name starts with prefix + "." (a group in the file).
    bool is_group(const std::string& prefix) const;
    // The names directly under a group ("" = top level), for suggestions.
    std::vector<std::string> children(const std::string& prefix) const;
    const std::vector<ParamDef>& all() const { return defs_; }  // sorted by name

    // The merged catalog: {"parameters": [...]}, each with its "area".
    nlohmann::json to_json() const;

private:
    std::vector<ParamDef> defs_;
    std::map<std::string, size_t> index_;
};

}  // namespace hisgate::params
