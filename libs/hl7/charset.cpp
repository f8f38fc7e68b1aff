#include "hl7/charset.h"

#include <iconv.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

namespace hisgate::hl7 {

namespace {

struct CharsetInfo {
    Charset charset;
    std::string_view hl7;   // the table 0211 code written to MSH-18
    const char* iconv;      // glibc iconv name
};

constexpr std::array<CharsetInfo, 13> kCharsets{{
    {Charset::Ascii, "ASCII", "ASCII"},
    {Charset::Utf8, "UNICODE UTF-8", "UTF-8"},
    {Charset::Iso8859_1, "8859/1", "ISO-8859-1"},
    {Charset::Iso8859_2, "8859/2", "ISO-8859-2"},
    {Charset::Iso8859_3, "8859/3", "ISO-8859-3"},
    {Charset::Iso8859_4, "8859/4", "ISO-8859-4"},
    {Charset::Iso8859_5, "8859/5", "ISO-8859-5"},
    {Charset::Iso8859_6, "8859/6", "ISO-8859-6"},
    {Charset::Iso8859_7, "8859/7", "ISO-8859-7"},
    {Charset::Iso8859_8, "8859/8", "ISO-8859-8"},
    {Charset::Iso8859_9, "8859/9", "ISO-8859-9"},
    {Charset::Iso8859_15, "8859/15", "ISO-8859-15"},
    {Charset::Gb18030, "GB 18030-2000", "GB18030"},
}};

// Spellings senders use for GB 18030's family; GBK and GB 2312 are subsets, so the GB 18030
// decoder reads them exactly.
constexpr std::array<std::string_view, 5> kGbAliases{"GB18030", "GB 18030", "GBK", "GB 2312", "GB2312"};

// Table 0211 values that are real but not read here (not ASCII-compatible, or no demand).
constexpr std::array<std::string_view, 9> kUnsupported{"UNICODE",  "UNICODE UTF-16", "UNICODE UTF-32",
                                                        "ISO IR14", "ISO IR87",       "ISO IR159",
                                                        "KS X 1001", "CNS 11643-1992", "BIG-5"};

const CharsetInfo& info(Charset c) {
    for (const auto& i : kCharsets)
        if (i.charset == c) return i;
    return kCharsets[1];
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
        if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
        if (x != y) return false;
    }
    return true;
}

// One converter per direction and charset per thread: iconv_open is costly, and an
// iconv_t is not safe to share between threads.
iconv_t converter(const char* to, const char* from) {
    struct Entry {
        const char* to;
        const char* from;
        iconv_t cd;
    };
    thread_local std::array<Entry, 2 * kCharsets.size()> cache{};
    for (auto& e : cache) {
        if (e.to == to && e.from == from) return e.cd;
        if (!e.to) {
            e = Entry{to, from, iconv_open(to, from)};
            return e.cd;
        }
    }
    return iconv_open(to, from);  // unreachable: the cache holds every pair
}

// Runs iconv over all of `in`; returns the offset where the input stopped being valid.
std::size_t run_iconv(iconv_t cd, std::string_view in, std::string& out) {
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
    char* src = const_cast<char*>(in.data());
    std::size_t src_left = in.size();
    std::size_t start = out.size();
    out.resize(start + in.size() * 2 + 16);
    char* dst = out.data() + start;
    std::size_t dst_left = out.size() - start;
    while (src_left > 0) {
        std::size_t r = iconv(cd, &src, &src_left, &dst, &dst_left);
        if (r != static_cast<std::size_t>(-1)) break;
        if (errno == E2BIG) {
            std::size_t used = dst - out.data();
            out.resize(out.size() * 2);
            dst = out.data() + used;
            dst_left = out.size() - used;
            continue;
        }
        out.resize(dst - out.data());
        return src - in.data();  // EILSEQ or EINVAL (truncated sequence)
    }
    // Flush any shift state.
    iconv(cd, nullptr, nullptr, &dst, &dst_left);
    out.resize(dst - out.data());
    return std::string_view::npos;
}

}  // namespace

Result<Charset> charset_from_hl7(std::string_view msh18) {
    for (const auto& i : kCharsets)
        if (iequals(msh18, i.hl7)) return i.charset;
    for (auto alias : kGbAliases)
        if (iequals(msh18, alias)) return Charset::Gb18030;
    for (auto name : kUnsupported)
        if (iequals(msh18, name)) {
            return make_error(ErrorClass::BadInput, "hl7.charset_unsupported",
                              "MSH-18 character set '" + std::string(msh18) +
                                  "' is not supported; expected ASCII, 8859/1-9, 8859/15, UNICODE UTF-8 or GB 18030-2000");
        }
    return make_error(ErrorClass::BadInput, "hl7.charset_unknown",
                      "MSH-18 character set '" + std::string(msh18) +
                          "' is not an HL7 table 0211 value; expected ASCII, 8859/1-9, 8859/15, UNICODE UTF-8 or "
                          "GB 18030-2000 (GBK, GB 2312)");
}

std::string_view hl7_name(Charset c) { return info(c).hl7; }

bool ascii_safe(Charset c) { return c != Charset::Gb18030; }

std::size_t invalid_utf8_at(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        // Fast path: eight ASCII bytes at a time.
        if (i + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned char c = p[i];
        if (c < 0x80) { ++i; continue; }
        std::size_t len;
        std::uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
        else return i;
        if (i + len > n) return i;
        for (std::size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return std::string_view::npos;
}

Result<void> to_utf8(std::string_view bytes, Charset from, std::string* out, std::size_t* bad_offset) {
    std::size_t bad = std::string_view::npos;
    if (from == Charset::Utf8 || from == Charset::Ascii) {
        if (from == Charset::Ascii) {
            for (std::size_t i = 0; i < bytes.size(); ++i)
                if (static_cast<unsigned char>(bytes[i]) >= 0x80) { bad = i; break; }
        } else {
            bad = invalid_utf8_at(bytes);
        }
        if (bad == std::string_view::npos && out) out->append(bytes);
    } else {
        std::string scratch;
        std::string& dst = out ? *out : scratch;
        std::size_t before = dst.size();
        bad = run_iconv(converter("UTF-8", info(from).iconv), bytes, dst);
        if (bad != std::string_view::npos) dst.resize(before);
    }
    if (bad == std::string_view::npos) return {};
    if (bad_offset) *bad_offset = bad;
    static const char* hex = "0123456789ABCDEF";
    auto b = static_cast<unsigned char>(bytes[bad]);
    return make_error(ErrorClass::BadInput, "hl7.charset_invalid",
                      std::string("byte 0x") + hex[b >> 4] + hex[b & 15] + " at offset " + std::to_string(bad) +
                          " is not valid " + std::string(info(from).hl7) + " text");
}

Result<std::string> from_utf8(std::string_view utf8, Charset to) {
    std::string out;
    if (to == Charset::Utf8 || to == Charset::Ascii) {
        std::size_t bad = invalid_utf8_at(utf8);
        if (to == Charset::Ascii && bad == std::string_view::npos)
            for (std::size_t i = 0; i < utf8.size(); ++i)
                if (static_cast<unsigned char>(utf8[i]) >= 0x80) { bad = i; break; }
        if (bad == std::string_view::npos) return std::string(utf8);
        return make_error(ErrorClass::BadInput, "hl7.charset_unrepresentable",
                          "text at offset " + std::to_string(bad) + " cannot be written as " + std::string(info(to).hl7));
    }
    std::size_t bad = run_iconv(converter(info(to).iconv, "UTF-8"), utf8, out);
    if (bad != std::string_view::npos) {
        return make_error(ErrorClass::BadInput, "hl7.charset_unrepresentable",
                          "text at offset " + std::to_string(bad) + " cannot be written as " + std::string(info(to).hl7));
    }
    return out;
}

}  // namespace hisgate::hl7
