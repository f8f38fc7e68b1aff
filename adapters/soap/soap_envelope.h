// SOAP 1.1 envelopes, written and read with POCO XML (values are escaped by the writer,
// never spliced into text). Inside an envelope the code works with hisgate's element
// names; the dialect renames them on the way out and back.
//
//   <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
//     <ns:GetReport xmlns:ns="{namespace}"><ns:ReportId>R-1</ns:ReportId></ns:GetReport>
//   </soap:Body></soap:Envelope>
// A fault: <soap:Fault><faultcode>soap:Server</faultcode><faultstring>why</faultstring>
//          <detail><ns:Code>SLOT_FULL</ns:Code></detail></soap:Fault>
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adapters/soap/soap_dialect.h"

namespace hisgate::soap {

// One element of an operation, named as hisgate names it: text, or child elements.
struct Element {
    std::string name;
    std::string text;
    std::vector<Element> children;

    Element& add(std::string child_name, std::string child_text = {});
    // The text of the first child named so, "" if there is none.
    std::string text_of(const std::string& child_name) const;
    std::vector<const Element*> all(const std::string& child_name) const;
};

// The bytes of an envelope carrying `operation` (its name is the operation element's),
// in the dialect's charset, with that charset declared.
Result<std::string> write_envelope(const SoapDialect& d, const Element& operation);
// A fault envelope; `client` says whose fault it is (soap:Client or soap:Server).
Result<std::string> write_fault(const SoapDialect& d, bool client, const std::string& vendor_code, const std::string& text);

struct Envelope {
    bool fault = false;
    std::string fault_code;  // detail/Code
    std::string fault_text;  // faultstring
    std::string operation_ns;
    Element operation;  // the Body's element, hisgate names (empty for a fault)
};

// The deepest element nesting read_envelope takes: counted by a scan of the bytes before
// the parser runs, so nothing recursive (the DOM, its copy, its destruction) meets a
// deeper answer (docs/architecture.md, "Limits").
inline constexpr int kMaxXmlDepth = 64;

// Reads an envelope in the charset its XML declaration names (the dialect's when it names
// none). Errors: Protocol "soap.unreadable" saying what is wrong; Protocol
// "soap.too_deep" naming kMaxXmlDepth when elements nest deeper.
Result<Envelope> read_envelope(const SoapDialect& d, std::string_view bytes);

}  // namespace hisgate::soap
