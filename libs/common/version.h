// The one version of hisgate: project(VERSION) in the top CMakeLists.txt, compiled into
// every program (--version, the agent's birth message). There is no other constant.
#pragma once

#include <string_view>

namespace hisgate {

// "MAJOR.MINOR.PATCH", as project(VERSION) says.
std::string_view version();

}  // namespace hisgate
