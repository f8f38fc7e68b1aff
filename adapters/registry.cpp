#include "adapters/registry.h"

#include "adapters/hl7v2/hl7v2_adapter.h"

namespace hisgate {

void AdapterRegistry::add(std::string dialect, AdapterFactory factory) { factories_[std::move(dialect)] = std::move(factory); }

std::unique_ptr<HisAdapter> AdapterRegistry::create(const std::string& dialect, ConfigReader& params,
                                                    const std::string& prefix) const {
    auto it = factories_.find(dialect);
    if (it == factories_.end()) {
        std::string known;
        for (const auto& name : dialects()) known += (known.empty() ? "" : ", ") + name;
        params.problem(prefix + "adapter", "one of: " + known, "\"" + dialect + "\"");
        return nullptr;
    }
    return it->second(params, prefix);
}

std::vector<std::string> AdapterRegistry::dialects() const {
    std::vector<std::string> names;
    for (const auto& [name, _] : factories_) names.push_back(name);
    return names;
}

const AdapterRegistry& AdapterRegistry::builtin() {
    static const AdapterRegistry registry = [] {
        AdapterRegistry r;
        r.add("hl7v2-mllp", make_hl7v2_adapter);
        return r;
    }();
    return registry;
}

}  // namespace hisgate
