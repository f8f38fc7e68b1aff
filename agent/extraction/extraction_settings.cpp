#include "agent/extraction/extraction_settings.h"

#include "adapters/registry.h"
#include "common/time_zone.h"

namespace hisgate::extraction {

Result<ExtractionSettings> settings_from_params(const params::ParamSet& p) {
    ExtractionSettings s;
    std::string problems;
    auto add = [&problems](const std::string& text) { problems += (problems.empty() ? "" : "\n") + text; };

    s.interval = p.duration("extraction.interval");
    s.days_ahead = static_cast<int>(p.integer("extraction.days_ahead"));
    s.timezone = p.string("hospital.timezone");
    if (auto tz = TimeZone::load(s.timezone); !tz) add("hospital.timezone: " + tz.error().message);

    std::string listen = p.string("extraction.push.listen");
    if (!listen.empty()) {
        auto hp = host_and_port(listen, "extraction.push.listen");
        if (!hp) add(hp.error().message);
        else {
            s.push_enabled = true;
            s.push_host = hp->first;
            s.push_port = hp->second;
        }
    }
    if (auto cs = hl7::charset_from_hl7(p.string("his.charset")); !cs) add("his.charset: " + cs.error().message);
    else s.charset = cs.value();
    auto fields = PushFields::from_json(p.json("extraction.hl7.fields"));
    if (!fields) add(fields.error().message);
    else s.fields = std::move(fields.value());

    if (!problems.empty()) return make_error(ErrorClass::Config, "params.invalid", problems);
    return s;
}

}  // namespace hisgate::extraction
