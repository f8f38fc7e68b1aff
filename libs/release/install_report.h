// How the updater's last install ended, as the agent reports it to the control plane in
// its birth and heartbeats (`lastInstall`; docs/updater.md, "What the control plane
// sees"): the rollout engine fails a hospital at once when its updater rolled the release
// back, with the updater's reason, instead of at the wave's deadline (docs/rollouts.md).
//
// Two readings of outside input, both bounded and all-or-nothing:
//  - the updater's own result file (<root>/updater-result.json, snake_case, written by
//    updater/updater.cpp InstallOutcome), read by the agent: its error message is cut to
//    kMaxInstallMessageBytes (at a UTF-8 boundary), anything else out of bounds refuses it;
//  - the wire object `lastInstall` (camelCase), read by the fleet registry: every field
//    within its bound or the whole object is refused; fields it does not know are dropped.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::release {

inline constexpr std::size_t kMaxUpdaterResultBytes = 4096;  // the result file the agent reads
inline constexpr std::size_t kMaxInstallVersionBytes = 64;
inline constexpr std::size_t kMaxInstallCodeBytes = 64;
inline constexpr std::size_t kMaxInstallMessageBytes = 200;  // under a state field's limits::kTextBytes

struct InstallReport {
    std::string from;  // the version running before ("" = none)
    std::string to;    // the version asked for (a release version)
    bool ok = false;
    bool rolled_back = false;
    std::string at;    // when the updater wrote it: release::format_time, the updater's clock
    std::string error_code, error_message;  // when !ok ("" otherwise)

    int64_t at_ms() const;  // `at` as milliseconds since the epoch (validated on reading)
    nlohmann::json to_json() const;  // the wire object
};

// The updater's result file's text. Errors: BadInput install_report.invalid (why).
Result<InstallReport> install_report_from_updater_result(std::string_view text);
// The wire object. Errors: BadInput install_report.invalid (why).
Result<InstallReport> read_install_report(const nlohmann::json& j);

}  // namespace hisgate::release
