#include "agent/extraction/extraction_settings.h"

#include "common/time_zone.h"

namespace hisgate::extraction {

Result<ExtractionSettings> settings_from_params(const params::ParamSet& p) {
    ExtractionSettings s;
    s.interval = p.duration("extraction.interval");
    s.days_ahead = static_cast<int>(p.integer("extraction.days_ahead"));
    s.timezone = p.string("hospital.timezone");
    s.history_keep = p.integer("extraction.history_keep");
    s.hospital = {p.string("hospital.name"), p.string("hospital.region"), p.string("hospital.city"),
                  p.string("hospital.level")};
    if (auto tz = TimeZone::load(s.timezone); !tz)
        return make_error(ErrorClass::Config, "params.invalid", "hospital.timezone: " + tz.error().message);
    return s;
}

}  // namespace hisgate::extraction
