// How the findings are shown: a table for the person at the terminal, JSON for machines,
// and the exit status (0 nothing failed, 1 something failed).
#pragma once

#include <string>

#include "agent/doctor/finding.h"

namespace hisgate::agent::doctor {

// Columns check | status | detail | fix; long text wraps inside its column.
std::string render_table(const Findings& findings);
// {"ok": bool, "checks": [{"check", "status", "detail", "fix", "millis"?}], "table": the
// table above, for whoever shows it elsewhere (`hisgate doctor <hospital>` over MQTT)}
std::string render_json(const Findings& findings);
int exit_status(const Findings& findings);

}  // namespace hisgate::agent::doctor
