#include "pinyin/pinyin.h"

#include "pinyin/reading.h"
#include "pinyin/utf8.h"

namespace hisgate::pinyin {

namespace {

enum class Form { Original, FullPinyin, Initials };

// Appends a character that is not replaced by a reading, in the form's spelling.
void append_other(std::string& out, const Decoded& d, std::string_view bytes, Form form) {
    if (d.ill_formed) {
        append_utf8(out, kReplacement);
    } else if (form != Form::Original && d.code_point >= 'A' && d.code_point <= 'Z') {
        out.push_back(static_cast<char>(d.code_point - 'A' + 'a'));
    } else {
        out.append(bytes.substr(0, d.length));  // well-formed: its own bytes
    }
}

// Appends one of search_text's lines. Allocates only when `out` outgrows its reserve.
void append_form(std::string& out, std::string_view text, Form form) {
    while (!text.empty()) {
        const Decoded d = decode_front(text);
        const std::string_view r = form == Form::Original ? std::string_view{} : reading(d.code_point);
        if (r.empty()) append_other(out, d, text, form);
        else if (form == Form::FullPinyin) out.append(r);
        else out.push_back(r.front());
        text.remove_prefix(d.length);
    }
}

}  // namespace

std::vector<std::string> syllables(std::string_view utf8) {
    std::vector<std::string> pieces;
    bool in_run = false;  // true while pieces.back() is a run of non-Han characters
    while (!utf8.empty()) {
        const Decoded d = decode_front(utf8);
        if (const std::string_view r = reading(d.code_point); !r.empty()) {
            pieces.emplace_back(r);
            in_run = false;
        } else {
            if (!in_run) pieces.emplace_back();
            in_run = true;
            append_other(pieces.back(), d, utf8, Form::FullPinyin);
        }
        utf8.remove_prefix(d.length);
    }
    return pieces;
}

std::string search_text(std::string_view utf8) {
    std::string out;
    // Room for all three lines in the common case: a 3-byte Han character becomes at most
    // 6 letters (2x), its initial 1 byte; anything else keeps its size, but U+FFFD (3 bytes)
    // may stand for one ill-formed byte, hence the margin.
    out.reserve(utf8.size() * 4 + 2);
    append_form(out, utf8, Form::Original);
    out.push_back('\n');
    append_form(out, utf8, Form::FullPinyin);
    out.push_back('\n');
    append_form(out, utf8, Form::Initials);
    return out;
}

}  // namespace hisgate::pinyin
