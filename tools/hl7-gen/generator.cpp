#include "hl7-gen/generator.h"

#include <array>
#include <cstdio>
#include <stdexcept>

#include "hl7/charset.h"

namespace hisgate::hl7gen {

namespace {

struct Person {
    const char *family, *given, *sex;
};
// Names by the charsets that can carry them (UTF-8 carries all).
constexpr Person kAsciiNames[] = {{"SMITH", "JOHN", "M"},        {"GARCIA", "MARIA", "F"},   {"O'BRIEN", "SEAN", "M"},
                                  {"NGUYEN", "THI HOA", "F"},    {"JOHNSON", "EMILY", "F"},  {"KOWALSKI", "PIOTR", "M"},
                                  {"WANG", "FANG", "F"},         {"OKAFOR", "CHIDI", "M"},   {"VAN DER BERG", "ANNA", "F"},
                                  {"SINGH", "HARPREET", "U"}};
constexpr Person kLatinNames[] = {{"MÜLLER", "JÜRGEN", "M"},  {"GONZÁLEZ", "JOSÉ", "M"},   {"LEFÈVRE", "HÉLÈNE", "F"},
                                  {"STRÖM", "BJÖRN", "M"},    {"NUÑEZ", "MARÍA", "F"},    {"ÅSTRÖM", "INGRID", "F"},
                                  {"FRANÇOIS", "CÉLINE", "F"}, {"DÍAZ", "ÁLVARO", "M"}};
constexpr Person kChineseNames[] = {{"王", "芳", "F"},   {"李", "娜", "F"},   {"张", "伟", "M"},   {"刘", "洋", "M"},
                                    {"陈", "静", "F"},   {"杨", "磊", "M"},   {"赵", "敏", "F"},   {"黄", "丽", "F"},
                                    {"周", "杰", "M"},   {"吴", "霞", "F"},   {"欧阳", "明轩", "M"}, {"司马", "婉清", "F"}};

struct Place {
    const char *street, *city, *state, *zip, *country;
};
constexpr Place kAsciiPlaces[] = {{"123 MAIN ST", "SPRINGFIELD", "IL", "62701", "USA"},
                                  {"45 HIGH STREET", "LEEDS", "", "LS1 4AP", "GBR"},
                                  {"9 RUE DE LA PAIX", "PARIS", "", "75002", "FRA"}};
constexpr Place kChinesePlaces[] = {{"朝阳区建国路88号", "北京", "北京市", "100022", "CHN"},
                                    {"天河区体育西路191号", "广州", "广东省", "510620", "CHN"},
                                    {"徐汇区漕溪北路18号", "上海", "上海市", "200030", "CHN"}};

struct Department {
    const char *code, *ascii, *chinese;
};
constexpr Department kDepartments[] = {{"INT", "Internal Medicine", "内科"}, {"PED", "Pediatrics", "儿科"},
                                       {"CAR", "Cardiology", "心内科"},      {"OBS", "Obstetrics", "产科"},
                                       {"SUR", "General Surgery", "普外科"}, {"ENT", "Otolaryngology", "耳鼻喉科"}};

struct Test {
    const char *code, *name, *units, *range;
    double low, high;
    int decimals;
};
constexpr Test kTests[] = {{"718-7", "Hemoglobin", "g/dL", "12.0-16.0", 9.0, 18.0, 1},
                           {"6690-2", "Leukocytes", "10*3/uL", "4.0-10.0", 2.0, 15.0, 1},
                           {"777-3", "Platelets", "10*3/uL", "150-400", 90, 500, 0},
                           {"2345-7", "Glucose", "mmol/L", "3.9-6.1", 3.0, 12.0, 1},
                           {"2160-0", "Creatinine", "umol/L", "59-104", 40, 200, 0},
                           {"2951-2", "Sodium", "mmol/L", "135-145", 125, 155, 0},
                           {"2823-3", "Potassium", "mmol/L", "3.5-5.1", 2.8, 6.2, 1},
                           {"1742-6", "ALT", "U/L", "7-40", 5, 120, 0}};

constexpr const char* kDiagnoses[][2] = {{"I10", "Essential (primary) hypertension"},
                                         {"E11.9", "Type 2 diabetes mellitus without complications"},
                                         {"J18.9", "Pneumonia, unspecified organism"},
                                         {"K35.80", "Unspecified acute appendicitis"},
                                         {"O80", "Encounter for full-term uncomplicated delivery"}};
constexpr const char* kAllergies[][2] = {{"PCN", "Penicillin"}, {"SULFA", "Sulfonamides"}, {"LATEX", "Latex"}};
constexpr const char* kVersions[] = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1"};
constexpr const char* kApplications[][2] = {{"EPIC", "GENHOSP"}, {"CERNER", "STMARY"}, {"WINNING", "RENJI"},
                                            {"HIS-B", "H002"},   {"LABSYS", "CENTRAL LAB"}};
// Free text that holds every delimiter, to be escaped.
constexpr const char* kRemarks[] = {
    "Patient reports chest pain | onset 2h ago",
    "BP 120/80 ^ pulse 72 & regular ~ no distress",
    "Use C:\\records\\today for the scan",
    "Follow-up in 2 weeks; call if fever > 38.5 C",
    "Specimen slightly hemolysed, repeat if K+ high",
};
constexpr const char* kChineseRemarks[] = {"患者自述胸痛两小时", "血压120/80，脉搏72次/分", "两周后复诊，如发热请及时就诊"};

enum class Script { Ascii, Latin, Chinese };

struct Charset {
    const char* msh18;  // "" declares none
    Script script;
    hl7::Charset encoding;
};
constexpr Charset kCharsets[] = {{"", Script::Ascii, hl7::Charset::Utf8},
                                 {"", Script::Ascii, hl7::Charset::Utf8},
                                 {"ASCII", Script::Ascii, hl7::Charset::Ascii},
                                 {"UNICODE UTF-8", Script::Chinese, hl7::Charset::Utf8},
                                 {"UNICODE UTF-8", Script::Latin, hl7::Charset::Utf8},
                                 {"8859/1", Script::Latin, hl7::Charset::Iso8859_1},
                                 {"GB 18030-2000", Script::Chinese, hl7::Charset::Gb18030},
                                 {"GB 18030-2000", Script::Chinese, hl7::Charset::Gb18030}};

// Delimiters become escapes; the escape character first.
std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '\\': out += "\\E\\"; break;
            case '|': out += "\\F\\"; break;
            case '^': out += "\\S\\"; break;
            case '&': out += "\\T\\"; break;
            case '~': out += "\\R\\"; break;
            default: out += c;
        }
    }
    return out;
}

std::string number(std::size_t n, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*zu", width, n);
    return buf;
}

// One message under construction: segments of fields, joined at the end.
class Writer {
public:
    void segment(std::initializer_list<std::string> fields) {
        std::string line;
        for (const auto& f : fields) {
            if (!line.empty()) line += '|';
            line += f;
        }
        // Trailing empty fields are left out, as senders do.
        while (line.size() > 4 && line.back() == '|') line.pop_back();
        lines_.push_back(std::move(line));
    }
    void raw(std::string line) { lines_.push_back(std::move(line)); }
    std::size_t size() const { return lines_.size(); }
    std::string text() const {
        std::string out;
        for (const auto& l : lines_) out += l + '\r';
        return out;
    }

private:
    std::vector<std::string> lines_;
};

}  // namespace

Generator::Generator(std::uint32_t seed) : rng_(seed) {}

Generated Generator::next() { return next(kAllKinds[pick(std::size(kAllKinds))]); }

Generated Generator::next(Kind kind) {
    ++count_;
    const Charset& cs = kCharsets[pick(std::size(kCharsets))];
    auto person = [&]() -> Person {
        switch (cs.script) {
            case Script::Latin: return pick(2) ? kLatinNames[pick(std::size(kLatinNames))] : kAsciiNames[pick(std::size(kAsciiNames))];
            case Script::Chinese: return kChineseNames[pick(std::size(kChineseNames))];
            default: return kAsciiNames[pick(std::size(kAsciiNames))];
        }
    };
    auto place = [&]() -> Place {
        return cs.script == Script::Chinese ? kChinesePlaces[pick(std::size(kChinesePlaces))]
                                            : kAsciiPlaces[pick(std::size(kAsciiPlaces))];
    };
    auto department = [&]() {
        const Department& d = kDepartments[pick(std::size(kDepartments))];
        return std::string(d.code) + "^" + (cs.script == Script::Chinese ? d.chinese : d.ascii);
    };
    auto remark = [&]() -> std::string {
        if (cs.script == Script::Chinese && pick(2)) return kChineseRemarks[pick(std::size(kChineseRemarks))];
        return escaped(kRemarks[pick(std::size(kRemarks))]);
    };
    // Times in 2026, minute resolution, some with a zone offset.
    auto timestamp = [&](bool seconds = true) {
        unsigned month = 1 + pick(12), day = 1 + pick(28), hour = pick(24), minute = pick(60);
        std::string t = "2026" + number(month, 2) + number(day, 2) + number(hour, 2) + number(minute, 2);
        if (seconds) t += number(pick(60), 2);
        if (pick(4) == 0) t += cs.script == Script::Chinese ? "+0800" : "-0500";
        return t;
    };
    auto doctor = [&]() {
        Person p = person();
        return "D" + number(100 + pick(900), 3) + "^" + p.family + "^" + p.given + "^^^DR";
    };
    auto patient_id = [&]() { return "P" + number(pick(1000000), 7); };
    auto visit = [&]() { return "V" + number(pick(10000000), 8); };

    const char* version = kVersions[pick(std::size(kVersions))];
    const auto& app = kApplications[pick(std::size(kApplications))];
    std::string type;
    switch (kind) {
        case Kind::Admit: type = "ADT^A01"; break;
        case Kind::Discharge: type = "ADT^A03"; break;
        case Kind::Register: type = "ADT^A04"; break;
        case Kind::Update: type = "ADT^A08"; break;
        case Kind::LabResult: type = "ORU^R01"; break;
        case Kind::Order: type = "ORM^O01"; break;
        case Kind::Schedule: type = "SIU^S12"; break;
        case Kind::Charge: type = "DFT^P03"; break;
        case Kind::ReportQuery: type = "QRY^R02"; break;
        case Kind::Ack: type = "ACK^A01"; break;
    }
    std::string msh9 = type;
    if (std::string_view(version) >= "2.4" && kind == Kind::LabResult) msh9 += "^ORU_R01";
    std::string control_id = "MSG" + number(count_, 6);

    Writer w;
    std::string msh = std::string("MSH|^~\\&|") + app[0] + "|" + app[1] + "|HISGATE|HG^1.2.156.112604&1.2.156&ISO|" +
                      timestamp() + "||" + msh9 + "|" + control_id + "|" + (pick(5) ? "P" : "T") + "|" + version;
    // MSH-15/16: a quarter ask for enhanced acknowledgement (an accept ACK first).
    const bool enhanced = pick(4) == 0;
    if (cs.msh18[0]) {
        msh += std::string("|||") + (enhanced ? "AL|NE|" : "||") + (cs.script == Script::Chinese ? "CHN" : "") + "|" +
               cs.msh18;
    } else if (enhanced) {
        msh += "|||AL|NE";
    }
    w.raw(msh);

    const Person p = person();
    const Place where = place();
    const std::string pid = patient_id();
    auto pid_segment = [&]() {
        // PID-3 repeats: the hospital's MRN and a national id, with assigning authorities.
        std::string ids = pid + "^^^" + app[1] + "^MR";
        if (pick(2)) ids += "~" + number(pick(1000000000), 9) + "^^^NATIONAL&2.16.840.1.113883.4.1&ISO^SS";
        std::string phones = "(555)" + number(pick(10000000), 7);
        if (pick(2)) phones += "~^NET^Internet^p" + number(pick(1000), 3) + "@example.org";
        unsigned year = 1930 + pick(95);
        w.segment({"PID", "1", pick(3) ? "" : pid, ids, "", std::string(p.family) + "^" + p.given + (pick(3) ? "" : "^Q"),
                   "", number(year, 4) + number(1 + pick(12), 2) + number(1 + pick(28), 2), p.sex, "", "",
                   std::string(where.street) + "^^" + where.city + "^" + where.state + "^" + where.zip + "^" + where.country,
                   "", phones});
    };
    auto pv1_segment = [&](const char* patient_class) {
        w.segment({"PV1", "1", patient_class,
                   department() + "^" + number(1 + pick(40), 2) + "^" + number(1 + pick(4), 1), "", "", "", doctor(),
                   pick(2) ? doctor() : "", "", "", "", "", "", "", "", "", "", "", visit()});
    };

    switch (kind) {
        case Kind::Admit:
        case Kind::Discharge:
        case Kind::Register:
        case Kind::Update: {
            w.segment({"EVN", type.substr(4), timestamp()});
            pid_segment();
            if (pick(2)) {
                Person kin = person();
                w.segment({"NK1", "1", std::string(kin.family) + "^" + kin.given, pick(2) ? "SPO^Spouse" : "PAR^Parent",
                           "", "(555)" + number(pick(10000000), 7)});
            }
            pv1_segment(kind == Kind::Register ? "O" : "I");
            if (kind == Kind::Admit || kind == Kind::Update) {
                for (unsigned i = 0, n = pick(3); i < n; ++i) {
                    const auto& a = kAllergies[pick(std::size(kAllergies))];
                    w.segment({"AL1", std::to_string(i + 1), "DA", std::string(a[0]) + "^" + a[1], pick(2) ? "SV" : "MO"});
                }
            }
            for (unsigned i = 0, n = pick(3); i < n; ++i) {
                const auto& d = kDiagnoses[pick(std::size(kDiagnoses))];
                w.segment({"DG1", std::to_string(i + 1), "I10", std::string(d[0]) + "^" + d[1] + "^I10", "", timestamp(), "A"});
            }
            if (pick(4) == 0) w.segment({"ZPI", "1", remark()});
            break;
        }
        case Kind::LabResult: {
            pid_segment();
            pv1_segment("O");
            std::string order = "ORD" + number(pick(100000000), 8);
            w.segment({"ORC", "RE", order, "F" + order.substr(3), "", "CM"});
            w.segment({"OBR", "1", order, "F" + order.substr(3), "CBC^Complete blood count^L", "", "", timestamp(), "", "",
                       "", "", "", "", "", "", doctor(), "", "", "", "", "", timestamp(), "", "LAB", "F"});
            unsigned n = 1 + pick(8);
            for (unsigned i = 0; i < n; ++i) {
                const Test& t = kTests[pick(std::size(kTests))];
                double value = t.low + (t.high - t.low) * static_cast<double>(pick(1000)) / 1000.0;
                char v[32];
                std::snprintf(v, sizeof v, "%.*f", t.decimals, value);
                const char* flag = "N";
                if (std::string(t.range).find('-') != std::string::npos) {
                    double lo = std::stod(t.range), hi = std::stod(std::string(t.range).substr(std::string(t.range).find('-') + 1));
                    flag = value < lo ? "L" : value > hi ? "H" : "N";
                }
                w.segment({"OBX", std::to_string(i + 1), "NM", std::string(t.code) + "^" + t.name + "^LN", "", v, t.units,
                           t.range, flag, "", "", "F"});
            }
            if (pick(3) == 0) w.segment({"OBX", std::to_string(n + 1), "TX", "8251-1^Service comment^LN", "", remark(), "", "", "", "", "", "F"});
            if (pick(3) == 0) w.segment({"OBX", std::to_string(n + 2), "FT", "11526-1^Pathology study^LN", "",
                                         "Gross:\\.br\\Two fragments, 0.5 cm.\\.br\\Microscopic:\\.br\\No malignancy.", "", "",
                                         "", "", "", "F"});
            if (pick(20) == 0) {
                // A few KB of base64 report in an ED value.
                std::string data;
                static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                for (unsigned i = 0, len = 2000 + pick(6000); i < len; ++i) data += b64[pick(64)];
                w.segment({"OBX", std::to_string(n + 3), "ED", "PDF^Report^L", "", "^AP^PDF^Base64^" + data, "", "", "", "",
                           "", "F"});
            }
            if (pick(2)) w.segment({"NTE", "1", "L", remark()});
            break;
        }
        case Kind::Order: {
            pid_segment();
            pv1_segment("O");
            std::string order = "ORD" + number(pick(100000000), 8);
            w.segment({"ORC", "NW", order, "", "", "", "", "1^^^" + timestamp() + "^^R", "", timestamp(), "", "", doctor()});
            const Test& t = kTests[pick(std::size(kTests))];
            w.segment({"OBR", "1", order, "", std::string(t.code) + "^" + t.name + "^LN", pick(2) ? "R" : "S"});
            if (pick(2)) w.segment({"NTE", "1", "P", remark()});
            break;
        }
        case Kind::Schedule: {
            std::string slot = "S" + number(pick(1000000), 6);
            w.segment({"SCH", slot, "APT" + number(count_, 6), "", "", "", "ROUTINE^Routine", "", "", "15", "MIN",
                       "^^15^" + timestamp(false) + "^" + timestamp(false), "", "", "", "", "", "", "", "", "", "", "", "",
                       "", "Booked"});
            if (pick(2)) w.segment({"NTE", "1", "", remark()});
            pid_segment();
            w.segment({"RGS", "1", "A"});
            w.segment({"AIS", "1", "A", "CONSULT^Consultation"});
            w.segment({"AIG", "1", "A", doctor()});
            w.segment({"AIL", "1", "A", department() + "^" + slot});
            w.segment({"AIP", "1", "A", doctor(), "D^Doctor"});
            break;
        }
        case Kind::Charge: {
            w.segment({"EVN", "P03", timestamp()});
            pid_segment();
            pv1_segment("O");
            for (unsigned i = 0, n = 1 + pick(4); i < n; ++i) {
                std::string amount = std::to_string(5 + pick(500)) + "." + number(pick(100), 2);
                w.segment({"FT1", std::to_string(i + 1), "T" + number(pick(1000000), 6), "", timestamp(), timestamp(), "CG",
                           "F" + number(pick(1000), 3) + "^Consultation fee", "", "", "1", amount + "^CNY", "", "", "",
                           "", "", department()});
            }
            break;
        }
        case Kind::ReportQuery: {
            w.segment({"QRD", timestamp(), "R", "I", "Q" + number(count_, 6), "", "", "1^RD", pid, "RES", "R-" + number(pick(100000), 5)});
            w.segment({"QRF", "LAB", timestamp(), timestamp()});
            break;
        }
        case Kind::Ack: {
            bool error = pick(4) == 0;
            w.segment({"MSA", error ? "AE" : "AA", "MSG" + number(pick(1000000), 6), error ? "Unknown patient" : ""});
            if (error) w.segment({"ERR", "", "PID^1^3", "204^Unknown key identifier^HL70357", "E"});
            break;
        }
    }

    Generated g;
    g.type = type;
    g.control_id = control_id;
    g.charset = cs.msh18;
    g.enhanced_ack = enhanced;
    g.segments = w.size();
    std::string utf8 = w.text();
    if (cs.encoding == hl7::Charset::Utf8 || cs.encoding == hl7::Charset::Ascii) {
        g.bytes = std::move(utf8);
    } else {
        auto encoded = hl7::from_utf8(utf8, cs.encoding);
        // Every name is chosen for its charset: a failure here is a bug in the tables above.
        if (!encoded.ok()) throw std::logic_error("hl7-gen: " + encoded.error().describe());
        g.bytes = std::move(encoded).value();
    }
    return g;
}

std::vector<Generated> generate(std::uint32_t seed, std::size_t count) {
    Generator gen(seed);
    std::vector<Generated> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) out.push_back(gen.next());
    return out;
}

std::string_view error_code(Defect defect) {
    switch (defect) {
        case Defect::SegmentName: return "hl7.segment_name";
        case Defect::CharsetUnknown: return "hl7.charset_unknown";
        case Defect::InvalidText: return "hl7.charset_invalid";
    }
    return "";
}

std::string break_message(std::string_view good, Defect defect) {
    std::string bad(good);
    std::size_t msh_end = bad.find('\r');
    if (bad.rfind("MSH", 0) != 0 || msh_end == std::string::npos)
        throw std::invalid_argument("hl7-gen: break_message needs a generated message");
    // MSH-18, as written by Generator (the last field when present).
    std::string_view msh(bad.data(), msh_end);
    std::size_t fields = 0, field18 = std::string::npos;
    for (std::size_t i = 0; i < msh.size(); ++i)
        if (msh[i] == '|' && ++fields == 17) field18 = i + 1;
    switch (defect) {
        case Defect::SegmentName: {
            // The second segment's ID in lower case.
            for (std::size_t i = msh_end + 1; i < msh_end + 4 && i < bad.size(); ++i)
                if (bad[i] >= 'A' && bad[i] <= 'Z') bad[i] = static_cast<char>(bad[i] - 'A' + 'a');
            break;
        }
        case Defect::CharsetUnknown: {
            if (field18 == std::string::npos) {
                std::string tail;
                for (std::size_t f = fields; f < 17; ++f) tail += '|';
                bad.insert(msh_end, tail + "KLINGON");
            } else {
                bad.replace(field18, msh_end - field18, "KLINGON");
            }
            break;
        }
        case Defect::InvalidText: {
            // 0xFF is no character in ASCII, UTF-8 or GB 18030; an 8859 message becomes a UTF-8 one.
            if (field18 != std::string::npos && bad.compare(field18, 4, "8859") == 0)
                bad.replace(field18, msh_end - field18, "UNICODE UTF-8");
            std::size_t second = bad.find('\r') + 1;
            bad.insert(second + 4, "\xFF");
            break;
        }
    }
    return bad;
}

std::string file_of(const std::vector<Generated>& messages) {
    std::string out;
    for (const auto& m : messages) out += m.bytes;
    return out;
}

}  // namespace hisgate::hl7gen
