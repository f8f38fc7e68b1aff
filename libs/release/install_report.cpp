#include "release/install_report.h"

#include <chrono>

#include "release/release_version.h"
#include "release/signed_document.h"

namespace hisgate::release {

namespace {
Error report_invalid(const std::string& why) { return make_error(ErrorClass::BadInput, "install_report.invalid", why); }

// A string field within `max` bytes; "" when absent and `optional`.
Result<std::string> report_text(const nlohmann::json& j, const char* name, std::size_t max, bool optional) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) {
        if (optional) return std::string();
        return report_invalid(std::string(name) + " missing");
    }
    if (!it->is_string()) return report_invalid(std::string(name) + " must be a string");
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max) return report_invalid(std::string(name) + " longer than " + std::to_string(max) + " bytes");
    return s;
}

Result<bool> report_flag(const nlohmann::json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_boolean()) return report_invalid(std::string(name) + " must be true or false");
    return it->get<bool>();
}

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string cut_utf8_at(std::string s, std::size_t max) {
    if (s.size() <= max) return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
    return s;
}

// The fields both readings share, `rolled_key` naming the rollback flag; the error's
// message is cut to its bound when `cut_message`, else refused over it.
Result<InstallReport> read_report(const nlohmann::json& j, const char* rolled_key, bool cut_message) {
    if (!j.is_object()) return report_invalid("not an object");
    InstallReport r;
    auto to = report_text(j, "to", kMaxInstallVersionBytes, false);
    if (!to) return to.error();
    if (!parse_version(*to)) return report_invalid("to is not a release version");
    r.to = *to;
    auto from = report_text(j, "from", kMaxInstallVersionBytes, true);
    if (!from) return from.error();
    r.from = *from;
    auto ok = report_flag(j, "ok");
    if (!ok) return ok.error();
    r.ok = *ok;
    auto rolled = report_flag(j, rolled_key);
    if (!rolled) return rolled.error();
    r.rolled_back = *rolled;
    auto at = report_text(j, "at", 32, false);
    if (!at) return at.error();
    if (!parse_time(*at, "at")) return report_invalid("at is not a time like 2026-12-06T01:00:00Z");
    r.at = *at;
    if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
        if (!e->is_object()) return report_invalid("error must be an object");
        auto code = report_text(*e, "code", kMaxInstallCodeBytes, false);
        if (!code) return code.error();
        r.error_code = *code;
        auto message = report_text(*e, "message", cut_message ? std::string::npos : kMaxInstallMessageBytes, true);
        if (!message) return message.error();
        r.error_message = cut_utf8_at(*message, kMaxInstallMessageBytes);
    }
    return r;
}
}  // namespace

int64_t InstallReport::at_ms() const {
    auto t = parse_time(at, "at");
    if (!t) return 0;
    return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

nlohmann::json InstallReport::to_json() const {
    nlohmann::json j = {{"from", from}, {"to", to}, {"ok", ok}, {"rolledBack", rolled_back}, {"at", at}};
    if (!error_code.empty()) j["error"] = {{"code", error_code}, {"message", error_message}};
    return j;
}

Result<InstallReport> install_report_from_updater_result(std::string_view text) {
    if (text.size() > kMaxUpdaterResultBytes)
        return report_invalid("longer than " + std::to_string(kMaxUpdaterResultBytes) + " bytes");
    auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) return report_invalid("not JSON");
    return read_report(j, "rolled_back", true);
}

Result<InstallReport> read_install_report(const nlohmann::json& j) { return read_report(j, "rolledBack", false); }

}  // namespace hisgate::release
