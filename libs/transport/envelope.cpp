#include "transport/envelope.h"

#include <tuple>

#include "common/bounded_json.h"
#include "common/random_id.h"
#include "common/utc_time.h"

namespace hisgate {

namespace {
Error envelope_error(const std::string& what) {
    return make_error(ErrorClass::BadInput, "envelope.invalid", what);
}

Error too_long(const char* field, std::size_t limit, std::size_t found) {
    return make_error(ErrorClass::BadInput, "envelope.too_long",
                      std::string("field \"") + field + "\" is at most " + std::to_string(limit) + " bytes, found " +
                          std::to_string(found));
}

Result<std::string> required_string(const nlohmann::json& doc, const char* field, std::size_t max_bytes) {
    auto it = doc.find(field);
    if (it == doc.end()) return envelope_error(std::string("missing required field \"") + field + "\"");
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
        return envelope_error(std::string("field \"") + field + "\" must be a non-empty string");
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max_bytes) return too_long(field, max_bytes, s.size());
    return s;
}

// An optional string field: "" when absent (or, for lenient fields, not a string).
Result<std::string> optional_string(const nlohmann::json& doc, const char* field, std::size_t max_bytes, bool strict) {
    auto it = doc.find(field);
    if (it == doc.end()) return std::string();
    if (!it->is_string()) {
        if (strict) return envelope_error(std::string("field \"") + field + "\" must be a string");
        return std::string();
    }
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max_bytes) return too_long(field, max_bytes, s.size());
    return s;
}
}  // namespace

Envelope Envelope::make(std::string type, std::string hospital_id, nlohmann::json body) {
    Envelope e;
    e.id = new_id();
    e.type = std::move(type);
    e.hospital_id = std::move(hospital_id);
    e.sent_at = iso_utc_now();
    e.body = std::move(body);
    return e;
}

Envelope Envelope::reply(nlohmann::json reply_body) const {
    Envelope e = make(type + ".result", hospital_id, std::move(reply_body));
    e.in_reply_to = id;
    return e;
}

Envelope Envelope::reply_error(const Error& err) const {
    Envelope e = reply();
    e.error = err;
    return e;
}

Envelope Envelope::stored_ack() const {
    Envelope e = make(type + ".stored", hospital_id);
    e.in_reply_to = id;
    return e;
}

bool Envelope::is_stored_ack() const {
    return !in_reply_to.empty() && type.size() > 7 && type.compare(type.size() - 7, 7, ".stored") == 0;
}

std::string Envelope::to_json() const {
    nlohmann::json doc = {{"schema", schema}, {"id", id},           {"type", type},
                          {"hospital_id", hospital_id}, {"sent_at", sent_at}, {"body", body}};
    if (!in_reply_to.empty()) doc["in_reply_to"] = in_reply_to;
    if (ack_stored) doc["ack_stored"] = true;
    if (error)
        doc["error"] = {{"class", to_string(error->cls)}, {"code", error->code}, {"message", error->message}};
    // Text from a HIS (an error's wording, a report's field) is not always valid UTF-8
    // (a GBK byte, a cut multi-byte character); a default dump() throws on it. Such bytes
    // go out as U+FFFD, so the answer is still sent.
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Envelope> Envelope::parse(std::string_view payload, std::size_t max_bytes) {
    auto parsed = parse_bounded_json(payload, {"the payload", max_bytes, "envelope"});
    if (!parsed) {
        if (parsed.error().code == "envelope.invalid") return envelope_error("payload is not valid JSON");
        return parsed.error();
    }
    auto& doc = parsed.value();
    if (!doc.is_object()) return envelope_error("payload must be a JSON object");

    auto schema_it = doc.find("schema");
    if (schema_it == doc.end()) return envelope_error("missing required field \"schema\"");
    if (!schema_it->is_number_integer()) return envelope_error("field \"schema\" must be an integer");
    const int64_t schema = schema_it->get<int64_t>();  // as int, 2^32 + 1 wrapped to 1
    if (schema < kMinSchema || schema > kMaxSchema)
        return make_error(ErrorClass::BadInput, "envelope.unsupported_schema",
                          "schema version " + std::to_string(schema) + " is not supported (expected " +
                              std::to_string(kMinSchema) + " to " + std::to_string(kMaxSchema) + ")");

    Envelope e;
    e.schema = static_cast<int>(schema);
    for (auto [field, target, limit] : {std::tuple{"id", &e.id, limits::kMessageIdBytes},
                                        {"type", &e.type, limits::kReplyTypeBytes},
                                        {"hospital_id", &e.hospital_id, limits::kHospitalIdBytes}}) {
        auto v = required_string(doc, field, limit);
        if (!v) return v.error();
        *target = std::move(v.value());
    }
    for (auto [field, target, limit, strict] : {std::tuple{"sent_at", &e.sent_at, limits::kTimestampBytes, false},
                                                {"in_reply_to", &e.in_reply_to, limits::kMessageIdBytes, true}}) {
        auto v = optional_string(doc, field, limit, strict);
        if (!v) return v.error();
        *target = std::move(v.value());
    }
    if (e.in_reply_to.empty() && e.type.size() > limits::kTypeBytes)
        return too_long("type", limits::kTypeBytes, e.type.size());
    if (auto it = doc.find("ack_stored"); it != doc.end() && it->is_boolean()) e.ack_stored = it->get<bool>();
    if (auto it = doc.find("body"); it != doc.end()) {
        if (!it->is_object()) return envelope_error("field \"body\" must be an object");
        e.body = std::move(*it);  // bounded depth: the move (and any later copy) stays shallow
    }
    if (auto it = doc.find("error"); it != doc.end() && !it->is_null()) {
        if (!it->is_object()) return envelope_error("field \"error\" must be an object");
        auto code = required_string(*it, "code", limits::kErrorCodeBytes);
        if (!code) return code.error();
        auto cls = optional_string(*it, "class", limits::kTypeBytes, false);
        if (!cls) return cls.error();
        auto message = optional_string(*it, "message", limits::kErrorMessageBytes, false);
        if (!message) return message.error();
        e.error = make_error(error_class_from_string(cls->empty() ? "internal" : *cls), code.value(), message.value());
    }
    return e;
}

}  // namespace hisgate
