// What became of every request this control plane instance sent to an agent: pending
// until the agent's answer arrives, then answered. Answers that come after the HTTP
// caller stopped waiting (a deferred report, a broker outage drained from the agent's
// outbox) are kept, so the caller can fetch them with the task id.
//
// Invariant: one request id has at most one answer; a second copy (a QoS 1 duplicate, an
// outbox resend after an agent crash) is counted and dropped, never applied again.
// An answer is kept only for a request this store expects, and only from the hospital that
// request went to: another hospital's agent cannot answer for it (tenants stay apart, the
// broker ACL confining each hospital to its own subtree of topics).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/sqlite.h"
#include "transport/envelope.h"

namespace hisgate::controlplane {

struct TaskResult {
    std::string request_id;
    std::string hospital_id;
    std::string type;
    bool answered = false;
    std::string answer;  // the reply envelope, JSON

    nlohmann::json to_json() const;
};

class TaskResults {
public:
    // `path` is a SQLite file, or ":memory:" for an instance that keeps nothing across restarts.
    static Result<std::unique_ptr<TaskResults>> open(const std::string& path);

    Result<void> expect(const Envelope& request);
    enum class Recorded {
        kept,       // the first answer to its request
        duplicate,  // the request already had its answer: dropped
        refused,    // no such request, or it went to another hospital: dropped
    };
    // `hospital_id`: the hospital whose subtree the answer came from.
    Result<Recorded> record(const std::string& hospital_id, const Envelope& reply, const std::string& payload);
    std::optional<TaskResult> find(const std::string& request_id);

private:
    explicit TaskResults(sql::Db db) : db_(std::move(db)) {}
    std::mutex mu_;
    sql::Db db_;
};

}  // namespace hisgate::controlplane
