#include <catch2/catch.hpp>

#include "hl7/message.h"
#include "support.h"

using namespace hisgate::hl7;
using hl7_test::wire;

namespace {

const std::string kAdt = wire({
    R"(MSH|^~\&|HIS|WARD|HISGATE|CLOUD|20240102030405||ADT^A01^ADT_A01|MSG00001|P|2.5.1)",
    "EVN|A01|20240102030405",
    R"(PID|1||12345^^^HOSP^MR~67890^^^NATION^NI||Li^Lei^^^Dr.&Prof||19800101|M|||1 Main St\S\Apt 2^^Town)",
    "OBX|1|NM|HR||72",
    "OBX|2|NM|SPO2||98",
    "OBX|3|ST|NOTE||see \\.br\\ chart",
    "ZXT|custom|kept as is",
    "ABC|unknown segment",
});

}  // namespace

TEST_CASE("path access: fields, repetitions, components, subcomponents, occurrences") {
    auto m = Message::parse(kAdt);
    REQUIRE(m.ok());
    CHECK(m->get("MSH-1") == "|");
    CHECK(m->get("MSH-2") == "^~\\&");
    CHECK(m->get("MSH-9") == "ADT");
    CHECK(m->get("MSH-9-2") == "A01");
    CHECK(m->get("MSH-10") == "MSG00001");
    CHECK(m->get("PID-5-1") == "Li");
    CHECK(m->get("PID-5-2") == "Lei");
    CHECK(m->get("PID-5-5-2") == "Prof");
    CHECK(m->get("PID-3-1") == "12345");
    CHECK(m->get("PID-3(2)-1") == "67890");
    CHECK(m->get("PID-3(2)-5") == "NI");
    CHECK(m->get("PID-11-1") == "1 Main St^Apt 2");
    CHECK(m->get("OBX-5") == "72");
    CHECK(m->get("OBX[2]-5") == "98");
    CHECK(m->get("OBX[3]-5") == "see \\.br\\ chart");
    CHECK(m->get("ZXT-2") == "kept as is");
    CHECK(m->get("ABC-1") == "unknown segment");
    // Absent things are empty, never an error.
    CHECK(m->get("OBX[4]-5").empty());
    CHECK(m->get("PID-3(3)-1").empty());
    CHECK(m->get("PID-99").empty());
    CHECK(m->get("NK1-2").empty());
    CHECK(m->get("not a path").empty());
    CHECK_FALSE(m->value("not a path").ok());
}

TEST_CASE("segments and fields are viewed as parsed") {
    auto m = Message::parse(kAdt);
    REQUIRE(m.ok());
    REQUIRE(m->segment_count() == 8);
    CHECK(m->segment(0).name() == "MSH");
    CHECK(m->segment(0).field_count() == 12);
    CHECK(m->segment(0).field(9) == "ADT^A01^ADT_A01");
    CHECK(m->segment(2).field(5) == "Li^Lei^^^Dr.&Prof");
    CHECK(m->segment(6).name() == "ZXT");
    CHECK(m->segment(6).field_count() == 2);
}

TEST_CASE("an unmodified message serializes byte for byte") {
    auto m = Message::parse(kAdt);
    REQUIRE(m.ok());
    CHECK(m->serialize() == kAdt);
}

TEST_CASE("delimiters come from MSH-1 and MSH-2, whatever they are") {
    std::string odd = wire({"MSH#$*!%#A#B#C#D#20240101##ORU$R01#X1#P#2.5", "PID#1##ID1*ID2##Doe$Jo%hn$!F!!S!#"});
    auto m = Message::parse(odd);
    REQUIRE(m.ok());
    CHECK(m->delimiters().field == '#');
    CHECK(m->delimiters().component == '$');
    CHECK(m->delimiters().repetition == '*');
    CHECK(m->delimiters().escape == '!');
    CHECK(m->delimiters().subcomponent == '%');
    CHECK(m->get("MSH-1") == "#");
    CHECK(m->get("MSH-2") == "$*!%");
    CHECK(m->get("MSH-9-2") == "R01");
    CHECK(m->get("PID-3(2)") == "ID2");
    CHECK(m->get("PID-5-2-2") == "hn");
    CHECK(m->get("PID-5-3") == "#$");
    CHECK(m->serialize() == odd);
}

TEST_CASE("a fifth encoding character is the truncation character") {
    auto m = Message::parse(wire({R"(MSH|^~\&#|A|B|C|D|20240101||ADT^A01|1|P|2.7)", R"(NTE|1||cut here\P\)"}));
    REQUIRE(m.ok());
    CHECK(m->delimiters().truncation == '#');
    CHECK(m->get("MSH-2") == "^~\\&#");
    CHECK(m->get("NTE-3") == "cut here#");
    CHECK(m->notices().empty());
}

TEST_CASE("missing encoding characters are reported, and their characters stay data") {
    auto m = Message::parse(wire({"MSH|^~}|A|B|C|D|20240101||BAR^P01|1|P|2.4", "PID|1||a&b^c\\d"}));
    REQUIRE(m.ok());
    CHECK(m->delimiters().escape == '}');
    CHECK(m->delimiters().subcomponent == kAbsent);
    REQUIRE(m->notices().size() == 1);
    CHECK(m->notices()[0].code == "hl7.encoding_characters");
    CHECK(m->notices()[0].message.find("subcomponent") != std::string::npos);
    CHECK(m->get("PID-3-1") == "a&b");
    CHECK(m->get("PID-3-2") == "c\\d");

    auto bare = Message::parse("MSH||A|B\r");
    REQUIRE(bare.ok());
    CHECK(bare->delimiters().component == kAbsent);
    CHECK(bare->get("MSH-2").empty());
    CHECK(bare->get("MSH-3") == "A");
    REQUIRE(bare->notices().size() == 1);
    CHECK(bare->notices()[0].code == "hl7.encoding_characters");
}

TEST_CASE("delimiter errors say what, where and what was expected") {
    struct Case {
        std::string input;
        std::string code;
        std::size_t offset;
    };
    for (const Case& c : std::vector<Case>{
             {"MSH", "hl7.field_separator", 3},
             {"MSH\r", "hl7.field_separator", 3},
             {"MSH\x01^~\\&|x", "hl7.field_separator", 3},
             {"MSH|^~\\&#!|A", "hl7.encoding_characters", 4},
             {"MSH|^^\\&|A", "hl7.encoding_characters", 4},
             {"MSH|^~\\\x7f|A", "hl7.encoding_characters", 4},
             {"MSHA^~\\&Ax", "hl7.field_separator", 3},
             {"MSH|^~\\&0|A", "hl7.encoding_characters", 4},
             {"PID|1\rMSH|^~\\&|A", "hl7.no_msh", 0},
             {"", "hl7.empty", 0},
             {"\r\n\r\n", "hl7.empty", 0},
             {"MSH|^~\\&|A\rpid|1", "hl7.segment_name", 11},
             {"MSH|^~\\&|A\rPID^1", "hl7.segment_name", 11},
             {"MSH|^~\\&|A\rPI", "hl7.segment_name", 11},
             {"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B", "hl7.second_header", 17},
             {"FHS|^~\\&\rMSH|^~\\&|A", "hl7.batch", 0},
         }) {
        INFO(c.input);
        ErrorSite site;
        auto m = Message::parse(c.input, {}, &site);
        REQUIRE_FALSE(m.ok());
        CHECK(m.error().code == c.code);
        CHECK(m.error().cls == hisgate::ErrorClass::BadInput);
        CHECK(site.offset == c.offset);
        CHECK(m.error().message.find("at byte " + std::to_string(c.offset)) != std::string::npos);
        CHECK(m.error().message.find("expected") != std::string::npos);
    }
}

TEST_CASE("CR, LF and CRLF all end segments - each kind is counted and reported") {
    std::string mixed = "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r\nEVN|A01\nPID|1\rPV1|1\r\n";
    auto m = Message::parse(mixed);
    REQUIRE(m.ok());
    CHECK(m->segment_count() == 4);
    CHECK(m->terminators().crlf == 2);
    CHECK(m->terminators().lf == 1);
    CHECK(m->terminators().cr == 1);
    CHECK(m->serialize() == "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rEVN|A01\rPID|1\rPV1|1\r");
    REQUIRE(m->notices().size() == 1);
    CHECK(m->notices()[0].code == "hl7.terminators");

    auto last = Message::parse("MSH|^~\\&|A\rPID|1");  // no terminator after the last segment
    REQUIRE(last.ok());
    CHECK(last->serialize() == "MSH|^~\\&|A\rPID|1\r");
}

TEST_CASE("set escapes values and creates missing segments, fields, components") {
    auto m = Message::parse(kAdt);
    REQUIRE(m.ok());
    REQUIRE(m->set("PID-5-1", "O'Neil|Smith^Jr & Co").ok());
    CHECK(m->get("PID-5-1") == "O'Neil|Smith^Jr & Co");
    CHECK(m->segment(2).field(5) == R"(O'Neil\F\Smith\S\Jr \T\ Co^Lei^^^Dr.&Prof)");

    REQUIRE(m->set("PID-3(3)-4-2", "X").ok());
    CHECK(m->segment(2).field(3) == "12345^^^HOSP^MR~67890^^^NATION^NI~^^^&X");
    REQUIRE(m->set("PID-40", "far").ok());
    CHECK(m->segment(2).field_count() == 40);
    CHECK(m->get("PID-40") == "far");
    REQUIRE(m->set("OBX[5]-5", "new").ok());
    CHECK(m->segment_count() == 10);
    CHECK(m->get("OBX[5]-5") == "new");
    CHECK(m->segment(9).text() == "OBX|||||new");
    CHECK(m->segment(8).text() == "OBX");
    REQUIRE(m->set("NTE-3", "line1\nline2").ok());
    CHECK(m->get("NTE-3") == "line1\nline2");

    std::string out = m->serialize();
    CHECK(out.find("OBX|||||new\r") != std::string::npos);
    auto again = Message::parse(out);
    REQUIRE(again.ok());
    CHECK(again->get("PID-5-1") == "O'Neil|Smith^Jr & Co");
    CHECK(again->get("NTE-3") == "line1\nline2");
    CHECK(again->serialize() == out);
    // Untouched segments keep their bytes.
    CHECK(out.rfind("OBX|2|NM|SPO2||98\r", std::string::npos) != std::string::npos);
}

TEST_CASE("set refuses what it cannot do, and says why") {
    auto m = Message::parse(kAdt);
    REQUIRE(m.ok());
    CHECK(m->set("MSH-1", "#").error().code == "hl7.read_only");
    CHECK(m->set("MSH-2", "^~").error().code == "hl7.read_only");
    CHECK(m->set("MSH[2]-3", "x").error().code == "hl7.path");
    CHECK(m->set("PID-0", "x").error().code == "hl7.path");
    CHECK(m->set("PID-5", "\xC3").error().code == "hl7.charset_invalid");
    CHECK(m->serialize() == kAdt);

    auto three = Message::parse("MSH|^~}|A\r");
    REQUIRE(three.ok());
    CHECK(three->set("PID-3-1-2", "x").error().code == "hl7.no_such_delimiter");
}

TEST_CASE("building a message from nothing") {
    Message m = Message::create();
    REQUIRE(m.set("MSH-3", "HISGATE").ok());
    REQUIRE(m.set("MSH-9-1", "ADT").ok());
    REQUIRE(m.set("MSH-9-2", "A08").ok());
    REQUIRE(m.set("MSH-10", "C-1").ok());
    REQUIRE(m.set("MSH-11", "P").ok());
    REQUIRE(m.set("MSH-12", "2.5.1").ok());
    REQUIRE(m.set("PID-5-1", "Wang~Fang").ok());
    CHECK(m.serialize() == "MSH|^~\\&|HISGATE||||||ADT^A08|C-1|P|2.5.1\rPID|||||Wang\\R\\Fang\r");
    auto back = Message::parse(m.serialize());
    REQUIRE(back.ok());
    CHECK(back->get("PID-5") == "Wang~Fang");
}

TEST_CASE("a message created in a charset refuses what it cannot write, naming the path, and keeps what it had") {
    Message m = Message::create({}, Charset::Ascii);
    REQUIRE(m.set_all({{"MSH-9-1", "SRM"}, {"MSH-10", "C-1"}, {"MSH-18", "ASCII"}}).ok());
    auto r = m.set_all({{"ARQ-1", "O-1"}, {"PID-3-1", "P-Müller"}, {"AIG-3", "S-1"}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().cls == hisgate::ErrorClass::BadInput);
    CHECK(r.error().code == "hl7.charset_unrepresentable");
    CHECK_THAT(r.error().message, Catch::Contains("PID-3-1"));
    CHECK(m.get("ARQ-1") == "O-1");  // set before the failure
    CHECK(m.get("AIG-3").empty());   // not reached
    CHECK(m.serialize() == "MSH|^~\\&|||||||SRM|C-1||||||||ASCII\rARQ|O-1\r");
}

TEST_CASE("copies share bytes but edit independently") {
    auto m = Message::parse(kAdt);
    REQUIRE(m.ok());
    Message copy = *m;
    REQUIRE(copy.set("PID-5-1", "Zhang").ok());
    CHECK(m->get("PID-5-1") == "Li");
    CHECK(copy.get("PID-5-1") == "Zhang");
    CHECK(m->serialize() == kAdt);
}
