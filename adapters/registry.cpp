#include "adapters/registry.h"

#include <charconv>

#include "adapters/hl7v2/hl7v2_adapter.h"
#include "adapters/parameter_rules.h"
#include "adapters/rest/rest_adapter.h"
#include "adapters/soap/soap_adapter.h"

namespace hisgate {

void AdapterRegistry::add(std::string dialect, AdapterFactory factory) { factories_[std::move(dialect)] = std::move(factory); }

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

const AdapterRegistry& AdapterRegistry::builtin() {
    static const AdapterRegistry registry = [] {
        AdapterRegistry r;
        r.add("hl7v2-mllp", [](const params::ParamSet& p) -> Result<std::unique_ptr<HisAdapter>> {
            auto endpoint = host_and_port(p.string("his.endpoint"), "his.endpoint");
            if (!endpoint) return endpoint.error();
            auto dialect = hl7v2::dialect_from_params(p);
            if (!dialect) return dialect.error();
            mllp::ClientOptions mllp;
            mllp.host = endpoint->first;
            mllp.port = endpoint->second;
            mllp.connect_timeout = p.duration("his.connect_timeout");
            mllp.ack_timeout = p.duration("his.answer_timeout");
            mllp.max_attempts = static_cast<int>(p.integer("his.max_attempts"));
            mllp.tls = p.boolean("his.tls.enabled");
            mllp.ca_file = p.string("his.tls.ca_file");
            return make_hl7v2_adapter(std::move(mllp), std::move(dialect.value()),
                                      static_cast<int>(p.integer("his.hl7.sessions")));
        });
        r.add("rest-json", make_rest_adapter);
        r.add("soap-xml", make_soap_adapter);
        return r;
    }();
    return registry;
}

}  // namespace hisgate
