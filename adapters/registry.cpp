#include "adapters/registry.h"

#include <charconv>

#include "adapters/parameter_rules.h"

namespace hisgate {

Result<void> AdapterRegistry::add(std::string dialect, AdapterFactory factory) {
    if (factories_.count(dialect))
        return make_error(ErrorClass::Internal, "adapters.duplicate_dialect",
                          "the dialect \"" + dialect + "\" is registered twice; expected one factory per name");
    factories_.emplace(std::move(dialect), std::move(factory));
    return {};
}

Result<std::unique_ptr<HisAdapter>> AdapterRegistry::create(const params::ParamSet& p) const {
    std::string dialect = p.string("his.dialect");
    auto it = factories_.find(dialect);
    if (it == factories_.end()) {
        std::string known;
        for (const auto& name : dialects()) known += (known.empty() ? "" : ", ") + name;
        return make_error(ErrorClass::Config, "params.unsupported_dialect",
                          "his.dialect: this agent has no adapter for \"" + dialect + "\" yet (it has: " + known + ")");
    }
    auto adapter = it->second(p);
    if (!adapter) return adapter.error();
    return with_parameter_rules(std::move(adapter.value()), p);
}

std::vector<std::string> AdapterRegistry::dialects() const {
    std::vector<std::string> names;
    for (const auto& [name, _] : factories_) names.push_back(name);
    return names;
}

Result<std::pair<std::string, uint16_t>> host_and_port(const std::string& endpoint, const std::string& parameter) {
    auto colon = endpoint.rfind(':');
    unsigned port = 0;
    if (colon == std::string::npos || colon == 0 || endpoint.find("://") != std::string::npos)
        return make_error(ErrorClass::Config, "params.invalid", parameter + ": expected host:port, found \"" + endpoint + "\"");
    auto [end, ec] = std::from_chars(endpoint.data() + colon + 1, endpoint.data() + endpoint.size(), port);
    if (ec != std::errc() || end != endpoint.data() + endpoint.size() || port == 0 || port > 65535)
        return make_error(ErrorClass::Config, "params.invalid", parameter + ": expected a port from 1 to 65535, found \"" + endpoint + "\"");
    return std::pair{endpoint.substr(0, colon), static_cast<uint16_t>(port)};
}

}  // namespace hisgate
