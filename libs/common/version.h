// The one version of hisgate: project(VERSION) in the top CMakeLists.txt, compiled into
// every program (--version, the agent's birth message). There is no other constant.
//
// A release's install tree may carry a VERSION file beside the program (one line,
// "MAJOR.MINOR.PATCH[-pre]"): the release build stamps the version it packages there,
// so a binary built once can be shipped as several versions (the updater's tests build
// v1..v6 of the agent from one build this way; docs/updater.md). The agent reads it at
// start (load_version_stamp); a missing or malformed file leaves the compiled-in version.
#pragma once

#include <string>
#include <string_view>

namespace hisgate {

// "MAJOR.MINOR.PATCH": the stamp when one was loaded, else project(VERSION).
std::string_view version();

// Reads VERSION from the directory of `executable` (the real path of the running program,
// /proc/self/exe resolved). Call before any thread starts. False when there is none or it
// is not a plausible version (then nothing changes).
bool load_version_stamp(const std::string& executable);

}  // namespace hisgate
