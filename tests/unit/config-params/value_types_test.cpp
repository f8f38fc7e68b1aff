// The value formats, and every type's check against good and bad values.
#include <catch2/catch.hpp>

#include "config-params/value_types.h"
#include "support.h"

using namespace hisgate::params;
using nlohmann::json;
using params_test::def;

namespace {

// The problems check_value records for `value`, as lines without a source.
std::vector<std::string> problems(const ParamDef& d, const json& value) {
    Problems p;
    check_value(d, value, d.name, p);
    std::vector<std::string> out;
    for (const auto& problem : p.list()) out.push_back(problem.path + ": expected " + problem.expected + ", found " + problem.found);
    return out;
}

bool accepts(const ParamDef& d, const json& value) { return problems(d, value).empty(); }

const char* kValueTypesCommon = R"("doc": "d", "since": "0.1.0", "readers": ["test"])";

ParamDef typed(const std::string& fields) { return def(R"({"name": "x.y", )" + fields + ", " + kValueTypesCommon + "}"); }

}  // namespace

TEST_CASE("durations are a whole number and ms, s, m or h") {
    CHECK(parse_duration("250ms") == std::chrono::milliseconds(250));
    CHECK(parse_duration("30s") == std::chrono::seconds(30));
    CHECK(parse_duration("5m") == std::chrono::minutes(5));
    CHECK(parse_duration("2h") == std::chrono::hours(2));
    CHECK(parse_duration("0s") == std::chrono::milliseconds(0));
    for (const char* bad : {"", "s", "30", "1.5s", "-3s", "3 s", "3S", "3sec", "3d", "1234567890s", " 3s"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad));
    }
}

TEST_CASE("times of day are HH:MM on a 24 hour clock") {
    CHECK(parse_time_of_day("00:00") == 0);
    CHECK(parse_time_of_day("08:30") == 510);
    CHECK(parse_time_of_day("23:59") == 1439);
    for (const char* bad : {"24:00", "8:30", "08:60", "0830", "08:30:00", "ab:cd", ""}) {
        INFO(bad);
        CHECK_FALSE(parse_time_of_day(bad));
    }
}

TEST_CASE("endpoints are host:port or an http(s) URL") {
    for (const char* good : {"10.0.0.5:6661", "his.local:2575", "[fe80::1]:6661", "http://his.local:8080/api",
                             "https://10.1.2.3:8443/his/v2", "https://his.example", "http://h:1/a/b?c=d"}) {
        INFO(good);
        CHECK(is_endpoint(good));
    }
    for (const char* bad : {"", "his.local", "his.local:", "his.local:0", "his.local:65536", "his.local:http",
                            ":6661", "-his:1", "his..:1", "ftp://his:21", "http://", "http://:80/x",
                            "http://his:80/a b", "his local:1", "[fe80::1]"}) {
        INFO(bad);
        CHECK_FALSE(is_endpoint(bad));
    }
}

TEST_CASE("string values: JSON strings, matching the pattern when there is one") {
    auto plain = typed(R"("type": "string", "default": "")");
    CHECK(accepts(plain, ""));
    CHECK(accepts(plain, "广州"));
    CHECK_FALSE(accepts(plain, 5));
    CHECK_FALSE(accepts(plain, nullptr));
    auto id = typed(R"("type": "string", "required": true, "pattern": "^[A-Za-z0-9_-]{1,64}$")");
    CHECK(accepts(id, "H0451_a-b"));
    CHECK(problems(id, "H 1") ==
          std::vector<std::string>{"x.y: expected a string matching /^[A-Za-z0-9_-]{1,64}$/, found string \"H 1\""});
    CHECK_FALSE(accepts(id, std::string(65, 'a')));
}

TEST_CASE("int values: JSON integers within the range") {
    auto d = typed(R"("type": "int", "default": 4, "min": 1, "max": 64, "unit": "requests")");
    CHECK(accepts(d, 1));
    CHECK(accepts(d, 64));
    CHECK(problems(d, 65) == std::vector<std::string>{"x.y: expected an integer from 1 to 64 (requests), found number 65"});
    CHECK_FALSE(accepts(d, 0));
    CHECK_FALSE(accepts(d, 4.5));
    CHECK_FALSE(accepts(d, "4"));
    CHECK_FALSE(accepts(d, true));
    auto open = typed(R"("type": "int", "default": 0)");
    CHECK(accepts(open, -9000000000LL));
    CHECK(accepts(open, INT64_MAX));
    // 2^64 - 1 would wrap to -1 as an int64.
    CHECK(problems(open, json::parse("18446744073709551615")) ==
          std::vector<std::string>{"x.y: expected an integer, found number 18446744073709551615"});
}

TEST_CASE("bool values: true or false only") {
    auto d = typed(R"("type": "bool", "default": false)");
    CHECK(accepts(d, true));
    CHECK(accepts(d, false));
    CHECK(problems(d, "true") == std::vector<std::string>{"x.y: expected true or false, found string \"true\""});
    CHECK_FALSE(accepts(d, 1));
}

TEST_CASE("enum values: one of the listed strings, exactly") {
    auto d = typed(R"("type": "enum", "values": ["UNICODE UTF-8", "GB 18030-2000"], "default": "UNICODE UTF-8")");
    CHECK(accepts(d, "GB 18030-2000"));
    CHECK(problems(d, "gb18030") ==
          std::vector<std::string>{"x.y: expected one of \"UNICODE UTF-8\", \"GB 18030-2000\", found string \"gb18030\""});
    CHECK_FALSE(accepts(d, "unicode utf-8"));
    CHECK_FALSE(accepts(d, json::array({"GB 18030-2000"})));
}

TEST_CASE("duration values: the format and the range") {
    auto d = typed(R"("type": "duration", "default": "3s", "min": "100ms", "max": "10m")");
    CHECK(accepts(d, "100ms"));
    CHECK(accepts(d, "10m"));
    CHECK(accepts(d, "1h") == false);
    CHECK(problems(d, "50ms") ==
          std::vector<std::string>{"x.y: expected a duration from 100ms to 10m (a whole number and ms, s, m or h, "
                                   "e.g. \"30s\"), found string \"50ms\""});
    CHECK_FALSE(accepts(d, "3"));
    CHECK_FALSE(accepts(d, 3000));
}

TEST_CASE("time_of_day values: HH:MM and the range") {
    auto d = typed(R"("type": "time_of_day", "default": "08:00", "min": "06:00", "max": "22:00")");
    CHECK(accepts(d, "06:00"));
    CHECK(accepts(d, "22:00"));
    CHECK_FALSE(accepts(d, "05:59"));
    CHECK_FALSE(accepts(d, "22:01"));
    CHECK_FALSE(accepts(d, "8:00"));
    CHECK_FALSE(accepts(d, 480));
}

TEST_CASE("regex values: compiled by RE2, errors say why") {
    auto d = typed(R"("type": "regex", "default": ".+")");
    CHECK(accepts(d, "^[0-9]{10}$"));
    CHECK(accepts(d, "(?:LIS|PACS)\\d+"));
    auto bad = problems(d, "([0-9]+");
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].rfind("x.y: expected a regular expression RE2 accepts (ECMAScript syntax without backreferences or "
                       "lookaround), found string \"([0-9]+\" (RE2 cannot compile it: ",
                       0) == 0);
    // What std::regex took but RE2 (linear time, no recursion) does not: refused with the reason.
    for (const char* backtracking : {"(a+)\\1", "P(?=[0-9])", "(?<!x)y"}) {
        INFO(backtracking);
        auto refused = problems(d, backtracking);
        REQUIRE(refused.size() == 1);
        CHECK(refused[0].find("RE2 cannot compile it: ") != std::string::npos);
    }
    CHECK_FALSE(accepts(d, "[z-a]"));
    CHECK_FALSE(accepts(d, 5));
}

TEST_CASE("endpoint values") {
    auto d = typed(R"("type": "endpoint", "required": true)");
    CHECK(accepts(d, "10.0.0.1:6661"));
    CHECK(problems(d, "10.0.0.1") ==
          std::vector<std::string>{"x.y: expected an endpoint \"host:port\" or \"http(s)://host:port/path\", found string \"10.0.0.1\""});
}

TEST_CASE("code_table values: strings, and only the allowed mapped values when listed") {
    auto any = typed(R"("type": "code_table", "default": {})");
    CHECK(accepts(any, json::object()));
    CHECK(accepts(any, {{"01", "cash"}, {"02", "insurance"}}));
    CHECK(problems(any, {{"01", 1}}) == std::vector<std::string>{"x.y[\"01\"]: expected a string, found number 1"});
    CHECK_FALSE(accepts(any, json::array()));
    CHECK_FALSE(accepts(any, "M=male"));

    auto classes = typed(R"("type": "code_table", "values": ["not_found", "rejected"], "default": {})");
    CHECK(accepts(classes, {{"E1", "not_found"}, {"E2", "rejected"}}));
    CHECK(problems(classes, {{"E1", "not_found"}, {"E2", "gone"}, {"E3", "timeout"}}) ==
          std::vector<std::string>{"x.y[\"E2\"]: expected one of \"not_found\", \"rejected\", found string \"gone\"",
                                   "x.y[\"E3\"]: expected one of \"not_found\", \"rejected\", found string \"timeout\""});
}

TEST_CASE("coding_map values: bounded entries of code and display, the code matching the pattern") {
    auto loinc = typed(R"("type": "coding_map", "pattern": "^[0-9]{1,7}-[0-9]$", "default": {})");
    CHECK(accepts(loinc, json::object()));
    CHECK(accepts(loinc, {{"GLU", {{"code", "2345-7"}, {"display", "Glucose"}}}}));
    CHECK(problems(loinc, {{"GLU", {{"code", "GLU-1"}, {"display", "Glucose"}}},
                           {"HB", "718-7"},
                           {"K", {{"code", "2823-3"}, {"display", std::string(257, 'p')}, {"system", "x"}}},
                           {"NA", {{"display", "Sodium\n"}}}}) ==
          std::vector<std::string>{
              "x.y[\"GLU\"].code: expected a code matching /^[0-9]{1,7}-[0-9]$/, found string \"GLU-1\"",
              "x.y[\"HB\"]: expected an object {\"code\": ..., \"display\": ...}, found string \"718-7\"",
              "x.y[\"K\"].system: expected only code and display, found unknown field",
              "x.y[\"K\"].display: expected 1 to 256 bytes without control characters, found a string of 257 bytes",
              "x.y[\"NA\"].code: expected the standard code, found nothing",
              "x.y[\"NA\"].display: expected 1 to 256 bytes without control characters, found a string of 7 bytes with "
              "control characters"});
    CHECK(problems(loinc, {{std::string(65, 'k'), {{"code", "1-1"}, {"display", "x"}}}}) ==
          std::vector<std::string>{"x.y: expected codes of 1 to 64 bytes without control characters, found a code of a string "
                                   "of 65 bytes"});
    json many = json::object();
    for (int i = 0; i <= 2000; ++i) many[std::to_string(i)] = {{"code", "1-1"}, {"display", "x"}};
    CHECK(problems(loinc, many) ==
          std::vector<std::string>{"x.y: expected an object of at most 2000 entries mapping codes to {\"code\", \"display\"}, "
                                   "found an object of 2001 entries"});
    CHECK_FALSE(accepts(loinc, json::array()));
}

TEST_CASE("list values: arrays whose elements meet the element type and its constraints") {
    auto z = typed(R"("type": "list", "items": "string", "pattern": "^Z[A-Z0-9]{2}$", "default": [])");
    CHECK(accepts(z, json::array()));
    CHECK(accepts(z, {"ZPI", "Z01"}));
    CHECK(problems(z, {"ZPI", "PID", 3}) ==
          std::vector<std::string>{"x.y[1]: expected a string matching /^Z[A-Z0-9]{2}$/, found string \"PID\"",
                                   "x.y[2]: expected a string matching /^Z[A-Z0-9]{2}$/, found number 3"});
    CHECK_FALSE(accepts(z, "ZPI"));

    auto objects = typed(R"("type": "list", "items": "object", "default": [])");
    CHECK(accepts(objects, json::array({json::object()})));
    CHECK(problems(objects, {json::object(), 1}) == std::vector<std::string>{"x.y[1]: expected a JSON object, found number 1"});

    auto times = typed(R"("type": "list", "items": "duration", "min": "1s", "default": ["1s"])");
    CHECK(accepts(times, {"1s", "2m"}));
    CHECK_FALSE(accepts(times, {"500ms"}));
}

TEST_CASE("object values: any JSON object, checked by its reader") {
    auto d = typed(R"("type": "object", "default": {})");
    CHECK(accepts(d, {{"report_id", "OBR-3"}, {"nested", {{"a", 1}}}}));
    CHECK(problems(d, json::array()) == std::vector<std::string>{"x.y: expected a JSON object, found an array"});
    CHECK_FALSE(accepts(d, "{}"));
}
