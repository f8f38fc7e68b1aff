// How one hospital's SOAP interface is shaped, as its parameters say: the operations'
// XML namespace, the SOAPAction prefix, the character set, the vendor's element names
// for hisgate's fields, and what its fault codes mean. Both sides use it: the adapter
// to speak to a HIS, and his-sim to play one.
#pragma once

#include <map>
#include <set>
#include <string>

#include "common/error.h"
#include "config-params/param_set.h"
#include "hl7/charset.h"

namespace hisgate::soap {

struct SoapDialect {
    std::string ns;             // namespace of the operation elements and their children
    std::string action_prefix;  // SOAPAction = action_prefix + operation name
    hl7::Charset charset = hl7::Charset::Utf8;  // what we send, and read when the XML names none
    // hisgate element name -> the vendor's; names not listed are the vendor's too.
    std::map<std::string, std::string> fields;
    // Vendor fault code (detail/Code) -> hisgate error class name.
    std::map<std::string, std::string> error_map;

    // The vendor's element for a hisgate one, and back (a vendor name nobody maps stays as is).
    std::string vendor_name(const std::string& hisgate_name) const;
    std::string hisgate_name(const std::string& vendor_name) const;
    // The error a SOAP fault carries, mapped through error_map (Rejected when unmapped).
    Error fault_error(const std::string& vendor_code, const std::string& text, const std::string& what) const;
};

// Every element name hisgate's SOAP messages use inside an operation: the keys
// his.soap.field_map may rename.
extern const std::set<std::string> kElements;

// Reads a dialect from a hospital's parameters (his.soap.*, his.charset, his.error_map).
// Errors (Config, params.invalid) name the parameter.
Result<SoapDialect> dialect_from_params(const params::ParamSet& p);

// The XML encoding name of a charset ("UTF-8", "GB18030", ...), and back (case-insensitive).
std::string xml_encoding_name(hl7::Charset c);
Result<hl7::Charset> charset_from_xml(const std::string& encoding);

}  // namespace hisgate::soap
