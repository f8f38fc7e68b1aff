// Adapters are extensions chosen by configuration: each dialect registers a factory under
// its name, in its own file (register_hl7v2_mllp in adapters/hl7v2/, ...), and the agent
// asks the registry for the one a hospital's parameters name (his.dialect). The registry
// knows no dialect; adding one never touches it or the agent core.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "config-params/param_set.h"

namespace hisgate {

// Builds an adapter from checked parameters; errors name the parameter that is wrong.
using AdapterFactory = std::function<Result<std::unique_ptr<HisAdapter>>(const params::ParamSet& params)>;

class AdapterRegistry {
public:
    // Error Internal "adapters.duplicate_dialect" when `dialect` already has a factory
    // (his.dialect would be ambiguous); the first stays.
    Result<void> add(std::string dialect, AdapterFactory factory);
    // The adapter his.dialect names, with the hospital's id formats and code tables applied
    // (adapters/parameter_rules.h). Config error for a dialect no adapter implements yet.
    Result<std::unique_ptr<HisAdapter>> create(const params::ParamSet& params) const;
    std::vector<std::string> dialects() const;

    // The registry with every dialect built into this program (adapters/builtin_dialects.cpp).
    static const AdapterRegistry& builtin();

private:
    std::map<std::string, AdapterFactory> factories_;
};

// "host:port" -> (host, port); Config error naming `parameter` otherwise.
Result<std::pair<std::string, uint16_t>> host_and_port(const std::string& endpoint, const std::string& parameter);

}  // namespace hisgate
