// The size limits of everything that enters a process from outside: checked before any
// other work is done with it, and refused with a BadInput error that names what, where
// and the limit (docs/architecture.md, "Limits"). Lengths are in bytes (UTF-8).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/bounded_json.h"
#include "common/error.h"

namespace hisgate::limits {

// Whole messages, by what they are.
inline constexpr std::size_t kRequestBytes = 64 * 1024;        // an MQTT request to an agent
inline constexpr std::size_t kHttpBodyBytes = 64 * 1024;       // an HTTP request body
inline constexpr std::size_t kStateBytes = 64 * 1024;          // a retained state message
inline constexpr std::size_t kAnswerBytes = 4 * 1024 * 1024;   // an answer (reports, statements)
inline constexpr std::size_t kEventBytes = 4 * 1024 * 1024;    // an event (reference changesets)
// The broker's own cap on a publish's payload (Mosquitto `message_size_limit`, set by the
// demo and the test broker): the largest kind above and 64 KiB to spare, so the broker
// drops anything bigger before any client reads it.
inline constexpr std::size_t kBrokerMessageBytes = kAnswerBytes + 64 * 1024;

// Envelope fields.
inline constexpr std::size_t kMessageIdBytes = 128;   // id, in_reply_to
inline constexpr std::size_t kTypeBytes = 64;         // type (of a request, state, event)
// A reply's type: its request's and ".result" or ".stored", so a reply to any request is readable.
inline constexpr std::size_t kReplyTypeBytes = kTypeBytes + 7;
inline constexpr std::size_t kHospitalIdBytes = 64;   // hospital_id (topics::valid_hospital_id)
inline constexpr std::size_t kTimestampBytes = 64;    // sent_at
inline constexpr std::size_t kErrorCodeBytes = 128;   // error.code
inline constexpr std::size_t kErrorMessageBytes = 16 * 1024;  // error.message
// MQTT 5 correlation data of a request (the response topic: topics::kMaxResponseTopic).
inline constexpr std::size_t kCorrelationBytes = 128;

// Fields of a request body (HTTP or MQTT): an id ("id" or a name ending in "Id": patient,
// order, slot, report, doctor, department ids) is at most kIdBytes, any other text
// kTextBytes, a field name kTextBytes.
inline constexpr std::size_t kIdBytes = 64;
inline constexpr std::size_t kTextBytes = 256;

// The first field of `body` longer than its limit, as a BadInput error with `code`
// naming it by path ("body.patient.id is at most 64 bytes, found 40000"); nullopt when
// every field is within its limit. The body's depth must be bounded already
// (parse_bounded_json): the walk recurses once per level.
std::optional<Error> oversized_field(const nlohmann::json& body, const std::string& where, const std::string& code);

}  // namespace hisgate::limits
