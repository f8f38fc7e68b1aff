// The reading table generated at build time from Unihan's kMandarin field
// (generator/make_table.cpp); the data is never kept in the repository.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace hisgate::pinyin::detail {

// An entry packs a code point and its syllable into one word, so the table is 4 bytes a
// character and a lookup is one binary search: code_point << kSyllableBits | syllable index.
// A code point needs at most 21 bits, which leaves 11 for the index (Unihan 15 has 416
// toneless syllables; the generator refuses more than fit).
inline constexpr unsigned kSyllableBits = 11;
inline constexpr std::uint32_t kSyllableMask = (std::uint32_t{1} << kSyllableBits) - 1;

// Every character with a kMandarin reading, in ascending code point order, each code point
// once (so ascending as plain integers too).
std::span<const std::uint32_t> reading_entries();

// The toneless syllables the entries index: lowercase ASCII, non-empty, 'v' for ü.
std::span<const std::string_view> syllable_names();

}  // namespace hisgate::pinyin::detail
