// Issue 14: a doctor named 王芳 is found by 王, 芳, wang, fang, wangfang and wf; hospital
// and department names likewise.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "pinyin/pinyin.h"

using namespace hisgate::pinyin;
using Pieces = std::vector<std::string>;

namespace {
bool finds(std::string_view text, std::string_view query) {
    return search_text(text).find(query) != std::string::npos;
}
}  // namespace

TEST_CASE("pinyin: 王芳 is wang fang, initials wf, and found by each") {
    CHECK(syllables("王芳") == Pieces{"wang", "fang"});
    CHECK(search_text("王芳") == "王芳\nwangfang\nwf");
    for (std::string_view q : {"王", "芳", "王芳", "wang", "fang", "wangfang", "wf"}) {
        INFO(q);
        CHECK(finds("王芳", q));
    }
    CHECK_FALSE(finds("王芳", "li"));
    CHECK_FALSE(finds("王芳", "芳w"));  // the end of one line and the start of the next
}

TEST_CASE("pinyin: department and title names") {
    CHECK(syllables("内科") == Pieces{"nei", "ke"});
    CHECK(search_text("内科") == "内科\nneike\nnk");
    CHECK(search_text("王芳 主任医师") == "王芳 主任医师\nwangfang zhurenyishi\nwf zrys");
    CHECK(finds("北京协和医院", "xiehe"));
    CHECK(finds("北京协和医院", "bjxhyy"));
}

TEST_CASE("pinyin: Latin text is kept, lowercased in the pinyin lines; mixed text keeps its order") {
    CHECK(syllables("Li Wei") == Pieces{"li wei"});
    CHECK(search_text("Li Wei") == "Li Wei\nli wei\nli wei");
    CHECK(syllables("Dr 王芳, MD") == Pieces{"dr ", "wang", "fang", ", md"});
    CHECK(search_text("Dr 王芳, MD") == "Dr 王芳, MD\ndr wangfang, md\ndr wf, md");
    CHECK(syllables("B超室") == Pieces{"b", "chao", "shi"});
    CHECK(search_text("ICU2病区") == "ICU2病区\nicu2bingqu\nicu2bq");
}

TEST_CASE("pinyin: characters without a reading are kept as they are") {
    CHECK(syllables("王・芳") == Pieces{"wang", "・", "fang"});
    CHECK(syllables("さくら") == Pieces{"さくら"});
    CHECK(search_text("王（芳）") == "王（芳）\nwang（fang）\nw（f）");
}

TEST_CASE("pinyin: the empty string") {
    CHECK(syllables("").empty());
    CHECK(search_text("") == "\n\n");
}

TEST_CASE("pinyin: a character outside the BMP (U+20000) is read like any other") {
    CHECK(syllables("\xF0\xA0\x80\x80王") == Pieces{"he", "wang"});
    CHECK(search_text("\xF0\xA0\x80\x80") == "\xF0\xA0\x80\x80\nhe\nh");
}

TEST_CASE("pinyin: bytes that are not UTF-8 become U+FFFD in every line; the rest is still read") {
    const std::string fffd = "\xEF\xBF\xBD";
    // 王 truncated before 芳: one U+FFFD for the maximal subpart E7 8E.
    CHECK(syllables("\xE7\x8E芳") == Pieces{fffd, "fang"});
    CHECK(search_text("\xE7\x8E芳") == fffd + "芳\n" + fffd + "fang\n" + fffd + "f");
    // Truncated at the very end of the input.
    CHECK(syllables("王\xE8\x8A") == Pieces{"wang", fffd});
    // An overlong '/' (C0 AF) is two.
    CHECK(syllables("a\xC0\xAF" "b") == Pieces{"a" + fffd + fffd + "b"});
    // GBK 王芳 (CD F5 B7 BC) misread as UTF-8: four stray bytes, four U+FFFD.
    CHECK(search_text("\xCD\xF5\xB7\xBC") == fffd + fffd + fffd + fffd + "\n" + fffd + fffd + fffd + fffd + "\n" +
                                                 fffd + fffd + fffd + fffd);
}

TEST_CASE("pinyin: every prefix of a mixed string is handled, whatever byte it is cut at") {
    // Cutting text in the middle of a character is how truncated input arrives (a column
    // width in bytes); each prefix is decoded from a buffer that ends where it does.
    const std::string text = "Dr 王芳 \xF0\xA0\x80\x80 内科";
    for (std::size_t n = 0; n <= text.size(); ++n) {
        auto buffer = std::make_unique<char[]>(n);  // no terminator after it, unlike a std::string
        std::copy_n(text.data(), n, buffer.get());
        const std::string out = search_text(std::string_view(buffer.get(), n));
        syllables(std::string_view(buffer.get(), n));
        CHECK(std::count(out.begin(), out.end(), '\n') == 2);
    }
    CHECK(search_text(text) == text + "\ndr wangfang he neike\ndr wf h nk");
}
