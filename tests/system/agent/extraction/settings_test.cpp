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

TEST_CASE("extraction settings: defaults are a 15 minute pull of 7 days and no push listener") {
    auto p = params_with("{}");
    REQUIRE(p.ok());
    auto s = extraction::settings_from_params(p.value());
    REQUIRE(s.ok());
    CHECK(s->interval == std::chrono::minutes(15));
    CHECK(s->days_ahead == 7);
    CHECK_FALSE(s->push_enabled);
    CHECK(s->timezone == "Asia/Shanghai");
    CHECK(s->fields.path("slot.id") == "SCH-2-1");
}

TEST_CASE("extraction settings: a push endpoint and moved fields are read") {
    auto p = params_with(R"({"interval": "1m", "days_ahead": 14, "push": {"listen": "0.0.0.0:6661"},
                             "hl7": {"fields": {"doctor.department_id": "PRA-2-1"}}})");
    REQUIRE(p.ok());
    auto s = extraction::settings_from_params(p.value());
    REQUIRE(s.ok());
    CHECK(s->interval == std::chrono::minutes(1));
    CHECK(s->days_ahead == 14);
    CHECK(s->push_enabled);
    CHECK(s->push_host == "0.0.0.0");
    CHECK(s->push_port == 6661);
    CHECK(s->fields.path("doctor.department_id") == "PRA-2-1");
    CHECK(s->fields.path("doctor.title") == "PRA-3-1");
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
    Case extractor_cases[] = {
        {R"({"push": {"listen": "127.0.0.1:70000"}})", "extraction.push.listen: expected a port from 1 to 65535"},
        {R"({"hl7": {"fields": {"slot.colour": "ZSL-11"}}})", "extraction.hl7.fields.slot.colour: expected one of the logical fields"},
        {R"({"hl7": {"fields": {"slot.id": "SCH-two"}}})", "extraction.hl7.fields.slot.id: expected an HL7 path"},
        {R"({"hl7": {"fields": {"slot.id": 2}}})", "extraction.hl7.fields.slot.id: expected an HL7 path"},
    };
    for (const auto& c : extractor_cases) {
        INFO(c.extraction);
        auto p = params_with(c.extraction);
        REQUIRE(p.ok());
        auto s = extraction::settings_from_params(p.value());
        REQUIRE_FALSE(s.ok());
        CHECK(s.error().code == "params.invalid");
        CHECK_THAT(s.error().message, Catch::Contains(c.says));
    }
}
