#include "pinyin/utf8.h"

namespace hisgate::pinyin {

namespace {
bool in(unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; }
}  // namespace

Decoded decode_front(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return {lead, 1, false};

    // The lead byte fixes the sequence's length and the range its second byte must fall in
    // (Unicode Table 3-7); narrowing the second byte's range is what rules out overlong
    // forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4).
    std::size_t length = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    char32_t cp = 0;
    if (in(lead, 0xC2, 0xDF)) { length = 2; cp = lead & 0x1F; }
    else if (in(lead, 0xE0, 0xEF)) {
        length = 3; cp = lead & 0x0F;
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
    } else if (in(lead, 0xF0, 0xF4)) {
        length = 4; cp = lead & 0x07;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    } else {
        return {kReplacement, 1, true};  // 80..C1 (continuation or overlong lead), F5..FF
    }

    // Invariant: bytes [0, i) form a valid prefix. The first byte that breaks it (or the
    // end of the text) ends the maximal subpart, and is not consumed.
    for (std::size_t i = 1; i < length; ++i) {
        if (i >= text.size() || !in(byte(i), lo, hi)) return {kReplacement, i, true};
        cp = (cp << 6) | (byte(i) & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    return {cp, length, false};
}

void append_utf8(std::string& out, char32_t cp) {
    const auto put = [&](char32_t bits) { out.push_back(static_cast<char>(bits)); };
    if (cp < 0x80) {
        put(cp);
    } else if (cp < 0x800) {
        put(0xC0 | (cp >> 6));
        put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        put(0xE0 | (cp >> 12));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    } else {
        put(0xF0 | (cp >> 18));
        put(0x80 | ((cp >> 12) & 0x3F));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    }
}

}  // namespace hisgate::pinyin
