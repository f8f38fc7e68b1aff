#include <catch2/catch.hpp>

#include "hl7/path.h"

using namespace hisgate::hl7;

TEST_CASE("paths name segment occurrence, field, repetition, component and subcomponent") {
    auto p = parse_path("PID-5-1-2");
    REQUIRE(p.ok());
    CHECK(p->segment == "PID");
    CHECK(p->occurrence == 1);
    CHECK(p->field == 5);
    CHECK(p->repetition == 1);
    CHECK(p->component == 1);
    CHECK(p->subcomponent == 2);

    p = parse_path("OBX[3]-5");
    REQUIRE(p.ok());
    CHECK(p->occurrence == 3);
    CHECK(p->field == 5);
    CHECK(p->component == 1);

    p = parse_path("PID-3(2)-1");
    REQUIRE(p.ok());
    CHECK(p->repetition == 2);
    CHECK(p->component == 1);

    p = parse_path("ZX1[2]-10(3)-4-5");
    REQUIRE(p.ok());
    CHECK((p->segment == "ZX1" && p->occurrence == 2 && p->field == 10 && p->repetition == 3 && p->component == 4 &&
           p->subcomponent == 5));
}

TEST_CASE("malformed paths are errors that say where and what was expected") {
    for (const char* bad : {"", "PI", "pid-5", "PID", "PID-", "PID-0", "PID-5-", "PID-5(0)", "PID-5(2", "OBX[0]-5",
                            "OBX[2-5", "PID-5-1-2-3", "PID-5x", "PID-10000", "PID.5"}) {
        INFO(bad);
        auto p = parse_path(bad);
        REQUIRE_FALSE(p.ok());
        CHECK(p.error().code == "hl7.path");
        CHECK(p.error().message.find("expected") != std::string::npos);
    }
}
