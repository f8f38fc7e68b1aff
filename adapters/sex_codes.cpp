#include "adapters/sex_codes.h"

namespace hisgate {

SexCodes::SexCodes(std::map<std::string, std::string> vendor_to_hisgate) : to_hisgate_(std::move(vendor_to_hisgate)) {
    for (const auto& [vendor, ours] : to_hisgate_) to_vendor_.emplace(ours, vendor);  // first one wins
}

const SexCodes& SexCodes::hl7_table_0001() {
    static const SexCodes codes({{"M", "male"}, {"F", "female"}, {"O", "other"}, {"U", "unknown"}});
    return codes;
}

std::optional<std::string> SexCodes::vendor(const std::string& hisgate_code) const {
    auto it = to_vendor_.find(hisgate_code);
    if (it == to_vendor_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::string> SexCodes::hisgate(const std::string& vendor_code) const {
    if (vendor_code.empty()) return std::string();
    auto it = to_hisgate_.find(vendor_code);
    if (it == to_hisgate_.end()) return std::nullopt;
    return it->second;
}

std::string SexCodes::recode(const std::string& code, const SexCodes& from, const SexCodes& to) {
    auto ours = from.hisgate(code);
    if (!ours || ours->empty()) return {};
    return to.vendor(*ours).value_or("");
}

}  // namespace hisgate
