#include "agent/vitals/drop_log.h"

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::vitals {

void DropLog::drop(const std::string& reason, const nlohmann::json& fields, int64_t n) {
    metrics::global()
        .counter("hisgate_vitals_dropped_total", "Monitor messages or observations the vitals gateway dropped, by reason",
                 {{"reason", reason}})
        .inc(static_cast<double>(n));
    int64_t to_log = 0;
    {
        std::lock_guard lock(mu_);
        auto& e = entries_[reason];
        e.total += n;
        e.since_logged += n;
        auto now = clock_.steady_now();
        if (!e.logged || now - e.last_logged >= std::chrono::minutes(1)) {
            e.logged = true;
            e.last_logged = now;
            to_log = e.since_logged;
            e.since_logged = 0;
        }
    }
    if (to_log > 0) {
        auto f = fields;
        f["reason"] = reason;
        f["dropped_since_last_line"] = to_log;
        log::warn("vitals.dropped", f);
    }
}

int64_t DropLog::total(const std::string& reason) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(reason);
    return it == entries_.end() ? 0 : it->second.total;
}

}  // namespace hisgate::vitals
