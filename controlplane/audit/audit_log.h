// The operator audit log (issue 17 item 2): one row per operator action, appended and never
// changed. Who (the token's role:subject), what (method, route name, the path with its ids,
// the ids the path names, the answer's status and error code), when (the control plane's
// wall clock, ms) and from where (the peer's address, or the client a trusted proxy names:
// controlplane/audit/audit_api.h).
//
// What is kept is ids only: no request body, no query string, no name, phone or ID number.
// A row is written by the API's dispatch (controlplane/api.cpp), for staff and service
// changes (POST, PUT, PATCH, DELETE, refused ones included) and for console sign-in and
// sign-out; never for a patient's own requests.
//
// Append-only is the file's rule too, not only this interface's: the SQLite table carries
// triggers that RAISE on UPDATE and DELETE, so no other writer of the shared results_db
// (another instance, a script with the sqlite3 shell) can rewrite history without
// dropping the triggers first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::controlplane::audit {

struct AuditEntry {
    int64_t seq = 0;      // assigned by append: increasing, never reused
    int64_t at_ms = 0;    // wall clock, ms since the Unix epoch
    std::string who;      // "operator:alice"
    std::string role;     // "operator"
    std::string method;   // "POST"
    std::string route;    // "rollout_pause", "console_session", ...
    std::string path;     // "/api/v1/rollouts/R1/pause" (no query string)
    std::vector<std::string> targets;  // the ids the path names, in path order ("R1")
    int status = 0;       // the answer's HTTP status
    std::string code;     // the error answer's code ("auth.forbidden"), "" for a success
    std::string from;     // the caller's address
};

// Which rows a page holds: newest first, those with seq below `before_seq` (0: from the
// newest), matching every filter given.
struct AuditQuery {
    std::string who;          // "" any; "role:subject", or a subject alone (any role)
    std::string route;        // "" any
    int64_t since_ms = 0;     // at_ms >= since_ms (0: no bound)
    int64_t until_ms = 0;     // at_ms < until_ms (0: no bound)
    int64_t before_seq = 0;
    int limit = 100;
};

class AuditLog {
public:
    virtual ~AuditLog() = default;
    // Appends `e` (its seq ignored); answers the seq it was given.
    virtual Result<int64_t> append(const AuditEntry& e) = 0;
    virtual Result<std::vector<AuditEntry>> page(const AuditQuery& q) = 0;
};

// `path` is a SQLite file (the control plane's results_db, which every instance opens), or
// ":memory:".
Result<std::unique_ptr<AuditLog>> open_sqlite_audit_log(const std::string& path);

}  // namespace hisgate::controlplane::audit
