// params diff: each kind of change, and which ones break a file that was valid before.
#include <catch2/catch.hpp>

#include "config-params/catalog_diff.h"
#include "support.h"

using namespace hisgate::params;

namespace {

std::string diff_param(const std::string& name, const std::string& fields) {
    return R"({"name": ")" + name + "\", " + fields + R"(, "doc": "d", "since": "0.1.0", "readers": ["t"]})";
}

// The diff lines between a catalog of one parameter `before` and one of `after`.
std::vector<std::string> lines(const std::string& before, const std::string& after) {
    std::vector<std::string> out;
    for (const auto& c : diff(params_test::catalog(before), params_test::catalog(after))) out.push_back(c.line());
    return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("diff: identical catalogs, and changes to documentation only, show nothing") {
    std::string a = diff_param("x.a", R"("type": "int", "default": 1)");
    CHECK(lines(a, a).empty());
    std::string redocumented = R"({"name": "x.a", "type": "int", "default": 1, "doc": "other words", "notes": "n",
                                   "since": "0.1.0", "readers": ["t", "u"]})";
    CHECK(lines(a, redocumented).empty());
}

TEST_CASE("diff: added parameters break only when old files must now set them") {
    std::string a = diff_param("x.a", R"("type": "int", "default": 1)");
    CHECK(lines(a, a + "," + diff_param("x.b", R"("type": "duration", "default": "5s")")) == Lines{"added x.b: duration, default \"5s\""});
    CHECK(lines(a, a + "," + diff_param("x.b", R"("type": "string", "required": true)")) ==
          Lines{"added x.b: string, required (breaking)"});
    CHECK(lines(a, a + "," + diff_param("x.b", R"("type": "string", "default": "", "required_when": {"x.a": 2})")) ==
          Lines{"added x.b: string, default \"\" (breaking)"});
}

TEST_CASE("diff: removed and retyped parameters break") {
    std::string a = diff_param("x.a", R"("type": "int", "default": 1)");
    std::string b = diff_param("x.b", R"("type": "list", "items": "string", "default": [])");
    CHECK(lines(a + "," + b, b) == Lines{"removed x.a: int, default 1 (breaking)"});
    CHECK(lines(a, diff_param("x.a", R"("type": "string", "default": "1")")) ==
          Lines{"retyped x.a: int, default 1 -> string, default \"1\" (breaking)"});
    CHECK(lines(b, diff_param("x.b", R"("type": "list", "items": "int", "default": [])")) ==
          Lines{"retyped x.b: list of string, default [] -> list of int, default [] (breaking)"});
}

TEST_CASE("diff: defaults changing is reported but does not break a file") {
    CHECK(lines(diff_param("x.t", R"("type": "duration", "default": "3s")"), diff_param("x.t", R"("type": "duration", "default": "5s")")) ==
          Lines{"default x.t: \"3s\" -> \"5s\""});
}

TEST_CASE("diff: newly required breaks, newly optional does not") {
    std::string optional = diff_param("x.s", R"("type": "string", "default": "")");
    std::string required = diff_param("x.s", R"("type": "string", "required": true)");
    CHECK(lines(optional, required) == Lines{"required x.s: now required (was default \"\") (breaking)"});
    CHECK(lines(required, optional) == Lines{"required x.s: now optional, default \"\""});
    std::string e = diff_param("x.e", R"("type": "enum", "values": ["a", "b"], "default": "a")");
    std::string conditional = diff_param("x.s", R"("type": "string", "default": "", "required_when": {"x.e": "b"})");
    CHECK(lines(e + "," + optional, e + "," + conditional) ==
          Lines{"required x.s: required_when {} -> {\"x.e\":\"b\"} (breaking)"});
    CHECK(lines(e + "," + conditional, e + "," + optional) == Lines{"required x.s: required_when {\"x.e\":\"b\"} -> {}"});
}

TEST_CASE("diff: a narrowed range breaks, a widened one does not") {
    std::string wide = diff_param("x.n", R"("type": "int", "default": 2, "min": 1, "max": 10)");
    CHECK(lines(wide, diff_param("x.n", R"("type": "int", "default": 2, "min": 1, "max": 5)")) ==
          Lines{"range x.n: 1..10 -> 1..5 (breaking)"});
    CHECK(lines(wide, diff_param("x.n", R"("type": "int", "default": 2, "min": 0, "max": 100)")) == Lines{"range x.n: 1..10 -> 0..100"});
    CHECK(lines(wide, diff_param("x.n", R"("type": "int", "default": 2)")) == Lines{"range x.n: 1..10 -> .."});
    CHECK(lines(diff_param("x.n", R"("type": "int", "default": 2)"), wide) == Lines{"range x.n: .. -> 1..10 (breaking)"});
    // Durations compare by length, not by spelling.
    CHECK(lines(diff_param("x.t", R"("type": "duration", "default": "2s", "min": "1s", "max": "10m")"),
                diff_param("x.t", R"("type": "duration", "default": "2s", "min": "1000ms", "max": "1h")")) ==
          Lines{"range x.t: 1s..10m -> 1000ms..1h"});
    CHECK(lines(diff_param("x.t", R"("type": "duration", "default": "2s", "max": "10m")"),
                diff_param("x.t", R"("type": "duration", "default": "2s", "max": "599s")")) ==
          Lines{"range x.t: ..10m -> ..599s (breaking)"});
}

TEST_CASE("diff: removed allowed values break, added ones do not") {
    std::string abc = diff_param("x.e", R"("type": "enum", "values": ["a", "b", "c"], "default": "a")");
    CHECK(lines(abc, diff_param("x.e", R"("type": "enum", "values": ["a", "b", "c", "d"], "default": "a")")) ==
          Lines{"values x.e: +\"d\""});
    CHECK(lines(abc, diff_param("x.e", R"("type": "enum", "values": ["a", "d"], "default": "a")")) ==
          Lines{"values x.e: +\"d\" -\"b\" -\"c\" (breaking)"});
    // A code table without a list of values maps to anything: gaining one narrows it.
    CHECK(lines(diff_param("x.c", R"("type": "code_table", "default": {})"),
                diff_param("x.c", R"("type": "code_table", "values": ["ok"], "default": {})")) ==
          Lines{"values x.c: +\"ok\" (breaking)"});
}

TEST_CASE("diff: a changed pattern may reject old values, a removed one cannot") {
    std::string loose = diff_param("x.s", R"("type": "string", "default": "a")");
    std::string strict = diff_param("x.s", R"("type": "string", "default": "a", "pattern": "^[a-z]+$")");
    CHECK(lines(loose, strict) == Lines{"pattern x.s: \"\" -> \"^[a-z]+$\" (breaking)"});
    CHECK(lines(strict, loose) == Lines{"pattern x.s: \"^[a-z]+$\" -> \"\""});
}

TEST_CASE("diff: a meaning change under the same name breaks") {
    CHECK(lines(diff_param("x.a", R"("type": "int", "default": 1)"), diff_param("x.a", R"("type": "int", "default": 1, "meaning_version": 2)")) ==
          Lines{"meaning x.a: meaning_version 1 -> 2 (breaking)"});
}

TEST_CASE("diff: several changes to one parameter are each reported") {
    auto changes = diff(params_test::catalog(diff_param("x.n", R"("type": "int", "default": 2, "min": 1, "max": 10)")),
                        params_test::catalog(diff_param("x.n", R"("type": "int", "default": 3, "min": 1, "max": 20, "meaning_version": 2)")));
    REQUIRE(changes.size() == 3);
    CHECK(changes[0].kind == "default");
    CHECK_FALSE(changes[0].breaking);
    CHECK(changes[1].kind == "range");
    CHECK_FALSE(changes[1].breaking);
    CHECK(changes[2].kind == "meaning");
    CHECK(changes[2].breaking);
}
