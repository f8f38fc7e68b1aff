// One character's reading, from the table generated out of Unihan's kMandarin field.
#include <catch2/catch.hpp>

#include <algorithm>

#include "pinyin/reading.h"
#include "pinyin/table.h"

using namespace hisgate::pinyin;

TEST_CASE("reading: common Han characters have their toneless pinyin") {
    CHECK(reading(U'王') == "wang");
    CHECK(reading(U'芳') == "fang");
    CHECK(reading(U'内') == "nei");
    CHECK(reading(U'科') == "ke");
    CHECK(reading(U'医') == "yi");
}

TEST_CASE("reading: ü is spelled v") {
    CHECK(reading(U'绿') == "lv");
    CHECK(reading(U'女') == "nv");
    CHECK(reading(U'吕') == "lv");
}

TEST_CASE("reading: a heteronym has its first kMandarin reading only") {
    CHECK(reading(U'长') == "zhang");  // not chang
    CHECK(reading(U'万') == "wan");    // kMandarin "wàn mò"
    CHECK(reading(U'曾') == "ceng");   // the surname Zeng is missed, as pinyin/reading.h says
}

TEST_CASE("reading: a character outside the BMP (CJK Extension B) has its reading") {
    CHECK(reading(0x20000) == "he");  // 𠀀, kMandarin hē
}

TEST_CASE("reading: characters that are not Han, and values that are not code points, have none") {
    CHECK(reading(U'a').empty());
    CHECK(reading(U' ').empty());
    CHECK(reading(0).empty());
    CHECK(reading(0xFFFD).empty());
    CHECK(reading(U'あ').empty());
    CHECK(reading(0x10FFFF).empty());
    CHECK(reading(0x110000).empty());
    CHECK(reading(0xFFFFFFFF).empty());
}

TEST_CASE("reading: the generated table holds the invariants the lookup relies on") {
    const auto entries = detail::reading_entries();
    const auto names = detail::syllable_names();
    CHECK(entries.size() > 40000);  // Unihan 15: 41,420
    CHECK(std::adjacent_find(entries.begin(), entries.end(), [](std::uint32_t a, std::uint32_t b) {
              return (a >> detail::kSyllableBits) >= (b >> detail::kSyllableBits);
          }) == entries.end());
    CHECK(std::all_of(entries.begin(), entries.end(),
                      [&](std::uint32_t e) { return (e & detail::kSyllableMask) < names.size(); }));
    CHECK(std::all_of(names.begin(), names.end(), [](std::string_view s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    }));
}
