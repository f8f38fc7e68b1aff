// The catalog fragments of this build, embedded by CMake (embed_fragments.cmake generates
// the definition from config-params/catalog/*.json, in file name order).
#pragma once

#include <vector>

#include "config-params/catalog.h"

namespace hisgate::params {

std::vector<Fragment> builtin_fragments();

}  // namespace hisgate::params
