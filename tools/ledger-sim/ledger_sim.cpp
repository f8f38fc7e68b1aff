#include "tools/ledger-sim/ledger_sim.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "common/clock.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/partition_map.h"
#include "controlplane/ledger/partition_split.h"
#include "controlplane/ledger/reconcile.h"

namespace hisgate::ledger_sim {

using namespace hisgate::ledger;

namespace {

// The seeded source of every choice the run makes. mt19937_64's output sequence is fixed
// by the C++ standard; the distributions are not, so they are written out here.
class Rng {
public:
    explicit Rng(uint64_t seed) : g_(seed) {}
    uint64_t next() { return g_(); }
    uint64_t below(uint64_t n) { return next() % n; }
    int64_t between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1))); }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
    std::string hex_id() {
        static const char* digits = "0123456789abcdef";
        std::string out;
        for (int half = 0; half < 2; ++half) {
            uint64_t v = next();
            for (int i = 0; i < 16; ++i, v >>= 4) out += digits[v & 15];
        }
        return out;
    }

private:
    std::mt19937_64 g_;
};

// How often each fault happens. A seed also draws the intensity, so seeds differ in kind.
struct Faults {
    double request_lost = 0.02, request_late = 0.02;                      // control plane → agent
    // A request that waits minutes in the agent's queue (the HIS unreachable meanwhile): it
    // reaches the HIS after the confirmer has given up probing and an operator has acted.
    double request_held = 0.005;
    double reply_lost = 0.05, reply_dup = 0.03, reply_late = 0.03;       // agent/provider → control plane
    double commit_answer_lost = 0.03;                                     // the HIS commits, the answer is lost
    double notify_lost = 0.05, notify_dup = 0.05, notify_late = 0.05;     // provider notifications
    double refund_fails = 0.05;
    double crash_per_tx = 0.001, agent_restart_per_tx = 0.001;
    // An agent away for minutes (its host down, the hospital's network out): the control
    // plane's fleet registry knows it is offline (SimHis::away_since).
    double agent_outage_per_tx = 0.0004;
};

struct HisRecord {
    HisStatus status = HisStatus::NotFound;
    int64_t amount_fen = 0;
    int changes = 0;  // changes that reached the HIS for this id: more than one is a resend
    // A committed order refunded or cancelled afterwards (a correction after POSTED), and
    // the correction whose request did it.
    bool undone = false;
    std::string undone_by;
};

enum class OrderState { Open, Paid, Closed, Refunded };
struct ProviderOrder {
    OrderState state = OrderState::Open;
    int64_t amount_fen = 0;
    std::string patient;
    int pays = 0, refunds = 0;
    std::string refund_no;  // the out_refund_no of its refund: the id itself, or a correction's
};

struct Patient {
    std::string id;
    PatientRegion region;
};

// A correction's task at the agent, by request id (<id>-change-<attempt>): the agent keeps
// a task id once in its state file (it survives a restart), so a copy of a request it has
// is answered from its record, never carried to the HIS again.
struct AgentTask {
    bool committed = false;
};

struct Hospital {
    std::string id;
    std::string province;
    bool agent_down = false;
    int64_t agent_up_at = 0;
    int64_t down_since_ms = 0;  // the clock's wall ms when it went down (the registry's "offline since")
    std::map<std::string, HisRecord> records;  // the HIS's own books
    std::map<std::string, AgentTask> tasks;    // the agent's task store (corrections' changes)
    std::set<std::string> fenced_requests;     // the agent's fence: corrections' request ids revoked
};

struct Event {
    int64_t at = 0;
    uint64_t seq = 0;
    std::function<void()> run;
};
struct Later {
    bool operator()(const Event& a, const Event& b) const { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
};

class Sim;

// The confirmer's view of the hospital and the provider: messages into the simulated network.
// One pair serves every partition: answers find their confirmer by the transaction's
// province through the current map (Sim::confirmer_for), as a split moves transactions.
class SimHis final : public HisPort {
public:
    explicit SimHis(Sim& sim) : sim_(sim) {}
    void send_change(const Transaction& t) override;
    void probe(const Transaction& t) override;
    void revoke(const Transaction& t) override;
    std::optional<int64_t> away_since(const Transaction& t) override;

private:
    Sim& sim_;
};

class SimProvider final : public PaymentPort {
public:
    explicit SimProvider(Sim& sim) : sim_(sim) {}
    void close(const std::string& id) override;
    void refund(const std::string& id, int64_t amount_fen) override;
    void refund_correction(const std::string& correction_id, const std::string& order_id, int64_t amount_fen) override;

private:
    Sim& sim_;
};

class Sim {
public:
    explicit Sim(const SimOptions& o) : options_(o), rng_(o.seed) {
        // The seed also picks how hostile the run is: from gentle to four times the base rates.
        double scale = 0.5 + static_cast<double>(rng_.below(8)) / 2.0;
        for (double* p : {&faults_.request_lost, &faults_.request_late, &faults_.request_held, &faults_.reply_lost, &faults_.reply_dup,
                          &faults_.reply_late, &faults_.commit_answer_lost, &faults_.notify_lost, &faults_.notify_dup,
                          &faults_.notify_late, &faults_.refund_fails})
            *p *= scale;
        fault_scale_ = scale;
        confirmer_options_.broken_refund_on_timeout = o.broken_refund_on_timeout;
        confirmer_options_.broken_refund_on_not_found = o.broken_refund_on_not_found;
        confirmer_options_.broken_refund_before_his = o.broken_refund_before_his;
        confirmer_options_.broken_reask_new_attempt = o.broken_reask_new_attempt;
        confirmer_options_.broken_void_on_operator_word = o.broken_void_on_operator_word;
        confirmer_options_.offline_patience = std::chrono::minutes(10);
        if (!o.reask) {
            confirmer_options_.max_reasks = 0;
            confirmer_options_.max_prepaid_refund_rounds = 1;
        }
    }

    SimReport run();

    // --- the network -------------------------------------------------------------------
    void at(int64_t when, std::function<void()> fn) { queue_.push(Event{when, seq_++, std::move(fn)}); }
    int64_t now() const { return clock_.wall_ms() - start_ms_; }
    int64_t latency() { return rng_.between(5, 300); }
    int64_t late() { return rng_.between(5'000, 40'000); }
    int64_t held() { return rng_.between(150'000, 600'000); }

    // Control plane → a hospital's agent: maybe lost, maybe late; dropped if the agent is down.
    void to_agent(int hospital, std::function<void(Hospital&)> deliver) {
        ++messages_;
        if (rng_.chance(faults_.request_lost)) return void(++lost_);
        int64_t delay = rng_.chance(faults_.request_held) ? (++held_, held())
                        : rng_.chance(faults_.request_late)  ? late()
                                                             : latency();
        at(now() + delay, [this, hospital, deliver = std::move(deliver)] {
            Hospital& h = hospitals_[hospital];
            if (h.agent_down) return void(++lost_);
            deliver(h);
        });
    }
    // Agent or provider → control plane: maybe lost, duplicated, late (latency reorders).
    // Delivered to the confirmer of the partition that owns `id` when it arrives.
    void to_control_plane(std::function<void(Confirmer&)> deliver, const std::string& id, double lost, double dup,
                          double late_p) {
        ++messages_;
        if (rng_.chance(lost)) return void(++lost_);
        int copies = rng_.chance(dup) ? 2 : 1;
        for (int i = 0; i < copies; ++i) {
            int64_t delay = rng_.chance(late_p) ? late() : latency();
            at(now() + delay, [this, id, deliver] {
                Confirmer* c = cp_up_ ? confirmer_for(id) : nullptr;
                if (!c) return void(++lost_);
                deliver(*c);
            });
        }
    }
    void reply(const std::string& id, std::function<void(Confirmer&)> deliver) {
        to_control_plane(std::move(deliver), id, faults_.reply_lost, faults_.reply_dup, faults_.reply_late);
    }
    // The partition index of a name (a split adds its targets).
    int index_of(const std::string& partition) {
        for (size_t i = 0; i < partitions_.size(); ++i)
            if (partitions_[i] == partition) return static_cast<int>(i);
        partitions_.push_back(partition);
        return static_cast<int>(partitions_.size() - 1);
    }
    // Where the control plane finds a transaction: the partition its province has in the current map.
    int partition_for(const std::string& id) {
        auto it = province_of_.find(id);
        if (it == province_of_.end()) {
            // A prepaid pair's refund correction, created by the confirmer (not by the
            // simulation): it lives with its booking.
            auto b = prepaid_refund_booking_.find(id);
            if (b == prepaid_refund_booking_.end() || !province_of_.contains(b->second)) return -1;
            it = province_of_.find(b->second);
        }
        return index_of(map_.partition_of_province.at(it->second));
    }
    Confirmer* confirmer_for(const std::string& id) {
        int p = partition_for(id);
        return p < 0 || static_cast<size_t>(p) >= confirmers_.size() ? nullptr : confirmers_[p].get();
    }

    // --- the HIS (behind its agent) -----------------------------------------------------
    void his_change(Hospital& h, const std::string& id, int64_t amount) {
        HisRecord& r = h.records[id];
        ++r.changes;
        if (r.changes > 1) fail("the change of " + id + " reached the HIS " + std::to_string(r.changes) + " times");
        bool committed;
        if (r.status == HisStatus::Revoked) {
            committed = false;  // the revoke fenced it: a late change is refused
            ++fenced_at_his_;
        } else {
            committed = rng_.chance(0.92);
            r.status = committed ? HisStatus::Committed : HisStatus::Rejected;
            r.amount_fen = amount;
        }
        if (committed && rng_.chance(faults_.commit_answer_lost)) return void(++commit_answers_lost_);
        reply(id, [id, committed](Confirmer& c) { c.on_change_reply(id, committed); });
    }
    // When the confirmer sends a change (not when it arrives: a late one may arrive after
    // the booking was revoked and its payment refunded, and is fenced there): a prepaid
    // booking is sent only on a payment that stands, committed at the HIS, paid at the
    // provider, neither undone.
    void check_prepaid_send(const std::string& id) {
        if (auto pay = prepaid_payment_of_.find(id); pay != prepaid_payment_of_.end()) {
            const HisRecord* pr = his_record(pay->second);
            const ProviderOrder& po = orders_.at(pay->second);
            if (!pr || pr->status != HisStatus::Committed || pr->undone || po.state != OrderState::Paid)
                fail("the prepaid booking " + id + " was sent to the HIS while its payment " + pay->second +
                     " does not stand (HIS " + (pr ? std::to_string(static_cast<int>(pr->status)) + (pr->undone ? " undone" : "") : "none") +
                     ", provider " + (po.state == OrderState::Paid ? "paid" : po.state == OrderState::Refunded ? "refunded" : "not paid") + ")");
        }
    }
    // A correction after POSTED reaches the HIS (through its agent): the HIS refunds or
    // cancels the original order. The HIS is not idempotent: a second refund of one order
    // would be executed again, so reaching it twice is a failure.
    // The agent takes a correction's request: a task id it has is answered from its record
    // (a re-ask, a late or duplicated copy); the first copy to arrive is carried out.
    void agent_correct(Hospital& h, const std::string& request_id, const std::string& id, const std::string& original,
                       TxKind kind) {
        if (auto task = h.tasks.find(request_id); task != h.tasks.end()) {
            ++answered_from_agent_record_;
            const bool committed = task->second.committed;
            return reply(id, [id, committed](Confirmer& c) { c.on_change_reply(id, committed); });
        }
        if (h.fenced_requests.contains(request_id)) {
            // Revoked here on an operator's "not done": refused ("order.revoked"), which the
            // control plane takes as the HIS's refusal; the HIS never sees it.
            ++corrections_fenced_;
            return reply(id, [id](Confirmer& c) { c.on_change_reply(id, false); });
        }
        his_correct(h, request_id, id, original, kind);
    }
    // The revoke of a correction (agent/request_types.cpp, revoke_correction): its request
    // id is fenced first; then the original's record answers: undone → already committed.
    RevokeOutcome agent_revoke_correction(Hospital& h, const std::string& request_id, const std::string& original) {
        h.fenced_requests.insert(request_id);
        auto it = h.records.find(original);
        return it != h.records.end() && it->second.undone ? RevokeOutcome::AlreadyCommitted : RevokeOutcome::Revoked;
    }
    void his_correct(Hospital& h, const std::string& request_id, const std::string& id, const std::string& original,
                     TxKind kind) {
        HisRecord& c = h.records[id];
        ++c.changes;
        if (c.changes > 1) fail("the correction " + id + " reached the HIS " + std::to_string(c.changes) + " times");
        HisRecord& o = h.records[original];
        if (o.status != HisStatus::Committed)
            fail("the correction " + id + " reached the HIS for " + original + ", which it never committed");
        if (o.undone)
            fail("the HIS was asked to " + std::string(to_string(kind)) + " " + original + " twice (" + o.undone_by +
                 ", " + id + ")");
        bool committed = rng_.chance(0.95);  // else the hospital refuses it (its own rules)
        if (committed) {
            o.undone = true;
            o.undone_by = id;
            c.status = HisStatus::Committed;
            c.amount_fen = o.amount_fen;
        } else {
            c.status = HisStatus::Rejected;
        }
        h.tasks[request_id].committed = committed;  // the agent's record of the answer
        if (committed && rng_.chance(faults_.commit_answer_lost)) return void(++commit_answers_lost_);
        reply(id, [id, committed](Confirmer& c) { c.on_change_reply(id, committed); });
    }
    // The probe of a correction asks the original's status, as AgentHisPort does:
    // refunded or cancelled → committed; still paid or booked → not yet (NotFound).
    void his_probe_correction(Hospital& h, const std::string& id, const std::string& original) {
        auto it = h.records.find(original);
        HisStatus s = it != h.records.end() && it->second.undone ? HisStatus::Committed : HisStatus::NotFound;
        reply(id, [id, s](Confirmer& c) { c.on_probe_answer(id, s); });
    }
    void his_probe(Hospital& h, const std::string& id) {
        auto it = h.records.find(id);
        HisStatus s = it == h.records.end() ? HisStatus::NotFound : it->second.status;
        reply(id, [id, s](Confirmer& c) { c.on_probe_answer(id, s); });
    }
    RevokeOutcome his_revoke(Hospital& h, const std::string& id) {
        HisRecord& r = h.records[id];
        if (r.status == HisStatus::Committed) return RevokeOutcome::AlreadyCommitted;
        r.status = HisStatus::Revoked;
        return RevokeOutcome::Revoked;
    }

    // --- the payment provider ------------------------------------------------------------
    void notify(const std::string& id, const ProviderOrder& o) {
        int64_t amount = o.amount_fen;
        to_control_plane([id, amount](Confirmer& c) { c.on_payment_notification(id, amount); }, id,
                         faults_.notify_lost, faults_.notify_dup, faults_.notify_late);
    }
    void patient_pays(const std::string& id) {
        ProviderOrder& o = orders_.at(id);
        if (o.state != OrderState::Open) return void(++payments_refused_);  // closed: the patient is not charged
        o.state = OrderState::Paid;
        ++o.pays;
        notify(id, o);
    }
    void provider_close(const std::string& id) {
        ++messages_;
        at(now() + latency(), [this, id] {
            ProviderOrder& o = orders_.at(id);
            if (o.state == OrderState::Open) o.state = OrderState::Closed;
            CloseOutcome out = o.state == OrderState::Closed ? CloseOutcome::Closed : CloseOutcome::AlreadyPaid;
            reply(id, [id, out](Confirmer& c) { c.on_close_answer(id, out); });
        });
    }
    void provider_refund(const std::string& id, int64_t amount) {
        ++messages_;
        at(now() + latency(), [this, id, amount] {
            ProviderOrder& o = orders_.at(id);
            bool done = false;
            if (o.state == OrderState::Refunded) {
                done = true;  // idempotent by id
            } else if (o.state == OrderState::Paid && amount == o.amount_fen && !rng_.chance(faults_.refund_fails)) {
                const HisRecord* r = his_record(id);
                if (r && r->status == HisStatus::Committed)
                    fail("refund of " + id + ", a payment the hospital committed");
                o.state = OrderState::Refunded;
                ++o.refunds;
                o.refund_no = id;
                done = true;
            } else if (o.state == OrderState::Open || o.state == OrderState::Closed) {
                fail("refund asked for " + id + ", which the patient never paid");
            }
            reply(id, [id, done](Confirmer& c) { c.on_refund_answer(id, done); });
        });
    }

    // A refund after POSTED at the provider: the original's order refunded under the
    // correction's id, only after the HIS refunded it, once.
    void provider_refund_correction(const std::string& id, const std::string& original, int64_t amount) {
        ++messages_;
        at(now() + latency(), [this, id, original, amount] {
            ProviderOrder& o = orders_.at(original);
            const HisRecord* r = his_record(original);
            if (!r || !r->undone)
                fail("the provider was asked to refund " + original + " (correction " + id +
                     ") before the HIS refunded it");
            bool done = false;
            if (o.state == OrderState::Refunded) {
                if (o.refund_no != id)
                    fail("the provider was asked to refund " + original + " twice (" + o.refund_no + ", " + id + ")");
                done = true;  // idempotent by out_refund_no
            } else if (o.state == OrderState::Paid && amount == o.amount_fen && !rng_.chance(faults_.refund_fails)) {
                o.state = OrderState::Refunded;
                ++o.refunds;
                o.refund_no = id;
                ++refunded_after_post_;
                done = true;
            } else if (o.state != OrderState::Paid) {
                fail("refund of " + original + " (correction " + id + ") asked, which the patient never paid");
            }
            reply(id, [id, done](Confirmer& c) { c.on_refund_answer(id, done); });
        });
    }

    const HisRecord* his_record(const std::string& id) const {
        auto h = hospital_of_.find(id);
        if (h == hospital_of_.end()) return nullptr;
        auto it = hospitals_[h->second].records.find(id);
        return it == hospitals_[h->second].records.end() ? nullptr : &it->second;
    }
    // What the fleet registry says of a hospital's agent: offline since when, or online.
    std::optional<int64_t> agent_away_since(const std::string& hospital_id) const {
        const Hospital& h = hospitals_[hospital_index(hospital_id)];
        return h.agent_down ? std::optional<int64_t>(h.down_since_ms) : std::nullopt;
    }
    int hospital_index(const std::string& hospital_id) const {
        for (size_t i = 0; i < hospitals_.size(); ++i)
            if (hospitals_[i].id == hospital_id) return static_cast<int>(i);
        return 0;
    }

    void fail(const std::string& what) {
        if (failure_.empty()) failure_ = what + " (at " + std::to_string(now()) + " ms)";
    }

private:
    void open_control_plane();
    bool open_partition(int p);
    void collect(const Confirmer& c);
    void crash_control_plane();
    void check_every_open_one_is_followed(const char* when);
    void check_ownership(const char* when);
    void check_fenced(const std::string& partition);
    void arrive(const std::string& id);
    void arrive_payment(const TransactionIntent& in);
    void process_faults();  // after each arrival: a control-plane crash, an agent restart
    // A booking that requires prepayment and its payment (docs/ledger.md, "Prepaid
    // bookings"), created together by create_prepaid; the patient pays (or not) as for any
    // payment, and sometimes cancels the booking while it is HELD.
    void arrive_prepaid(TransactionIntent booking, int p);
    // Each pair at the end: the booking stands (POSTED, booked at the HIS) exactly when its
    // payment stands (POSTED, paid at the provider, committed at the HIS, none refunded).
    void check_prepaid(const std::map<std::string, std::pair<int, Transaction>>& ledger);
    // The confirmer's refund corrections of pairs that exist in `has`: checked as any
    // correction from then on (ownership, terminal, HIS and provider agree).
    void adopt_prepaid_refunds(const std::function<bool(const std::string&)>& has);
    // The patient asks for a refund (a payment) or a cancel (a booking) some time after it
    // was made: a correction when it is POSTED by then; sometimes asked again (a retry of the
    // same correction, or a second one, which the ledger must refuse).
    void request_correction(const std::string& original);
    void second_correction(const std::string& original, const std::string& first);
    Result<Transaction> create_correction(const std::string& original, const std::string& id);
    void reconcile_at_end(const std::map<std::string, std::pair<int, Transaction>>& ledger);
    void operator_round();
    void check_final();
    bool confirmers_idle() const;
    // The split of `south` into `south-a` (44, 45) and `south-b` (its other provinces) in
    // the middle of the run: started, caught up in 1-3 rounds, switched, each step at a
    // seeded simulated time; a control-plane crash before the switch abandons it (the
    // restart's recover_split cleans up) and it starts again after the restart.
    SplitPlan split_plan() const;
    void split_begin();
    void split_catch_up(uint64_t generation);
    void split_switch(uint64_t generation);
    void split_rollback();

    SimOptions options_;
    Rng rng_;
    Faults faults_;
    double fault_scale_ = 1;
    ConfirmerOptions confirmer_options_;
    ManualClock clock_;
    int64_t start_ms_ = clock_.wall_ms();
    std::priority_queue<Event, std::vector<Event>, Later> queue_;
    uint64_t seq_ = 0;

    std::string dir_;
    std::vector<std::string> partitions_ = {"south", "north"};  // by index; a split adds its targets
    std::unique_ptr<PartitionMapStore> maps_;
    PartitionMap map_ = initial_partition_map();
    PhonePrefixTable prefixes_;
    // By partition index; null for a partition the current map does not name (a split's source).
    std::vector<std::unique_ptr<LedgerStore>> stores_;
    std::vector<std::unique_ptr<Confirmer>> confirmers_;
    SimHis his_port_{*this};
    SimProvider provider_port_{*this};
    bool cp_up_ = false;

    std::unique_ptr<PartitionSplit> split_;
    uint64_t split_generation_ = 0;  // a crash abandons a split: its scheduled steps then do nothing
    bool split_pending_ = false, split_done_ = false, rolled_back_ = false;
    int split_attempts_ = 0;
    std::string split_summary_;

    mutable std::vector<Hospital> hospitals_;
    std::vector<Patient> patients_;
    std::map<std::string, ProviderOrder> orders_;
    std::map<std::string, int> hospital_of_;        // tx id → hospital index
    std::map<std::string, std::string> province_of_; // tx id → its patient's province (what routes it)
    std::map<std::string, std::string> prepaid_payment_of_;     // prepaid booking id → its payment's
    std::map<std::string, std::string> prepaid_refund_booking_;  // prepaid_refund_id(booking) → booking id
    int arrived_ = 0;
    bool arrivals_done_ = false;

    uint64_t messages_ = 0, lost_ = 0, held_ = 0, commit_answers_lost_ = 0, crashes_ = 0, agent_restarts_ = 0, agent_outages_ = 0;
    uint64_t refused_offline_ = 0, woken_by_return_ = 0;  // new intents refused for an offline hospital; held attempts woken
    uint64_t prepaid_pairs_ = 0, prepaid_cancels_ = 0;
    std::string prepaid_summary_;

public:
    std::map<std::string, int> change_sends_;  // request id → times the confirmer sent it
    int max_reasks() const { return confirmer_options_.max_reasks; }

private:
    uint64_t bookings_ = 0, fenced_at_his_ = 0, payments_refused_ = 0, operator_resolved_ = 0, cancels_ = 0, retried_creates_ = 0;
    uint64_t corrections_asked_ = 0, corrections_created_ = 0, corrections_not_posted_ = 0, second_refused_ = 0,
             second_accepted_ = 0, refunded_after_post_ = 0;
    std::string reconcile_summary_;
    // Corrections the operator settled, and those of them whose request never reached the
    // HIS (its agent was away, or the request was lost); copies of a correction's request
    // the agent refused because an operator's "not done" had revoked it there.
    uint64_t corrections_resolved_ = 0, corrections_never_arrived_ = 0, corrections_fenced_ = 0;
    ConfirmerCounters totals_;
    uint64_t answered_from_agent_record_ = 0;  // copies of a correction's request the agent had a task for
    uint64_t prepaid_cancels_after_post_ = 0;  // cancels of a POSTED prepaid booking asked
    std::string failure_;
    std::string final_counts_;
};

void SimHis::send_change(const Transaction& t) {
    std::string id = t.intent.id;
    Sim& sim = sim_;
    // Sent once per attempt: a change again under the same request id only as a
    // correction's re-ask, and at most max_reasks times.
    const std::string request_id = id + "-change-" + std::to_string(t.attempts);
    const int sends = ++sim_.change_sends_[request_id];
    const int allowed = is_correction(t.intent.kind) ? 1 + sim_.max_reasks() : 1;
    if (sends > allowed)
        return sim_.fail("the change " + request_id + " was sent " + std::to_string(sends) + " times (at most " +
                         std::to_string(allowed) + ")");
    if (is_correction(t.intent.kind)) {
        std::string original = t.intent.corrects;
        TxKind kind = t.intent.kind;
        sim_.to_agent(sim_.hospital_index(t.intent.hospital_id), [&sim, request_id, id, original, kind](Hospital& h) {
            sim.agent_correct(h, request_id, id, original, kind);
        });
        return;
    }
    sim_.check_prepaid_send(id);
    int64_t amount = t.intent.amount_fen;
    sim_.to_agent(sim_.hospital_index(t.intent.hospital_id), [&sim, id, amount](Hospital& h) { sim.his_change(h, id, amount); });
}
void SimHis::probe(const Transaction& t) {
    std::string id = t.intent.id;
    Sim& sim = sim_;
    if (is_correction(t.intent.kind)) {
        std::string original = t.intent.corrects;
        sim_.to_agent(sim_.hospital_index(t.intent.hospital_id),
                      [&sim, id, original](Hospital& h) { sim.his_probe_correction(h, id, original); });
        return;
    }
    sim_.to_agent(sim_.hospital_index(t.intent.hospital_id), [&sim, id](Hospital& h) { sim.his_probe(h, id); });
}
void SimHis::revoke(const Transaction& t) {
    std::string id = t.intent.id;
    Sim& sim = sim_;
    if (is_correction(t.intent.kind)) {
        if (!t.revoking) return sim_.fail("a revoke was asked for the correction " + id + " with no operator's word");
        const std::string request_id = id + "-change-" + std::to_string(t.attempts), original = t.intent.corrects;
        sim_.to_agent(sim_.hospital_index(t.intent.hospital_id), [&sim, id, request_id, original](Hospital& h) {
            RevokeOutcome out = sim.agent_revoke_correction(h, request_id, original);
            sim.reply(id, [id, out](Confirmer& c) { c.on_revoke_answer(id, out); });
        });
        return;
    }
    sim_.to_agent(sim_.hospital_index(t.intent.hospital_id), [&sim, id](Hospital& h) {
        RevokeOutcome out = sim.his_revoke(h, id);
        sim.reply(id, [id, out](Confirmer& c) { c.on_revoke_answer(id, out); });
    });
}
std::optional<int64_t> SimHis::away_since(const Transaction& t) {
    return sim_.agent_away_since(t.intent.hospital_id);
}

void SimProvider::close(const std::string& id) { sim_.provider_close(id); }
void SimProvider::refund(const std::string& id, int64_t amount_fen) { sim_.provider_refund(id, amount_fen); }
void SimProvider::refund_correction(const std::string& correction_id, const std::string& order_id, int64_t amount_fen) {
    sim_.provider_refund_correction(correction_id, order_id, amount_fen);
}

void Sim::open_control_plane() {
    stores_.clear();
    confirmers_.clear();
    auto maps = open_sqlite_partition_map_store(dir_ + "/maps.db");
    if (!maps) return fail("cannot open the partition maps: " + maps.error().describe());
    maps_ = std::move(maps.value());
    auto current = maps_->current();
    if (!current) return fail("cannot read the partition map: " + current.error().describe());
    map_ = *current;
    if (options_.split && !split_done_) {
        // The crash may have come mid-split: the files must agree with the map.
        auto recovered = recover_split(split_plan(), *maps_);
        if (!recovered) return fail("recovering the split: " + recovered.error().describe());
        if (*recovered != "aborted") return fail("recovering an unswitched split found it " + *recovered);
    }
    for (const auto& name : map_.partitions()) index_of(name);
    for (size_t p = 0; p < partitions_.size(); ++p) {
        auto names = map_.partitions();
        if (std::find(names.begin(), names.end(), partitions_[p]) == names.end()) continue;
        if (!open_partition(static_cast<int>(p))) return;
    }
    cp_up_ = true;
    check_every_open_one_is_followed("after a restart");
    if (split_pending_) {
        split_pending_ = false;
        at(now() + rng_.between(1'000, 5'000), [this] { split_begin(); });
    }
}

bool Sim::open_partition(int p) {
    if (stores_.size() <= static_cast<size_t>(p)) {
        stores_.resize(p + 1);
        confirmers_.resize(p + 1);
    }
    auto store = open_sqlite_ledger_store(dir_ + "/ledger-" + partitions_[p] + ".db", partitions_[p],
                                          LedgerStoreOptions{.durable = false});
    if (!store) {
        fail("cannot open the ledger: " + store.error().describe());
        return false;
    }
    stores_[p] = std::move(store.value());
    confirmers_[p] = std::make_unique<Confirmer>(*stores_[p], clock_, his_port_, provider_port_, confirmer_options_);
    if (auto r = confirmers_[p]->resume(); !r) fail("resume failed: " + r.error().describe());
    return true;
}

void Sim::collect(const Confirmer& c) {
    const auto& k = c.counters();
    totals_.dispatched += k.dispatched, totals_.in_doubt += k.in_doubt, totals_.probes += k.probes;
    totals_.revokes += k.revokes, totals_.manual += k.manual, totals_.settled_by_probe += k.settled_by_probe;
    totals_.settled_by_late_reply += k.settled_by_late_reply, totals_.settled_by_revoke += k.settled_by_revoke;
    totals_.refunds_asked += k.refunds_asked, totals_.closes += k.closes, totals_.reasks += k.reasks;
    totals_.prepaid_refunds_again += k.prepaid_refunds_again, totals_.prepaid_refunds_unbound += k.prepaid_refunds_unbound;
    totals_.deferred_away += k.deferred_away, totals_.manual_away += k.manual_away;
    totals_.dispatch_held_away += k.dispatch_held_away, totals_.never_sent_away += k.never_sent_away;
}

void Sim::crash_control_plane() {
    // The process dies: everything in memory is gone (timers, messages it had not read, a
    // split in progress); only the files remain.
    for (auto& c : confirmers_)
        if (c) collect(*c);
    if (split_) {
        split_.reset();
        ++split_generation_;
        split_pending_ = true;
    }
    confirmers_.clear();
    stores_.clear();
    maps_.reset();
    cp_up_ = false;
    ++crashes_;
}

void Sim::check_every_open_one_is_followed(const char* when) {
    for (size_t p = 0; p < stores_.size(); ++p) {
        if (!stores_[p]) continue;
        auto open = stores_[p]->unfinished();
        if (!open) return fail("cannot read the ledger: " + open.error().describe());
        auto follows = [&](const Transaction& t) {
            return confirmers_[p]->has_timer(t.intent.id) || (t.state == TxState::InDoubt && t.manual);
        };
        for (const auto& t : *open) {
            bool followed = follows(t);
            if (!followed && t.state == TxState::Held && t.intent.kind == TxKind::Booking && !t.intent.binds.empty()) {
                // A prepaid booking waiting, HELD, has no timer of its own: its payment's
                // drive both, so the payment must be followed (and not settled already).
                auto payment = stores_[p]->get(t.intent.binds);
                if (!payment) return fail("cannot read the ledger: " + payment.error().describe());
                followed = *payment && !is_terminal((*payment)->state) && follows(**payment);
            }
            if (!followed) {
                std::string last;
                if (auto h = stores_[p]->history(t.intent.id); h && !h->empty())
                    last = "; last entry " + h->back().event + " " + h->back().evidence;
                return fail(std::string(when) + ": " + std::string(to_string(t.intent.kind)) + " " + t.intent.id + " is " +
                            std::string(to_string(t.state)) + " with no timer and not in the manual queue" + last);
            }
        }
    }
}

// Each transaction created so far is in exactly one of the partitions the current map
// names (a split's copies are not owners until the switch), the one of its province.
void Sim::check_ownership(const char* when) {
    std::map<std::string, int> owner;
    for (size_t p = 0; p < stores_.size(); ++p) {
        if (!stores_[p]) continue;
        auto all = stores_[p]->all();
        if (!all) return fail("cannot read the ledger: " + all.error().describe());
        for (const auto& t : *all)
            if (t.exists && !owner.emplace(t.intent.id, static_cast<int>(p)).second)
                return fail(std::string(when) + ": " + t.intent.id + " is owned by " + partitions_[owner[t.intent.id]] +
                            " and " + partitions_[p]);
    }
    adopt_prepaid_refunds([&owner](const std::string& id) { return owner.contains(id); });
    for (const auto& [id, province] : province_of_) {
        auto it = owner.find(id);
        if (it == owner.end()) return fail(std::string(when) + ": " + id + " is owned by no partition");
        if (it->second != partition_for(id))
            return fail(std::string(when) + ": " + id + " is owned by " + partitions_[it->second] + ", but the map routes it to " +
                        partitions_[partition_for(id)]);
    }
}

// After the switch the source is kept read-only (after a rollback, the targets): any
// change to it is refused.
void Sim::check_fenced(const std::string& partition) {
    auto store = open_sqlite_ledger_store(dir_ + "/ledger-" + partition + ".db", partition, LedgerStoreOptions{.durable = false});
    if (!store) return fail("cannot open " + partition + ": " + store.error().describe());
    Move probe;  // for an id no ledger has: a store that is not fenced refuses it too, writing nothing
    probe.id = std::string(32, '0');
    probe.to = TxState::Held;
    auto r = (*store)->apply_one(probe, clock_.wall_ms());
    if (r || r.error().code != "ledger.partition_moved")
        return fail(partition + " is not fenced after the " + (rolled_back_ ? "rollback" : "switch") + ": " +
                    (r ? std::string("accepted") : r.error().describe()));
}

SplitPlan Sim::split_plan() const {
    SplitPlan plan;
    plan.source = "south";
    plan.source_path = dir_ + "/ledger-south.db";
    SplitTarget a{"south-a", {"44", "45"}, dir_ + "/ledger-south-a.db"};
    SplitTarget b{"south-b", {}, dir_ + "/ledger-south-b.db"};
    for (const auto& [province, partition] : initial_partition_map().partition_of_province)
        if (partition == "south" && !a.provinces.contains(province)) b.provinces.insert(province);
    plan.targets = {a, b};
    plan.durable = false;  // as the simulation's stores: its crashes are process crashes
    return plan;
}

void Sim::split_begin() {
    if (split_done_ || !failure_.empty()) return;
    if (!cp_up_) {  // down: the restart starts it
        split_pending_ = true;
        return;
    }
    ++split_attempts_;
    split_ = std::make_unique<PartitionSplit>(split_plan(), *maps_, clock_);
    if (auto r = split_->start(); !r) return fail("the split did not start: " + r.error().describe());
    check_ownership("after the split started");
    uint64_t generation = ++split_generation_;
    int64_t when = now();
    for (int64_t rounds = rng_.between(1, 3); rounds > 0; --rounds) {
        when += rng_.between(200, 3'000);
        at(when, [this, generation] { split_catch_up(generation); });
    }
    at(when + rng_.between(200, 3'000), [this, generation] { split_switch(generation); });
}

void Sim::split_catch_up(uint64_t generation) {
    if (generation != split_generation_ || !split_) return;
    if (auto r = split_->catch_up(); !r) return fail("the split's catch-up failed: " + r.error().describe());
    check_ownership("during the split's copy");
}

void Sim::split_switch(uint64_t generation) {
    if (generation != split_generation_ || !split_) return;
    auto switched = split_->freeze_and_switch();
    if (!switched) return fail("the split did not switch: " + switched.error().describe());
    // The source's confirmer stops with its timers (its store is fenced); the targets'
    // confirmers resume what moved, IN_DOUBT ones from their stored probe schedule.
    int source = index_of("south");
    collect(*confirmers_[source]);
    confirmers_[source].reset();
    stores_[source].reset();
    auto current = maps_->current();
    if (!current) return fail("cannot read the partition map: " + current.error().describe());
    map_ = *current;
    int64_t moved = 0, in_doubt = 0;
    for (const auto& t : split_plan().targets) {
        int p = index_of(t.partition);
        if (!open_partition(p)) return;
        auto all = stores_[p]->all();
        if (!all) return fail("cannot read " + t.partition + ": " + all.error().describe());
        for (const auto& tx : *all) {
            if (!tx.exists) continue;
            ++moved;
            if (tx.state == TxState::InDoubt) ++in_doubt;
        }
    }
    split_done_ = true;
    auto progress = split_->progress();
    split_.reset();
    check_fenced("south");
    check_ownership("after the split's switch");
    check_every_open_one_is_followed("after the split's switch");
    std::ostringstream line;
    line << "  split south -> south-a, south-b at " << now() << " ms (attempt " << split_attempts_ << ", "
         << progress.rounds << " copy rounds): moved " << moved << " transactions, " << in_doubt
         << " in doubt; map epoch " << switched->epoch << ", writes frozen " << switched->freeze_ms << " ms (simulated)\n";
    split_summary_ = line.str();
    // A third of the runs roll the split back a little later (from the files, as a later
    // process would), while traffic flows to the targets.
    if (rng_.chance(1.0 / 3)) at(now() + rng_.between(1'000, 10'000), [this] { split_rollback(); });
}

void Sim::split_rollback() {
    if (!failure_.empty()) return;
    if (!cp_up_) {  // down: try again once it is back
        at(now() + 1'000, [this] { split_rollback(); });
        return;
    }
    PartitionSplit split(split_plan(), *maps_, clock_);
    if (auto r = split.attach_switched(); !r) return fail("the rollback cannot take up the split: " + r.error().describe());
    // The targets' confirmers stop with their timers; the source's resumes what comes back.
    for (const auto& t : split_plan().targets) {
        int p = index_of(t.partition);
        collect(*confirmers_[p]);
        confirmers_[p].reset();
        stores_[p].reset();
    }
    if (auto r = split.rollback(); !r) return fail("the rollback failed: " + r.error().describe());
    rolled_back_ = true;
    auto current = maps_->current();
    if (!current) return fail("cannot read the partition map: " + current.error().describe());
    map_ = *current;
    if (!open_partition(index_of("south"))) return;
    for (const auto& t : split_plan().targets) check_fenced(t.partition);
    check_ownership("after the rollback");
    check_every_open_one_is_followed("after the rollback");
    std::ostringstream line;
    line << "  rolled back at " << now() << " ms: " << split.progress().streamed_back
         << " entries streamed back to south; map epoch " << map_.epoch << "\n";
    split_summary_ += line.str();
}

void Sim::arrive(const std::string& id) {
    if (!cp_up_) {  // the portal is down with the control plane: the client tries again
        at(now() + 1000, [this, id] { arrive(id); });
        return;
    }
    const Patient& patient = patients_[rng_.below(patients_.size())];
    int hospital = static_cast<int>(rng_.below(hospitals_.size()));
    PatientRegion region = patient.region;
    region.hospital_province = hospitals_[hospital].province;
    auto routed = route(map_, prefixes_, region);
    if (!routed) return fail("routing refused a generated patient: " + routed.error().describe());
    int p = index_of(routed->partition);
    TransactionIntent in;
    in.id = id;
    in.kind = TxKind::Payment;
    in.hospital_id = hospitals_[hospital].id;
    in.patient_id = patient.id;
    in.amount_fen = rng_.between(1, 500'000);
    in.purpose = "outpatient";
    bool booking = rng_.chance(0.1);  // a booking: the slot is held at once, no provider
    if (booking) {
        in.kind = TxKind::Booking;
        in.purpose = "slot";
    }
    in.epoch = routed->epoch;
    in.province = routed->province;
    in.deadline_ms = clock_.wall_ms() + 30'000;
    if (agent_away_since(in.hospital_id)) {
        // The API refuses a new payment or booking for an offline hospital at once (503
        // hospital.offline, nothing created): the client tries again after Retry-After.
        ++refused_offline_;
        at(now() + 30'000, [this, id] { arrive(id); });
        return;
    }
    if (rng_.chance(0.05)) return arrive_prepaid(std::move(in), p);  // a booking that requires prepayment
    province_of_[id] = routed->province;
    auto created = confirmers_[p]->create(in);
    if (!created) return fail("create refused: " + created.error().describe());
    ++arrived_;
    hospital_of_[id] = hospital;
    if (booking) {
        ++bookings_;
    } else {
        arrive_payment(in);
    }
    if (rng_.chance(0.06)) at(now() + rng_.between(30'000, 150'000), [this, id] { request_correction(id); });
    if (rng_.chance(0.05)) {
        at(now() + rng_.between(100, 2'000), [this, in] {
            Confirmer* c = cp_up_ ? confirmer_for(in.id) : nullptr;  // where the map routes it now
            if (!c) return;
            ++retried_creates_;
            auto again = c->create(in);
            if (!again) fail("a retried create was refused: " + again.error().describe());
        });
    }
    process_faults();
}

void Sim::arrive_prepaid(TransactionIntent booking, int p) {
    // As the API builds a pair: the payment's id derived from the booking's, the same
    // patient, hospital, amount and province; the payment's pay window is the deadline.
    TransactionIntent payment = booking;
    payment.id = prepaid_payment_id(booking.id);
    payment.kind = TxKind::Payment;
    payment.purpose = "registration";
    booking.kind = TxKind::Booking;
    booking.purpose = "slot";
    booking.deadline_ms = 0;
    booking.binds = payment.id;
    payment.binds = booking.id;
    province_of_[booking.id] = province_of_[payment.id] = booking.province;
    auto created = confirmers_[p]->create_prepaid(booking, payment);
    if (!created) return fail("create_prepaid refused: " + created.error().describe());
    ++arrived_;
    ++prepaid_pairs_;
    const int hospital = hospital_index(booking.hospital_id);
    hospital_of_[booking.id] = hospital_of_[payment.id] = hospital;
    // Every round of the pair's refund (a later one follows a VOIDED one) lives with it.
    for (int round = 1; round <= confirmer_options_.max_prepaid_refund_rounds; ++round) {
        const std::string refund_id = prepaid_refund_id(booking.id, round);
        hospital_of_[refund_id] = hospital;
        prepaid_refund_booking_[refund_id] = booking.id;
    }
    prepaid_payment_of_[booking.id] = payment.id;
    arrive_payment(payment);  // pays soon, late, never; sometimes cancels the payment
    // The patient cancels the booking while HELD (refused once it left: fine), and, as for
    // any booking, sometimes after it is POSTED: a cancel correction, whose POSTED brings
    // the payment's refund correction (the HIS first, then the provider).
    if (rng_.chance(0.06)) {
        ++prepaid_cancels_after_post_;
        at(now() + rng_.between(30'000, 150'000), [this, id = booking.id] { request_correction(id); });
    }
    if (rng_.chance(0.03)) {
        at(now() + rng_.between(0, 20'000), [this, id = booking.id] {
            Confirmer* c = cp_up_ ? confirmer_for(id) : nullptr;
            if (!c) return;
            ++prepaid_cancels_;
            (void)c->cancel(id);
        });
    }
    if (rng_.chance(0.05)) {  // the client sends the pair again: answered from the ledger
        at(now() + rng_.between(100, 2'000), [this, booking, payment] {
            Confirmer* c = cp_up_ ? confirmer_for(booking.id) : nullptr;
            if (!c) return;
            ++retried_creates_;
            auto again = c->create_prepaid(booking, payment);
            if (!again) fail("a retried create_prepaid was refused: " + again.error().describe());
        });
    }
    process_faults();
}

void Sim::process_faults() {
    // Faults that strike the processes.
    if (rng_.chance(faults_.crash_per_tx)) {
        crash_control_plane();
        at(now() + rng_.between(500, 5'000), [this] { open_control_plane(); });
    }
    // An agent down for [min_ms, max_ms], everything sent to it lost meanwhile; the fleet
    // registry knows since when (SimHis::away_since).
    auto take_an_agent_down = [this](int64_t min_ms, int64_t max_ms, uint64_t& counter) {
        Hospital& h = hospitals_[rng_.below(hospitals_.size())];
        if (h.agent_down) return;
        h.agent_down = true;
        h.down_since_ms = clock_.wall_ms();
        ++counter;
        Hospital* hp = &h;
        at(now() + rng_.between(min_ms, max_ms), [this, hp] {
            hp->agent_down = false;
            // The fleet registry sees its birth: the confirmers' attempts held for it go now
            // (Confirmer::agent_back), not at their next held slot. A control plane that is
            // down hears nothing; its resume() finds the agent back.
            if (!cp_up_) return;
            for (auto& c : confirmers_)
                if (c) woken_by_return_ += c->agent_back(hp->id);
        });
    };
    if (rng_.chance(faults_.agent_restart_per_tx)) take_an_agent_down(1'000, 20'000, agent_restarts_);
    // Minutes away: some past the confirmer's offline_patience (10 min here).
    if (rng_.chance(faults_.agent_outage_per_tx)) take_an_agent_down(120'000, 720'000, agent_outages_);
}

void Sim::arrive_payment(const TransactionIntent& in) {
    const std::string& id = in.id;
    ProviderOrder order;
    order.amount_fen = in.amount_fen;
    order.patient = in.patient_id;
    orders_[id] = order;
    // The patient: usually pays within seconds, sometimes about when the deadline passes,
    // sometimes never; now and then cancels; a client sometimes sends the create twice.
    uint64_t kind = rng_.below(100);
    if (kind < 80) at(now() + rng_.between(500, 10'000), [this, id] { patient_pays(id); });
    else if (kind < 90) at(now() + rng_.between(25'000, 40'000), [this, id] { patient_pays(id); });
    if (rng_.chance(0.03)) {
        at(now() + rng_.between(0, 20'000), [this, id] {
            Confirmer* c = cp_up_ ? confirmer_for(id) : nullptr;
            if (!c) return;
            ++cancels_;
            (void)c->cancel(id);  // refused after dispatch: fine
        });
    }
}

Result<Transaction> Sim::create_correction(const std::string& original, const std::string& id) {
    int p = partition_for(original);
    auto held = stores_[p]->get(original);
    if (!held) return held.error();
    if (!*held) return make_error(ErrorClass::Internal, "sim.lost", original + " is in no ledger");
    const Transaction& o = **held;
    TransactionIntent fix;
    fix.id = id;
    fix.kind = o.intent.kind == TxKind::Booking ? TxKind::Cancel : TxKind::Refund;
    fix.hospital_id = o.intent.hospital_id;
    fix.patient_id = o.intent.patient_id;
    fix.amount_fen = o.intent.amount_fen;
    fix.purpose = fix.kind == TxKind::Refund ? "refund" : "cancel";
    fix.epoch = o.intent.epoch;
    fix.province = o.intent.province;
    fix.corrects = original;
    auto created = confirmers_[p]->create(fix);
    if (created && !province_of_.contains(id)) {
        province_of_[id] = province_of_.at(original);
        hospital_of_[id] = hospital_of_.at(original);
    }
    return created;
}

void Sim::request_correction(const std::string& original) {
    if (!cp_up_) {  // the portal is down with the control plane: the patient asks again
        at(now() + 1000, [this, original] { request_correction(original); });
        return;
    }
    ++corrections_asked_;
    int p = partition_for(original);
    auto held = stores_[p]->get(original);
    if (!held || !*held) return fail("the correction's original " + original + " is in no ledger");
    if ((*held)->state != TxState::Posted) return void(++corrections_not_posted_);  // the road before dispatch is the cancels'
    std::string id = rng_.hex_id();
    auto created = create_correction(original, id);
    if (!created) return fail("a correction of the POSTED " + original + " was refused: " + created.error().describe());
    ++corrections_created_;
    if (rng_.chance(0.05))  // the client sends it again: the same correction, answered from the ledger
        at(now() + rng_.between(100, 2'000), [this, original, id] {
            if (!cp_up_) return;
            ++retried_creates_;
            auto again = create_correction(original, id);
            if (!again) fail("a retried correction was refused: " + again.error().describe());
        });
    if (rng_.chance(0.2))  // and sometimes asks for a second refund: refused while the first stands
        at(now() + rng_.between(1'000, 90'000), [this, original, id] { second_correction(original, id); });
}

void Sim::second_correction(const std::string& original, const std::string& first) {
    if (!cp_up_) return;
    auto t = stores_[partition_for(first)]->get(first);
    if (!t || !*t) return fail("the correction " + first + " is in no ledger");
    const TxState first_state = (*t)->state;
    std::string id = rng_.hex_id();
    auto again = create_correction(original, id);
    if (first_state == TxState::Voided) {  // the first corrected nothing: a new one may go
        if (again) ++second_accepted_;
        else if (again.error().code != "ledger.already_corrected") fail("a correction after a VOIDED one: " + again.error().describe());
        return;
    }
    if (again) return fail("a second correction " + id + " of " + original + " was accepted while " + first + " is " +
                           std::string(to_string(first_state)));
    if (again.error().code != "ledger.already_corrected" || again.error().message.find(first) == std::string::npos)
        return fail("a second correction was refused without naming the first: " + again.error().describe());
    ++second_refused_;
}

// An operator works the manual queue: calls the hospital (a reliable channel), which
// revokes the order unless it committed it, and resolves with what it said.
void Sim::operator_round() {
    if (cp_up_) {
        for (size_t p = 0; p < confirmers_.size(); ++p) {
            if (!confirmers_[p]) continue;
            auto queue = confirmers_[p]->manual_queue();
            if (!queue) return fail("manual queue unreadable: " + queue.error().describe());
            for (const auto& t : *queue) {
                Hospital& h = hospitals_[hospital_of_.at(t.intent.id)];
                if (is_correction(t.intent.kind)) {
                    // The hospital says whether it did it; "not done" is then revoked at the
                    // agent by the confirmer (its request may still be on its way).
                    auto it = h.records.find(t.intent.corrects);
                    bool done = it != h.records.end() && it->second.undone;
                    ++corrections_resolved_;
                    if (auto own = h.records.find(t.intent.id); own == h.records.end() || own->second.changes == 0)
                        ++corrections_never_arrived_;
                    auto r = confirmers_[p]->resolve(t.intent.id, done,
                                                     done ? "phone call: the hospital has done the " + std::string(to_string(t.intent.kind))
                                                          : "phone call: the hospital has not done it",
                                                     "sim-operator");
                    if (!r) fail("resolve refused: " + r.error().describe());
                    ++operator_resolved_;
                    continue;
                }
                bool committed = his_revoke(h, t.intent.id) == RevokeOutcome::AlreadyCommitted;
                auto r = confirmers_[p]->resolve(t.intent.id, committed,
                                                 committed ? "phone call: the hospital has the order committed"
                                                           : "phone call: the hospital revoked the order",
                                                 "sim-operator");
                if (!r) fail("resolve refused: " + r.error().describe());
                ++operator_resolved_;
            }
        }
    }
    if (!arrivals_done_ || !queue_.empty() || !confirmers_idle()) at(now() + 120'000, [this] { operator_round(); });
}

bool Sim::confirmers_idle() const {
    for (const auto& c : confirmers_)
        if (c && c->timers() > 0) return false;
    return true;
}

SimReport Sim::run() {
    SimReport report;
    if (options_.work_dir.empty()) {
        const char* tmp = getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hisgate-sim-XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back(0);
        if (!mkdtemp(buf.data())) {
            report.ok = false;
            report.failure = "cannot make a temporary directory";
            return report;
        }
        dir_ = buf.data();
    } else {
        dir_ = options_.work_dir;
        std::filesystem::create_directories(dir_);
    }

    auto table = PhonePrefixTable::parse("1380000,11\n1382000,44\n1390000,31\n1500000,37\n1860000,51\n");
    prefixes_ = std::move(table.value());
    for (auto [id, province] : {std::pair{"H-GZ01", "44"}, {"H-BJ01", "11"}, {"H-SH01", "31"}, {"H-CD01", "51"}}) {
        Hospital h;
        h.id = id;
        h.province = province;
        hospitals_.push_back(std::move(h));
    }
    static const char* card_provinces[] = {"44", "11", "31", "51", "37", "45", "23", "65"};
    static const char* phone_prefixes[] = {"1380000", "1382000", "1390000", "1500000", "1860000", "1770000"};
    for (int i = 0; i < 2000; ++i) {
        Patient pt;
        pt.id = "P-" + std::to_string(100000 + i);
        uint64_t how = rng_.below(10);
        if (how < 7) {
            std::string first17 = std::string(card_provinces[rng_.below(8)]) + "0102" + "1980" + "0101" +
                                  std::to_string(100 + rng_.below(900));
            pt.region.id_card = first17 + id_card_check_char(first17);
        } else if (how < 9) {
            pt.region.phone = std::string(phone_prefixes[rng_.below(6)]) + std::to_string(1000 + rng_.below(9000));
        }
        patients_.push_back(pt);
    }

    open_control_plane();
    int64_t t = 0;
    for (int i = 0; i < options_.transactions; ++i) {
        t += rng_.between(0, 20);
        std::string id = rng_.hex_id();
        at(t, [this, id] { arrive(id); });
        if (options_.split && i == options_.transactions / 2) at(t, [this] { split_begin(); });
    }
    at(t + 1, [this] {
        arrivals_done_ = true;
        if (cp_up_) check_every_open_one_is_followed("when arrivals ended");
    });
    at(120'000, [this] { operator_round(); });

    // The loop: the earliest of the network's next event and the confirmers' next timer.
    // Network events go first at equal times; nothing else decides the order.
    const int64_t give_up_after = 7LL * 24 * 3600 * 1000;
    while (failure_.empty()) {
        std::optional<int64_t> timer;
        int timer_of = -1;
        if (cp_up_)
            for (size_t p = 0; p < confirmers_.size(); ++p)
                if (auto due = confirmers_[p] ? confirmers_[p]->next_due_ms() : std::nullopt; due && (!timer || *due - start_ms_ < *timer)) {
                    timer = *due - start_ms_;
                    timer_of = static_cast<int>(p);
                }
        if (queue_.empty() && !timer) break;
        if (!queue_.empty() && (!timer || queue_.top().at <= *timer)) {
            Event e = queue_.top();
            queue_.pop();
            if (e.at > now()) clock_.advance(std::chrono::milliseconds(e.at - now()));
            e.run();
        } else {
            if (*timer > now()) clock_.advance(std::chrono::milliseconds(*timer - now()));
            confirmers_[timer_of]->tick();
        }
        if (now() > give_up_after) {
            fail("not settled after a simulated week: the run does not converge");
            break;
        }
    }
    report.sim_ms = now();
    if (failure_.empty()) {
        if (!cp_up_) open_control_plane();
        check_final();
    }
    if (cp_up_) crash_control_plane();  // collect the counters
    --crashes_;

    std::ostringstream s;
    s << "seed " << options_.seed << ", " << arrived_ << " transactions, fault scale " << fault_scale_ << ", simulated "
      << report.sim_ms / 1000 << " s\n";
    s << "  messages " << messages_ << ", lost " << lost_ << ", held minutes in an agent's queue " << held_ << ", HIS commits whose answer was lost " << commit_answers_lost_
      << ", control-plane crashes " << crashes_ << ", agent restarts " << agent_restarts_ << "\n";
    s << "  agent outages (2-12 min) " << agent_outages_ << ", attempts deferred for an absent agent " << totals_.deferred_away
      << ", to the manual queue after offline_patience " << totals_.manual_away << "\n";
    s << "  new intents refused while their agent was offline " << refused_offline_ << ", first changes held (HELD, not sent) "
      << totals_.dispatch_held_away << ", refunded unsent after offline_patience " << totals_.never_sent_away
      << ", held attempts woken by the agent's return " << woken_by_return_ << "\n";
    s << "  dispatched " << totals_.dispatched << ", in doubt " << totals_.in_doubt << ", probes " << totals_.probes
      << ", revokes " << totals_.revokes << ", late changes fenced at the HIS " << fenced_at_his_ << "\n";
    s << "  settled by probe " << totals_.settled_by_probe << ", by late reply " << totals_.settled_by_late_reply
      << ", by revoke " << totals_.settled_by_revoke << ", manual queue " << totals_.manual << " (resolved "
      << operator_resolved_ << ")\n";
    s << "  closes " << totals_.closes << ", refunds asked " << totals_.refunds_asked << ", payments refused (closed) "
      << payments_refused_ << ", cancels " << cancels_ << ", retried creates " << retried_creates_
      << ", bookings " << bookings_ << "\n";
    s << "  corrections after POSTED: asked " << corrections_asked_ << " (not POSTED then " << corrections_not_posted_
      << "), created " << corrections_created_ << ", refunded at the provider " << refunded_after_post_
      << ", settled by the operator " << corrections_resolved_ << " (never reached the HIS "
      << corrections_never_arrived_ << "), second refused " << second_refused_ << ", second after a VOIDED one " << second_accepted_ << "\n";
    s << "  corrections re-asked (same request id) " << totals_.reasks << ", copies the agent answered from its task record "
      << answered_from_agent_record_ << ", refused by the agent's fence after an operator's \"not done\" "
      << corrections_fenced_ << "; prepaid refunds asked again " << totals_.prepaid_refunds_again
      << ", listed unbound " << totals_.prepaid_refunds_unbound << "\n";
    s << split_summary_;
    s << final_counts_;
    s << prepaid_summary_;
    s << reconcile_summary_;
    report.summary = s.str();
    report.ok = failure_.empty();
    report.failure = failure_;
    if (options_.work_dir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    return report;
}

void Sim::check_final() {
    std::map<std::string, std::pair<int, Transaction>> ledger;
    if (options_.split && !split_done_) return fail("the split never switched");
    if (split_done_ && !rolled_back_) check_fenced("south");
    if (rolled_back_)
        for (const auto& t : split_plan().targets) check_fenced(t.partition);
    for (size_t p = 0; p < stores_.size(); ++p) {
        if (!stores_[p]) continue;  // a split's source: its copies are not owners
        auto all = stores_[p]->all();
        if (!all) return fail("cannot read the ledger: " + all.error().describe());
        for (auto& t : *all) {
            auto [it, fresh] = ledger.emplace(t.intent.id, std::make_pair(static_cast<int>(p), t));
            if (!fresh) return fail(t.intent.id + " is in two partitions");
        }
    }
    adopt_prepaid_refunds([&ledger](const std::string& id) { return ledger.contains(id); });
    std::map<std::string, int64_t> charged, posted;  // per patient: the provider's net, the ledger's
    std::map<TxState, int> by_state;
    std::map<std::string, std::string> undone_by;  // original → its POSTED correction
    for (const auto& [id, entry] : ledger)
        if (is_correction(entry.second.intent.kind) && entry.second.state == TxState::Posted &&
            !undone_by.emplace(entry.second.intent.corrects, id).second)
            return fail(entry.second.intent.corrects + " has two POSTED corrections");
    for (const auto& [id, province] : province_of_) {
        auto it = ledger.find(id);
        if (it == ledger.end()) return fail(id + " was created but is in no partition");
        const auto& [p, t] = it->second;
        int where = partition_for(id);
        if (p != where) return fail(id + " is in " + partitions_[p] + ", but its patient routes to " + partitions_[where]);
        if (t.intent.epoch < 1 || t.intent.epoch > map_.epoch || t.intent.province != province)
            return fail(id + " carries epoch " + std::to_string(t.intent.epoch) + " and province " + t.intent.province);
        ++by_state[t.state];
        if (!is_terminal(t.state)) return fail(id + " is still " + std::string(to_string(t.state)) + " after the run settled");
        const HisRecord* r = his_record(id);
        bool his_committed = r && r->status == HisStatus::Committed;
        if (is_correction(t.intent.kind)) {
            const HisRecord* o = his_record(t.intent.corrects);
            bool done_at_his = o && o->undone && o->undone_by == id;
            if ((t.state == TxState::Posted) != done_at_his)
                return fail(std::string(to_string(t.intent.kind)) + " " + id + " is " + std::string(to_string(t.state)) +
                            " but the HIS " + (done_at_his ? "did" : "did not") + " carry it out");
            if (t.intent.kind == TxKind::Refund) {
                const ProviderOrder& po = orders_.at(t.intent.corrects);
                bool refunded_by_it = po.state == OrderState::Refunded && po.refund_no == id;
                if ((t.state == TxState::Posted) != refunded_by_it)
                    return fail("refund " + id + " is " + std::string(to_string(t.state)) + " but the provider " +
                                (refunded_by_it ? "refunded" : "did not refund") + " " + t.intent.corrects);
            }
            if (t.state == TxState::Refunded) return fail("the correction " + id + " is REFUNDED");
            continue;
        }
        const bool corrected = undone_by.contains(id);
        if (r && r->undone != corrected)
            return fail(id + ": the HIS " + (r->undone ? "undid it" : "did not undo it") + " but the ledger " +
                        (corrected ? "has" : "has no") + " POSTED correction of it");
        if (t.intent.kind == TxKind::Booking) {  // the HIS's books alone
            if ((t.state == TxState::Posted) != his_committed)
                return fail("booking " + id + " is " + std::string(to_string(t.state)) + " but the HIS " +
                            (his_committed ? "has" : "has not") + " booked it");
            if (t.state == TxState::Refunded || orders_.contains(id)) return fail("booking " + id + " has money");
            continue;
        }
        const ProviderOrder& o = orders_.at(id);
        if (o.pays > 1 || o.refunds > 1) return fail(id + ": the provider charged or refunded it more than once");
        if (o.state == OrderState::Paid) charged[o.patient] += o.amount_fen;
        if (t.state == TxState::Posted) {
            if (!corrected) posted[t.intent.patient_id] += t.intent.amount_fen;
            if (!his_committed || r->amount_fen != t.intent.amount_fen)
                return fail(id + " is POSTED but the HIS has no committed order of its amount");
            if (o.state != (corrected ? OrderState::Refunded : OrderState::Paid))
                return fail(id + " is POSTED" + (corrected ? " and refunded after" : "") + " but the provider's order is not " +
                            (corrected ? "refunded" : "paid"));
        } else {
            if (his_committed)
                return fail(id + " is " + std::string(to_string(t.state)) + " but the HIS committed it");
            if (t.state == TxState::Refunded && o.state != OrderState::Refunded)
                return fail(id + " is REFUNDED but the provider did not refund it");
            if (t.state == TxState::Voided && o.state != OrderState::Closed)
                return fail(id + " is VOIDED but the provider's order is not closed");
        }
    }
    for (const auto& h : hospitals_)
        for (const auto& [id, r] : h.records)
            if (!ledger.contains(id)) return fail("the HIS has " + id + ", which no ledger knows");
    if (charged != posted) return fail("a patient's charges at the provider differ from the ledger's posted payments");
    check_prepaid(ledger);
    if (!failure_.empty()) return;
    reconcile_at_end(ledger);
    std::ostringstream s;
    s << "  final:";
    for (const auto& [state, n] : by_state) s << " " << to_string(state) << " " << n;
    s << "\n";
    final_counts_ = s.str();
}

void Sim::adopt_prepaid_refunds(const std::function<bool(const std::string&)>& has) {
    for (const auto& [refund, booking] : prepaid_refund_booking_)
        if (!province_of_.contains(refund) && has(refund)) province_of_[refund] = province_of_.at(booking);
}

void Sim::check_prepaid(const std::map<std::string, std::pair<int, Transaction>>& ledger) {
    uint64_t both_stand = 0, both_released = 0, refunded = 0, cancelled_refunded = 0, unbound_listed = 0,
             unbound_refused = 0, refunded_later_round = 0;
    for (const auto& [booking_id, payment_id] : prepaid_payment_of_) {
        auto b = ledger.find(booking_id), pay = ledger.find(payment_id);
        if (b == ledger.end() || pay == ledger.end()) return fail("the prepaid pair " + booking_id + " is not whole in the ledger");
        const Transaction& bt = b->second.second;
        const Transaction& pt = pay->second.second;
        if (bt.intent.binds != payment_id || pt.intent.binds != booking_id)
            return fail("the prepaid pair " + booking_id + " does not bind both ways");
        if (b->second.first != pay->second.first) return fail("the prepaid pair " + booking_id + " is in two partitions");
        if (!is_terminal(bt.state) || !is_terminal(pt.state))
            return fail("the prepaid pair " + booking_id + " is not settled: booking " + std::string(to_string(bt.state)) +
                        ", payment " + std::string(to_string(pt.state)));
        // The pair's refund: the last round that exists (a later round follows a VOIDED one).
        std::string refund_id;
        int rounds = 0;
        for (int round = 1; round <= confirmer_options_.max_prepaid_refund_rounds; ++round) {
            auto r = ledger.find(prepaid_refund_id(booking_id, round));
            if (r == ledger.end()) break;
            if (!is_terminal(r->second.second.state))
                return fail("the refund " + r->first + " of the prepaid pair " + booking_id + " is not settled");
            if (!refund_id.empty() && ledger.at(refund_id).second.state != TxState::Voided)
                return fail("the prepaid pair " + booking_id + " has refund round " + std::to_string(round) +
                            " after a round that was not VOIDED");
            refund_id = r->first;
            rounds = round;
        }
        auto refund = refund_id.empty() ? ledger.end() : ledger.find(refund_id);
        const bool refund_posted = refund != ledger.end() && refund->second.second.state == TxState::Posted;
        const HisRecord* bh = his_record(booking_id);
        const HisRecord* ph = his_record(payment_id);
        const ProviderOrder& po = orders_.at(payment_id);
        // A POSTED booking the HIS then cancelled (a cancel correction POSTED) stands nowhere.
        const bool cancelled = bh && bh->undone;
        // Standing anywhere, and standing everywhere: the two must agree for each leg.
        const bool booking_any =
            (bt.state == TxState::Posted && !cancelled) || (bh && bh->status == HisStatus::Committed && !bh->undone);
        const bool booking_all = bt.state == TxState::Posted && bh && bh->status == HisStatus::Committed && !bh->undone;
        const bool payment_any = (pt.state == TxState::Posted && !refund_posted) || po.state == OrderState::Paid ||
                                 (ph && ph->status == HisStatus::Committed && !ph->undone);
        const bool payment_all = pt.state == TxState::Posted && !refund_posted && po.state == OrderState::Paid &&
                                 ph && ph->status == HisStatus::Committed && !ph->undone;
        if (booking_any && !payment_all)
            return fail("the prepaid booking " + booking_id + " stands (" + std::string(to_string(bt.state)) +
                        ") while its payment " + payment_id + " does not (" + std::string(to_string(pt.state)) +
                        (refund_posted ? ", refunded" : "") + ")");
        if (payment_any && !booking_all && refund != ledger.end() && refund->second.second.state == TxState::Voided &&
            payment_all) {
            // The confirmer did its part (the refund stored with the release, asked again
            // each round) but no round happened: the hospital refused every one, or the
            // operator found it not done. Never silent: the last round is in the operators'
            // list (marked manual), else it is a failure.
            if (!refund->second.second.manual)
                return fail("the payment " + payment_id + " is kept while its prepaid booking " + booking_id +
                            " is released, and its last refund " + refund_id + " (round " + std::to_string(rounds) +
                            ", VOIDED) is not in the operators' list");
            ++unbound_listed;
            if (const HisRecord* rh = his_record(refund_id); rh && rh->status == HisStatus::Rejected) ++unbound_refused;
            continue;
        }
        if (payment_any && !booking_all)
            return fail("the payment " + payment_id + " is kept (" + std::string(to_string(pt.state)) +
                        ") while its prepaid booking " + booking_id + " is " + std::string(to_string(bt.state)) +
                        (cancelled ? " and cancelled at the HIS" : "") +
                        (refund == ledger.end() ? ", no refund"
                                                : ", its refund " + refund_id + " " + std::string(to_string(refund->second.second.state))));
        if (booking_all) ++both_stand;
        else if (refund_posted && cancelled) ++cancelled_refunded;
        else if (refund_posted) ++refunded;
        else ++both_released;
        if (refund_posted && rounds > 1) ++refunded_later_round;
    }
    std::ostringstream s;
    s << "  prepaid pairs " << prepaid_pairs_ << ": both stand " << both_stand << ", released unpaid " << both_released
      << ", booking refused and payment refunded " << refunded << ", cancelled after POSTED and refunded "
      << cancelled_refunded << " (cancels asked " << prepaid_cancels_after_post_ << "), refunded in a later round "
      << refunded_later_round << ", refund not done after every round and listed for the operators " << unbound_listed
      << " (the last refused by the HIS " << unbound_refused << "); booking cancels while HELD asked " << prepaid_cancels_ << "\n";
    prepaid_summary_ = s.str();
}

// ledger = HIS = provider through the real reconciliation: the HIS's statement and the
// provider's bill as their records stand, against every ledger transaction; every payment
// must be matched (refunds after POSTED included).
void Sim::reconcile_at_end(const std::map<std::string, std::pair<int, Transaction>>& ledger) {
    std::vector<Transaction> txs;
    std::vector<HisLine> his;
    std::vector<ProviderLine> bill;
    for (const auto& [id, entry] : ledger) {
        const Transaction& t = entry.second;
        if (!t.exists) continue;
        txs.push_back(t);
        if (t.intent.kind != TxKind::Payment) continue;
        if (const HisRecord* r = his_record(id); r && r->status == HisStatus::Committed) {
            his.push_back({id, "payment", r->amount_fen});
            if (r->undone) his.push_back({id, "refund", r->amount_fen});
        }
        const ProviderOrder& o = orders_.at(id);
        if (o.pays > 0) bill.push_back({id, "payment", o.amount_fen, "", ""});
        if (o.refunds > 0) bill.push_back({id, "refund", o.amount_fen, "", o.refund_no});
    }
    auto report = reconcile("sim", txs, his, bill);
    if (!report) return fail("reconciliation refused the statements: " + report.error().describe());
    const int matched = report->counts.at(Finding::Matched);
    if (matched != static_cast<int>(report->items.size())) {
        for (const auto& item : report->items)
            if (item.finding != Finding::Matched)
                return fail("reconciliation: " + std::string(to_string(item.finding)) + " " + item.id + ": " + item.detail);
    }
    std::ostringstream s;
    s << "  reconciliation: " << report->items.size() << " payments matched, " << report->corrections
      << " corrections judged with them, " << report->bookings << " bookings\n";
    reconcile_summary_ = s.str();
}

}  // namespace

SimReport run_ledger_sim(const SimOptions& options) {
    Sim sim(options);
    return sim.run();
}

}  // namespace hisgate::ledger_sim
