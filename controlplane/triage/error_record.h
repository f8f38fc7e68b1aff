// One error occurrence as triage sees it: its class and stable code, the tags that say
// where it happened, and the trace that carried it. Codes and ids only: never an error's
// message, which may quote what a HIS or a caller wrote (a patient's name).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.h"

namespace hisgate::controlplane::triage {

// Where an error happened. Each tag is empty when unknown (a hospital whose birth did not
// say its region, an error that is no one request's).
struct ErrorTags {
    std::string hospital;  // hospital id
    std::string dialect;   // the agent's adapter: hl7v2, rest-json, soap-xml, ... (its vendor)
    std::string path;      // business path: the request type ("appointment.book") or probe path
    std::string version;   // the agent's version
    std::string region;    // the hospital's region, when its birth names one
};

// Where the control plane saw it.
enum class Source {
    Answer,  // an agent's answer to a request carried the error
    Router,  // the control plane could not get the request answered (offline, timeout, broker)
    Event,   // an agent's event (a failed probe)
    Reconcile,  // the nightly three-way reconciliation found a mismatch
};
const char* to_string(Source s);

struct ErrorRecord {
    ErrorClass cls = ErrorClass::Internal;
    std::string code;
    ErrorTags tags;
    Source source = Source::Answer;
    std::string trace_id;  // 32 hex digits, or empty
};

// Bounds (transport/limits.h): a code is 1 to kCodeBytes of [A-Za-z0-9_.-]; each tag at
// most kTagBytes of printable ASCII without spaces; a trace id 32 lowercase hex digits or
// empty. The first field out of bounds as a BadInput error naming it; nullopt when all fit.
inline constexpr std::size_t kCodeBytes = 128;
inline constexpr std::size_t kTagBytes = 64;
std::optional<Error> out_of_bounds(const ErrorRecord& r);

}  // namespace hisgate::controlplane::triage
