#include <catch2/catch.hpp>

#include "transport/envelope.h"

using namespace hisgate;

TEST_CASE("envelope: round trip, replies, and errors") {
    auto req = Envelope::make("report.get", "H001", {{"reportId", "R-1"}});
    auto parsed = Envelope::parse(req.to_json());
    REQUIRE(parsed.ok());
    CHECK(parsed->id == req.id);
    CHECK(parsed->type == "report.get");
    CHECK(parsed->hospital_id == "H001");
    CHECK(parsed->body["reportId"] == "R-1");

    auto reply = req.reply_error(make_error(ErrorClass::Timeout, "his.timeout", "no answer"));
    auto back = Envelope::parse(reply.to_json());
    REQUIRE(back.ok());
    CHECK(back->in_reply_to == req.id);
    CHECK(back->type == "report.get.result");
    REQUIRE(back->error);
    CHECK(back->error->cls == ErrorClass::Timeout);
    CHECK(back->error->code == "his.timeout");
}

TEST_CASE("envelope: unknown fields are ignored") {
    auto e = Envelope::parse(R"({"schema":1,"id":"a","type":"t","hospital_id":"H","future_field":{"x":1}})");
    REQUIRE(e.ok());
    CHECK(e->type == "t");
}

TEST_CASE("envelope: bad payloads are rejected with a clear error") {
    struct Case {
        const char* payload;
        const char* code;
        const char* says;
    };
    Case cases[] = {
        {"{not json", "envelope.invalid", "not valid JSON"},
        {"[1,2,3]", "envelope.invalid", "must be a JSON object"},
        {R"({"id":"a","type":"t","hospital_id":"H"})", "envelope.invalid", "missing required field \"schema\""},
        {R"({"schema":"1","id":"a","type":"t","hospital_id":"H"})", "envelope.invalid", "must be an integer"},
        {R"({"schema":2,"id":"a","type":"t","hospital_id":"H"})", "envelope.unsupported_schema", "schema version 2"},
        {R"({"schema":0,"id":"a","type":"t","hospital_id":"H"})", "envelope.unsupported_schema", "expected 1 to 1"},
        {R"({"schema":1,"type":"t","hospital_id":"H"})", "envelope.invalid", "missing required field \"id\""},
        {R"({"schema":1,"id":"a","type":"","hospital_id":"H"})", "envelope.invalid", "\"type\" must be a non-empty"},
        {R"({"schema":1,"id":"a","type":"t"})", "envelope.invalid", "\"hospital_id\""},
        {R"({"schema":1,"id":"a","type":"t","hospital_id":"H","body":[]})", "envelope.invalid", "\"body\" must be an object"},
        {R"({"schema":1,"id":"a","type":"t","hospital_id":"H","error":{"class":"x"}})", "envelope.invalid", "\"code\""},
    };
    for (const auto& c : cases) {
        INFO(c.payload);
        auto r = Envelope::parse(c.payload);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::BadInput);
        CHECK(r.error().code == c.code);
        CHECK_THAT(r.error().message, Catch::Contains(c.says));
    }
}
