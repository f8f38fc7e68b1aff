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

TEST_CASE("envelope: bounded before it is read: size by kind, nesting, field lengths") {
    auto deep = [](size_t levels) {
        return R"({"schema":1,"id":"a","type":"report.get","hospital_id":"H001","body":{"x":)" + std::string(levels, '[') +
               std::string(levels, ']') + "}}";
    };
    struct Case {
        std::string payload;
        size_t max_bytes;
        const char* code;
        std::string says;
    };
    std::string id(129, 'a'), type(65, 't'), hospital(65, 'H');
    Case cases[] = {
        {deep(500000), limits::kRequestBytes, "envelope.too_large", "the payload is at most 65536 bytes, found 1000076"},
        {deep(500000), limits::kAnswerBytes, "envelope.too_deep", "at most 32 levels deep"},
        {deep(31), limits::kRequestBytes, "envelope.too_deep", "at most 32 levels deep"},
        {R"({"schema":1,"id":")" + id + R"(","type":"t","hospital_id":"H"})", limits::kRequestBytes, "envelope.too_long",
         "field \"id\" is at most 128 bytes, found 129"},
        {R"({"schema":1,"id":"a","type":")" + type + R"(","hospital_id":"H"})", limits::kRequestBytes, "envelope.too_long",
         "field \"type\" is at most 64 bytes, found 65"},
        {R"({"schema":1,"id":"a","type":"t","hospital_id":")" + hospital + R"("})", limits::kRequestBytes,
         "envelope.too_long", "field \"hospital_id\" is at most 64 bytes, found 65"},
        {R"({"schema":1,"id":"a","type":"t","hospital_id":"H","in_reply_to":")" + id + R"("})", limits::kAnswerBytes,
         "envelope.too_long", "field \"in_reply_to\" is at most 128 bytes"},
        {R"({"schema":1,"id":"a","type":"t","hospital_id":"H","error":{"code":"x","class":[1]}})", limits::kAnswerBytes,
         "", ""},  // a class that is not a string reads as internal (it threw before)
    };
    for (const auto& c : cases) {
        INFO(c.payload.substr(0, 200));
        auto r = Envelope::parse(c.payload, c.max_bytes);
        if (!*c.code) {
            REQUIRE(r.ok());
            REQUIRE(r->error);
            CHECK(r->error->cls == ErrorClass::Internal);
            continue;
        }
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::BadInput);
        CHECK(r.error().code == c.code);
        CHECK_THAT(r.error().message, Catch::Contains(c.says));
    }
    CHECK(Envelope::parse(deep(30), limits::kRequestBytes).ok());  // body at 31, its array 32: the deepest allowed
}

// Found by fuzz/envelope_fuzz.cpp (docs/fuzzing.md); each failed before the fix.
TEST_CASE("envelope: a reply to a request of the longest type is readable, and a schema never wraps") {
    Envelope request = Envelope::make(std::string(limits::kTypeBytes, 't'), "H001");
    REQUIRE(Envelope::parse(request.to_json()).ok());
    for (const Envelope& reply : {request.reply(), request.stored_ack(),
                                  request.reply_error(make_error(ErrorClass::Timeout, "his.timeout", "no answer"))}) {
        auto read = Envelope::parse(reply.to_json());
        INFO(reply.type);
        REQUIRE(read.ok());
        CHECK(read->type == reply.type);
        CHECK(read->in_reply_to == request.id);
    }
    // Without in_reply_to the type keeps its own limit.
    Envelope not_a_reply = request.reply();
    not_a_reply.in_reply_to.clear();
    auto refused = Envelope::parse(not_a_reply.to_json());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "envelope.too_long");

    // 2^32 + 1 is not schema 1 (read as an int, it wrapped to 1 and was accepted).
    auto wrapped = Envelope::parse(R"({"schema":4294967297,"id":"a","type":"t","hospital_id":"H001"})");
    REQUIRE_FALSE(wrapped.ok());
    CHECK(wrapped.error().code == "envelope.unsupported_schema");
}

TEST_CASE("limits: the first field of a request body over its length, by path") {
    nlohmann::json body = {{"orderId", "O-1"},
                           {"patient", {{"id", std::string(40000, 'P')}, {"name", "x"}}},
                           {"note", std::string(256, 'n')}};
    auto bad = limits::oversized_field(body, "body", "request.too_long");
    REQUIRE(bad);
    CHECK(bad->cls == ErrorClass::BadInput);
    CHECK(bad->code == "request.too_long");
    CHECK(bad->message == "body.patient.id is at most 64 bytes, found 40000");

    CHECK(limits::oversized_field({{"reportId", std::string(64, 'R')}, {"note", std::string(256, 'n')}}, "body", "c") ==
          std::nullopt);
    auto report = limits::oversized_field({{"reportId", std::string(100 * 1024, 'R')}}, "body", "c");
    REQUIRE(report);
    CHECK(report->message == "body.reportId is at most 64 bytes, found 102400");
    auto text = limits::oversized_field({{"lines", {"a", std::string(257, 'x')}}}, "body", "c");
    REQUIRE(text);
    CHECK(text->message == "body.lines[1] is at most 256 bytes, found 257");
    auto key = limits::oversized_field({{std::string(300, 'k'), 1}}, "body", "c");
    REQUIRE(key);
    CHECK(key->message == "a field name in body is at most 256 bytes, found 300");
}

TEST_CASE("envelope: text that is not valid UTF-8 (a GBK byte from a HIS) is sent as U+FFFD, never an exception") {
    auto request = Envelope::make("report.get", "H001", {{"reportId", "R-1"}});
    auto reply = request.reply_error(make_error(ErrorClass::Rejected, "his.AR", std::string("\xC4\xFA cut \xE4\xB8")));
    reply.body = {{"note", std::string("bad \xFF byte")}};
    std::string wire;
    REQUIRE_NOTHROW(wire = reply.to_json());
    auto back = Envelope::parse(wire);
    REQUIRE(back.ok());
    REQUIRE(back->error);
    CHECK(back->error->message.find("\xEF\xBF\xBD") != std::string::npos);
    CHECK(back->body["note"] == "bad \xEF\xBF\xBD byte");
}
