// The control plane's memory of bedside vitals (issue 18 item 4): every sample the agents
// forward, rolled up per minute and per hour, the latest value of each sign per bed, and
// the alarms with what staff did about them.
//
// Design:
//  - Samples and alarms are keyed by (hospital, the agent's seq): a batch delivered twice
//    (the agent resends until the broker acknowledged it; two control-plane instances both
//    hear it) is stored once, and the rollups count each sample once (they are updated only
//    for rows this call inserted, in the same transaction).
//  - Raw samples are kept for `raw_keep`, per-minute rollups for `minute_keep`, per-hour
//    rollups for `hour_keep` (purge()): history at a coarser resolution outlives the finer.
//  - An alarm keeps the device's priority for ever: no action lowers it. Its state moves
//    active → acknowledged (by someone) or silenced (for a while, then active again if
//    still unacknowledged); an active alarm not acknowledged within the escalation time
//    escalates (its level rises, once per period). Every acknowledge, silence and
//    escalation is an entry in an append-only audit table (who, what, when, from where).
//
// This is the interface; SQLite implements it (open_sqlite_vitals_store). A PostgreSQL or
// TimescaleDB implementation takes the same calls.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/vitals/vitals_batch.h"

namespace hisgate::controlplane::vitals {

struct VitalsRetention {
    std::chrono::milliseconds raw_keep{std::chrono::hours(24)};
    std::chrono::milliseconds minute_keep{std::chrono::hours(24 * 7)};
    std::chrono::milliseconds hour_keep{std::chrono::hours(24 * 90)};
};

// What one ingest() stored, and what of the batch was stored before. Every control-plane
// instance takes every batch (each serves its own ward screens) into the one shared store,
// so the instance that loses the race stores nothing new: its feed and monitor board still
// need the batch, so the batch's earlier-stored records are given too (an agent's resend
// of a batch lands there as well).
struct IngestOutcome {
    std::vector<VitalSample> samples;  // stored by this call
    std::vector<int64_t> alarm_ids;    // the alarms this call raised
    std::vector<VitalSample> samples_before;  // the batch's samples stored by an earlier call
    std::vector<int64_t> alarm_ids_before;    // the batch's alarms raised by an earlier call
    int64_t duplicates = 0;
};

struct LatestValue {
    std::string name, unit, device;
    double value = 0;
    int64_t observed_ms = 0;
};

struct BedLatest {
    std::string bed;
    std::vector<LatestValue> values;  // by sign name
};

enum class Resolution { Raw, Minute, Hour };

struct HistoryPoint {
    int64_t at_ms = 0;  // the sample's time, or the bucket's start
    double value = 0;   // raw: the value; rollups: the mean
    double min = 0, max = 0;
    int64_t count = 1;
};

struct AlarmRecord {
    int64_t id = 0;
    std::string hospital_id, device, bed, code, text;
    Priority priority = Priority::Low;
    bool technical = false;
    int64_t observed_ms = 0;
    int64_t raised_ms = 0;          // when the control plane stored it
    std::string state;              // active, acknowledged, silenced
    int escalation = 0;             // how many times it escalated
    int64_t last_escalated_ms = 0;
    int64_t silenced_until_ms = 0;
    std::string acknowledged_by;
    int64_t acknowledged_ms = 0;
};

enum class AlarmAction { Acknowledge, Silence };

struct AuditEntry {
    int64_t id = 0;
    int64_t alarm_id = 0;
    std::string hospital_id, action, who, from;  // action: acknowledge, silence, escalate
    int64_t at_ms = 0;
    std::string detail;
};

class VitalsStore {
public:
    virtual ~VitalsStore() = default;
    // Stores a batch of `hospital_id`'s agent, received at `now_ms`: all or nothing.
    virtual Result<IngestOutcome> ingest(const std::string& hospital_id, const VitalsBatch& batch, int64_t now_ms) = 0;
    // Each bed of the hospital with the latest value of each sign (by bed).
    virtual Result<std::vector<BedLatest>> latest(const std::string& hospital_id) = 0;
    // One sign of one bed in [from_ms, to_ms), oldest first, at most `limit` points.
    virtual Result<std::vector<HistoryPoint>> history(const std::string& hospital_id, const std::string& bed,
                                                      const std::string& name, Resolution resolution, int64_t from_ms,
                                                      int64_t to_ms, int limit) = 0;
    // Every raw sample of one bed in [from_ms, to_ms) by the device's time, oldest first, at
    // most `limit` (what the FHIR facade turns into Observations).
    virtual Result<std::vector<VitalSample>> samples(const std::string& hospital_id, const std::string& bed,
                                                     int64_t from_ms, int64_t to_ms, int limit) = 0;
    // The hospital's alarms, newest first: those not acknowledged (`open_only`) or all.
    virtual Result<std::vector<AlarmRecord>> alarms(const std::string& hospital_id, bool open_only, int limit) = 0;
    virtual Result<AlarmRecord> alarm(int64_t id) = 0;  // NotFound vitals.unknown_alarm
    // Acknowledge or silence (for `silence_ms`), audited. An acknowledged alarm is final:
    // acting on it again is Rejected vitals.alarm_acknowledged.
    virtual Result<AlarmRecord> act(int64_t id, AlarmAction action, const std::string& who, const std::string& from,
                                    int64_t silence_ms, int64_t now_ms) = 0;
    // Escalates every alarm active at `now_ms` (a silence that ran out counts as active)
    // whose last raise or escalation is `after_ms` old: level + 1, audited. Answers them.
    virtual Result<std::vector<AlarmRecord>> escalate_due(int64_t now_ms, int64_t after_ms) = 0;
    virtual Result<std::vector<AuditEntry>> audit(const std::string& hospital_id, int limit) = 0;
    // Every hospital's audit entries after `after_id`, oldest first: the change feed by which
    // an instance learns what the others sharing the store did to alarms (VitalsIntake::tick).
    virtual Result<std::vector<AuditEntry>> audit_after(int64_t after_id, int limit) = 0;
    // The newest entry's id (0: none).
    virtual Result<int64_t> audit_head() = 0;
    // Drops what is past its retention; answers how many rows went.
    virtual Result<int64_t> purge(int64_t now_ms) = 0;
};

Result<std::unique_ptr<VitalsStore>> open_sqlite_vitals_store(const std::string& path, VitalsRetention retention);

}  // namespace hisgate::controlplane::vitals
