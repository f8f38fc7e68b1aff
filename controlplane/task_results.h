// What became of every request this control plane instance sent to an agent: pending
// until the agent's answer arrives, then answered. Answers that come after the HTTP
// caller stopped waiting (a deferred report, a broker outage drained from the agent's
// outbox) are kept, so the caller can fetch them with the task id.
//
// Nothing accepted is forgotten: every request has a deadline, and one that has no answer
// by then ends `expired` with the reason (expire_due): its hospital's agent offline
// (agent.offline), the request never reached the agent (agent.unreached: the agent never
// said it stored it), or the HIS never answered (his.no_answer). A deferred request the
// agent has not yet said it stored is re-sent, same id, every resend interval
// (due_resends); the agent stores a request id once. An
// answer that arrives after its request expired is counted ("late") and dropped: the
// terminal state stands. Finished requests are kept for the retention (purge), and no more
// than `max_kept` of them, so the store's memory is bounded.
//
// Contents are kept no longer than needed to deliver them: the answer of a request that
// changes nothing at the HIS (a lab report: TaskKind::contents_until_delivered) loses its
// body `after_delivery` once it was handed to whom it is for (mark_delivered); asking
// again is safe and gets it anew. An answer that changed the HIS (a booking) keeps its
// body for the retention: a retry of its order is answered from it, never sent again.
//
// Invariant: one request id has at most one answer; a second copy (a QoS 1 duplicate, an
// outbox resend after an agent crash) is counted and dropped, never applied again.
// An answer is kept only for a request this store expects, and only from the hospital that
// request went to: another hospital's agent cannot answer for it (tenants stay apart, the
// broker ACL confining each hospital to its own subtree of topics).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/group_commit.h"
#include "common/sql_shared.h"
#include "transport/envelope.h"

namespace hisgate::controlplane {

struct TaskResult {
    std::string request_id;
    std::string hospital_id;
    std::string type;
    bool answered = false;
    std::string answer;          // the reply envelope, JSON
    std::string expired_reason;  // non-empty: expired with this code, no answer
    std::string request;         // the request envelope as sent, JSON
    std::string owner;           // the patient the request was for ("" for none): only they, and staff, see it
    std::string fingerprint;     // the request as its caller made it (RequestOrigin)
    bool contents_dropped = false;  // answered and delivered; the answer's body is gone

    bool finished() const { return answered || !expired_reason.empty(); }
    nlohmann::json to_json() const;
    // A finished request's outcome as the caller who waited would have had it: the
    // answer's body, its error, or the expiry (class Timeout, the reason's code).
    Result<nlohmann::json> outcome() const;
};

// Who a request is for, and what its caller asked, kept with the task.
struct RequestOrigin {
    std::string owner;
    // A digest of the request as the API received it, before the platform added its own
    // facts (controlplane/booking_facts.h): a retry of the same request has the same one.
    std::string fingerprint;
};

// What kind of work a request is, as its hospital's agent advertised the type.
struct TaskKind {
    // Drained in batches: re-sent until the agent says it stored it (request.ack_stored).
    bool deferred = false;
    // Changes nothing at the HIS, so its answer's contents go once delivered.
    bool contents_until_delivered = false;
};

struct TaskRetention {
    std::chrono::milliseconds deadline{std::chrono::minutes(10)};  // from sending to expiry
    std::chrono::milliseconds keep{std::chrono::hours(24)};        // a finished request, after it finished
    int64_t max_kept = 100000;                                     // finished requests kept at most
    // A delivered answer's contents (TaskKind::contents_until_delivered), after the first
    // delivery: a client whose response was lost may poll again this long.
    std::chrono::milliseconds after_delivery{std::chrono::minutes(1)};
};

class TaskResults {
public:
    // `path` is a SQLite file, or ":memory:" for an instance that keeps nothing across restarts.
    static Result<std::unique_ptr<TaskResults>> open(const std::string& path, Clock& clock = SystemClock::instance(),
                                                     TaskRetention retention = {});
    // On a connection other stores share (common/sql_shared.h): the control plane keeps the
    // answers, the booking notes and the patients' links on one, so an answer's writes are
    // one transaction with its batch's (controlplane/answer_commit.h).
    static Result<std::unique_ptr<TaskResults>> open(std::shared_ptr<sql::SharedDb> shared, Clock& clock,
                                                     TaskRetention retention = {});

    // True when the request id is new; false when it was expected already (a retry that
    // reuses an id: an order's, an Idempotency-Key's), which changes nothing. Durable when
    // it returns (in its own commit, or its group's: group_expects).
    Result<bool> expect(const Envelope& request, TaskKind kind = {}, const RequestOrigin& origin = {});
    // From now on, the requests expected at the same time (the API's threads) are kept in
    // one transaction, one writer thread's (common/group_commit.h); each expect() still
    // returns only once its row is committed. Call once, before the store is shared.
    void group_expects(GroupCommitOptions options = {});
    // A request that never left this instance (no agent will answer it) is forgotten, so a
    // retry with its id sends it anew. Only an unfinished one.
    Result<void> forget(const std::string& request_id);
    // The agent of `hospital_id` says it stored the request.
    Result<void> mark_stored(const std::string& hospital_id, const std::string& request_id);
    // The deferred requests not yet stored, unfinished, last sent `interval` ago or more:
    // (hospital id, request JSON) each, marked sent now.
    Result<std::vector<std::pair<std::string, std::string>>> due_resends(std::chrono::milliseconds interval);
    enum class Recorded {
        kept,       // the first answer to its request
        duplicate,  // the request already had its answer: dropped
        refused,    // no such request, or it went to another hospital: dropped
        late,       // the request had expired: dropped
    };
    // `hospital_id`: the hospital whose subtree the answer came from. When it is kept and
    // `task` is given, *task is the request's row as kept (what find() would say then), read
    // by the same statement that kept the answer: the answer's intake needs no second read.
    // Called inside a transaction open on the shared connection (a group commit), the answer
    // is kept with it, and whoever commits it calls wake_waiters() after the COMMIT: a waiter
    // is never woken for an answer that is not durable yet (nor while the connection is held).
    Result<Recorded> record(const std::string& hospital_id, const Envelope& reply, const std::string& payload,
                            TaskResult* task = nullptr);
    // Wakes wait_finished's waiters to look again: after a transaction that finished requests
    // (record() in a group commit) has committed. Never while holding the shared connection.
    void wake_waiters();
    std::optional<TaskResult> find(const std::string& request_id);
    // The answer was handed to whom it is for; its contents go `after_delivery` from the
    // first delivery (purge), when its kind says so. No effect on anything else.
    Result<void> mark_delivered(const std::string& request_id);
    // Waits up to `patience` (the injected clock's) for the request to finish; what find()
    // says then.
    std::optional<TaskResult> wait_finished(const std::string& request_id, std::chrono::milliseconds patience);

    // Ends every unanswered request past its deadline as expired; `online(hospital_id)`
    // tells whether the hospital's agent is online now. Returns how many expired.
    Result<int> expire_due(const std::function<bool(const std::string&)>& online);
    // Forgets finished requests older than the retention, and the oldest beyond max_kept;
    // drops the contents of answers delivered `after_delivery` ago. How many rows changed.
    Result<int> purge();

private:
    TaskResults(std::shared_ptr<sql::SharedDb> shared, Clock& clock, TaskRetention retention)
        : shared_(std::move(shared)), mu_(shared_->mutex()), db_(shared_->db()), clock_(clock), retention_(retention) {}
    struct Expected {
        const Envelope* request;
        TaskKind kind;
        const RequestOrigin* origin;
    };
    Result<bool> expect_one(const Envelope& request, TaskKind kind, const RequestOrigin& origin);
    std::shared_ptr<sql::SharedDb> shared_;
    std::recursive_mutex& mu_;  // the shared connection's
    std::mutex wait_mu_;  // wait_finished's: taken after a request finished, before the notify
    std::condition_variable finished_cv_;
    sql::Db& db_;
    Clock& clock_;
    TaskRetention retention_;
    std::unique_ptr<GroupCommit<Expected, Result<bool>>> expects_;  // last: its writer uses the above
};

}  // namespace hisgate::controlplane
