// What the extraction tests stand on: a real his-sim process with its SQLite hospital, the
// agent's adapter to it, and an EventSink that collects what the extractor emits.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "agent/events/event_sink.h"
#include "agent/extraction/extraction_settings.h"
#include "agent/extraction/extractor.h"
#include "agent/extraction/reference_history.h"
#include "agent/task_executor.h"
#include "appointment-rules/rule_set.h"
#include "common/sqlite.h"
#include "config-params/param_set.h"
#include "tests/support/process.h"

namespace hisgate::test {

// The test's observer of what reaches the agent's outbox. With `fail` set, emit refuses, as
// a sink that cannot store would (the extractor must keep the change set pending).
class CollectingSink : public agent::EventSink {
public:
    Result<void> emit(const std::string& type, const nlohmann::json& body) override;
    std::vector<nlohmann::json> changesets() const;
    size_t size() const;
    bool fail = false;

private:
    mutable std::mutex mu_;
    std::vector<std::pair<std::string, nlohmann::json>> events_;
};

class SimulatedHis {
public:
    // `extraction` is merged into the parameter file's "extraction" section.
    explicit SimulatedHis(const std::string& extraction = "{}");
    ~SimulatedHis();

    bool start();  // starts his-sim and waits until it listens
    void stop() { sim_.stop(); }

    HisAdapter& adapter() { return *adapter_; }
    const params::ParamSet& params() const { return *params_; }
    extraction::ExtractionSettings settings() const;
    // The hospital's own records, as the HIS keeps them (his-sim's SQLite file).
    sql::Db his_db() const;
    std::string state_file() const { return dir_ + "/agent-state.db"; }
    const std::string& dir() const { return dir_; }

private:
    std::string dir_;
    Process sim_;
    std::unique_ptr<params::ParamSet> params_;
    std::unique_ptr<HisAdapter> adapter_;
};

// A request as the control plane sends it to hospital H001, run by the agent's own task
// executor and request handlers (reference.changesets, reference.snapshot, ...).
class ReferenceAsker {
public:
    ReferenceAsker(SimulatedHis& his, extraction::ReferenceHistory* history);
    // The reply envelope as JSON: {"body"} or {"error"}.
    nlohmann::json ask(const std::string& type, const nlohmann::json& body);
    // The reply's body; the test fails on an error.
    nlohmann::json body(const std::string& type, const nlohmann::json& request);
    // The reply as the control plane's Router hands it on: the body, or the error it carries.
    Result<nlohmann::json> result(const std::string& type, const nlohmann::json& request);

private:
    appointments::RuleSet rules_;
    std::unique_ptr<agent::TaskExecutor> executor_;
    int n_ = 0;
};

// Runs SQL on the HIS's records; the test fails on an error.
void run_sql(sql::Db& db, const std::string& text);
// One pull by the extractor; the test fails on an error. Returns the pull's seq (0: nothing changed).
int64_t pull(extraction::Extractor& x);

// How many rows a query over the HIS's records returns (one integer column).
int64_t count(const sql::Db& db, const std::string& sql_text);
std::string today_utc();
std::string days_after(const std::string& date, int days);

}  // namespace hisgate::test
