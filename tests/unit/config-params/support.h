// Helpers for the parameter tests: catalogs and definitions from JSON text.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "config-params/catalog.h"
#include "config-params/param_def.h"

namespace params_test {

// One definition; the test fails if the catalog rejects it.
inline hisgate::params::ParamDef def(const std::string& json) {
    hisgate::params::Problems problems;
    auto d = hisgate::params::parse_definition(nlohmann::json::parse(json), "test", "parameters[0]", problems);
    INFO(problems.lines("test"));
    REQUIRE(d);
    return *d;
}

// A catalog of one fragment "test.json" with these definitions (a JSON array's contents).
inline hisgate::params::Catalog catalog(const std::string& definitions) {
    auto c = hisgate::params::Catalog::from_fragments({{"test.json", "test", "{\"parameters\": [" + definitions + "]}"}});
    INFO((c.ok() ? "" : c.error().message));
    REQUIRE(c.ok());
    return *c;
}

// The catalog built into the library; the test fails if it is invalid.
inline const hisgate::params::Catalog& builtin() {
    const auto& c = hisgate::params::Catalog::builtin();
    INFO((c.ok() ? "" : c.error().message));
    REQUIRE(c.ok());
    return *c;
}

}  // namespace params_test
