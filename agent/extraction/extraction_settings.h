// The extractor's settings, read once from the hospital's parameters (extraction.*,
// hospital.timezone). The catalog has checked types and ranges; this checks what only
// the extractor knows (push field names, the listen endpoint, the time zone file).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "agent/extraction/push_fields.h"
#include "common/error.h"
#include "config-params/param_set.h"
#include "hl7/charset.h"

namespace hisgate::extraction {

struct ExtractionSettings {
    std::chrono::milliseconds interval{std::chrono::minutes(15)};
    int days_ahead = 7;                   // schedule window, today included
    std::string timezone = "UTC";         // the hospital's: which day "today" is
    bool push_enabled = false;            // extraction.push.listen set
    std::string push_host = "127.0.0.1";
    uint16_t push_port = 0;               // 0 with push_enabled = any free port (tests)
    PushFields fields;
    hl7::Charset charset = hl7::Charset::Utf8;  // of pushes without MSH-18 (his.charset)
};

// Errors: Config "params.invalid", every problem named by its parameter.
Result<ExtractionSettings> settings_from_params(const params::ParamSet& p);

}  // namespace hisgate::extraction
