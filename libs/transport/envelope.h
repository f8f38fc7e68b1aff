// The JSON envelope every MQTT payload travels in.
//
//   {"schema": 1, "id": "<unique message id>", "type": "report.get", "hospital_id": "H001",
//    "sent_at": "2026-11-21T12:00:00.000Z", "body": {...},
//    "in_reply_to": "<request id>",                              (responses only)
//    "error": {"class": "timeout", "code": "his.timeout", "message": "..."}}   (failed responses)
//
// Unknown fields are ignored (newer senders may add them); missing required fields and
// schema versions outside [kMinSchema, kMaxSchema] are rejected with a clear error.
// A payload is read only within bounds (transport/limits.h): its size (by what the
// message is), its nesting (common/bounded_json.h) and the length of each envelope field
// are checked before anything else is done with it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "transport/limits.h"

namespace hisgate {

struct Envelope {
    static constexpr int kMinSchema = 1;
    static constexpr int kMaxSchema = 1;

    int schema = kMaxSchema;
    std::string id;
    std::string type;
    std::string hospital_id;
    std::string sent_at;
    std::string in_reply_to;
    nlohmann::json body = nlohmann::json::object();
    std::optional<Error> error;
    // A request: the sender wants to hear once the agent has stored it, by a message
    // "<type>.stored" in reply to it (stored_ack()), so it can re-send until then.
    bool ack_stored = false;

    static Envelope make(std::string type, std::string hospital_id, nlohmann::json body = nlohmann::json::object());
    Envelope reply(nlohmann::json body = nlohmann::json::object()) const;
    Envelope reply_error(const Error& e) const;
    Envelope stored_ack() const;  // "<type>.stored", in reply to this request: not an answer
    bool is_stored_ack() const;

    std::string to_json() const;
    // `max_bytes`: the cap of this kind of message (limits::kRequestBytes, kStateBytes, ...).
    static Result<Envelope> parse(std::string_view payload, std::size_t max_bytes = limits::kAnswerBytes);
};


}  // namespace hisgate
