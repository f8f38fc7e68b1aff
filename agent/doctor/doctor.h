// `hisgate-agent doctor --config FILE [--json] [--report-id ID]`: the self-check hospital
// IT runs after installing. Prints one row per check (docs/doctor.md) and exits 0 when
// nothing failed, 1 when something did, 2 when the config file cannot be used.
#pragma once

namespace hisgate::agent::doctor {

// argv[0] is "doctor".
int run(int argc, char** argv);

}  // namespace hisgate::agent::doctor
