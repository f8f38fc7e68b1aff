#include "agent/doctor/finding_table.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hisgate::agent::doctor {

const char* to_string(Status s) {
    switch (s) {
        case Status::Ok: return "OK";
        case Status::Warn: return "WARN";
        case Status::Fail: return "FAIL";
    }
    return "FAIL";
}

namespace {

constexpr size_t kDetailWidth = 60;
constexpr size_t kFixWidth = 48;

// Splits text into lines of at most `width` characters, breaking at spaces where it can
// and keeping the text's own line breaks. Never returns an empty vector.
std::vector<std::string> wrap(const std::string& text, size_t width) {
    std::vector<std::string> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        while (line.size() > width) {
            auto cut = line.rfind(' ', width);
            if (cut == std::string::npos || cut == 0) cut = width;
            out.push_back(line.substr(0, cut));
            line = line.substr(line[cut] == ' ' ? cut + 1 : cut);
        }
        out.push_back(line);
    }
    if (out.empty()) out.emplace_back();
    return out;
}

std::string detail_with_time(const Finding& f) {
    if (!f.millis) return f.detail;
    return f.detail + (f.detail.empty() ? "" : " ") + "(" + std::to_string(*f.millis) + " ms)";
}

std::string pad(const std::string& s, size_t width) { return s + std::string(width > s.size() ? width - s.size() : 0, ' '); }

}  // namespace

std::string render_table(const Findings& findings) {
    size_t check_width = 5;
    for (const auto& f : findings) check_width = std::max(check_width, f.check.size());
    size_t detail_width = 6, fix_width = 10;
    std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cells;
    for (const auto& f : findings) {
        cells.emplace_back(wrap(detail_with_time(f), kDetailWidth), wrap(f.fix, kFixWidth));
        for (const auto& l : cells.back().first) detail_width = std::max(detail_width, l.size());
        for (const auto& l : cells.back().second) fix_width = std::max(fix_width, l.size());
    }
    auto rule = std::string(check_width + detail_width + fix_width + 4 + 13, '-') + "\n";
    std::string out = pad("check", check_width) + " | status | " + pad("detail", detail_width) + " | what to fix\n" + rule;
    for (size_t i = 0; i < findings.size(); ++i) {
        const auto& [detail, fix] = cells[i];
        size_t rows = std::max(detail.size(), fix.size());
        for (size_t r = 0; r < rows; ++r) {
            std::string line = pad(r == 0 ? findings[i].check : "", check_width) + " | " +
                               pad(r == 0 ? to_string(findings[i].status) : "", 6) + " | " +
                               pad(r < detail.size() ? detail[r] : "", detail_width) + " | " + (r < fix.size() ? fix[r] : "");
            while (!line.empty() && line.back() == ' ') line.pop_back();
            out += line + "\n";
        }
    }
    int failed = 0, warned = 0;
    for (const auto& f : findings) {
        if (f.status == Status::Fail) ++failed;
        if (f.status == Status::Warn) ++warned;
    }
    out += rule + std::to_string(findings.size()) + " checks: " + std::to_string(failed) + " failed, " + std::to_string(warned) +
           (warned == 1 ? " warning\n" : " warnings\n");
    return out;
}

std::string render_json(const Findings& findings) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& f : findings) {
        nlohmann::json row = {{"check", f.check}, {"status", to_string(f.status)}, {"detail", f.detail}, {"fix", f.fix}};
        if (f.millis) row["millis"] = *f.millis;
        checks.push_back(std::move(row));
    }
    return nlohmann::json{{"ok", exit_status(findings) == 0}, {"checks", std::move(checks)}, {"table", render_table(findings)}}
               .dump(2) + "\n";
}

int exit_status(const Findings& findings) {
    for (const auto& f : findings)
        if (f.status == Status::Fail) return 1;
    return 0;
}

}  // namespace hisgate::agent::doctor
