#include "adapters/hl7v2/hl7_dialect.h"

#include "hl7/ack.h"

#include <chrono>

#include "common/utc_time.h"
#include "hl7/path.h"


namespace hisgate::hl7v2 {

const std::map<std::string, std::string> kStandardFields = {
    {"query.report_id", "QRD-10"},   {"query.patient_id", "QRD-8"},     {"query.key", "QPD-3"},
    {"patient.id", "PID-3-1"},       {"patient.sex", "PID-8"},          {"report.id", "OBR-3"},            {"report.title", "OBR-4-2"},
    {"report.issued", "OBR-7"},      {"report.status", "OBR-25"},       {"order.id", "ARQ-1"},
    {"slot.id", "AIG-3"},            {"appointment.order_id", "SCH-1"}, {"appointment.slot_id", "SCH-2"},
    {"appointment.status", "SCH-25"}, {"payment.order_id", "FT1-2"},    {"payment.kind", "FT1-6"},
    {"payment.method", "FT1-7"},     {"payment.amount", "FT1-11"},      {"payment.status", "ZPY-3"},
};

const std::set<std::string> kHisgateZSegments = {"ZDP", "ZDR", "ZSL", "ZPY"};

std::string Hl7Dialect::field(const std::string& logical) const {
    if (auto it = fields.find(logical); it != fields.end()) return it->second;
    auto std_it = kStandardFields.find(logical);
    return std_it == kStandardFields.end() ? std::string() : std_it->second;
}

Result<Hl7Dialect> dialect_from_params(const params::ParamSet& p) {
    auto problem = [](const std::string& name, const std::string& expected) {
        return make_error(ErrorClass::Config, "params.invalid", name + ": expected " + expected);
    };
    Hl7Dialect d;
    auto charset = hl7::charset_from_hl7(p.string("his.charset"));
    if (!charset) return problem("his.charset", "an HL7 charset name (" + charset.error().message + ")");
    d.charset = charset.value();
    d.version = p.string("his.hl7.version");
    d.timezone = p.string("his.timezone").empty() ? p.string("hospital.timezone") : p.string("his.timezone");
    // The header of every message we send carries these: text his.charset cannot write is
    // a start-up error, never a header field left out.
    for (auto [name, value] : {std::pair{"his.hl7.sending_application", &d.sending_application},
                               std::pair{"his.hl7.sending_facility", &d.sending_facility},
                               std::pair{"his.hl7.receiving_application", &d.receiving_application},
                               std::pair{"his.hl7.receiving_facility", &d.receiving_facility}}) {
        *value = p.string(name);
        if (auto fits = hl7::from_utf8(*value, d.charset); !fits)
            return problem(name, "text his.charset (" + std::string(hl7::hl7_name(d.charset)) +
                                     ") can write; " + fits.error().message);
    }
    d.qbp_queries = p.string("his.hl7.query_style") == "QBP";
    d.enhanced_ack = p.string("his.hl7.ack_mode") == "enhanced";
    std::string encoding = p.string("his.hl7.encoding_characters");  // 4 or 5, checked by the catalog
    d.delimiters.component = encoding[0];
    d.delimiters.repetition = encoding[1];
    d.delimiters.escape = encoding[2];
    d.delimiters.subcomponent = encoding[3];
    if (encoding.size() == 5) d.delimiters.truncation = encoding[4];
    std::string terminator = p.string("his.hl7.segment_terminator");
    d.terminator = terminator == "LF" ? "\n" : terminator == "CRLF" ? "\r\n" : "\r";
    for (const auto& z : p.json("his.hl7.z_segments")) d.z_segments.insert(z.get<std::string>());
    for (const auto& [logical, path] : p.json("his.hl7.fields").items()) {
        if (!kStandardFields.count(logical)) {
            std::string known;
            for (const auto& [name, _] : kStandardFields) known += (known.empty() ? "" : ", ") + name;
            return problem("his.hl7.fields." + logical, "one of the logical fields " + known);
        }
        if (!path.is_string() || !hl7::parse_path(path.get<std::string>()).ok())
            return problem("his.hl7.fields." + logical, "an HL7 path such as \"PID-3-1\", found " + path.dump());
        std::string segment = path.get<std::string>().substr(0, 3);
        if (segment[0] == 'Z' && !kHisgateZSegments.count(segment) && !d.z_segments.count(segment))
            return problem("his.hl7.fields." + logical,
                           "a Z-segment listed in his.hl7.z_segments (or one of hisgate's: ZDP, ZDR, ZSL, ZPY), found " +
                               segment);
        d.fields[logical] = path.get<std::string>();
    }
    d.error_map = p.code_table("his.error_map");
    return d;
}

std::string hl7_timestamp_now() { return utc_strftime(std::chrono::system_clock::now(), "%Y%m%d%H%M%S"); }

Result<hl7::Message> Hl7Dialect::message(const std::string& type, const std::string& control_id, bool reply) const {
    auto m = hl7::Message::create(delimiters, charset);
    // A reply comes from the HIS side: sender and receiver swap.
    auto r = m.set_all({{"MSH-3", reply ? receiving_application : sending_application},
                        {"MSH-4", reply ? receiving_facility : sending_facility},
                        {"MSH-5", reply ? sending_application : receiving_application},
                        {"MSH-6", reply ? sending_facility : receiving_facility},
                        {"MSH-7", hl7_timestamp_now()}});
    // MSH-9 is "code^event^structure"; the type's own '^' are component separators.
    std::string_view rest = type;
    for (int component = 1; r && !rest.empty(); ++component) {
        auto end = rest.find('^');
        r = m.set("MSH-9-" + std::to_string(component), rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    // A request wants both acknowledgements (enhanced mode); an answer wants none back.
    const char* wanted = !enhanced_ack ? "" : reply ? "NE" : "AL";
    if (r)
        r = m.set_all({{"MSH-10", control_id}, {"MSH-11", "P"}, {"MSH-12", version}, {"MSH-15", wanted},
                       {"MSH-16", wanted}, {"MSH-18", hl7::hl7_name(charset)}});
    if (!r) return r.error();
    return m;
}

hl7::ParseOptions Hl7Dialect::parse_options() const {
    hl7::ParseOptions o;
    o.default_charset = charset;
    return o;
}

std::string Hl7Dialect::wire(const hl7::Message& m) const {
    std::string out = m.serialize();
    if (terminator == "\r") return out;
    // CR never occurs inside a field (it would be escaped), so every CR ends a segment.
    std::string converted;
    converted.reserve(out.size() + out.size() / 40);
    for (char c : out) {
        if (c == '\r') converted += terminator;
        else converted.push_back(c);
    }
    return converted;
}

Error Hl7Dialect::answer_error(const hl7::Message& answer, const std::string& what) const {
    // Where the answer's version puts the code (ERR-1-4 before 2.5, ERR-3 after); some HISs
    // use the other place than their version says, so that is read when this one is empty.
    std::string version = answer.get("MSH-12-1");
    std::string vendor_code = answer.get(hl7::err_code_path(version));
    if (vendor_code.empty()) vendor_code = answer.get(hl7::error_in_err1(version) ? "ERR-3-1" : "ERR-1-4-1");
    std::string text = answer.get("MSA-3");
    if (text.empty()) text = answer.get("ERR-8");
    ErrorClass cls = ErrorClass::Rejected;
    if (auto it = error_map.find(vendor_code); it != error_map.end()) cls = error_class_from_string(it->second);
    std::string code = "his." + (vendor_code.empty() ? std::string("rejected") : vendor_code);
    return make_error(cls, code, what + ": the HIS answered " + answer.get("MSA-1") + (text.empty() ? "" : " (" + text + ")"));
}

}  // namespace hisgate::hl7v2
