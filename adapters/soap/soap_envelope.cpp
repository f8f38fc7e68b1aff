#include "adapters/soap/soap_envelope.h"

#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/SAX/InputSource.h>
#include <Poco/SAX/XMLReader.h>
#include <Poco/XML/XMLWriter.h>
#include <sstream>

namespace hisgate::soap {

namespace {
const std::string kSoapNs = "http://schemas.xmlsoap.org/soap/envelope/";

Error unreadable(const std::string& why) { return make_error(ErrorClass::Protocol, "soap.unreadable", why); }

// The deepest element nesting of `x`, exact for well-formed XML (what is not, the parser
// refuses), stopping as soon as it exceeds `stop_above`. One pass, no recursion: comments,
// CDATA, processing instructions and the DOCTYPE are skipped, quoted attribute values
// may hold '>' and '/'.
int xml_depth(std::string_view x, int stop_above) {
    int depth = 0, deepest = 0;
    size_t i = 0;
    auto skip_past = [&](size_t from, std::string_view end) {
        auto at = x.find(end, from);
        return at == std::string_view::npos ? x.size() : at + end.size();
    };
    while (i < x.size()) {
        size_t lt = x.find('<', i);
        if (lt == std::string_view::npos) break;
        auto rest = x.substr(lt);
        if (rest.substr(0, 4) == "<!--") {
            i = skip_past(lt + 4, "-->");
        } else if (rest.substr(0, 9) == "<![CDATA[") {
            i = skip_past(lt + 9, "]]>");
        } else if (rest.substr(0, 2) == "<?") {
            i = skip_past(lt + 2, "?>");
        } else {
            // A tag or a DOCTYPE: to its '>' outside quotes (and the DOCTYPE's internal subset).
            bool doctype = rest.substr(0, 2) == "<!";
            char quote = 0;
            int brackets = 0;
            size_t j = lt + 1;
            for (; j < x.size(); ++j) {
                char c = x[j];
                if (quote) {
                    if (c == quote) quote = 0;
                } else if (c == '"' || c == '\'') {
                    quote = c;
                } else if (doctype && c == '[') {
                    ++brackets;
                } else if (doctype && c == ']') {
                    --brackets;
                } else if (c == '>' && brackets <= 0) {
                    break;
                }
            }
            if (j >= x.size()) break;
            if (doctype) {
                // declares, nests nothing
            } else if (rest.substr(0, 2) == "</") {
                if (depth > 0) --depth;
            } else if (x[j - 1] != '/') {
                if (++depth > deepest) deepest = depth;
                if (deepest > stop_above) return deepest;
            }
            i = j + 1;
        }
    }
    return deepest;
}

void write_element(Poco::XML::XMLWriter& w, const SoapDialect& d, const Element& e, bool rename) {
    std::string name = rename ? d.vendor_name(e.name) : e.name;
    w.startElement(d.ns, name, "ns:" + name);
    if (e.children.empty()) w.characters(e.text);
    for (const auto& c : e.children) write_element(w, d, c, true);
    w.endElement(d.ns, name, "ns:" + name);
}

// Writes the envelope around `body`, then transcodes it. POCO writes UTF-8 and, without
// a POCO text encoding for GB 18030, would declare UTF-8: the declaration is ours.
template <class Body>
Result<std::string> envelope(const SoapDialect& d, Body body) {
    std::ostringstream out;
    out << "<?xml version=\"1.0\" encoding=\"" << xml_encoding_name(d.charset) << "\"?>";
    try {
        Poco::XML::XMLWriter w(out, 0);
        w.startDocument();
        w.startPrefixMapping("soap", kSoapNs);
        w.startElement(kSoapNs, "Envelope", "soap:Envelope");
        w.startElement(kSoapNs, "Body", "soap:Body");
        w.startPrefixMapping("ns", d.ns);
        body(w);
        w.endPrefixMapping("ns");
        w.endElement(kSoapNs, "Body", "soap:Body");
        w.endElement(kSoapNs, "Envelope", "soap:Envelope");
        w.endPrefixMapping("soap");
        w.endDocument();
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Internal, "soap.write_failed", e.displayText());
    }
    if (d.charset == hl7::Charset::Utf8) return out.str();
    auto encoded = hl7::from_utf8(out.str(), d.charset);
    if (!encoded) return make_error(ErrorClass::BadInput, "soap.charset_unrepresentable", encoded.error().message);
    return std::move(encoded.value());
}

// The encoding the XML declaration names, "" without one.
std::string declared_encoding(std::string_view bytes, size_t& declaration_end) {
    declaration_end = 0;
    if (bytes.substr(0, 5) != "<?xml") return {};
    auto end = bytes.find("?>");
    if (end == std::string_view::npos) return {};
    declaration_end = end + 2;
    auto decl = bytes.substr(0, end);
    auto at = decl.find("encoding");
    if (at == std::string_view::npos) return {};
    auto open = decl.find_first_of("\"'", at);
    if (open == std::string_view::npos) return {};
    auto close = decl.find(decl[open], open + 1);
    if (close == std::string_view::npos) return {};
    return std::string(decl.substr(open + 1, close - open - 1));
}

std::vector<Poco::XML::Element*> element_children(Poco::XML::Node* n) {
    std::vector<Poco::XML::Element*> out;
    for (auto* c = n->firstChild(); c; c = c->nextSibling())
        if (c->nodeType() == Poco::XML::Node::ELEMENT_NODE) out.push_back(static_cast<Poco::XML::Element*>(c));
    return out;
}

Element from_dom(const SoapDialect& d, Poco::XML::Element* e) {
    Element out{d.hisgate_name(e->localName()), {}, {}};
    auto children = element_children(e);
    if (children.empty()) out.text = e->innerText();
    for (auto* c : children) out.children.push_back(from_dom(d, c));
    return out;
}

Poco::XML::Element* descendant(Poco::XML::Element* e, const std::string& local_name) {
    for (auto* c : element_children(e)) {
        if (c->localName() == local_name) return c;
        if (auto* found = descendant(c, local_name)) return found;
    }
    return nullptr;
}
}  // namespace

Element& Element::add(std::string child_name, std::string child_text) {
    children.push_back(Element{std::move(child_name), std::move(child_text), {}});
    return children.back();
}

std::string Element::text_of(const std::string& child_name) const {
    for (const auto& c : children)
        if (c.name == child_name) return c.text;
    return {};
}

std::vector<const Element*> Element::all(const std::string& child_name) const {
    std::vector<const Element*> out;
    for (const auto& c : children)
        if (c.name == child_name) out.push_back(&c);
    return out;
}

Result<std::string> write_envelope(const SoapDialect& d, const Element& operation) {
    return envelope(d, [&](Poco::XML::XMLWriter& w) { write_element(w, d, operation, false); });
}

Result<std::string> write_fault(const SoapDialect& d, bool client, const std::string& vendor_code, const std::string& text) {
    return envelope(d, [&](Poco::XML::XMLWriter& w) {
        w.startElement(kSoapNs, "Fault", "soap:Fault");
        w.startElement("", "faultcode", "faultcode");
        w.characters(client ? "soap:Client" : "soap:Server");
        w.endElement("", "faultcode", "faultcode");
        w.startElement("", "faultstring", "faultstring");
        w.characters(text);
        w.endElement("", "faultstring", "faultstring");
        w.startElement("", "detail", "detail");
        w.startElement(d.ns, "Code", "ns:Code");
        w.characters(vendor_code);
        w.endElement(d.ns, "Code", "ns:Code");
        w.endElement("", "detail", "detail");
        w.endElement(kSoapNs, "Fault", "soap:Fault");
    });
}

Result<Envelope> read_envelope(const SoapDialect& d, std::string_view bytes) {
    size_t declaration_end = 0;
    std::string encoding = declared_encoding(bytes, declaration_end);
    hl7::Charset charset = d.charset;
    if (!encoding.empty()) {
        auto c = charset_from_xml(encoding);
        if (!c) return unreadable(c.error().message);
        charset = c.value();
    }
    // expat reads UTF-8 but not GB 18030: transcode, and drop the declaration that would
    // now be wrong.
    std::string utf8;
    if (charset == hl7::Charset::Utf8 || charset == hl7::Charset::Ascii) {
        utf8.assign(bytes);
    } else {
        if (auto done = hl7::to_utf8(bytes.substr(declaration_end), charset, &utf8); !done)
            return unreadable("the XML is not valid " + xml_encoding_name(charset) + ": " + done.error().message);
    }
    if (xml_depth(utf8, kMaxXmlDepth) > kMaxXmlDepth)
        return make_error(ErrorClass::Protocol, "soap.too_deep",
                          "the answer nests XML elements at most " + std::to_string(kMaxXmlDepth) + " levels deep, found more");
    Poco::AutoPtr<Poco::XML::Document> doc;
    try {
        Poco::XML::DOMParser parser;
        parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
        // An answer must never make us fetch or expand anything from outside it.
        parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_GENERAL_ENTITIES, false);
        parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_PARAMETER_ENTITIES, false);
        doc = parser.parseString(utf8);
    } catch (const Poco::Exception& e) {
        return unreadable("the answer is not well-formed XML: " + e.displayText());
    }
    auto* root = doc->documentElement();
    if (!root || root->localName() != "Envelope" || root->namespaceURI() != kSoapNs)
        return unreadable("the XML is not a SOAP 1.1 envelope");
    Poco::XML::Element* body = nullptr;
    for (auto* c : element_children(root))
        if (c->localName() == "Body" && c->namespaceURI() == kSoapNs) body = c;
    auto content = body ? element_children(body) : std::vector<Poco::XML::Element*>{};
    if (content.empty()) return unreadable("the SOAP envelope has no body");
    Envelope out;
    auto* first = content.front();
    if (first->localName() == "Fault" && first->namespaceURI() == kSoapNs) {
        out.fault = true;
        if (auto* text = descendant(first, "faultstring")) out.fault_text = text->innerText();
        if (auto* detail = descendant(first, "detail"))
            if (auto* code = descendant(detail, "Code")) out.fault_code = code->innerText();
        return out;
    }
    out.operation_ns = first->namespaceURI();
    out.operation = from_dom(d, first);
    return out;
}

}  // namespace hisgate::soap
