// Remote configuration at the agent (issue 16 item 7, docs/config-push.md): the control
// plane sends a whole parameter set (`config.apply`), and the agent checks it, swaps to it,
// proves the HIS paths still answer, and goes back by itself when they do not.
//
//   config.apply {params, version, hash, mode: "now" | "standard"}
//     refused    the set does not pass this agent's catalog, names another hospital, its
//                hash is not the hash of its canonical JSON, or an adapter or the
//                appointment rules cannot be built from it: nothing is touched
//     queued     standard mode: kept (durably) and applied at the next quiet window
//                (config.quiet_window.*, in hospital.timezone, of the set running now);
//                the outcome then goes upstream as a `config.applied` event
//     applied    swapped, and the doctor's read-only path checks passed
//     reverted   swapped, a path check failed, and the previous set is back
//   config.flags {flags: [...]}   the fleet's feature flags (config-params/feature_flags.h)
//   config.history {}             this agent's last kHistoryKeep outcomes
//
// The swap: the new adapter and rules are built first (nothing running changes while
// that fails); the parameter file is rewritten atomically (temporary file, fsync, rename,
// mode 0600) so a restart runs the same set; then the live adapter and the rules are
// swapped in one step each. A call already at the HIS finishes on the adapter it started
// on (LiveAdapter hands out shared references). What the agent reads only at start (the
// HIS caps and queue policy, probes, extraction and its push listener, vitals) follows the
// new set at the next start; the answer lists them as `atRestart`.
//
// Invariants: one set is applied at a time; the parameter file on disk and the set the
// adapter runs are the same whenever no apply is in progress; every outcome is a row of
// the agent's history (table config_history in its state file, the newest kHistoryKeep).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "agent/events/event_sink.h"
#include "appointment-rules/rule_set.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sqlite.h"
#include "config-params/feature_flags.h"
#include "config-params/param_set.h"

namespace hisgate::agent {

// The adapter every gate of the agent passes calls to. Its implementation is swapped whole;
// each call holds the implementation it started on until it returns.
class LiveAdapter : public HisAdapter {
public:
    explicit LiveAdapter(std::shared_ptr<HisAdapter> first) : current_(std::move(first)) {}
    // Puts `next` in place and returns the one it replaces.
    std::shared_ptr<HisAdapter> swap(std::shared_ptr<HisAdapter> next);
    std::shared_ptr<HisAdapter> current() const;

    std::string dialect() const override { return current()->dialect(); }
    Result<ReferenceData> extract_reference_data(const std::string& from_date, const std::string& to_date) override {
        return current()->extract_reference_data(from_date, to_date);
    }
    Result<Booking> book(const BookingOrder& order) override { return current()->book(order); }
    Result<Booking> cancel(const std::string& order_id) override { return current()->cancel(order_id); }
    Result<Booking> booking_status(const std::string& order_id) override { return current()->booking_status(order_id); }
    Result<Payment> pay(const PaymentOrder& order) override { return current()->pay(order); }
    Result<Payment> refund(const PaymentOrder& order) override { return current()->refund(order); }
    Result<Payment> payment_status(const std::string& order_id) override { return current()->payment_status(order_id); }
    Result<Report> get_report(const std::string& report_id) override { return current()->get_report(report_id); }
    Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) override {
        return current()->list_reports(patient_id);
    }
    Result<std::vector<StatementLine>> daily_statement(const std::string& date) override {
        return current()->daily_statement(date);
    }
    Result<HisClockReading> read_clock() override { return current()->read_clock(); }
    Result<std::unique_ptr<PushListener>> listen_for_pushes(PushHandler handler) override {
        return current()->listen_for_pushes(std::move(handler));
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<HisAdapter> current_;
};

// What a parameter set drives that the applier must build, and the check after a swap.
struct ConfigHooks {
    // Default: the adapter registry built into the program (adapters/registry.h).
    std::function<Result<std::shared_ptr<HisAdapter>>(const params::ParamSet&)> build_adapter;
    // The doctor's read-only path checks (agent/doctor/his_paths.h) through `his`, the
    // agent's gated way to the live adapter: the failing rows as "check: detail", empty
    // when every path answered. Unset: no check (an agent core without its doctor).
    std::function<std::vector<std::string>(HisAdapter& his, const params::ParamSet& p)> path_check;
};

struct ConfigApplierSettings {
    std::string hospital_id;
    std::string params_file;  // rewritten by each applied set
    std::string state_db;     // the agent's state file: history, pending set, flags
    std::string version;      // this agent's release, for the flags' version gates
};

// The newest outcomes kept in the agent's history.
inline constexpr int kConfigHistoryKeep = 20;
// The largest parameter set accepted (its canonical JSON).
inline constexpr std::size_t kMaxParamSetBytes = 256 * 1024;

class ConfigApplier : public params::Flags {
public:
    // Reads the running set from `settings.params_file` (the one the agent started with)
    // and the agent's history, pending set and flags from its state file.
    static Result<std::unique_ptr<ConfigApplier>> open(ConfigApplierSettings settings, LiveAdapter& live,
                                                       appointments::RuleSet first_rules, ConfigHooks hooks,
                                                       const Clock& clock);

    // `his`: the gated way to the live adapter the path checks go through; `events`: where
    // a standard-mode outcome goes. Set before the first apply (the agent's start).
    void attach(HisAdapter* his, EventSink* events) {
        checked_his_ = his;
        events_ = events;
    }

    // config.apply, config.flags, config.history: the answer's body (outcomes are answers,
    // not errors), or BadInput "config.invalid_request" for a body of the wrong shape.
    Result<nlohmann::json> apply(const nlohmann::json& body);
    Result<nlohmann::json> set_flags(const nlohmann::json& body);
    Result<nlohmann::json> history() const;

    // Applies the pending set when the quiet window has come; called by the agent's
    // presence loop. The outcome is emitted as a `config.applied` event.
    void tick();

    std::string params_hash() const;
    std::shared_ptr<const appointments::RuleSet> rules() const;
    // True while a standard-mode set waits for the window.
    bool pending() const;

    // params::Flags: the flags as this agent last received them, for its own hospital.
    bool enabled(std::string_view name, const std::string& hospital_id) const override;

private:
    struct Incoming {
        nlohmann::json params;
        int64_t version = 0;
        std::string hash;
        std::string mode;
    };
    ConfigApplier(ConfigApplierSettings settings, LiveAdapter& live, ConfigHooks hooks, const Clock& clock, sql::Db db);

    // The outcome of swapping to `set` now (applied, reverted, refused), recorded.
    nlohmann::json apply_now(const Incoming& in, const params::ParamSet& set);
    nlohmann::json refuse(const Incoming& in, const std::vector<std::string>& errors);
    // Writes a history row and trims to kConfigHistoryKeep.
    void record(const Incoming& in, const std::string& outcome, const nlohmann::json& detail);
    // Is `t` in the quiet window of the running set? And when does the next one open?
    bool in_quiet_window(Clock::WallTime t) const;
    Clock::WallTime next_window(Clock::WallTime t) const;
    Result<void> store_pending(const Incoming& in);
    std::optional<Incoming> load_pending();
    void clear_pending();

    ConfigApplierSettings settings_;
    LiveAdapter& live_;
    ConfigHooks hooks_;
    const Clock& clock_;
    HisAdapter* checked_his_ = nullptr;
    EventSink* events_ = nullptr;
    mutable std::mutex db_mu_;  // the connection, one statement sequence at a time
    sql::Db db_;
    std::mutex apply_mu_;       // one apply at a time
    mutable std::mutex mu_;     // what readers see: the running set, rules, flags
    std::optional<params::ParamSet> running_;
    nlohmann::json running_json_;
    std::shared_ptr<const appointments::RuleSet> rules_;
    params::FlagSet flags_;
    bool pending_ = false;
};

}  // namespace hisgate::agent
