// The figures every hisgate process exposes besides its own, under the names Prometheus
// client libraries use, so the usual dashboards and alerts work unchanged:
//   hisgate_build_info{version,revision} 1
//   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
//   process_open_fds, process_max_fds, process_start_time_seconds
#pragma once

#include <string_view>

#include "common/metrics.h"

namespace hisgate::metrics {

// Sets hisgate_build_info with common/version.h's version and `revision` (the commit the
// program was built from, HISGATE_REVISION; "unknown" outside a git checkout).
void publish_build_info(std::string_view revision, Registry& registry = global());

// Reads /proc/self into the process_* figures; called before each scrape. A figure that
// cannot be read is left as it was (never fails the scrape).
void refresh_process_figures(Registry& registry = global());

}  // namespace hisgate::metrics
