// Onboarding a hospital of a known dialect is a parameter file and zero code.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
std::string dialect(const std::string& name) {
    return test::read_file(std::string(HISGATE_SOURCE_DIR) + "/tools/his-sim/dialects/" + name + ".json");
}
}  // namespace

TEST_CASE("onboarding: five vendor dialects, and a sixth hospital of a known dialect from a new parameter file only") {
    test::System sys({.hospitals = {"H001", "H002", "H003", "H004", "H005", "H006"},
                      .his_params = {{"H001", dialect("vendor-a-hl7-2.4")},
                                     {"H002", dialect("vendor-b-hl7-2.3-gb18030")},
                                     {"H003", dialect("vendor-c-rest")},
                                     {"H004", dialect("vendor-d-soap")},
                                     {"H005", dialect("vendor-e-hl7-odd")},
                                     // The newcomer: vendor B's dialect (HL7 2.3, GB 18030, moved fields).
                                     {"H006", dialect("vendor-b-hl7-2.3-gb18030")}}});
    REQUIRE(sys.start());
    CHECK(sys.online_hospitals().size() == 6);
    for (const char* h : {"H001", "H002", "H003", "H004", "H005", "H006"}) {
        INFO(h);
        auto reply = sys.get(std::string("/api/v1/hospitals/") + h + "/reports/R-DEMO-1");
        REQUIRE(reply.status == 200);
        auto doc = nlohmann::json::parse(reply.body);
        CHECK(doc["patientId"] == "P-DEMO-1");
        CHECK(doc["observations"].size() == 3);
        // A GB 18030 HIS holds Chinese names: they cross its charset and arrive as UTF-8.
        bool gb18030 = std::string(h) == "H002" || std::string(h) == "H006";
        CHECK(doc["title"] == (gb18030 ? "血常规" : "Complete blood count"));
        CHECK(doc["observations"][0]["name"] == (gb18030 ? "血红蛋白" : "Hemoglobin"));
    }
    // The newcomer announces the parameter set it runs with.
    auto list = nlohmann::json::parse(sys.get("/api/v1/hospitals").body);
    for (const auto& h : list["hospitals"])
        if (h["hospitalId"] == "H006") CHECK(h["paramsHash"].get<std::string>().size() == 64);
}

TEST_CASE("onboarding: a broken parameter file makes the agent refuse to start with the validator's messages") {
    test::System sys({.hospitals = {"H001"}});
    test::write_file(sys.params_file("H001"), R"({"hospital": {"id": "H001", "region": "east"},
        "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1", "answer_timeout": "soon", "hl7": {"verison": "2.4"}}})");
    REQUIRE(sys.start_agent("H001"));
    int status = sys.agent("H001").wait_exit(20s);
    CHECK(status == 2);
    std::string out = sys.agent("H001").output();
    CHECK_THAT(out, Catch::Contains("hospital.region"));
    CHECK_THAT(out, Catch::Contains("his.endpoint"));
    CHECK_THAT(out, Catch::Contains("his.answer_timeout"));
    CHECK_THAT(out, Catch::Contains("his.hl7.verison"));
}
