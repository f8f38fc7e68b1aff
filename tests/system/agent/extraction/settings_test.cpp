// The extraction parameters as the catalog and the extractor read them.
#include <catch2/catch.hpp>

#include "agent/extraction/extraction_settings.h"
#include "config-params/param_set.h"

using namespace hisgate;

namespace {
Result<params::ParamSet> params_with(const std::string& extraction) {
    auto doc = nlohmann::json::parse(R"({"hospital": {"id": "H001", "region": "south"},
                                         "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575"}})");
    doc["extraction"] = nlohmann::json::parse(extraction);
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    return params::ParamSet::validate(catalog.value(), doc, "test.json");
}
}  // namespace

TEST_CASE("extraction settings: defaults are a 15 minute pull of 7 days in the hospital's zone") {
    auto p = params_with("{}");
    REQUIRE(p.ok());
    auto s = extraction::settings_from_params(p.value());
    REQUIRE(s.ok());
    CHECK(s->interval == std::chrono::minutes(15));
    CHECK(s->days_ahead == 7);
    CHECK(s->timezone == "Asia/Shanghai");
}

TEST_CASE("extraction settings: the interval and window are read") {
    auto p = params_with(R"({"interval": "1m", "days_ahead": 14})");
    REQUIRE(p.ok());
    auto s = extraction::settings_from_params(p.value());
    REQUIRE(s.ok());
    CHECK(s->interval == std::chrono::minutes(1));
    CHECK(s->days_ahead == 14);
}

TEST_CASE("extraction settings: bad values are errors naming the parameter and what was expected") {
    struct Case {
        const char* extraction;
        const char* says;
    };
    Case catalog_cases[] = {
        {R"({"interval": "1s"})", "extraction.interval"},
        {R"({"days_ahead": 0})", "extraction.days_ahead"},
        {R"({"push": {"listen": "no port here"}})", "extraction.push.listen"},
        {R"({"hl7": {"fields": ["SCH-2"]}})", "extraction.hl7.fields"},
    };
    for (const auto& c : catalog_cases) {
        INFO(c.extraction);
        auto p = params_with(c.extraction);
        REQUIRE_FALSE(p.ok());
        CHECK_THAT(p.error().message, Catch::Contains(c.says));
    }
}
