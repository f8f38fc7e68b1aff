#include "mllp/hl7_view.h"

#include "hl7/message.h"

namespace hisgate::mllp {

namespace {
std::string field_of(std::string_view bytes, std::string_view path, const hl7::ParseOptions& options) {
    auto parsed = hl7::Message::parse(bytes, options);
    return parsed.ok() ? parsed->get(path) : std::string();
}
}  // namespace

std::string control_id(std::string_view message, const hl7::ParseOptions& options) {
    return field_of(message, "MSH-10", options);
}

std::string acknowledged_id(std::string_view response, const hl7::ParseOptions& options) {
    return field_of(response, "MSA-2", options);
}

std::string acknowledgment_code(std::string_view response, const hl7::ParseOptions& options) {
    return field_of(response, "MSA-1", options);
}

std::string store_key(std::string_view message) {
    // The MSH segment alone holds the key: never parse a large message's body for it.
    auto parsed = hl7::Message::parse(message.substr(0, message.find_first_of("\r\n")));
    if (!parsed.ok()) return {};
    std::string id = parsed->get("MSH-10");
    if (id.empty()) return {};
    return parsed->get("MSH-4") + "_" + parsed->get("MSH-3") + "_" + id;
}

std::string negative_ack(std::string_view message_head, hl7::AckCode code, std::string_view reason) {
    std::string_view msh = message_head.substr(0, message_head.find_first_of("\r\n"));
    auto parsed = hl7::Message::parse(msh);
    if (!parsed.ok()) return {};
    return hl7::make_ack(*parsed, code, reason);
}

}  // namespace hisgate::mllp
