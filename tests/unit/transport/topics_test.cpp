#include <catch2/catch.hpp>

#include "transport/topics.h"

using namespace hisgate;

TEST_CASE("topics: every hospital topic lives in its own subtree") {
    CHECK(topics::request("H001") == "hisgate/v1/hospitals/H001/request");
    CHECK(topics::response("H001", "cp1") == "hisgate/v1/hospitals/H001/response/cp1");
    CHECK(topics::state("H001") == "hisgate/v1/hospitals/H001/state");
    CHECK(topics::event("H001") == "hisgate/v1/hospitals/H001/event");
    CHECK(topics::all_states() == "hisgate/v1/hospitals/+/state");
    CHECK(topics::all_responses("cp1") == "hisgate/v1/hospitals/+/response/cp1");
    CHECK(topics::shared_events("cp") == "$share/cp/hisgate/v1/hospitals/+/event");
    CHECK(topics::hospital_of("hisgate/v1/hospitals/H001/state") == "H001");
    CHECK_FALSE(topics::hospital_of("hisgate/v1/other/H001/state"));
    CHECK_FALSE(topics::hospital_of("hisgate/v1/hospitals/H001"));
    CHECK_FALSE(topics::hospital_of("hisgate/v1/hospitals/+/state"));
}

TEST_CASE("topics: hospital ids are limited to a topic-safe alphabet") {
    CHECK(topics::valid_hospital_id("H001"));
    CHECK(topics::valid_hospital_id("south_beijing-12"));
    CHECK_FALSE(topics::valid_hospital_id(""));
    CHECK_FALSE(topics::valid_hospital_id("a/b"));
    CHECK_FALSE(topics::valid_hospital_id("#"));
    CHECK_FALSE(topics::valid_hospital_id("+"));
    CHECK_FALSE(topics::valid_hospital_id(std::string(65, 'a')));
}
