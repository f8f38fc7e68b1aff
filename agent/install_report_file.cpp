#include "agent/install_report_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/log.h"
#include "release/install_report.h"

namespace hisgate::agent {

std::optional<nlohmann::json> InstallReportFile::last_install() const {
    if (path_.empty()) return std::nullopt;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return std::nullopt;  // no install yet (or not readable: the updater's own log says)
    // One byte more than allowed, so an over-long file is told from one exactly at the bound.
    std::string text(release::kMaxUpdaterResultBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    auto report = release::install_report_from_updater_result(text);
    std::lock_guard lock(mu_);
    if (!report) {
        std::string problem = report.error().describe();
        if (problem != logged_)
            log::warn("agent.updater_result_ignored", {{"path", path_}, {"error", problem}});
        logged_ = std::move(problem);
        return std::nullopt;
    }
    logged_.clear();
    return report->to_json();
}

}  // namespace hisgate::agent
