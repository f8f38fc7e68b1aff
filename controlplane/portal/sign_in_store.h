// The portal's patients and their one-time sign-in codes (issue 17 item 1).
//
// A patient account is made the first time a phone number signs in: its patient id is 96
// random bits from the CSPRNG ("P" + 24 hex digits), never derived from the phone. The
// phone number is kept to send codes and reminders to; it goes into no log line, no error
// message and no metric label (lookups are by its SHA-256, which is what the codes table
// keys on).
//
// A code is 6 digits from the CSPRNG, kept only as HMAC-SHA-256 under a random salt of its
// own; it expires `ttl` after it was issued and allows `max_attempts` wrong tries, after
// which it is gone (a new one must be asked for). Issuing a new code replaces the old one.
// A code that signed in is used up.
//
// A sign-in opens a session: its id is 128 random bits from the CSPRNG (32 hex digits),
// carried in the session's tokens as "sid" (auth/access_token.h). The API accepts such a
// token only while its session is open here; signing out closes it, so the token is
// refused at once by every instance that shares the store, however long it had to run.
// A session past its expiry counts as closed; its row goes at the next sign-in.
//
// This is the interface; SQLite implements it (open_sqlite_sign_in_store), on the control
// plane's results_db, so every instance sees the same codes and accounts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::controlplane::portal {

struct PatientAccount {
    std::string patient_id;
    std::string phone;  // never logged
    std::string email;  // "" when the patient gave none
    std::string lang = "zh-CN";  // "zh-CN" or "en": the language of their messages
    std::string real_name;       // as typed at the real-name step, "" before it
    std::string id_masked;       // the resident ID's first 3 and last 4 characters, "" before it
};

struct CodePolicy {
    std::chrono::seconds ttl{300};
    int max_attempts = 5;
};

class SignInStore {
public:
    virtual ~SignInStore() = default;

    // A new code for `phone` (replacing any earlier one), as the patient will type it.
    virtual Result<std::string> issue_code(const std::string& phone) = 0;
    // Uses up the code and answers the phone's account (made now if the phone is new,
    // `created` then set). Errors, all Rejected: "auth.no_code" (none issued, or used up),
    // "auth.code_expired", "auth.code_wrong" (its message says how many tries are left),
    // "auth.code_locked" (that was the last wrong try: the code is gone).
    virtual Result<PatientAccount> redeem_code(const std::string& phone, const std::string& code,
                                               bool* created = nullptr) = 0;

    // NotFound "patient.unknown" for an id with no account.
    virtual Result<PatientAccount> account(const std::string& patient_id) = 0;
    // Sets email and lang (as given; checked by the caller).
    virtual Result<void> set_contact(const std::string& patient_id, const std::string& email, const std::string& lang) = 0;
    virtual Result<void> set_real_name(const std::string& patient_id, const std::string& name,
                                       const std::string& id_masked) = 0;

    // Opens a session of `patient_id` until `expires`; answers its id.
    virtual Result<std::string> open_session(const std::string& patient_id, std::chrono::sys_seconds expires) = 0;
    // Whether `session_id` is open for `patient_id`: opened, not closed, not past its expiry.
    virtual Result<bool> session_open(const std::string& session_id, const std::string& patient_id) = 0;
    // Moves an open session's expiry (its token was renewed); a closed one stays closed.
    virtual Result<void> extend_session(const std::string& session_id, std::chrono::sys_seconds expires) = 0;
    // Signs the session out; closing a closed or unknown one is no error.
    virtual Result<void> close_session(const std::string& session_id) = 0;
    // Signs every session of `patient_id` out ("sign out everywhere"); answers how many.
    virtual Result<int64_t> close_sessions_of(const std::string& patient_id) = 0;
};

// `path` is a SQLite file (the control plane's results_db), or ":memory:".
Result<std::unique_ptr<SignInStore>> open_sqlite_sign_in_store(const std::string& path, Clock& clock,
                                                               CodePolicy policy = {});

}  // namespace hisgate::controlplane::portal
