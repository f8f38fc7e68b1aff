// The agent's configuration file, read and checked as a whole before anything starts.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/his_adapter.h"
#include "agent/extraction/extraction_settings.h"
#include "agent/probes/probe_spec.h"
#include "agent/vitals/vitals_settings.h"
#include "agent/task_queue.h"
#include "appointment-rules/rule_set.h"
#include "common/config.h"
#include "common/error.h"
#include "common/settings.h"
#include "config-params/param_set.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"

namespace hisgate::agent {

// Where an agent serves /metrics unless its config says otherwise: one fixed port on every
// front-end server, so a hospital's monitoring finds it without asking (docs/architecture.md).
inline constexpr uint16_t kDefaultMetricsPort = 9740;

struct AgentConfig {
    std::string hospital_id;
    MqttOptions broker;
    std::unique_ptr<HisAdapter> adapter;
    // The hospital's appointment rules, checked before any booking reaches the HIS.
    std::optional<appointments::RuleSet> rules;
    std::string params_hash;  // of the hospital's parameter file, announced in the birth
    std::string hospital_name;  // hospital.name, announced in the birth (the fleet registry)
    std::string region;         // hospital.region, likewise
    // The protocol range announced in the birth: what this build speaks (Envelope), unless
    // the config's hidden test.advertise_protocol says otherwise (tests of the version window).
    int protocol_min = Envelope::kMinSchema;
    int protocol_max = Envelope::kMaxSchema;
    std::string params_file;  // path, as the config names it
    std::string config_file;  // this config's own path, as given to the agent (its doctor checks it)
    // The agent's one SQLite file: task queue, outbox, probe state, extraction snapshots.
    std::string state_db;
    std::string metrics_bind = "127.0.0.1";
    uint16_t metrics_port = kDefaultMetricsPort;
    LogSettings log;
    // updater.spool_dir: where a release.install task leaves its request for hisgate-updater
    // (agent/release_install.h); "" = this agent takes no install requests.
    std::string updater_spool;
    // updater.result_file: the updater's <root>/updater-result.json, reported as `lastInstall`
    // in the birth and heartbeats (agent/install_report_file.h); "" = not reported.
    std::string updater_result_file;

    // From the parameter file: how much the HIS may be asked, and how the queue behaves.
    int his_concurrency = 4;
    int his_rate_per_minute = 600;
    bool his_idempotent = true;  // the HIS honours order ids as idempotency keys
    std::chrono::milliseconds his_processing_horizon{30000};  // his.processing_horizon
    QueuePolicy queue;
    std::chrono::milliseconds retention{24 * 3600 * 1000};
    std::chrono::milliseconds dwell_alert{5 * 60 * 1000};
    std::chrono::milliseconds heartbeat_interval{30000};
    std::vector<probes::ProbeSpec> probes;  // path-health probes (docs/probes.md)
    extraction::ExtractionSettings extraction;
    // The bedside-vitals gateway (vitals.*); it runs when vitals.enabled is true.
    vitals::VitalsSettings vitals;
    // The doctor's read-only path checks a pushed parameter set must pass after the swap
    // (agent/config_apply.h): the failing rows. The program sets it (agent/main.cpp: the
    // doctor is a library of its own, built on this one); unset, no check is made.
    std::function<std::vector<std::string>(HisAdapter&, const params::ParamSet&)> path_check;
};

// Errors name every problem in the file (JSON path, expected, found), one per line.
Result<AgentConfig> read_agent_config(ConfigReader& c);

// The appointment rules a parameter set names (appointment.*, hospital.timezone); `source`
// names the set in errors. At start and for each set pushed (agent/config_apply.h).
Result<appointments::RuleSet> rules_from_params(const params::ParamSet& p, const std::string& source);

std::string agent_usage();

}  // namespace hisgate::agent
