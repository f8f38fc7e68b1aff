#include <catch2/catch.hpp>

#include "common/config.h"
#include "tests/support/process.h"

using namespace hisgate;

TEST_CASE("config: values are read with defaults and ranges") {
    ConfigReader c(nlohmann::json::parse(R"({"a": {"b": "x", "n": 5}, "flag": true})"), "cfg.json");
    CHECK(c.string("a.b") == "x");
    CHECK(c.integer("a.n", std::nullopt, 1, 10) == 5);
    CHECK(c.boolean("flag"));
    CHECK(c.string("missing", "dflt") == "dflt");
    CHECK(c.finish().ok());
}

TEST_CASE("config: every problem is named with its path, what was expected and what was found") {
    ConfigReader c(nlohmann::json::parse(R"({"port": "80", "n": 99, "nested": {"x": 1, "typo": 2}, "extra": 1})"),
                   "cfg.json");
    (void)c.integer("port", std::nullopt, 1, 65535);
    (void)c.integer("n", std::nullopt, 1, 10);
    (void)c.integer("nested.x", std::nullopt, 0, 5);
    (void)c.string("required_one");
    auto r = c.finish();
    REQUIRE_FALSE(r.ok());
    const auto& m = r.error().message;
    CHECK(r.error().cls == ErrorClass::Config);
    CHECK_THAT(m, Catch::Contains("cfg.json: port: expected an integer, found string \"80\""));
    CHECK_THAT(m, Catch::Contains("n: expected an integer from 1 to 10, found 99"));
    CHECK_THAT(m, Catch::Contains("required_one: expected a value (this field is required), found nothing"));
    CHECK_THAT(m, Catch::Contains("nested.typo: unknown key"));
    CHECK_THAT(m, Catch::Contains("extra: unknown key"));
}

TEST_CASE("config: invalid JSON is reported with line and column") {
    std::string dir = test::make_temp_dir("cfg");
    test::write_file(dir + "/bad.json", "{\n  \"a\": 1,\n  \"b\": \n}\n");
    auto r = ConfigReader::load_file(dir + "/bad.json");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("line 4"));
    CHECK_THAT(r.error().message, Catch::Contains("column"));
    auto missing = ConfigReader::load_file(dir + "/none.json");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "config.unreadable");
}

TEST_CASE("config: a top level that is not an object is a problem") {
    ConfigReader c(nlohmann::json::parse("[1,2]"), "cfg.json");
    auto r = c.finish();
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("a JSON object at the top level"));
}
