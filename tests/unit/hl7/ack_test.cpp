#include <catch2/catch.hpp>

#include "hl7/ack.h"
#include "support.h"

using namespace hisgate::hl7;
using hl7_test::wire;

namespace {

std::string msh(std::string_view type = "ADT^A01^ADT_A01", std::string_view processing = "P",
                std::string_view version = "2.5.1", std::string_view accept = "", std::string_view application = "") {
    return "MSH|^~\\&|HIS|WARD|HISGATE|CLOUD|20240101||" + std::string(type) + "|CTRL42|" + std::string(processing) +
           "|" + std::string(version) + "|||" + std::string(accept) + "|" + std::string(application);
}

Message parse_ok(std::string_view bytes) {
    auto m = Message::parse(bytes);
    REQUIRE(m.ok());
    return std::move(m).value();
}

}  // namespace

TEST_CASE("original mode: AA echoes MSH-10 and swaps sender and receiver") {
    Message original = parse_ok(wire({msh(), "PID|1||X"}));
    CHECK(ack_mode(original) == AckMode::Original);
    Message ack = parse_ok(make_ack(original, AckCode::AA));
    CHECK(ack.get("MSH-3") == "HISGATE");
    CHECK(ack.get("MSH-4") == "CLOUD");
    CHECK(ack.get("MSH-5") == "HIS");
    CHECK(ack.get("MSH-6") == "WARD");
    CHECK(ack.get("MSH-9-1") == "ACK");
    CHECK(ack.get("MSH-9-2") == "A01");
    CHECK(ack.get("MSH-9-3") == "ACK");
    CHECK(ack.get("MSH-11") == "P");
    CHECK(ack.get("MSH-12") == "2.5.1");
    CHECK_FALSE(ack.get("MSH-10").empty());
    CHECK(ack.get("MSH-10") != "CTRL42");
    CHECK(ack.get("MSA-1") == "AA");
    CHECK(ack.get("MSA-2") == "CTRL42");
    CHECK(ack.get("ERR-3").empty());
    CHECK(ack.segment_count() == 2);
}

TEST_CASE("control ids of successive ACKs differ") {
    Message original = parse_ok(wire({msh()}));
    CHECK(parse_ok(make_ack(original, AckCode::AA)).get("MSH-10") !=
          parse_ok(make_ack(original, AckCode::AA)).get("MSH-10"));
}

TEST_CASE("an error ACK carries ERR with location, code and text (2.5 and later)") {
    Message original = parse_ok(wire({msh(), "PID|1||X"}));
    AckError e{"102", "PID", 1, 7, "PID-7 'yesterday' is not a date|time"};
    Message ack = parse_ok(make_ack(original, AckCode::AE, e));
    CHECK(ack.get("MSA-1") == "AE");
    CHECK(ack.get("MSA-2") == "CTRL42");
    CHECK(ack.get("ERR-2-1") == "PID");
    CHECK(ack.get("ERR-2-2") == "1");
    CHECK(ack.get("ERR-2-3") == "7");
    CHECK(ack.get("ERR-3-1") == "102");
    CHECK(ack.get("ERR-3-2") == "Data type error");
    CHECK(ack.get("ERR-3-3") == "HL70357");
    CHECK(ack.get("ERR-4") == "E");
    CHECK(ack.get("ERR-8") == "PID-7 'yesterday' is not a date|time");

    Message simple = parse_ok(make_ack(original, AckCode::AR, "cannot process"));
    CHECK(simple.get("ERR-3-1") == "207");
    CHECK(simple.get("ERR-8") == "cannot process");
}

TEST_CASE("before 2.5 the error goes to ERR-1 and the text to MSA-3") {
    Message original = parse_ok(wire({msh("ADT^A01", "P", "2.3"), "PID|1"}));
    AckError e{"101", "PID", 1, 3, "PID-3 is required"};
    Message ack = parse_ok(make_ack(original, AckCode::AE, e));
    CHECK(ack.get("MSH-12") == "2.3");
    CHECK(ack.get("MSA-3") == "PID-3 is required");
    CHECK(ack.get("ERR-1-1") == "PID");
    CHECK(ack.get("ERR-1-2") == "1");
    CHECK(ack.get("ERR-1-3") == "3");
    CHECK(ack.get("ERR-1-4-1") == "101");
    CHECK(ack.get("ERR-1-4-2") == "Required field missing");
}

TEST_CASE("ack_for: a good message gets AA in original mode, CA in enhanced mode") {
    Message aa = parse_ok(ack_for(wire({msh(), "PID|1"})));
    CHECK(aa.get("MSA-1") == "AA");
    CHECK(aa.get("MSA-2") == "CTRL42");

    std::string enhanced = wire({msh("ADT^A01", "P", "2.5.1", "AL", "AL"), "PID|1"});
    CHECK(ack_mode(parse_ok(enhanced)) == AckMode::Enhanced);
    Message ca = parse_ok(ack_for(enhanced));
    CHECK(ca.get("MSA-1") == "CA");
    CHECK(ca.get("MSH-15") == "NE");
    CHECK(ca.get("MSH-16") == "NE");
}

TEST_CASE("ack_for: MSH-9, MSH-11 and MSH-12 problems are rejected with AR") {
    struct Case {
        std::string header;
        std::string hl7_code;
        std::string field;
    };
    for (const Case& c : std::vector<Case>{
             {msh(""), "101", "9"},
             {msh("ADT^"), "201", "9"},
             {msh("adt^A01"), "200", "9"},
             {msh("ADT^A01", ""), "101", "11"},
             {msh("ADT^A01", "X"), "202", "11"},
             {msh("ADT^A01", "P", ""), "101", "12"},
             {msh("ADT^A01", "P", "3.0"), "203", "12"},
         }) {
        INFO(c.header);
        Message ack = parse_ok(ack_for(wire({c.header, "PID|1"})));
        CHECK(ack.get("MSA-1") == "AR");
        CHECK(ack.get("MSA-2") == "CTRL42");
        CHECK(ack.get("ERR-2-1") == "MSH");
        CHECK(ack.get("ERR-2-3") == c.field);
        CHECK(ack.get("ERR-3-1") == c.hl7_code);
        CHECK_FALSE(ack.get("ERR-8").empty());
    }
    Message cr = parse_ok(ack_for(wire({msh("ADT^A01", "X", "2.5.1", "AL", "AL")})));
    CHECK(cr.get("MSA-1") == "CR");
}

TEST_CASE("ack_for: content errors get AE (CE) with the segment's location") {
    std::string bad = wire({msh(), "PID|1", "OBX|1", "OBX|2", "obx|3"});
    Message ae = parse_ok(ack_for(bad));
    CHECK(ae.get("MSA-1") == "AE");
    CHECK(ae.get("MSA-2") == "CTRL42");
    CHECK(ae.get("ERR-3-1") == "100");
    CHECK(ae.get("ERR-2-1") == "obx");
    CHECK(ae.get("ERR-2-2") == "1");
    CHECK(ae.get("ERR-8").find("at byte") != std::string::npos);

    std::string second_obx_bad = wire({msh("ORU^R01", "P", "2.5.1", "AL", "AL"), "OBX|1|ST|||ok",
                                       "OBX|2|ST|||caf\xC3"});
    Message ce = parse_ok(ack_for(second_obx_bad));
    CHECK(ce.get("MSA-1") == "CE");
    CHECK(ce.get("ERR-2-1") == "OBX");
    CHECK(ce.get("ERR-2-2") == "2");
    CHECK(ce.get("ERR-3-1") == "102");

    Message empty_id = parse_ok(ack_for(wire({"MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5"})));
    CHECK(empty_id.get("MSA-1") == "AE");
    CHECK(empty_id.get("ERR-3-1") == "101");
    CHECK(empty_id.get("ERR-2-3") == "10");
}

TEST_CASE("ack_for: an unknown charset or unreadable header is rejected") {
    std::string header = msh() + "||KLINGON";
    Message ar = parse_ok(ack_for(wire({header, "PID|1"})));
    CHECK(ar.get("MSA-1") == "AR");
    CHECK(ar.get("MSA-2") == "CTRL42");
    CHECK(ar.get("ERR-3-1") == "103");
    CHECK(ar.get("ERR-2-3") == "18");

    Message garbage = parse_ok(ack_for("this is not HL7"));
    CHECK(garbage.get("MSA-1") == "AR");
    CHECK(garbage.get("MSA-2").empty());
    CHECK(garbage.get("ERR-3-1") == "100");

    Message bad_delims = parse_ok(ack_for("MSH|^^\\&|A|B|C|D|1||ADT^A01|X1|P|2.5\r"));
    CHECK(bad_delims.get("MSA-1") == "AR");
    CHECK(bad_delims.get("ERR-3-1") == "102");
}

TEST_CASE("ack_for never acknowledges an ACK") {
    CHECK(ack_for(wire({msh("ACK^A01^ACK"), "MSA|AA|X1"})).empty());
    CHECK(ack_for(wire({msh("ACK"), "MSA|AA|X1"})).empty());
    // Even a broken ACK.
    CHECK(ack_for(wire({msh("ACK^A01"), "MSA|AA|X1", "bad"})).empty());
    Message original = parse_ok(wire({msh()}));
    CHECK(ack_for(make_ack(original, AckCode::AE, "x")).empty());
}

TEST_CASE("enhanced mode honours MSH-15 and MSH-16 conditions") {
    std::string good_ne = wire({msh("ADT^A01", "P", "2.5.1", "NE", "AL")});
    CHECK(ack_for(good_ne).empty());
    std::string good_er = wire({msh("ADT^A01", "P", "2.5.1", "ER", "AL")});
    CHECK(ack_for(good_er).empty());
    std::string bad_er = wire({msh("ADT^A01", "X", "2.5.1", "ER", "AL")});
    CHECK(parse_ok(ack_for(bad_er)).get("MSA-1") == "CR");
    std::string bad_su = wire({msh("ADT^A01", "X", "2.5.1", "SU", "AL")});
    CHECK(ack_for(bad_su).empty());

    Message m = parse_ok(wire({msh("ADT^A01", "P", "2.5.1", "AL", "ER")}));
    CHECK(accept_ack_wanted(m, false));
    CHECK_FALSE(application_ack_wanted(m, false));
    CHECK(application_ack_wanted(m, true));
    Message original = parse_ok(wire({msh()}));
    CHECK(application_ack_wanted(original, false));
}

TEST_CASE("the ACK keeps the original's delimiters and charset") {
    std::string latin = wire({"MSH#$*!%#Ren\xE9#WARD#HISGATE#CLOUD#20240101##ADT$A01#C9#P#2.5######8859/1", "PID#1"});
    std::string ack = ack_for(latin);
    REQUIRE(ack.substr(0, 9) == "MSH#$*!%#");
    CHECK(ack.find("#Ren\xE9#") != std::string::npos);
    Message parsed = parse_ok(ack);
    CHECK(parsed.charset() == Charset::Iso8859_1);
    CHECK(parsed.get("MSH-5") == "René");
    CHECK(parsed.get("MSA-2") == "C9");
}

TEST_CASE("an error location holding delimiters is escaped and cannot shift the ERR fields") {
    Message original = parse_ok(wire({msh(), "PID|1"}));
    for (const char* id : {"P|D", "P^D", "P~D", "P&D", "P\\D"}) {
        INFO(id);
        AckError e{"100", id, 1, 0, "bad segment"};
        Message ack = parse_ok(make_ack(original, AckCode::AE, e));
        CHECK(ack.get("ERR-2-1") == id);
        CHECK(ack.get("ERR-2-2") == "1");
        CHECK(ack.get("ERR-3-1") == "100");
        CHECK(ack.get("ERR-4") == "E");
        CHECK(ack.get("ERR-8") == "bad segment");
    }
    // As a HIS's message brings it: the segment ID is the bytes before the first field.
    Message ae = parse_ok(ack_for(wire({msh(), "PID|1", "P^D|1"})));
    CHECK(ae.get("MSA-1") == "AE");
    CHECK(ae.get("ERR-3-1") == "100");
    CHECK(ae.get("ERR-4") == "E");

    Message old_original = parse_ok(wire({msh("ADT^A01", "P", "2.3"), "PID|1"}));
    Message old = parse_ok(make_ack(old_original, AckCode::AE, AckError{"100", "P^D", 2, 0, "bad segment"}));
    CHECK(old.get("ERR-1-1") == "P^D");
    CHECK(old.get("ERR-1-2") == "2");
    CHECK(old.get("ERR-1-4-1") == "100");
}

TEST_CASE("the error code's place in ERR follows the version") {
    CHECK(std::string(err_code_path("2.3")) == "ERR-1-4-1");
    CHECK(std::string(err_code_path("2.4")) == "ERR-1-4-1");
    CHECK(std::string(err_code_path("2.5")) == "ERR-3-1");
    CHECK(std::string(err_code_path("2.5.1")) == "ERR-3-1");
    CHECK(std::string(err_code_path("2.8")) == "ERR-3-1");
}
