#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hl7/json.h"
#include "support.h"

using namespace hisgate::hl7;
using hl7_test::wire;

TEST_CASE("JSON: every level is an array, nothing collapsed, escapes decoded") {
    auto m = Message::parse(wire({"MSH|^~\\&|A||C", "PID|1||a~b^c&d||\\T\\\"q\\E\\", "ZZZ", "NTE|"}));
    REQUIRE(m.ok());
    std::string line;
    append_json(*m, line);
    CHECK(line ==
          R"([["MSH",[[["|"]]],[[["^~\\&"]]],[[["A"]]],[[[""]]],[[["C"]]]],)"
          R"(["PID",[[["1"]]],[[[""]]],[[["a"]],[["b"],["c","d"]]],[[[""]]],[[["&\"q\\"]]]],)"
          R"(["ZZZ"],["NTE",[[[""]]]]])");
    auto parsed = nlohmann::json::parse(line);
    CHECK(parsed[1][5][0][0][0] == "&\"q\\");
}

TEST_CASE("JSON: control characters are escaped and UTF-8 passes through") {
    auto m = Message::parse(wire({"MSH|^~\\&|A", "OBX|1||x\\X0D0A\\y\\X01\\|张"}));
    REQUIRE(m.ok());
    std::string line;
    append_json(*m, line);
    CHECK(line.find(R"([[["x\r\ny\u0001"]]],[[["张"]]])") != std::string::npos);
    CHECK(nlohmann::json::parse(line)[1][3][0][0][0] == "x\r\ny\x01");
}

TEST_CASE("stats count segments, fields, leaves and decoded leaf bytes") {
    auto m = Message::parse(wire({"MSH|^~\\&|A", "PID|1||a~b^c&d||\\T\\x", "ZZZ"}));
    REQUIRE(m.ok());
    Stats s;
    s.add(*m);
    s.add(*m);
    // MSH: 3 fields, 3 leaves ("|", "^~\&", "A"): 1 + 4 + 1 bytes.
    // PID: 5 fields; leaves 1, "", a, b, c, d, "", "&x": 8 leaves, 1+1+1+1+1+2 = 7 bytes.
    CHECK(s.line() == "messages=2 segments=6 fields=16 leaves=22 leaf_bytes=26");
}
