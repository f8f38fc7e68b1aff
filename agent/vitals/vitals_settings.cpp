#include "agent/vitals/vitals_settings.h"

#include <cctype>

namespace hisgate::vitals {

const char* to_string(Interface i) { return i == Interface::Realtime ? "realtime" : "unsolicited"; }

Interface VitalsSettings::interface_of(const std::string& model) const {
    auto it = interfaces.find(model);
    return it == interfaces.end() ? default_interface : it->second;
}

namespace {
Interface parse_interface(const std::string& s) { return s == "realtime" ? Interface::Realtime : Interface::Unsolicited; }

bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s)
        if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
}
}  // namespace

Result<VitalsSettings> settings_from_params(const params::ParamSet& p) {
    VitalsSettings s;
    std::vector<std::string> problems;
    s.enabled = p.boolean("vitals.enabled");
    for (const auto& item : p.json("vitals.ward_networks")) {
        auto text = item.get<std::string>();
        auto range = IpRange::parse(text);
        if (!range) problems.push_back("vitals.ward_networks: \"" + text + "\" is not an address or CIDR block");
        else {
            s.ward_networks.push_back(*range);
            s.ward_network_text.push_back(text);
        }
    }
    if (s.enabled && p.json("vitals.ward_networks").empty())
        problems.push_back("vitals.ward_networks: must name at least one network when vitals.enabled is true");
    s.discovery_bind = p.string("vitals.discovery.bind");
    s.discovery_port = static_cast<uint16_t>(p.integer("vitals.discovery.port"));
    for (const auto& [model, iface] : p.code_table("vitals.interfaces")) s.interfaces[model] = parse_interface(iface);
    s.default_interface = parse_interface(p.string("vitals.default_interface"));
    const auto& codes = p.json("vitals.codes");
    for (const auto& [code, meaning] : codes.items()) {
        std::string where = "vitals.codes[\"" + code + "\"]";
        if (code.empty() || code.size() > 32) {
            problems.push_back(where + ": a code is 1-32 characters");
            continue;
        }
        if (!meaning.is_object()) {
            problems.push_back(where + ": expected {\"name\", \"unit\"} or {\"info\": true}");
            continue;
        }
        CodeMeaning m;
        if (meaning.contains("info")) {
            if (!meaning["info"].is_boolean() || !meaning["info"].get<bool>() || meaning.size() != 1) {
                problems.push_back(where + ": {\"info\": true} takes nothing else");
                continue;
            }
            m.info = true;
        } else {
            if (!meaning.contains("name") || !meaning["name"].is_string() || !valid_name(meaning["name"].get<std::string>())) {
                problems.push_back(where + ".name: expected 1-32 of [a-z0-9_]");
                continue;
            }
            if (!meaning.contains("unit") || !meaning["unit"].is_string() || meaning["unit"].get<std::string>().size() > 16) {
                problems.push_back(where + ".unit: expected a string of at most 16 characters");
                continue;
            }
            m.name = meaning["name"].get<std::string>();
            m.unit = meaning["unit"].get<std::string>();
        }
        s.codes[code] = m;
    }
    s.stale_after = p.duration("vitals.stale_after");
    s.lost_after = p.duration("vitals.lost_after");
    if (s.lost_after <= s.stale_after) problems.push_back("vitals.lost_after: must be longer than vitals.stale_after");
    s.backoff_min = p.duration("vitals.reconnect_backoff_min");
    s.backoff_max = p.duration("vitals.reconnect_backoff_max");
    if (s.backoff_max < s.backoff_min)
        problems.push_back("vitals.reconnect_backoff_max: must not be shorter than vitals.reconnect_backoff_min");
    s.max_frame_bytes = static_cast<std::size_t>(p.integer("vitals.max_frame_bytes"));
    s.future_tolerance = p.duration("vitals.future_tolerance");
    s.buffer_max_samples = p.integer("vitals.buffer_max_samples");
    s.batch_max = static_cast<int>(p.integer("vitals.batch_max"));
    s.retention = p.duration("vitals.retention");
    if (!problems.empty()) {
        std::string text;
        for (const auto& pr : problems) text += (text.empty() ? "" : "; ") + pr;
        return make_error(ErrorClass::Config, "params.invalid", text);
    }
    return s;
}

}  // namespace hisgate::vitals
