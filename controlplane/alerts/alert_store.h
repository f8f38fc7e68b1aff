// Where alerts are kept (issue 13 item 5), so that every control-plane instance sharing
// the store serves the same list and a restarted one goes on from where it was.
//
// This is the interface; SQLite implements it (open_sqlite_alert_store, on the control
// plane's results_db), and a shared database would implement the same for several
// instances. Resolved alerts are kept for a retention (default 7 days) and no more than
// `max_resolved` of them; firing ones are kept while they fire.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/alerts/alert.h"

namespace hisgate::controlplane::alerts {

struct AlertQuery {
    std::optional<AlertState> state;
    std::optional<std::string> hospital_id;
    int limit = 500;  // 1 .. kMaxAlertPage
};

inline constexpr int kMaxAlertPage = 1000;

struct AlertRetention {
    std::chrono::milliseconds keep{std::chrono::hours(24 * 7)};  // a resolved alert
    int64_t max_resolved = 100000;
};

class AlertStore {
public:
    virtual ~AlertStore() = default;
    // Every firing alert.
    virtual Result<std::vector<Alert>> firing() = 0;
    // Applies a round of evaluation as one transaction: `opened` are new firing alerts,
    // `changed` are firing ones whose detail changed, `resolved` were firing and now are
    // resolved (state and resolved_ms set). Then forgets resolved alerts past the retention.
    // `released` are held keys (below) whose condition no longer holds.
    virtual Result<void> apply(const std::vector<Alert>& opened, const std::vector<Alert>& changed,
                               const std::vector<Alert>& resolved, const std::vector<std::string>& released = {}) = 0;
    // An operator resolves a firing alert by hand, in one transaction: resolved now, by
    // `who`, with `note`, and its key held until its condition stops holding. NotFound
    // alert.not_found; Rejected alert.not_firing (already resolved: nothing changes).
    virtual Result<Alert> resolve(const std::string& id, const std::string& who, const std::string& note, int64_t now_ms) = 0;
    // The keys held by a hand resolution.
    virtual Result<std::vector<std::string>> held_keys() = 0;
    // Alerts matching `q`, newest start first.
    virtual Result<std::vector<Alert>> list(const AlertQuery& q) = 0;
};

// `path`: a SQLite file (the control plane's results_db), or ":memory:".
Result<std::unique_ptr<AlertStore>> open_sqlite_alert_store(const std::string& path, Clock& clock,
                                                           AlertRetention retention = {});

}  // namespace hisgate::controlplane::alerts
