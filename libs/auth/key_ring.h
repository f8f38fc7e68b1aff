// The keys that sign and verify the API's bearer tokens: a directory of files named
// <kid>.key, each holding one secret as 64 to 256 hex digits (32 to 128 random bytes).
//
// Invariants:
//   - The key with the greatest kid signs (`hisgate token new-key` names keys by UTC time,
//     so the newest signs); every key present verifies the tokens naming its kid.
//   - A key file that is not exactly that shape is an error naming the file, never skipped:
//     a ring with a damaged key must not quietly verify with the others.
//
// Rotation without downtime: add a key (it signs from the next reload on; tokens it did
// not sign still verify with their own key), keep the old key until the tokens it signed
// have expired, then delete it. refresh() re-reads the directory when its modification
// time changed, at most once per second by the injected clock; a reload that fails keeps
// the keys already loaded (and says why once, in the log).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::auth {

struct SigningKey {
    std::string kid;
    std::string secret;  // raw bytes
};

class KeyRing {
public:
    // Errors: Config "auth.keys" (no such directory, no key in it, a malformed key file).
    static Result<std::unique_ptr<KeyRing>> open(const std::string& dir, Clock& clock = SystemClock::instance());

    SigningKey signing_key();
    // The secret of `kid`, if the ring holds it.
    std::optional<std::string> secret_of(const std::string& kid);

    // Writes a new key (32 bytes from the CSPRNG: common/random_id.h, mode 0600) named by `now` as
    // YYYYMMDDTHHMMSSZ, creating `dir` (mode 0700) if needed; returns its kid.
    // Errors: Internal "auth.keys".
    static Result<std::string> create_key(const std::string& dir, std::chrono::system_clock::time_point now);

private:
    KeyRing(std::string dir, Clock& clock) : dir_(std::move(dir)), clock_(clock) {}
    void refresh_locked();

    std::string dir_;
    Clock& clock_;
    std::mutex mu_;
    std::map<std::string, std::string> keys_;  // kid -> secret; never empty after open()
    std::filesystem::file_time_type loaded_mtime_{};
    std::optional<Clock::SteadyTime> checked_at_;
};

}  // namespace hisgate::auth
