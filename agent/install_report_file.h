// The updater's result file as the agent reports it (`lastInstall` in its birth and
// heartbeats; release/install_report.h, docs/updater.md): hisgate-updater writes how its
// last install ended to <root>/updater-result.json, and the agent config's
// updater.result_file names it.
//
// Read afresh for each state message (the updater rewrites it by rename), at most
// release::kMaxUpdaterResultBytes. No file yet is no report; a file that does not read
// (too long, not JSON, a field out of bounds) is no report and one log line per distinct
// problem, not one per heartbeat.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace hisgate::agent {

class InstallReportFile {
public:
    explicit InstallReportFile(std::string path) : path_(std::move(path)) {}
    // The wire object `lastInstall`, or nullopt (no path, no file, or a file that does not read).
    std::optional<nlohmann::json> last_install() const;

private:
    std::string path_;
    mutable std::mutex mu_;
    mutable std::string logged_;  // the last problem logged
};

}  // namespace hisgate::agent
