// docs/params.md from a catalog: the reference hospital IT reads, generated so it never
// drifts from what the code accepts (test_params compares the committed file with this).
#pragma once

#include <string>

#include "config-params/catalog.h"

namespace hisgate::params {

std::string render_markdown(const Catalog& catalog);

}  // namespace hisgate::params
