// The control plane's money side, put together (docs/ledger.md, "In the control plane"):
// the hospital's side (AgentHisPort, through the router and the agents), the provider's
// (PaySimProvider), the ledgers (LedgerService), the Idempotency-Keys (KeyedAnswers) and
// the routes (MoneyApi). hisgate-controlplane opens one when its configuration has a
// `ledger.dir`; without one the money routes are 404.
//
// Order matters, and is kept here: the ports are made before the service (it takes them),
// the ports' answers are dropped until the service is open (its confirmers' timers ask
// again), and on close the service's timer stops first, then the ports' workers (the last
// callers of the service), and only then is anything destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "controlplane/confirmation/agent_his_port.h"
#include "controlplane/money/booking_body.h"
#include "controlplane/money/keyed_answers.h"
#include "controlplane/money/ledger_service.h"
#include "controlplane/money/money_api.h"
#include "controlplane/money/reconciler.h"
#include "controlplane/patient_records.h"
#include "controlplane/payments/pay_sim_provider.h"
#include "controlplane/public_partition/public_primary.h"
#include "controlplane/router.h"

namespace hisgate::controlplane::money {

struct MoneySettings {
    LedgerSettings ledger;           // ledger.dir empty: no money side
    std::string provider_url;        // payments.url: http://127.0.0.1:PORT
    std::string merchant_key_file;   // payments.key_file: the key notifications are signed with
    std::string notify_url;          // payments.notify_url; "" = this instance's own
    std::string keyed_answers_db;    // the results_db
    int his_workers = 16;            // ledger.his_workers: changes, probes, revokes asked of agents at once
    KeyedAnswerRetention keys;
    ReconcileSettings reconcile;
};

// Reads ledger.* and payments.* (docs in usage_help()); problems go to `c`.
MoneySettings read_money_settings(ConfigReader& c, const std::string& results_db);
const char* money_usage_help();

class MoneyDesk {
public:
    // `own_url` gives this instance's base URL once its HTTP server listens (the default
    // notify URL). `agent_offline_since`: the fleet registry's word on a hospital's agent
    // (AgentHisPortOptions::agent_offline_since); unset, the ledger never holds a probe for
    // an absent agent. Errors: Config for a bad setting or key file, and the stores' own.
    static Result<std::unique_ptr<MoneyDesk>> open(const MoneySettings& settings, Router& router, TaskResults& results,
                                                   public_partition::PublicPrimary* primary, PatientRecords& records,
                                                   triage::ErrorBook* triage, Clock& clock,
                                                   std::function<std::string()> own_url,
                                                   std::function<std::optional<int64_t>(const std::string&)> agent_offline_since = {});
    ~MoneyDesk();  // close()
    void start();
    void close();

    MoneyApi& api() { return *api_; }
    // Where a booking's cancellation deadline comes from: the hospital's applied parameters
    // (its `appointment` rules). Set before start(); without it no deadline is enforced.
    void set_hospital_params(HospitalParams params) { hospital_params_ = std::move(params); }
    LedgerService& ledgers() { return *ledgers_; }
    Reconciler& reconciler() { return *reconciler_; }

private:
    MoneyDesk() = default;
    std::atomic<LedgerService*> live_{nullptr};  // set once the service is open
    std::unique_ptr<AgentHisPort> his_;
    std::unique_ptr<payments::PaySimProvider> provider_;
    std::unique_ptr<LedgerService> ledgers_;
    std::unique_ptr<KeyedAnswers> keys_;
    std::unique_ptr<MoneyApi> api_;
    std::unique_ptr<Reconciler> reconciler_;
    HospitalParams hospital_params_;
    bool closed_ = false;
};

}  // namespace hisgate::controlplane::money
