#include <catch2/catch.hpp>

#include "hl7/charset.h"
#include "hl7/message.h"
#include "support.h"

using namespace hisgate::hl7;
using hl7_test::wire;

namespace {

std::string header(std::string_view msh18) {
    return "MSH|^~\\&|LAB|HOSP|HISGATE|CLOUD|20240101||ORU^R01|1|P|2.5||||||" + std::string(msh18);
}

}  // namespace

TEST_CASE("MSH-18 names resolve to charsets - unknown ones are errors, never guesses") {
    CHECK(charset_from_hl7("ASCII").value() == Charset::Ascii);
    CHECK(charset_from_hl7("8859/1").value() == Charset::Iso8859_1);
    CHECK(charset_from_hl7("8859/2").value() == Charset::Iso8859_2);
    CHECK(charset_from_hl7("8859/9").value() == Charset::Iso8859_9);
    CHECK(charset_from_hl7("8859/15").value() == Charset::Iso8859_15);
    CHECK(charset_from_hl7("UNICODE UTF-8").value() == Charset::Utf8);
    CHECK(charset_from_hl7("GB 18030-2000").value() == Charset::Gb18030);
    CHECK(charset_from_hl7("GBK").value() == Charset::Gb18030);
    CHECK(charset_from_hl7("GB 2312").value() == Charset::Gb18030);
    CHECK(charset_from_hl7("UNICODE UTF-16").error().code == "hl7.charset_unsupported");
    CHECK(charset_from_hl7("BIG-5").error().code == "hl7.charset_unsupported");
    CHECK(charset_from_hl7("LATIN1").error().code == "hl7.charset_unknown");
    CHECK(charset_from_hl7("8859/10").error().code == "hl7.charset_unknown");
}

TEST_CASE("8859/1 text is transcoded to UTF-8 and written back unchanged") {
    std::string bytes = wire({header("8859/1"), "PID|1||X||M\xFCller^Ren\xE9\\S\\\xC9"});
    auto m = Message::parse(bytes);
    REQUIRE(m.ok());
    CHECK(m->charset() == Charset::Iso8859_1);
    CHECK(m->get("PID-5-1") == "Müller");
    CHECK(m->get("PID-5-2") == "René^É");
    CHECK(m->serialize() == bytes);

    REQUIRE(m->set("PID-5-1", "Gómez").ok());
    std::string out = m->serialize();
    CHECK(out.find("PID|1||X||G\xF3mez^Ren\xE9\\S\\\xC9\r") != std::string::npos);
    CHECK(m->set("PID-5-1", "张").error().code == "hl7.charset_unrepresentable");
}

TEST_CASE("other 8859 parts decode with their own tables") {
    // Byte 0xE6 is ц in 8859/5 and ć in 8859/2.
    auto m = Message::parse(wire({header("8859/5"), "PID|1||X||\xE6"}));
    REQUIRE(m.ok());
    CHECK(m->get("PID-5") == "ц");
    auto p = Message::parse(wire({header("8859/2"), "PID|1||X||\xE6"}));
    REQUIRE(p.ok());
    CHECK(p->get("PID-5") == "ć");
}

TEST_CASE("GB 18030 bytes whose second byte is a delimiter are not split") {
    // 億 is 83 7C and 俕 is 82 5E in GB 18030: their second bytes are '|' and '^'.
    std::string name = "\xD5\xC5^\x83\x7C\x82\x5E";  // 张^億俕
    std::string bytes = wire({"MSH|^~\\&|LAB|\x83\x7C\xD4\xBA|HISGATE|CLOUD|20240101||ORU^R01|1|P|2.5||||||GB 18030-2000",
                              "PID|1||X||" + name, "OBX|1|ST|NOTE||\x94\x39\xFC\x36\\F\\ok"});
    auto m = Message::parse(bytes);
    REQUIRE(m.ok());
    CHECK(m->charset() == Charset::Gb18030);
    CHECK(m->get("MSH-4") == "億院");
    CHECK(m->get("MSH-5") == "HISGATE");
    CHECK(m->get("PID-5-1") == "张");
    CHECK(m->get("PID-5-2") == "億俕");
    CHECK(m->get("OBX-5") == "😀|ok");
    CHECK(m->serialize() == bytes);

    REQUIRE(m->set("PID-5-1", "王|").ok());
    std::string out = m->serialize();
    CHECK(out.find("PID|1||X||\xCD\xF5\\F\\^\x83\x7C\x82\x5E\r") != std::string::npos);
    auto back = Message::parse(out);
    REQUIRE(back.ok());
    CHECK(back->get("PID-5-1") == "王|");
}

TEST_CASE("GBK and GB 2312 are read as GB 18030") {
    for (const char* name : {"GBK", "GB 2312"}) {
        auto m = Message::parse(wire({header(name), "PID|1||X||\xD2\xBD\xD4\xBA"}));
        REQUIRE(m.ok());
        CHECK(m->get("PID-5") == "医院");
    }
}

TEST_CASE("bytes not valid in the declared charset are errors with their offset") {
    std::string h = header("UNICODE UTF-8");
    ErrorSite site;
    auto m = Message::parse(wire({h, "PID|1||X||M\xFCller"}), {}, &site);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == "hl7.charset_invalid");
    CHECK(site.segment == 2);
    CHECK(site.offset == h.size() + 1 + 11);
    CHECK(m.error().message.find("0xFC") != std::string::npos);

    auto ascii = Message::parse(wire({header("ASCII"), "PID|1||X||caf\xC3\xA9"}));
    REQUIRE_FALSE(ascii.ok());
    CHECK(ascii.error().code == "hl7.charset_invalid");

    auto gb = Message::parse(wire({header("GB 18030-2000"), "PID|1||X||\x81"}));
    REQUIRE_FALSE(gb.ok());
    CHECK(gb.error().code == "hl7.charset_invalid");
}

TEST_CASE("an unknown MSH-18 is an error naming MSH-18") {
    ErrorSite site;
    auto m = Message::parse(wire({header("KLINGON"), "PID|1"}), {}, &site);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code == "hl7.charset_unknown");
    CHECK(site.field == 18);
    CHECK(site.segment_name == "MSH");
    CHECK(m.error().message.find("KLINGON") != std::string::npos);
}

TEST_CASE("an empty MSH-18 means the configured default charset") {
    std::string bytes = wire({header(""), "PID|1||X||M\xFCller"});
    CHECK_FALSE(Message::parse(bytes).ok());  // default UTF-8: 0xFC alone is invalid
    ParseOptions latin;
    latin.default_charset = Charset::Iso8859_1;
    auto m = Message::parse(bytes, latin);
    REQUIRE(m.ok());
    CHECK(m->get("PID-5") == "Müller");
    CHECK(m->serialize() == bytes);
}

TEST_CASE("the first repetition of MSH-18 is the message's charset") {
    auto m = Message::parse(wire({header("8859/1~GB 18030-2000"), "PID|1||X||\xE9"}));
    REQUIRE(m.ok());
    CHECK(m->charset() == Charset::Iso8859_1);
    CHECK(m->get("PID-5") == "é");
}

TEST_CASE("setting MSH-18 re-encodes the whole message") {
    auto m = Message::parse(wire({header("8859/1"), "PID|1||X||Ren\xE9"}));
    REQUIRE(m.ok());
    REQUIRE(m->set("MSH-18", "UNICODE UTF-8").ok());
    CHECK(m->charset() == Charset::Utf8);
    CHECK(m->serialize() == wire({header("UNICODE UTF-8"), "PID|1||X||René"}));
    CHECK(m->set("MSH-18", "EBCDIC").error().code == "hl7.charset_unknown");
    CHECK(m->get("MSH-18") == "UNICODE UTF-8");
    REQUIRE(m->set("PID-5", "张").ok());
    CHECK(m->set("MSH-18", "8859/1").error().code == "hl7.charset_unrepresentable");
    CHECK(m->charset() == Charset::Utf8);
}
