#include "hl7/message.h"

#include <algorithm>
#include <cstring>

#include "hl7/path.h"

namespace hisgate::hl7 {

namespace {

struct Line {
    std::size_t begin, end;  // [begin, end) without terminator
};

bool segment_id_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Whether a segment can start at `p`: a segment ID, then the field separator or the end
// of the line.
bool segment_starts(std::string_view bytes, std::size_t p, char field) {
    if (p + 3 > bytes.size()) return false;
    if (!segment_id_char(bytes[p]) || !segment_id_char(bytes[p + 1]) || !segment_id_char(bytes[p + 2])) return false;
    return p + 3 == bytes.size() || bytes[p + 3] == field || bytes[p + 3] == '\r' || bytes[p + 3] == '\n';
}

struct Lines {
    std::vector<Line> lines;
    TerminatorCounts counts;
    std::size_t empty = 0, first_empty = 0;     // empty lines after the first segment
    std::size_t breaks = 0, first_break = 0;    // bare LFs kept as data
};

// Splits at CR, LF and CRLF, counting each kind; empty lines are dropped. A bare LF
// followed by text that cannot start a segment is a line break inside a field (senders
// using LF as terminator also put LF in free text): it is kept as data and counted.
Lines split_lines(std::string_view bytes, char field) {
    Lines out;
    const char* data = bytes.data();
    const std::size_t n = bytes.size();
    // The next CR and LF are each found once by memchr and reused until passed.
    const char* next_cr = nullptr;
    const char* next_lf = nullptr;
    std::size_t pos = 0, line_start = 0;
    while (pos < n) {
        if (!next_cr || next_cr < data + pos) {
            next_cr = static_cast<const char*>(std::memchr(data + pos, '\r', n - pos));
            if (!next_cr) next_cr = data + n;
        }
        if (!next_lf || next_lf < data + pos) {
            next_lf = static_cast<const char*>(std::memchr(data + pos, '\n', n - pos));
            if (!next_lf) next_lf = data + n;
        }
        const char* end = std::min(next_cr, next_lf);
        std::size_t e = end - data;
        std::size_t after = e;
        if (end < data + n) {
            if (*end == '\r' && e + 1 < n && data[e + 1] == '\n') {
                ++out.counts.crlf;
                after = e + 2;
            } else if (*end == '\n' && e > line_start && e + 1 < n && !segment_starts(bytes, e + 1, field) &&
                       data[e + 1] != '\r' && data[e + 1] != '\n') {
                if (out.breaks++ == 0) out.first_break = e;
                pos = e + 1;
                continue;
            } else {
                ++(*end == '\r' ? out.counts.cr : out.counts.lf);
                after = e + 1;
            }
        }
        if (e > line_start) {
            out.lines.push_back({line_start, e});
        } else if (!out.lines.empty() && out.empty++ == 0) {
            out.first_empty = line_start;
        }
        pos = line_start = after;
    }
    return out;
}

std::string shown(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 12)) {
        if (c >= 0x20 && c < 0x7f) out += c;
        else out += '?';
    }
    return out;
}

// The first repetition of MSH-18. With `gb_aware`, a byte from 0x81 hides the next one:
// in GB 18030 that byte may be '|' or '^' without being a delimiter.
std::string_view find_msh18(std::string_view msh, const Delimiters& d, bool gb_aware) {
    std::size_t field = 2;  // scanning MSH-2, which starts at byte 4
    std::size_t start = 4;
    for (std::size_t i = 4; i < msh.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(msh[i]);
        if (gb_aware && c >= 0x81 && c <= 0xfe) {
            ++i;
            continue;
        }
        if (msh[i] == d.field) {
            ++field;
            if (field == 18) {
                start = i + 1;
            } else if (field == 19) {
                return Pieces(msh.substr(start, i - start), d.repetition).at(0);
            }
        }
    }
    if (field == 18) return Pieces(msh.substr(start), d.repetition).at(0);
    return {};
}

// The span [b, e) of piece k within s[b0, e0) separated by `sep`, appending separators at
// e0 when the piece does not exist yet. False when k > 0 but the separator is absent.
bool ensure_piece(std::string& s, std::size_t b0, std::size_t e0, char sep, std::size_t k, std::size_t& b,
                  std::size_t& e) {
    if (k > 0 && sep == kAbsent) return false;
    std::size_t pos = b0;
    for (std::size_t i = 0; i < k; ++i) {
        std::size_t hit = s.find(sep, pos);
        if (hit == std::string::npos || hit >= e0) {
            s.insert(e0, k - i, sep);
            b = e = e0 + (k - i);
            return true;
        }
        pos = hit + 1;
    }
    std::size_t hit = sep == kAbsent ? std::string::npos : s.find(sep, pos);
    b = pos;
    e = (hit == std::string::npos || hit >= e0) ? e0 : hit;
    return true;
}

}  // namespace

std::size_t Segment::field_count() const {
    if (text_.size() <= 3) return 0;
    std::size_t pieces = Pieces(text_.substr(4), d_->field).count();
    return is_header() ? pieces + 1 : pieces;
}

std::string_view Segment::field(std::size_t n) const {
    if (n == 0 || text_.size() <= 3) return {};
    if (is_header()) {
        if (n == 1) return text_.substr(3, 1);
        return Pieces(text_.substr(4), d_->field).at(n - 2);
    }
    return Pieces(text_.substr(4), d_->field).at(n - 1);
}

Result<Message> Message::parse(std::string_view bytes) { return parse(bytes, ParseOptions{}); }

Result<Message> Message::parse(std::string_view bytes, const ParseOptions& options, ErrorSite* site) {
    Message m;
    m.default_charset_ = options.default_charset;
    auto input = std::make_shared<const std::string>(bytes);
    std::string_view in(*input);

    // The field separator is needed to tell a segment's start from a line break in a field.
    std::size_t first_text = in.find_first_not_of("\r\n");
    char field_separator = first_text != std::string_view::npos && first_text + 3 < in.size() ? in[first_text + 3] : '|';
    Lines split = split_lines(in, field_separator);
    const std::vector<Line>& lines = split.lines;
    m.terminators_ = split.counts;

    auto fail = [&](std::string code, std::string what, std::size_t offset, std::size_t seg, std::size_t field) -> Error {
        std::string name = seg ? std::string(in.substr(lines[seg - 1].begin, 3)) : std::string();
        std::string where = "at byte " + std::to_string(options.base_offset + offset);
        if (options.message_number) where = "in message " + std::to_string(options.message_number) + ", " + where;
        if (seg) where += ", segment " + std::to_string(seg) + " (" + shown(name) + ")";
        if (field) where += ", field " + std::to_string(field);
        if (site) *site = ErrorSite{options.base_offset + offset, seg, name, field};
        return make_error(ErrorClass::BadInput, std::move(code), what + " (" + where + ")");
    };

    if (lines.empty()) return fail("hl7.empty", "no segments found; expected a message starting with MSH", 0, 0, 0);
    std::string_view first = in.substr(lines[0].begin, lines[0].end - lines[0].begin);
    if (first.substr(0, 3) != "MSH") {
        if (first.substr(0, 3) == "FHS" || first.substr(0, 3) == "BHS")
            return fail("hl7.batch", "input is a batch (" + std::string(first.substr(0, 3)) +
                        "); expected a single message starting with MSH (read batches with parse_many)",
                        lines[0].begin, 1, 0);
        return fail("hl7.no_msh", "input starts with '" + shown(first.substr(0, 3)) + "'; expected MSH",
                    lines[0].begin, 1, 0);
    }
    auto declared = read_delimiters(first);
    if (!declared.ok()) {
        std::size_t field = declared.error().code == "hl7.field_separator" ? 1 : 2;
        return fail(declared.error().code, declared.error().message, lines[0].begin + (field == 1 ? 3 : 4), 1, field);
    }
    m.delimiters_ = declared->delimiters;
    m.encoding_length_ = declared->encoding_length;
    if (m.encoding_length_ < 4) {
        static const char* names[] = {"component separator", "repetition separator", "escape character",
                                      "subcomponent separator"};
        m.notices_.push_back({"hl7.encoding_characters",
                              "MSH-2 declares " + std::to_string(m.encoding_length_) +
                                  " of the 4 encoding characters; no " + names[m.encoding_length_] +
                                  (m.encoding_length_ < 3 ? " or later ones" : "") + ", their usual characters are data",
                              options.base_offset + lines[0].begin + 4});
    }

    // MSH-18 is read before the charset is known. A GB 18030 name in MSH-3..17 may hide a
    // '|' in a trailing byte, so a second, GB-aware reading gets its say when the plain one
    // does not already name GB 18030.
    std::string_view msh18 = find_msh18(first, m.delimiters_, false);
    auto charset = msh18.empty() ? Result<Charset>(options.default_charset) : charset_from_hl7(msh18);
    if (!(charset.ok() && *charset == Charset::Gb18030)) {
        std::string_view gb = find_msh18(first, m.delimiters_, true);
        if (gb != msh18) {
            auto gb_charset = charset_from_hl7(gb);
            if (gb_charset.ok() && *gb_charset == Charset::Gb18030) charset = gb_charset;
        }
    }
    if (!charset.ok()) {
        return fail(charset.error().code, charset.error().message,
                    lines[0].begin + static_cast<std::size_t>(msh18.data() - first.data()), 1, 18);
    }
    m.charset_ = *charset;

    // Segment text as UTF-8: the input itself, or one transcoded copy.
    const bool transcode = m.charset_ != Charset::Utf8 && m.charset_ != Charset::Ascii;
    std::string utf8;
    std::vector<std::size_t> utf8_begin;
    if (transcode) {
        utf8.reserve(in.size() + in.size() / 2);
        utf8_begin.reserve(lines.size() + 1);
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = in.substr(lines[i].begin, lines[i].end - lines[i].begin);
        std::size_t bad = 0;
        if (transcode) utf8_begin.push_back(utf8.size());
        auto ok = to_utf8(line, m.charset_, transcode ? &utf8 : nullptr, &bad);
        if (!ok.ok()) {
            static const char* hex = "0123456789ABCDEF";
            auto byte = static_cast<unsigned char>(line[bad]);
            std::string declared_as = msh18.empty() ? " (MSH-18 is empty, so the configured default applies)" : "";
            return fail("hl7.charset_invalid",
                        std::string("byte 0x") + hex[byte >> 4] + hex[byte & 15] + " is not valid " +
                            std::string(hl7_name(m.charset_)) + " text" + declared_as +
                            "; expected text in the charset MSH-18 names",
                        lines[i].begin + bad, i + 1, 0);
        }
    }
    if (transcode) utf8_begin.push_back(utf8.size());
    m.input_ = input;
    m.utf8_ = transcode ? std::make_shared<const std::string>(std::move(utf8)) : input;

    m.segments_.reserve(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        SegmentText seg;
        seg.original = in.substr(lines[i].begin, lines[i].end - lines[i].begin);
        seg.text = transcode ? std::string_view(*m.utf8_).substr(utf8_begin[i], utf8_begin[i + 1] - utf8_begin[i])
                             : seg.original;
        std::string_view t = seg.text;
        bool named = t.size() >= 3 && segment_id_char(t[0]) && segment_id_char(t[1]) && segment_id_char(t[2]) &&
                     (t.size() == 3 || t[3] == m.delimiters_.field);
        if (!named) {
            return fail("hl7.segment_name",
                        "segment starts with '" + shown(t.substr(0, 4)) +
                            "'; expected a segment ID of three capital letters or digits followed by '" +
                            std::string(1, m.delimiters_.field) + "' or the end of the segment",
                        lines[i].begin, i + 1, 0);
        }
        std::string_view name = t.substr(0, 3);
        if (i > 0 && (is_header_segment(name) || name == "BTS" || name == "FTS")) {
            return fail("hl7.second_header",
                        "a second header segment " + std::string(name) +
                            " inside one message; expected one message (read files of several with parse_many)",
                        lines[i].begin, i + 1, 0);
        }
        m.segments_.push_back(seg);
    }

    if (m.terminators_.lf || m.terminators_.crlf) {
        m.notices_.push_back({"hl7.terminators",
                              "segments end with " + std::to_string(m.terminators_.cr) + " CR, " +
                                  std::to_string(m.terminators_.lf) + " LF, " + std::to_string(m.terminators_.crlf) +
                                  " CRLF; the standard terminator is CR",
                              options.base_offset});
    }
    if (split.empty) {
        m.notices_.push_back({"hl7.empty_lines", std::to_string(split.empty) + " empty line(s) skipped",
                              options.base_offset + split.first_empty});
    }
    if (split.breaks) {
        m.notices_.push_back({"hl7.line_break_in_field",
                              std::to_string(split.breaks) +
                                  " LF not followed by a segment ID kept as line breaks inside fields",
                              options.base_offset + split.first_break});
    }
    return m;
}

Message Message::create(const Delimiters& delimiters, Charset charset) {
    Message m;
    m.delimiters_ = delimiters;
    m.charset_ = charset;
    m.default_charset_ = charset;
    std::string encoding = delimiters.encoding_characters();
    m.encoding_length_ = encoding.size();
    auto text = std::make_shared<const std::string>("MSH" + std::string(1, delimiters.field) + encoding);
    m.segments_.push_back(SegmentText{*text, {}, text, true});
    return m;
}

std::string Message::get(std::string_view path) const {
    auto v = value(path);
    return v.ok() ? std::move(v).value() : std::string();
}

Result<std::string> Message::value(std::string_view path_text) const {
    auto path = parse_path(path_text);
    if (!path.ok()) return path.error();
    std::size_t seen = 0;
    for (const SegmentText& seg : segments_) {
        if (seg.text.substr(0, 3) != path->segment || ++seen < path->occurrence) continue;
        Segment s(seg.text, &delimiters_);
        std::string_view field = s.field(path->field);
        if (s.is_header() && path->field <= 2) {
            bool first_leaf = path->repetition == 1 && path->component == 1 && path->subcomponent == 1;
            return first_leaf ? std::string(field) : std::string();
        }
        std::string_view leaf = Pieces(field, delimiters_.repetition).at(path->repetition - 1);
        leaf = Pieces(leaf, delimiters_.component).at(path->component - 1);
        leaf = Pieces(leaf, delimiters_.subcomponent).at(path->subcomponent - 1);
        std::string scratch;
        return std::string(decode(leaf, scratch));
    }
    return std::string();
}

Result<void> Message::set(std::string_view path_text, std::string_view utf8_value) {
    auto path = parse_path(path_text);
    if (!path.ok()) return path.error();
    const bool header = is_header_segment(path->segment);
    if (header && path->field <= 2) {
        return make_error(ErrorClass::BadInput, "hl7.read_only",
                          path->segment + "-1 and -2 declare the delimiters and cannot be set; expected field 3 or later");
    }
    if (std::size_t bad = invalid_utf8_at(utf8_value); bad != std::string_view::npos) {
        return make_error(ErrorClass::BadInput, "hl7.charset_invalid",
                          "value for " + std::string(path_text) + " is not UTF-8 at byte " + std::to_string(bad));
    }
    if (auto fits = from_utf8(utf8_value, charset_); !fits.ok()) {
        return make_error(ErrorClass::BadInput, "hl7.charset_unrepresentable",
                          "value for " + std::string(path_text) + ": " + fits.error().message);
    }
    auto encoded = escape(utf8_value, delimiters_);
    if (!encoded.ok()) return encoded.error();

    std::size_t seen = 0;
    std::size_t index = segments_.size();
    for (std::size_t i = 0; i < segments_.size(); ++i) {
        if (segments_[i].text.substr(0, 3) == path->segment && ++seen == path->occurrence) {
            index = i;
            break;
        }
    }
    if (index == segments_.size()) {
        if (header) {
            return make_error(ErrorClass::BadInput, "hl7.path",
                              "a message holds one " + path->segment + "; cannot create occurrence " +
                                  std::to_string(path->occurrence));
        }
        for (; seen < path->occurrence; ++seen) {
            auto text = std::make_shared<const std::string>(path->segment);
            segments_.push_back(SegmentText{*text, {}, text, true});
        }
        index = segments_.size() - 1;
    }

    const Delimiters& d = delimiters_;
    std::string s(segments_[index].text);
    std::size_t b = 0, e = s.size();
    const std::size_t field_piece = header ? path->field - 1 : path->field;
    bool ok = ensure_piece(s, 0, s.size(), d.field, field_piece, b, e) &&
              ensure_piece(s, b, e, d.repetition, path->repetition - 1, b, e) &&
              ensure_piece(s, b, e, d.component, path->component - 1, b, e) &&
              ensure_piece(s, b, e, d.subcomponent, path->subcomponent - 1, b, e);
    if (!ok) {
        return make_error(ErrorClass::BadInput, "hl7.no_such_delimiter",
                          "path " + std::string(path_text) +
                              " needs a separator that MSH-2 does not declare; expected a path within the declared "
                              "encoding characters");
    }
    s.replace(b, e - b, *encoded);

    SegmentText before = segments_[index];
    auto text = std::make_shared<const std::string>(std::move(s));
    segments_[index] = SegmentText{*text, {}, text, true};
    if (header && path->segment == "MSH" && path->field == 18) {
        Charset previous = charset_;
        if (auto r = recharset(previous); !r.ok()) {
            segments_[index] = before;
            charset_ = previous;
            return r;
        }
    }
    return {};
}

Result<void> Message::set_all(std::initializer_list<FieldValue> fields) {
    for (const FieldValue& f : fields)
        if (auto r = set(f.path, f.value); !r) return r;
    return {};
}

// After MSH-18 changed: adopt the charset it names; every segment is then written anew
// from its UTF-8 text, so all of it must be representable.
Result<void> Message::recharset(Charset before) {
    std::string_view msh18 = find_msh18(segments_[0].text, delimiters_, false);
    auto charset = msh18.empty() ? Result<Charset>(default_charset_) : charset_from_hl7(msh18);
    if (!charset.ok()) return charset.error();
    if (*charset == before) return {};
    for (const SegmentText& seg : segments_) {
        if (auto fits = from_utf8(seg.text, *charset); !fits.ok()) return fits.error();
    }
    charset_ = *charset;
    for (SegmentText& seg : segments_) seg.edited = true;
    return {};
}

std::string Message::serialize() const {
    std::string out;
    out.reserve(input_ ? input_->size() + segments_.size() : 64);
    for (const SegmentText& seg : segments_) {
        if (!seg.edited) {
            out.append(seg.original);
        } else if (charset_ == Charset::Utf8 || charset_ == Charset::Ascii) {
            out.append(seg.text);
        } else {
            // set() and recharset() checked that every edited text is representable.
            out.append(from_utf8(seg.text, charset_).value());
        }
        out += '\r';
    }
    return out;
}

}  // namespace hisgate::hl7
