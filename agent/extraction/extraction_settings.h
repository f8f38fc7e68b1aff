// The extractor's settings, read once from the hospital's parameters (extraction.interval,
// extraction.days_ahead, extraction.history_keep, hospital.timezone, and the hospital's
// own record: hospital.name, region, city, level). The catalog has checked types and ranges;
// this checks the time zone file. Pushes are the adapter's (HisAdapter::listen_for_pushes).
#pragma once

#include <chrono>
#include <string>

#include "agent/extraction/reference_records.h"
#include "common/error.h"
#include "config-params/param_set.h"

namespace hisgate::extraction {

struct ExtractionSettings {
    std::chrono::milliseconds interval{std::chrono::minutes(15)};
    int days_ahead = 7;                   // schedule window, today included
    std::string timezone = "UTC";         // the hospital's: which day "today" is
    int64_t history_keep = 1000;          // change sets kept for resends (the latest seqs)
    HospitalInfo hospital;                // the hospital record every pull compares
};

// Errors: Config "params.invalid", every problem named by its parameter.
Result<ExtractionSettings> settings_from_params(const params::ParamSet& p);

}  // namespace hisgate::extraction
