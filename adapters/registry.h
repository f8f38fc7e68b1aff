// Adapters are extensions chosen by configuration: each implementation registers a
// factory under its dialect name, and the agent asks the registry for the one its
// parameter file names. Adding a dialect never touches the agent core.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "common/config.h"

namespace hisgate {

// A factory reads its own parameters from the reader (recording problems there) and
// returns the adapter; the caller checks reader.finish() before using it.
using AdapterFactory = std::function<std::unique_ptr<HisAdapter>(ConfigReader& params, const std::string& prefix)>;

class AdapterRegistry {
public:
    void add(std::string dialect, AdapterFactory factory);
    // Records a problem in `params` and returns nullptr for an unknown dialect.
    std::unique_ptr<HisAdapter> create(const std::string& dialect, ConfigReader& params, const std::string& prefix) const;
    std::vector<std::string> dialects() const;

    // The registry with every built-in adapter.
    static const AdapterRegistry& builtin();

private:
    std::map<std::string, AdapterFactory> factories_;
};

}  // namespace hisgate
