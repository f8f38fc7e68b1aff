#include "config-params/problems.h"

namespace hisgate::params {

std::string Problems::lines(const std::string& source) const {
    std::string all;
    for (const auto& p : list_) {
        if (!all.empty()) all += "\n";
        all += source + ": " + p.path + ": expected " + p.expected + ", found " + p.found;
    }
    return all;
}

Error Problems::to_error(const std::string& code, const std::string& source) const {
    return make_error(ErrorClass::Config, code, lines(source));
}

}  // namespace hisgate::params
