// Retries are safe (issue 12 item 7): what the control plane keeps so that a request sent
// twice is one request.
//
// Idempotency keys. A POST may carry an `Idempotency-Key` header; the key is scoped to
// the caller (the token's role and subject) and the route. The first request with a key
// claims it for the request id it is about to send, with a fingerprint of the request; a
// repeat with the same fingerprint gets that request id back (the same task: its answer
// if it has one, never a second request to the agent), and a repeat with another
// fingerprint is refused (Rejected "idempotency.key_reused"). Of two claims of one key
// racing, one wins and both get its request id. A key is kept for the retention (24 h),
// and no more than `max_kept` of them; an expired key is new again.
//
// Order request ids. A request that changes the HIS and names an order id gets a request
// id derived from the hospital, the request type, the patient and the order id, under a
// secret the store makes once and keeps: every restart, and every instance sharing the
// store, derives the same id, so a client that sends the same order again (after a 504,
// without a key) reaches the same task at the agent, which stores a request id once and
// never calls the HIS twice for it. Without the secret the id cannot be computed, so
// knowing a patient's order id does not give their task id; and one patient's order id
// never names another patient's task.
//
// The store keeps digests only (of the scope and of the request), never a key, a patient
// id or a body. This is the interface; SQLite implements it (open_sqlite_idempotency_store),
// and a shared database (PostgreSQL) would implement the same for several instances.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::controlplane {

struct IdempotencyScope {
    std::string caller;  // "<role>:<subject>" of the caller's token
    std::string route;   // "POST /api/v1/hospitals/H001/appointments"
    std::string key;     // the Idempotency-Key header, valid_idempotency_key
};

struct IdempotencyClaim {
    std::string request_id;  // the request the key stands for
    bool replay = false;     // the key came before, with the same request
};

struct IdempotencyRetention {
    std::chrono::milliseconds keep{std::chrono::hours(24)};  // a key, after its first use
    int64_t max_kept = 100000;                               // keys kept at most
};

// An Idempotency-Key is 1 to kMaxIdempotencyKey characters of A-Z a-z 0-9 - _ . :
constexpr size_t kMaxIdempotencyKey = 255;
bool valid_idempotency_key(const std::string& key);

class IdempotencyStore {
public:
    virtual ~IdempotencyStore() = default;

    // The request id `scope` stands for: `request_id` when the key is new (claimed now with
    // `fingerprint`); the stored one when the key came before with the same fingerprint;
    // Rejected "idempotency.key_reused" when it came with another.
    virtual Result<IdempotencyClaim> claim(const IdempotencyScope& scope, const std::string& fingerprint,
                                           const std::string& request_id) = 0;
    // Forgets keys older than the retention, and the oldest beyond max_kept. claim() runs it
    // once a minute by itself.
    virtual Result<int> purge() = 0;

    // The request id of an order: 32 hex digits derived from the hospital, the request type,
    // the patient and the order id under the store's secret.
    std::string order_request_id(const std::string& hospital_id, const std::string& type,
                                 const std::string& patient_id, const std::string& order_id) const;

protected:
    // The secret order request ids are derived with: made once, kept with the keys.
    virtual const std::string& secret() const = 0;
};

// `path` is a SQLite file (the control plane's results_db), or ":memory:" for an instance
// that keeps nothing across restarts.
Result<std::unique_ptr<IdempotencyStore>> open_sqlite_idempotency_store(const std::string& path, Clock& clock,
                                                                        IdempotencyRetention retention = {});

}  // namespace hisgate::controlplane
