#include "adapters/soap/soap_dialect.h"

#include <algorithm>
#include <cctype>

namespace hisgate::soap {

const std::set<std::string> kElements = {
    "ReportId", "PatientId", "Title",    "Status",     "IssuedAt",     "Observation", "Code",   "Name",
    "Value",    "Units",     "ReferenceRange", "Flag", "Report",       "FromDate",    "ToDate", "Department",
    "DepartmentId", "Doctor", "DoctorId", "DoctorTitle", "Slot",       "SlotId",      "Date",   "Start",
    "End",      "Half",      "Capacity", "Booked",     "Fee",          "OrderId",     "Amount", "Method",
    "Line",     "Kind",      "PatientSex",
};

std::string SoapDialect::vendor_name(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? name : it->second;
}

std::string SoapDialect::hisgate_name(const std::string& vendor) const {
    for (const auto& [ours, theirs] : fields)
        if (theirs == vendor) return ours;
    // A vendor name that is also one of ours but has been renamed away means something else
    // to this vendor: it must not be read as ours.
    return fields.count(vendor) ? std::string() : vendor;
}

Error SoapDialect::fault_error(const std::string& vendor_code, const std::string& text, const std::string& what) const {
    ErrorClass cls = ErrorClass::Rejected;
    if (auto it = error_map.find(vendor_code); it != error_map.end()) cls = error_class_from_string(it->second);
    std::string code = "his." + (vendor_code.empty() ? std::string("rejected") : vendor_code);
    return make_error(cls, code, what + ": the HIS answered with a fault" + (text.empty() ? "" : " (" + text + ")"));
}

namespace {
// An XML NCName restricted to ASCII, which every vendor element name we have seen is.
bool xml_name(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}
}  // namespace

Result<SoapDialect> dialect_from_params(const params::ParamSet& p) {
    auto problem = [](const std::string& name, const std::string& expected) {
        return make_error(ErrorClass::Config, "params.invalid", name + ": expected " + expected);
    };
    SoapDialect d;
    d.ns = p.string("his.soap.namespace");
    if (d.ns.empty()) return problem("his.soap.namespace", "the XML namespace of the HIS's operations");
    d.action_prefix = p.string("his.soap.action_prefix");
    auto charset = hl7::charset_from_hl7(p.string("his.charset"));
    if (!charset) return problem("his.charset", "a charset the SOAP adapter reads: " + charset.error().message);
    d.charset = charset.value();
    std::set<std::string> taken;
    for (const auto& [ours, theirs] : p.json("his.soap.field_map").items()) {
        if (!kElements.count(ours)) {
            std::string known;
            for (const auto& name : kElements) known += (known.empty() ? "" : ", ") + name;
            return problem("his.soap.field_map." + ours, "one of hisgate's element names " + known);
        }
        if (!theirs.is_string() || !xml_name(theirs.get<std::string>()))
            return problem("his.soap.field_map." + ours, "an XML element name such as \"RptNo\", found " + theirs.dump());
        if (!taken.insert(theirs.get<std::string>()).second)
            return problem("his.soap.field_map." + ours, "an element name no other field uses, found " + theirs.dump());
        d.fields[ours] = theirs.get<std::string>();
    }
    d.error_map = p.code_table("his.error_map");
    return d;
}

std::string xml_encoding_name(hl7::Charset c) {
    switch (c) {
        case hl7::Charset::Gb18030: return "GB18030";
        case hl7::Charset::Ascii: return "US-ASCII";
        case hl7::Charset::Iso8859_1: return "ISO-8859-1";
        default: return "UTF-8";
    }
}

Result<hl7::Charset> charset_from_xml(const std::string& encoding) {
    std::string e = encoding;
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::toupper(c); });
    if (e == "UTF-8" || e == "UTF8") return hl7::Charset::Utf8;
    if (e == "GB18030" || e == "GBK" || e == "GB2312") return hl7::Charset::Gb18030;
    if (e == "US-ASCII" || e == "ASCII") return hl7::Charset::Ascii;
    if (e == "ISO-8859-1" || e == "LATIN1") return hl7::Charset::Iso8859_1;
    return make_error(ErrorClass::Protocol, "his.unreadable_answer", "the XML declares encoding \"" + encoding + "\", which this adapter does not read");
}

}  // namespace hisgate::soap
