#include <catch2/catch.hpp>

#include "hl7/escape.h"

using namespace hisgate::hl7;

namespace {

std::string decoded(std::string_view leaf, const Delimiters& d = {}, Charset c = Charset::Utf8) {
    std::string out;
    unescape(leaf, d, c, out);
    return out;
}

}  // namespace

TEST_CASE("delimiter escapes decode to the message's own delimiters") {
    CHECK(decoded(R"(a\F\b\S\c\T\d\R\e\E\f)") == R"(a|b^c&d~e\f)");
    Delimiters odd{'#', '$', '*', '!', '%', '@'};
    CHECK(decoded("a!F!b!S!c!T!d!R!e!E!f!P!g", odd) == "a#b$c%d*e!f@g");
}

TEST_CASE("\\P\\ decodes to the truncation character only when MSH-2 declares one") {
    Delimiters with_truncation;
    with_truncation.truncation = '#';
    CHECK(decoded(R"(12\P\)", with_truncation) == "12#");
    CHECK(decoded(R"(12\P\)") == R"(12\P\)");
}

TEST_CASE("hex escapes decode to bytes, split characters included") {
    CHECK(decoded(R"(line1\X0D\\X0A\line2)") == "line1\r\nline2");
    CHECK(decoded(R"(caf\XC3A9\)") == "caf\xC3\xA9");
    CHECK(decoded(R"(caf\XC3\\XA9\)") == "caf\xC3\xA9");
    // Hex data is read in the message's charset: E9 is é in 8859/1.
    CHECK(decoded(R"(caf\XE9\)", {}, Charset::Iso8859_1) == "caf\xC3\xA9");
}

TEST_CASE("hex escapes that are not valid text in the charset stay verbatim") {
    CHECK(decoded(R"(a\XE9\b)") == R"(a\XE9\b)");
    CHECK(decoded(R"(a\XC3\b)") == R"(a\XC3\b)");
    CHECK(decoded(R"(a\X80\b)", {}, Charset::Ascii) == R"(a\X80\b)");
}

TEST_CASE("formatting escapes are kept verbatim") {
    for (const char* f : {R"(\H\)", R"(\N\)", R"(\.br\)", R"(\.sp\)", R"(\.sp3\)", R"(\.in+4\)", R"(\.ti-2\)",
                          R"(\.ce\)", R"(\.sk2\)", R"(\.fi\)", R"(\.nf\)", R"(\Cxxyy\)", R"(\Mxxyyzz\)", R"(\Zlocal\)"}) {
        INFO(f);
        std::string leaf = std::string("x") + f + "y";
        CHECK(decoded(leaf) == leaf);
    }
}

TEST_CASE("broken and lone escapes are kept verbatim") {
    CHECK(decoded(R"(C:\temp)") == R"(C:\temp)");
    CHECK(decoded(R"(\)") == R"(\)");
    CHECK(decoded(R"(\\F\)") == R"(\|)");
    CHECK(decoded(R"(\X0\)") == R"(\X0\)");
    CHECK(decoded(R"(\XZZ\)") == R"(\XZZ\)");
    CHECK(decoded(R"(\Q\)") == R"(\Q\)");
    CHECK(decoded(R"(ends with \S)") == R"(ends with \S)");
}

TEST_CASE("escaping a value round-trips through decoding") {
    std::string value = "a|b^c&d~e\\f\rg\nh #@ é 中";
    auto encoded = escape(value, {});
    REQUIRE(encoded.ok());
    CHECK(*encoded == R"(a\F\b\S\c\T\d\R\e\E\f\X0D\g\X0A\h #@ é 中)");
    CHECK(decoded(*encoded) == value);

    Delimiters with_truncation;
    with_truncation.truncation = '#';
    auto t = escape(value, with_truncation);
    REQUIRE(t.ok());
    CHECK(t->find('#') == std::string::npos);
    CHECK(decoded(*t, with_truncation) == value);
}

TEST_CASE("a delimiter cannot be escaped when the message declares no escape character") {
    Delimiters no_escape{'|', '^', '~', kAbsent, kAbsent, kAbsent};
    auto r = escape("a^b", no_escape);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "hl7.unescapable");
    CHECK(escape("plain & simple", no_escape).value() == "plain & simple");
}
