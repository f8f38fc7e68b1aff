// JSON from the network is refused beyond its size or nesting before the parser runs;
// regular expressions from parameters run on RE2, in linear time and without recursion.
#include <catch2/catch.hpp>

#include "common/bounded_json.h"
#include "common/pattern.h"

using namespace hisgate;

namespace {
std::string nested(size_t levels, const std::string& inner = "1") {
    return std::string(levels, '[') + inner + std::string(levels, ']');
}
const JsonBounds kTest{"the test input", 4 * 1024 * 1024, "test"};
}  // namespace

TEST_CASE("bounded json: depth is counted outside strings only") {
    CHECK(json_depth("1") == 0);
    CHECK(json_depth(R"({"a": [1, {"b": []}]})") == 4);
    CHECK(json_depth(R"({"a": "[[[[{{{{"})") == 1);
    CHECK(json_depth(R"({"a": "\"[[[[", "b": [[]]})") == 3);  // an escaped quote does not end the string
    CHECK(json_depth(R"(["\\", [[]]])") == 3);                 // an escaped backslash does
    CHECK(json_depth(nested(1000000), 32) == 33);              // stops at the first level beyond
}

TEST_CASE("bounded json: within bounds it parses, beyond them it says what, the limit and what it found") {
    auto ok = parse_bounded_json(nested(32), kTest);
    REQUIRE(ok);
    CHECK(ok->is_array());

    auto deep = parse_bounded_json(nested(33), kTest);
    REQUIRE_FALSE(deep);
    CHECK(deep.error().cls == ErrorClass::BadInput);
    CHECK(deep.error().code == "test.too_deep");
    CHECK(deep.error().message == "the test input nests arrays and objects at most 32 levels deep, found more");

    // 500,000 levels: refused without recursing (a recursive copy of it overflows the stack).
    auto very_deep = parse_bounded_json(nested(500000), kTest);
    REQUIRE_FALSE(very_deep);
    CHECK(very_deep.error().code == "test.too_deep");

    auto large = parse_bounded_json(std::string(100, ' ') + "1", {"the body", 64, "http.body"});
    REQUIRE_FALSE(large);
    CHECK(large.error().code == "http.body.too_large");
    CHECK(large.error().message == "the body is at most 64 bytes, found 101");

    auto invalid = parse_bounded_json("{\"a\": ", kTest);
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().code == "test.invalid");
    CHECK(invalid.error().message == "the test input is not valid JSON");
    // Unbalanced closers do not confuse the scan; the parser refuses them.
    CHECK_FALSE(parse_bounded_json("]]]]{}", kTest));
}

TEST_CASE("pattern: RE2 matches a long id in linear time and never recurses") {
    auto any = Pattern::compile(".+");
    REQUIRE(any);
    // std::regex_match(".+") recursed once per character: 40,000 characters crashed the agent.
    CHECK(any->full_match(std::string(10 * 1024 * 1024, 'P')));
    CHECK_FALSE(any->full_match(""));
    auto digits = Pattern::compile("[0-9]{10}");
    REQUIRE(digits);
    CHECK(digits->full_match("0123456789"));
    CHECK_FALSE(digits->full_match("0123456789x"));
    CHECK(digits->search("id 0123456789x"));
    CHECK(digits->expression() == "[0-9]{10}");

    auto bad = Pattern::compile("([0-9]+");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == "pattern.invalid");
    CHECK(bad.error().message == "missing ): ([0-9]+");
    CHECK_FALSE(Pattern::compile("(a+)\\1"));  // backreferences need backtracking: refused
}
