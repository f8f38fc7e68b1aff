// The triage rules the control plane uses unless its configuration names a file
// (triage.rules_file): controlplane/triage/default-rules.json, built into the binary.
#pragma once

#include <string_view>

namespace hisgate::controlplane::triage {

std::string_view default_rules_json();

}  // namespace hisgate::controlplane::triage
