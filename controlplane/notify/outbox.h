// The notification service's outbox (issue 17 item 1, reminders): every message to a
// patient is written here first and sent by the relay loop (notifier.h) when it is due, so
// an SMTP relay that is down or refusing loses nothing: the message stays, and is tried
// again with a growing pause until the relay takes it.
//
// Invariants:
//   - A message is added once per key ("code:<n>", "confirm:<request id>:<address>",
//     "remind:<request id>:<address>"): adding a key again changes nothing, so a booking
//     noted twice sends one confirmation.
//   - A message leaves the queue only when the relay accepted it (sent()); a failed try
//     keeps it with its next try time (retry()).
//   - Addresses and bodies are the patient's data: they are stored here and nowhere in the
//     logs.
//
// This is the interface; SQLite implements it (open_sqlite_outbox).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::controlplane::notify {

struct Mail {
    std::string to;       // an email address (an SMS gateway's: <phone>@<gateway domain>)
    std::string subject;  // UTF-8
    std::string body;     // UTF-8 text
};

struct QueuedMail {
    int64_t id = 0;
    std::string key;
    Mail mail;
    int attempts = 0;  // tries so far
};

class Outbox {
public:
    virtual ~Outbox() = default;
    // Adds `mail` to go at `due_ms` or later; a key added before changes nothing (false).
    virtual Result<bool> add(const std::string& key, const Mail& mail, int64_t due_ms) = 0;
    // Claims up to `limit` messages due at `now_ms`, the earliest due first: each is due
    // again only at `now_ms + lease_ms`, so another control-plane instance relaying the
    // same outbox does not send it too; one whose sender died mid-send goes again after
    // the lease (at least once: a relay may see a message twice, never zero times).
    virtual Result<std::vector<QueuedMail>> due(int64_t now_ms, int limit, int64_t lease_ms = 60000) = 0;
    virtual Result<void> sent(int64_t id, int64_t now_ms) = 0;
    virtual Result<void> retry(int64_t id, int64_t next_try_ms) = 0;
    // Messages not sent yet (due or not).
    virtual Result<int64_t> waiting() = 0;
    // The soonest due time of a waiting message, or 0 when none waits.
    virtual Result<int64_t> next_due_ms() = 0;
};

// `path` is a SQLite file (the control plane's results_db), or ":memory:".
Result<std::unique_ptr<Outbox>> open_sqlite_outbox(const std::string& path);

}  // namespace hisgate::controlplane::notify
