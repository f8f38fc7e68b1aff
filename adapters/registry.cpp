#include "adapters/registry.h"

#include <chrono>

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
        r.add("hl7v2-mllp", [](ConfigReader& p, const std::string& prefix) -> std::unique_ptr<HisAdapter> {
            mllp::ClientOptions mllp;
            mllp.host = p.string(prefix + "host", "127.0.0.1");
            mllp.port = static_cast<uint16_t>(p.integer(prefix + "port", std::nullopt, 1, 65535));
            mllp.connect_timeout = std::chrono::milliseconds(p.integer(prefix + "connect_timeout_ms", 2000, 1, 600000));
            mllp.ack_timeout = std::chrono::milliseconds(p.integer(prefix + "ack_timeout_ms", 3000, 1, 600000));
            mllp.max_attempts = static_cast<int>(p.integer(prefix + "max_attempts", 1, 1, 10));
            const auto* shape = p.section(prefix + "dialect");
            auto dialect = hl7v2::dialect_from_params(shape ? *shape : nlohmann::json::object());
            if (!dialect) {
                p.problem(prefix + "dialect", "a valid HL7 dialect", dialect.error().message);
                return nullptr;
            }
            return make_hl7v2_adapter(std::move(mllp), std::move(dialect.value()));
        });
        return r;
    }();
    return registry;
}

}  // namespace hisgate
