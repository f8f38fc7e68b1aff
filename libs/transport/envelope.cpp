#include "transport/envelope.h"

#include "common/random_id.h"
#include "common/utc_time.h"

namespace hisgate {

namespace {
Error envelope_error(const std::string& what) {
    return make_error(ErrorClass::BadInput, "envelope.invalid", what);
}

Result<std::string> required_string(const nlohmann::json& doc, const char* field) {
    auto it = doc.find(field);
    if (it == doc.end()) return envelope_error(std::string("missing required field \"") + field + "\"");
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
        return envelope_error(std::string("field \"") + field + "\" must be a non-empty string");
    return it->get<std::string>();
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
    return doc.dump();
}

Result<Envelope> Envelope::parse(std::string_view payload) {
    auto doc = nlohmann::json::parse(payload, nullptr, false);
    if (doc.is_discarded()) return envelope_error("payload is not valid JSON");
    if (!doc.is_object()) return envelope_error("payload must be a JSON object");

    auto schema_it = doc.find("schema");
    if (schema_it == doc.end()) return envelope_error("missing required field \"schema\"");
    if (!schema_it->is_number_integer()) return envelope_error("field \"schema\" must be an integer");
    int schema = schema_it->get<int>();
    if (schema < kMinSchema || schema > kMaxSchema)
        return make_error(ErrorClass::BadInput, "envelope.unsupported_schema",
                          "schema version " + std::to_string(schema) + " is not supported (expected " +
                              std::to_string(kMinSchema) + " to " + std::to_string(kMaxSchema) + ")");

    Envelope e;
    e.schema = schema;
    for (auto [field, target] : {std::pair{"id", &e.id}, {"type", &e.type}, {"hospital_id", &e.hospital_id}}) {
        auto v = required_string(doc, field);
        if (!v) return v.error();
        *target = std::move(v.value());
    }
    if (auto it = doc.find("sent_at"); it != doc.end() && it->is_string()) e.sent_at = it->get<std::string>();
    if (auto it = doc.find("in_reply_to"); it != doc.end()) {
        if (!it->is_string()) return envelope_error("field \"in_reply_to\" must be a string");
        e.in_reply_to = it->get<std::string>();
    }
    if (auto it = doc.find("ack_stored"); it != doc.end() && it->is_boolean()) e.ack_stored = it->get<bool>();
    if (auto it = doc.find("body"); it != doc.end()) {
        if (!it->is_object()) return envelope_error("field \"body\" must be an object");
        e.body = *it;
    }
    if (auto it = doc.find("error"); it != doc.end() && !it->is_null()) {
        if (!it->is_object()) return envelope_error("field \"error\" must be an object");
        auto code = required_string(*it, "code");
        if (!code) return code.error();
        std::string cls = it->value("class", "internal"), message = it->value("message", "");
        e.error = make_error(error_class_from_string(cls), code.value(), message);
    }
    return e;
}

}  // namespace hisgate
