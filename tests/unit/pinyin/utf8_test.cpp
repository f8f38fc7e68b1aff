// The decoder under pinyin: ill-formed input costs U+FFFD per maximal subpart, and no read
// goes past the input (each case decodes a copy that ends exactly where the text does, so
// ASan would see a read past it).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "pinyin/utf8.h"

using namespace hisgate::pinyin;

namespace {
// Every code point of `bytes`, decoded from a heap buffer exactly as long as the text.
std::vector<char32_t> decode_all(const std::string& bytes) {
    auto buffer = std::make_unique<char[]>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), buffer.get());
    std::string_view text(buffer.get(), bytes.size());
    std::vector<char32_t> out;
    while (!text.empty()) {
        const Decoded d = decode_front(text);
        REQUIRE(d.length >= 1);
        REQUIRE(d.length <= text.size());
        CHECK(d.ill_formed == (d.code_point == kReplacement && text.substr(0, 3) != "\xEF\xBF\xBD"));
        out.push_back(d.code_point);
        text.remove_prefix(d.length);
    }
    return out;
}
constexpr char32_t R = kReplacement;
}  // namespace

TEST_CASE("utf8: well-formed text of every length decodes to its code points") {
    CHECK(decode_all("a") == std::vector<char32_t>{U'a'});
    CHECK(decode_all("ü") == std::vector<char32_t>{0xFC});
    CHECK(decode_all("王芳") == std::vector<char32_t>{0x738B, 0x82B3});
    CHECK(decode_all("\xF0\xA0\x80\x80") == std::vector<char32_t>{0x20000});  // 𠀀
    CHECK(decode_all("\xF4\x8F\xBF\xBF") == std::vector<char32_t>{0x10FFFF});
    CHECK(decode_all("\xEF\xBF\xBD") == std::vector<char32_t>{R});  // a real U+FFFD, well-formed
}

TEST_CASE("utf8: a truncated sequence is one U+FFFD, and the byte after it is decoded on its own") {
    CHECK(decode_all("\xE7\x8E") == std::vector<char32_t>{R});        // 王 without its last byte
    CHECK(decode_all("\xE7\x8E" "a") == std::vector<char32_t>{R, U'a'});
    CHECK(decode_all("\xE7\x8E\xE7\x8E\x8B") == std::vector<char32_t>{R, 0x738B});
    CHECK(decode_all("\xF0\xA0\x80") == std::vector<char32_t>{R});
    CHECK(decode_all("\xC3") == std::vector<char32_t>{R});
}

TEST_CASE("utf8: overlong forms, surrogates, values past U+10FFFF and stray bytes are U+FFFD each byte") {
    CHECK(decode_all("\xC0\xAF") == std::vector<char32_t>{R, R});          // overlong '/'
    CHECK(decode_all("\xE0\x80\xAF") == std::vector<char32_t>{R, R, R});   // overlong '/'
    CHECK(decode_all("\xF0\x80\x80\xAF") == std::vector<char32_t>{R, R, R, R});
    CHECK(decode_all("\xED\xA0\x80") == std::vector<char32_t>{R, R, R});   // surrogate U+D800
    CHECK(decode_all("\xF4\x90\x80\x80") == std::vector<char32_t>{R, R, R, R});  // U+110000
    CHECK(decode_all("\x80\xBF") == std::vector<char32_t>{R, R});          // continuation bytes alone
    CHECK(decode_all("\xFF\xFE") == std::vector<char32_t>{R, R});
    CHECK(decode_all("\xCD\xF5") == std::vector<char32_t>{R, R});          // GBK 王 read as UTF-8
}

TEST_CASE("utf8: append_utf8 writes what decode_front reads") {
    for (char32_t cp : {char32_t{0x41}, char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800},
                        char32_t{0x738B}, char32_t{0xFFFD}, char32_t{0x10000}, char32_t{0x20000}, char32_t{0x10FFFF}}) {
        std::string s;
        append_utf8(s, cp);
        const Decoded d = decode_front(s);
        CHECK(d.code_point == cp);
        CHECK(d.length == s.size());
        CHECK_FALSE(d.ill_formed);
    }
}
