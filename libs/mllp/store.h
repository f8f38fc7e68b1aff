// Durable store for received messages. A server configured with a store answers a
// message only after persist() returned, so an ACK always means "it is on disk".
//
// Invariants: a file under its final name is complete and fsynced (it is written under a
// temporary name, fsynced, then linked into place, and the directory is fsynced); a
// message re-sent with the same key (a sender's retry) is recognised and stored once.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::mllp {

struct StoredMessage {
    std::string path;        // where the message is
    bool duplicate = false;  // the same message was already stored under this key
};

class MessageStore {
public:
    explicit MessageStore(std::string dir);

    // Creates the directory if needed and checks it is writable.
    Result<void> open();

    // Persists `message` under `key` (the sender's identity and control id; may be empty
    // when the message names none, then a unique name is made). A different message under
    // an existing key is kept too, under a unique name beside it: the store never drops data.
    Result<StoredMessage> persist(std::string_view message, std::string_view key);

    const std::string& dir() const { return dir_; }

private:
    std::string unique_name(std::string_view stem);

    std::string dir_;
    std::atomic<unsigned long long> sequence_{0};
};

}  // namespace hisgate::mllp
