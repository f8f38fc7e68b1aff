#include "hl7/ack.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <optional>

namespace hisgate::hl7 {

namespace {

// The original's MSH fields an ACK needs, as encoded text in the original's delimiters.
// Read from a parsed message (UTF-8 text) or, when parsing failed, from the raw MSH line
// (bytes in whatever charset the sender used, copied back unchanged).
struct Header {
    Delimiters d;
    std::array<std::string_view, 21> field{};  // field[n] = MSH-n, n >= 3
    bool utf8 = true;                          // field text is UTF-8 (else raw bytes)
    Charset charset = Charset::Utf8;           // what the ACK is written in when utf8
};

std::string_view first_component(std::string_view field, const Delimiters& d) {
    return Pieces(Pieces(field, d.repetition).at(0), d.component).at(0);
}

Header header_of(const Message& m) {
    Header h;
    h.d = m.delimiters();
    h.charset = m.charset();
    Segment msh = m.segment(0);
    for (std::size_t n = 3; n < h.field.size(); ++n) h.field[n] = msh.field(n);
    return h;
}

// The raw MSH line, split plainly; false when it does not even declare delimiters.
bool raw_header(std::string_view raw, Header& h) {
    std::size_t end = raw.find_first_of("\r\n");
    std::string_view line = raw.substr(0, end);
    if (line.substr(0, 3) != "MSH") return false;
    auto declared = read_delimiters(line);
    if (!declared.ok()) return false;
    h.d = declared->delimiters;
    h.utf8 = false;
    std::size_t n = 2;
    for (std::string_view piece : Pieces(line.substr(4), h.d.field)) {
        if (n >= 3 && n < h.field.size()) h.field[n] = piece;
        ++n;
    }
    return true;
}

std::string timestamp() {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S%z", &local);
    return buf;
}

// Unique per process run: the time of day to the second plus a counter (20 characters, the
// MSH-10 limit before 2.7).
std::string control_id() {
    static std::atomic<unsigned> counter{0};
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[32];
    std::strftime(buf, sizeof buf, "A%Y%m%d%H%M%S", &local);
    char tail[8];
    std::snprintf(tail, sizeof tail, "%05u", counter.fetch_add(1) % 100000u);
    return std::string(buf) + tail;
}

bool is_error(AckCode c) { return c != AckCode::AA && c != AckCode::CA; }

std::string_view code_name(std::string_view hl7_code) {
    static const std::array<std::pair<std::string_view, std::string_view>, 10> names{{
        {"0", "Message accepted"},
        {"100", "Segment sequence error"},
        {"101", "Required field missing"},
        {"102", "Data type error"},
        {"103", "Table value not found"},
        {"200", "Unsupported message type"},
        {"201", "Unsupported event code"},
        {"202", "Unsupported processing id"},
        {"203", "Unsupported version id"},
        {"207", "Application internal error"},
    }};
    for (auto& [code, name] : names)
        if (code == hl7_code) return name;
    return {};
}


}  // namespace

bool error_in_err1(std::string_view version) {
    return version == "2.1" || version == "2.2" || version == "2.3" || version == "2.3.1" || version == "2.4";
}

const char* err_code_path(std::string_view version) { return error_in_err1(version) ? "ERR-1-4-1" : "ERR-3-1"; }

namespace {

// Our texts go into the ACK as printable ASCII: they may quote the sender's bytes, whose
// charset is unknown when the message could not be parsed.
std::string printable_ascii(std::string_view s) {
    std::string out;
    for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

std::string build_ack(const Header& h, AckCode code, const AckError& error) {
    const Delimiters& d = h.d;
    const char f = d.field;
    const std::string_view version = first_component(h.field[12], d);
    auto esc = [&](std::string_view text) {
        auto e = escape(text, d);
        return e.ok() ? e.value() : std::string();
    };
    std::string_view event = Pieces(Pieces(h.field[9], d.repetition).at(0), d.component).at(1);
    const bool enhanced = !h.field[15].empty() || !h.field[16].empty();

    std::string msh = "MSH";
    msh += f;
    msh += d.encoding_characters();
    auto add = [&](std::string_view v) {
        msh += f;
        msh += v;
    };
    add(h.field[5]);
    add(h.field[6]);
    add(h.field[3]);
    add(h.field[4]);
    add(timestamp());
    add("");
    std::string type = "ACK";
    if (d.component != kAbsent) {
        type += d.component;
        type += event;
        type += d.component;
        type += "ACK";
    }
    add(type);
    add(control_id());
    add(h.field[11]);
    add(h.field[12]);
    if (enhanced || !h.field[18].empty()) {
        add("");
        add("");
        add(enhanced ? "NE" : "");  // an ACK asks for no ACK
        add(enhanced ? "NE" : "");
        add("");
        add(h.field[18]);
    }

    const bool old = error_in_err1(version);
    std::string text = printable_ascii(error.text);
    std::string out = msh + '\r';
    out += "MSA";
    out += f;
    out += to_string(code);
    out += f;
    out += h.field[10];
    if (old && !text.empty()) {
        out += f;
        out += esc(text);
    }
    out += '\r';
    if (is_error(code)) {
        const std::string cwe_name = std::string(code_name(error.hl7_code));
        std::string location;
        if (!error.segment.empty() && d.component != kAbsent) {
            // The segment ID is the sender's bytes (a bad one may hold our delimiters): escaped,
            // so the location cannot shift the code into another field.
            location = esc(printable_ascii(error.segment));
            location += d.component;
            location += std::to_string(error.sequence);
            if (error.field) {
                location += d.component;
                location += std::to_string(error.field);
            }
        }
        out += "ERR";
        out += f;
        if (old) {
            // ELD: segment ^ sequence ^ field ^ code (CE, in subcomponents).
            std::string eld = location;
            if (d.component != kAbsent) {
                if (error.field == 0 && !eld.empty()) eld += d.component;
                eld += d.component;
                eld += error.hl7_code;
                if (d.subcomponent != kAbsent) {
                    eld += d.subcomponent;
                    eld += cwe_name;
                    eld += d.subcomponent;
                    eld += "HL70357";
                }
            } else {
                eld = error.hl7_code;
            }
            out += eld;
        } else {
            out += f;
            out += location;
            out += f;
            out += error.hl7_code;
            if (d.component != kAbsent) {
                out += d.component;
                out += cwe_name;
                out += d.component;
                out += "HL70357";
            }
            out += f;
            out += 'E';
            if (!text.empty()) {
                out += std::string(4, f);
                out += esc(text);
            }
        }
        out += '\r';
    }
    if (h.utf8 && h.charset != Charset::Utf8 && h.charset != Charset::Ascii) {
        // Header fields came from the message in this charset and our text is ASCII.
        auto encoded = from_utf8(out, h.charset);
        if (encoded.ok()) return std::move(encoded).value();
    }
    return out;
}

// Which occurrence of its segment ID the segment at `offset` is.
std::size_t occurrence_at(std::string_view raw, std::string_view name, std::size_t offset) {
    std::size_t count = 0, pos = 0;
    while (pos <= offset && pos < raw.size()) {
        if (raw.substr(pos, 3) == name) ++count;
        std::size_t end = raw.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return count ? count : 1;
}

struct Verdict {
    bool reject = false;  // AR/CR rather than AE/CE
    AckError error;
};

bool known_version(std::string_view v) {
    static const std::array<std::string_view, 14> versions{"2.1", "2.2", "2.3", "2.3.1", "2.4",   "2.5",   "2.5.1",
                                                           "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2", "2.9"};
    for (auto known : versions)
        if (v == known) return true;
    return false;
}

bool message_code(std::string_view s) {
    if (s.size() != 3) return false;
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    return true;
}

// The header checks that decide AR: MSH-9 (type, event), MSH-11 (processing id), MSH-12
// (version); MSH-10 must be there to be echoed.
std::optional<Verdict> check_header(const Header& h) {
    const Delimiters& d = h.d;
    auto problem = [](bool reject, std::string code, std::size_t field, std::string text) {
        return Verdict{reject, AckError{std::move(code), "MSH", 1, field, std::move(text)}};
    };
    std::string_view type = first_component(h.field[9], d);
    std::string_view event = Pieces(Pieces(h.field[9], d.repetition).at(0), d.component).at(1);
    if (type.empty()) return problem(true, "101", 9, "MSH-9 (message type) is empty; expected e.g. ADT^A01");
    if (!message_code(type))
        return problem(true, "200", 9, "MSH-9 message type '" + std::string(type) + "' is not a 3-character code");
    if (event.empty()) return problem(true, "201", 9, "MSH-9 has no trigger event; expected e.g. ADT^A01");
    if (!message_code(event))
        return problem(true, "201", 9, "MSH-9 trigger event '" + std::string(event) + "' is not a 3-character code");
    std::string_view processing = first_component(h.field[11], d);
    if (processing.empty()) return problem(true, "101", 11, "MSH-11 (processing id) is empty; expected P, T or D");
    if (processing != "P" && processing != "T" && processing != "D")
        return problem(true, "202", 11, "MSH-11 processing id '" + std::string(processing) + "'; expected P, T or D");
    std::string_view version = first_component(h.field[12], d);
    if (version.empty()) return problem(true, "101", 12, "MSH-12 (version) is empty; expected e.g. 2.5.1");
    if (!known_version(version))
        return problem(true, "203", 12, "MSH-12 version '" + std::string(version) + "' is not an HL7 v2 version");
    if (h.field[10].empty()) return problem(false, "101", 10, "MSH-10 (message control id) is empty");
    return std::nullopt;
}

Verdict verdict_of_parse_error(std::string_view raw, const Error& e, const ErrorSite& site) {
    Verdict v;
    const std::string& c = e.code;
    v.error.text = e.message;
    v.error.segment = site.segment_name;
    v.error.sequence = site.segment ? occurrence_at(raw, site.segment_name, site.offset) : 0;
    v.error.field = site.field;
    const bool in_msh = site.segment <= 1;
    if (c == "hl7.charset_unknown" || c == "hl7.charset_unsupported") {
        v.reject = true;
        v.error.hl7_code = "103";
    } else if (c == "hl7.segment_name" || c == "hl7.second_header" || c == "hl7.no_msh" || c == "hl7.empty" ||
               c == "hl7.batch") {
        v.reject = in_msh;
        v.error.hl7_code = "100";
    } else {  // delimiters, bytes not valid in the charset
        v.reject = in_msh;
        v.error.hl7_code = "102";
    }
    return v;
}

AckCode code_for(bool enhanced, bool error, bool reject) {
    if (!error) return enhanced ? AckCode::CA : AckCode::AA;
    if (reject) return enhanced ? AckCode::CR : AckCode::AR;
    return enhanced ? AckCode::CE : AckCode::AE;
}

// MSH-15 condition in enhanced mode (table 0155).
bool wanted(std::string_view condition, bool error) {
    if (condition.empty() || condition == "AL") return true;
    if (condition == "NE") return false;
    if (condition == "ER") return error;
    if (condition == "SU") return !error;
    return true;  // an unknown condition: answering is the safe side
}

}  // namespace

std::string_view to_string(AckCode code) {
    switch (code) {
        case AckCode::AA: return "AA";
        case AckCode::AE: return "AE";
        case AckCode::AR: return "AR";
        case AckCode::CA: return "CA";
        case AckCode::CE: return "CE";
        case AckCode::CR: return "CR";
    }
    return "AR";
}

AckMode ack_mode(const Message& m) {
    return m.get("MSH-15").empty() && m.get("MSH-16").empty() ? AckMode::Original : AckMode::Enhanced;
}

bool accept_ack_wanted(const Message& m, bool error) {
    return ack_mode(m) == AckMode::Original || wanted(m.get("MSH-15"), error);
}

bool application_ack_wanted(const Message& m, bool error) {
    return ack_mode(m) == AckMode::Original || wanted(m.get("MSH-16"), error);
}

std::string make_ack(const Message& original, AckCode code, std::string_view error_text) {
    AckError e;
    e.text = std::string(error_text);
    return make_ack(original, code, e);
}

std::string make_ack(const Message& original, AckCode code, const AckError& error) {
    return build_ack(header_of(original), code, error);
}

std::string ack_for(std::string_view raw, const ParseOptions& options) {
    ErrorSite site;
    auto parsed = Message::parse(raw, options, &site);
    Header h;
    std::optional<Verdict> verdict;
    if (parsed.ok()) {
        h = header_of(*parsed);
        verdict = check_header(h);
    } else {
        if (!raw_header(raw, h)) {
            // Not even an MSH with delimiters: answer in the standard ones, echoing nothing.
            h = Header{};
            h.utf8 = false;
            h.field[12] = "2.5.1";
        }
        verdict = verdict_of_parse_error(raw, parsed.error(), site);
        // The ACK cannot claim a charset that was just rejected.
        if (verdict->error.hl7_code == "103") h.field[18] = {};
    }
    if (first_component(h.field[9], h.d) == "ACK") return "";  // never acknowledge an ACK
    const bool enhanced = !h.field[15].empty() || !h.field[16].empty();
    const bool error = verdict.has_value();
    if (enhanced && !wanted(first_component(h.field[15], h.d), error)) return "";
    AckCode code = code_for(enhanced, error, error && verdict->reject);
    return build_ack(h, code, error ? verdict->error : AckError{});
}

}  // namespace hisgate::hl7
