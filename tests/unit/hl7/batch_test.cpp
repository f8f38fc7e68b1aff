#include <catch2/catch.hpp>

#include "hl7/batch.h"
#include "support.h"

using namespace hisgate::hl7;
using hl7_test::wire;

namespace {

const std::string kMsg1 = wire({"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|M1|P|2.5", "PID|1||111"});
const std::string kMsg2 = wire({"MSH|^~\\&|A|B|C|D|20240101||ADT^A08|M2|P|2.5", "PID|1||222"});

}  // namespace

TEST_CASE("a batch envelope declares its own delimiters and wraps many messages") {
    std::string file = wire({"FHS#$*!%#LAB#HOSP"}) + wire({"BHS#$*!%#LAB#HOSP"}) + kMsg1 + kMsg2 +
                       wire({"BTS#2", "FTS#1"});
    auto batch = parse_file(file);
    REQUIRE(batch.ok());
    REQUIRE(batch->messages.size() == 2);
    CHECK(batch->messages[0].get("MSH-10") == "M1");
    CHECK(batch->messages[1].get("PID-3") == "222");
    CHECK(batch->messages[1].serialize() == kMsg2);
    REQUIRE(batch->envelope.size() == 4);
    CHECK(batch->envelope[0].delimiters.field == '#');
    CHECK(batch->envelope[0].delimiters.component == '$');
    CHECK(batch->envelope[0].field(3) == "LAB");
    CHECK(batch->envelope[2].name() == "BTS");
    CHECK(batch->envelope[2].delimiters.field == '#');
    CHECK(batch->envelope[2].field(1) == "2");
    CHECK(batch->notices.empty());
}

TEST_CASE("a BTS count that disagrees and missing trailers are reported") {
    auto batch = parse_file(wire({"BHS|^~\\&"}) + kMsg1 + wire({"BTS|5"}) + wire({"BHS|^~\\&"}) + kMsg2);
    REQUIRE(batch.ok());
    CHECK(batch->messages.size() == 2);
    std::vector<std::string> codes;
    for (auto& n : batch->notices) codes.push_back(n.code);
    CHECK(codes == std::vector<std::string>{"hl7.batch_count", "hl7.batch_structure"});
}

TEST_CASE("batch structure errors") {
    CHECK(parse_file(kMsg1 + wire({"BTS|1"})).error().code == "hl7.batch_structure");
    CHECK(parse_file(kMsg1 + wire({"FTS|1"})).error().code == "hl7.batch_structure");
    CHECK(parse_file(wire({"FHS|^~\\&", "FHS|^~\\&"}) + kMsg1).error().code == "hl7.batch_structure");
    CHECK(parse_file(wire({"BHS|^~\\&\\&"}) + kMsg1).error().code == "hl7.encoding_characters");
    CHECK(parse_file("just some text\n").error().code == "hl7.empty");
}

TEST_CASE("files of plain messages: text between messages is skipped and reported") {
    std::string file = "/* sample file */\n" + kMsg1 + "\r// next one\n" + kMsg2;
    auto batch = parse_file(file);
    REQUIRE(batch.ok());
    REQUIRE(batch->messages.size() == 2);
    CHECK(batch->messages[0].serialize() == kMsg1);
    CHECK(batch->messages[1].serialize() == kMsg2);
    REQUIRE(batch->notices.size() == 2);
    CHECK(batch->notices[0].code == "hl7.skipped_text");
    CHECK(batch->notices[0].offset == 0);
    CHECK(batch->notices[1].offset == 18 + kMsg1.size() + 1);
    auto many = parse_many(file);
    REQUIRE(many.ok());
    CHECK(many->size() == 2);
}

TEST_CASE("an error in the third message names it and its file offset") {
    std::string bad = wire({"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|M3|P|2.5", "pid|1"});
    std::string file = kMsg1 + kMsg2 + bad;
    auto batch = parse_file(file);
    REQUIRE_FALSE(batch.ok());
    CHECK(batch.error().code == "hl7.segment_name");
    std::size_t offset = kMsg1.size() + kMsg2.size() + bad.find("pid");
    CHECK(batch.error().message.find("in message 3, at byte " + std::to_string(offset)) != std::string::npos);

    auto layout = split_file(file);
    REQUIRE(layout.ok());
    REQUIRE(layout->messages.size() == 3);
    CHECK(layout->messages[2].offset == kMsg1.size() + kMsg2.size());
    CHECK(layout->messages[2].bytes == bad);
}
