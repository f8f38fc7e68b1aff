// Idempotency-Key on money and booking requests (issue 15 item 3): a request sent twice
// with one key is one request, and its second sending gets the first one's answer.
//
// The key is the client's (the Idempotency-Key header, controlplane/idempotency_store.h's
// alphabet, at most 255 characters), scoped to the caller (the token's role and subject)
// and the route. The first request with a key claims it, with a digest of each field the
// route reads, and the id of the transaction it is about to create; when its answer is
// ready it is stored with the key (a failure included: a new intent needs a new key).
//
//   same key, same fields, answered    → that answer again (status and body), nothing runs
//   same key, same fields, still running → Rejected "idempotency.in_progress" (409)
//   same key, another field            → Rejected "idempotency.mismatch" (422), naming the
//                                         first field that differs, in the route's order
//
// A claim whose request never finished (its instance crashed) is taken over after the
// lease: the retry runs again with the transaction id the claim holds, and the ledger
// answers a create with an existing id and the same fields with the stored transaction,
// so the takeover creates nothing twice.
//
// Keys are kept for the retention (24 h by default), and no more than `max_kept`. The
// store keeps digests of the scope and of each field, never the key or a field's value;
// the answer it keeps is the one the API sent, which names the patient like the ledger.
// This is the interface; SQLite implements it (open_sqlite_keyed_answers), and a shared
// database would implement the same for several control-plane instances.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::controlplane::money {

struct KeyedRequest {
    std::string caller;  // "<role>:<subject>"
    std::string route;   // "POST /api/v1/payments"
    std::string key;     // the Idempotency-Key header (valid_idempotency_key)
    // The fields the route reads, in its order: (name, canonical value; "" when absent).
    std::vector<std::pair<std::string, std::string>> fields;
};

struct KeyClaim {
    bool replay = false;      // true: the stored answer below is the answer
    std::string resource_id;  // the transaction this key stands for
    int status = 0;           // replay only
    std::string body;         // replay only
};

struct KeyedAnswerRetention {
    std::chrono::milliseconds keep{std::chrono::hours(24)};
    std::chrono::milliseconds lease{std::chrono::seconds(60)};  // an unfinished claim is taken over after it
    int64_t max_kept = 100000;
};

class KeyedAnswers {
public:
    virtual ~KeyedAnswers() = default;
    // Claims the key for `resource_id`, or says what came of it before (see above).
    virtual Result<KeyClaim> begin(const KeyedRequest& request, const std::string& resource_id) = 0;
    // Stores the answer of a claimed key (status and the body sent).
    virtual Result<void> finish(const KeyedRequest& request, int status, const std::string& body) = 0;
    // Lets go of a claimed key whose request created nothing (refused before any work, e.g.
    // its hospital offline): the next request with it runs as a first one. An answered key
    // is kept.
    virtual Result<void> release(const KeyedRequest& request) = 0;
    // Forgets keys past the retention, and the oldest beyond max_kept (begin runs it once a minute).
    virtual Result<int> purge() = 0;
};

Result<std::unique_ptr<KeyedAnswers>> open_sqlite_keyed_answers(const std::string& path, Clock& clock,
                                                                 KeyedAnswerRetention retention = {});

}  // namespace hisgate::controlplane::money
