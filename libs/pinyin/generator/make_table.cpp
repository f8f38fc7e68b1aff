// Writes the C++ source of hisgate_pinyin's reading table (pinyin/table.h) from
// Unihan_Readings.txt, read decompressed on stdin; the source goes to stdout.
//
//   bzcat /usr/share/unicode/Unihan_Readings.txt.bz2 | hisgate_pinyin_table_gen > table.cpp
//
// Only kMandarin lines are read ("U+738B<TAB>kMandarin<TAB>wáng"); of a field with several
// readings ("U+4E07<TAB>kMandarin<TAB>wàn mò") the first, the most common, is kept. Tone
// marks are stripped and ü becomes 'v'. Anything unexpected (a letter this program does not
// know, a code point twice, a table too large for the entry format) fails the build with
// the line's number rather than producing a table that is silently wrong.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace {

constexpr unsigned kSyllableBits = 11;  // as pinyin/table.h

[[noreturn]] void fail(long line, const std::string& why) {
    std::cerr << "hisgate_pinyin_table_gen: line " << line << ": " << why << "\n";
    std::exit(1);
}

// The next code point of well-formed UTF-8 `s` from `i` (Unihan files are UTF-8); -1 when
// the bytes are not UTF-8.
long next_code_point(std::string_view s, std::size_t& i) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return -1;
    long cp = n == 1 ? b : b & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (c & 0x3F);
    }
    i += n;
    return cp;
}

// The toneless letter a pinyin character stands for: 0 for a combining mark (dropped),
// -1 for anything this program does not know.
int base_letter(long cp) {
    if (cp >= 'a' && cp <= 'z') return static_cast<int>(cp);
    if (cp >= 'A' && cp <= 'Z') return static_cast<int>(cp - 'A' + 'a');
    if (cp >= 0x300 && cp <= 0x36F) return 0;  // combining tone marks (decomposed text)
    switch (cp) {
        case U'ā': case U'á': case U'ǎ': case U'à': return 'a';
        case U'ē': case U'é': case U'ě': case U'è': case U'ê': case U'ế': case U'ề': return 'e';
        case U'ī': case U'í': case U'ǐ': case U'ì': return 'i';
        case U'ō': case U'ó': case U'ǒ': case U'ò': return 'o';
        case U'ū': case U'ú': case U'ǔ': case U'ù': return 'u';
        case U'ü': case U'ǖ': case U'ǘ': case U'ǚ': case U'ǜ': return 'v';
        case U'ń': case U'ň': case U'ǹ': return 'n';
        case U'ḿ': return 'm';
        default: return -1;
    }
}

std::string toneless(std::string_view reading, long line) {
    std::string out;
    for (std::size_t i = 0; i < reading.size();) {
        const long cp = next_code_point(reading, i);
        if (cp < 0) fail(line, "not UTF-8");
        if (cp == 0x308 && !out.empty() && out.back() == 'u') {  // u + combining diaeresis
            out.back() = 'v';
            continue;
        }
        const int letter = base_letter(cp);
        if (letter < 0) {
            char hex[24];
            std::snprintf(hex, sizeof hex, "U+%04lX", cp);
            fail(line, std::string("no toneless letter known for ") + hex + " (add it to base_letter)");
        }
        if (letter > 0) out.push_back(static_cast<char>(letter));
    }
    if (out.empty()) fail(line, "empty reading");
    return out;
}

}  // namespace

int main() {
    std::map<std::uint32_t, std::string> readings;  // code point -> toneless syllable
    std::string version = "unknown";
    std::string text;
    long line = 0;
    while (std::getline(std::cin, text)) {
        ++line;
        if (text.rfind("# Unicode version: ", 0) == 0) version = text.substr(19);
        if (text.empty() || text[0] == '#') continue;
        const std::size_t tab1 = text.find('\t');
        const std::size_t tab2 = tab1 == std::string::npos ? tab1 : text.find('\t', tab1 + 1);
        if (tab2 == std::string::npos) fail(line, "expected U+XXXX<TAB>field<TAB>value");
        if (std::string_view(text).substr(tab1 + 1, tab2 - tab1 - 1) != "kMandarin") continue;
        if (text.rfind("U+", 0) != 0) fail(line, "expected a code point as U+XXXX");
        std::size_t used = 0;
        unsigned long cp = 0;
        try {
            cp = std::stoul(text.substr(2, tab1 - 2), &used, 16);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != tab1 - 2 || cp > 0x10FFFF) fail(line, "bad code point");
        std::string_view value = std::string_view(text).substr(tab2 + 1);
        value = value.substr(0, value.find(' '));  // the first reading is the most common
        if (!readings.emplace(static_cast<std::uint32_t>(cp), toneless(value, line)).second)
            fail(line, "a second kMandarin field for the same code point");
    }
    // A few thousand would mean a truncated or different file (Unihan 15 has 41,420).
    if (readings.size() < 20000)
        fail(line, "only " + std::to_string(readings.size()) + " kMandarin readings: not Unihan_Readings.txt?");

    std::map<std::string, std::uint32_t> index;  // syllable -> its index, alphabetical
    for (const auto& [cp, syllable] : readings) index.emplace(syllable, 0);
    if (index.size() > (std::size_t{1} << kSyllableBits)) fail(line, "too many syllables for the entry format");
    std::uint32_t next = 0;
    for (auto& [syllable, i] : index) i = next++;

    std::printf("// Generated by hisgate_pinyin_table_gen (libs/pinyin/generator/make_table.cpp) from\n"
                "// Unihan_Readings.txt, Unicode %s: %zu characters, %zu syllables. Do not edit.\n"
                "#include \"pinyin/table.h\"\n\n"
                "namespace hisgate::pinyin::detail {\n\nnamespace {\n\n"
                "constexpr std::string_view kSyllables[] = {",
                version.c_str(), readings.size(), index.size());
    std::size_t column = 0;
    for (const auto& [syllable, i] : index)
        std::printf("%s\"%s\",", column++ % 12 == 0 ? "\n    " : " ", syllable.c_str());
    std::printf("\n};\n\n// code point << %u | index into kSyllables, ascending (pinyin/table.h)\n"
                "constexpr std::uint32_t kEntries[] = {",
                kSyllableBits);
    column = 0;
    // std::map iterates in ascending code point order: the order the lookup relies on.
    for (const auto& [cp, syllable] : readings)
        std::printf("%s0x%08x,", column++ % 8 == 0 ? "\n    " : " ", (cp << kSyllableBits) | index.at(syllable));
    std::printf("\n};\n\n}  // namespace\n\n"
                "std::span<const std::uint32_t> reading_entries() { return kEntries; }\n"
                "std::span<const std::string_view> syllable_names() { return kSyllables; }\n\n"
                "}  // namespace hisgate::pinyin::detail\n");
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) fail(line, "could not write the table");
    return 0;
}
