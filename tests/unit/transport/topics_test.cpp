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
    CHECK(topics::every_response() == "hisgate/v1/hospitals/+/response/+");
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

TEST_CASE("topics: a response topic is exactly one instance under the hospital's response level") {
    CHECK(topics::valid_response_topic(topics::response("H001", "cp-1"), "H001"));
    CHECK(topics::valid_response_topic(topics::response("H001", "controlplane.a_2"), "H001"));
    CHECK_FALSE(topics::valid_response_topic(topics::response("H002", "cp-1"), "H001"));      // another hospital's
    CHECK_FALSE(topics::valid_response_topic(topics::response("H001", "+"), "H001"));         // wildcards
    CHECK_FALSE(topics::valid_response_topic(topics::response("H001", "#"), "H001"));
    CHECK_FALSE(topics::valid_response_topic(topics::response("H001", "cp/+"), "H001"));      // a level beyond
    CHECK_FALSE(topics::valid_response_topic(topics::response("H001", ""), "H001"));
    CHECK_FALSE(topics::valid_response_topic(topics::response("H001", std::string("c\0p", 3)), "H001"));
    CHECK_FALSE(topics::valid_response_topic(topics::response("H001", std::string(65, 'c')), "H001"));
    CHECK_FALSE(topics::valid_response_topic(topics::state("H001"), "H001"));
    CHECK_FALSE(topics::valid_response_topic("hisgate/v1/hospitals/H001/response", "H001"));
    CHECK_FALSE(topics::valid_response_topic(std::string(100000, 'x'), "H001"));
}
