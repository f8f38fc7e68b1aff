#include "pinyin/reading.h"

#include <algorithm>
#include <cstdint>

#include "pinyin/table.h"

namespace hisgate::pinyin {

std::string_view reading(char32_t cp) {
    if (cp > 0x10FFFF) return {};  // would not fit the entry's code point bits
    const auto entries = detail::reading_entries();
    // Most text is Latin, below the first Han character: answered without a search.
    if (entries.empty() || cp < (entries.front() >> detail::kSyllableBits)) return {};
    const std::uint32_t key = static_cast<std::uint32_t>(cp) << detail::kSyllableBits;
    // The first entry not below `key` is cp's own when cp has one (its index bits only add).
    const auto it = std::lower_bound(entries.begin(), entries.end(), key);
    if (it == entries.end() || (*it >> detail::kSyllableBits) != cp) return {};
    return detail::syllable_names()[*it & detail::kSyllableMask];
}

}  // namespace hisgate::pinyin
