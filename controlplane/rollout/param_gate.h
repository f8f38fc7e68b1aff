// The parameter gate of a rollout (issue 16 item 6): would the release break this
// hospital's parameter file?
//
// The breaking changes between the catalog of the hospital's current release and the new
// release's (config-params/catalog_diff.h) decide whether the file is needed at all: with
// none, a file valid today stays valid (that is what "breaking" means), and the hospital
// passes without it. Otherwise the file decides: it is validated against the new catalog,
// every problem listed by parameter, and a parameter it sets whose meaning changed is
// listed too (it validates, but would mean something else).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config-params/catalog.h"

namespace hisgate::controlplane::rollout {

struct GateVerdict {
    enum class Kind { Pass, NeedFile, Hold };
    Kind kind = Kind::Pass;
    std::string reason;                                        // NeedFile, Hold: for the operator
    nlohmann::json problems = nlohmann::json::array();         // [{"parameter", "problem"}]
};

// `from`: the catalog of the release the hospital runs (null when unknown: not published
// here); `file`: its parameter file when the control plane holds it (of the hash the
// agent's birth advertises).
GateVerdict check_params(const params::Catalog* from, const params::Catalog& to, const std::optional<nlohmann::json>& file,
                         const std::string& hospital_id);

}  // namespace hisgate::controlplane::rollout
