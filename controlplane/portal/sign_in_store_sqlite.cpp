// SignInStore on SQLite: one row per patient account (phone kept, keyed by its digest),
// one row per phone with an outstanding code (its HMAC, salt, expiry and tries left), one
// row per open session (its patient and expiry; signing out deletes it).
#include <mutex>

#include "common/digest.h"
#include "common/random_id.h"
#include "common/sqlite.h"
#include "controlplane/portal/sign_in_store.h"

namespace hisgate::controlplane::portal {

namespace {

// 6 digits from 64 random bits: the modulo's bias (2^64 mod 10^6 over 2^64) is below 1e-13.
std::string six_digits() {
    uint64_t n = std::stoull(random_hex(8), nullptr, 16);
    std::string s = std::to_string(n % 1000000);
    return std::string(6 - s.size(), '0') + s;
}

// Compares in time independent of where the strings differ.
bool same_secret(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

Error rejected(const char* code, const std::string& why) { return make_error(ErrorClass::Rejected, code, why); }

class SqliteSignInStore final : public SignInStore {
public:
    SqliteSignInStore(sql::Db db, Clock& clock, CodePolicy policy) : db_(std::move(db)), clock_(clock), policy_(policy) {}

    Result<std::string> issue_code(const std::string& phone) override {
        std::lock_guard lock(mu_);
        std::string code = six_digits(), salt = random_hex(16);
        auto st = db_.prepare_cached(
            "INSERT INTO sign_in_codes(phone_key, code_mac, salt, expires_ms, tries_left) VALUES(?1, ?2, ?3, ?4, ?5) "
            "ON CONFLICT(phone_key) DO UPDATE SET code_mac = ?2, salt = ?3, expires_ms = ?4, tries_left = ?5");
        if (!st) return st.error();
        st->bind(1, sha256_hex(phone)).bind(2, hmac_sha256_hex(salt, code)).bind(3, salt);
        st->bind(4, clock_.wall_ms() + policy_.ttl.count() * 1000).bind(5, int64_t{policy_.max_attempts});
        if (auto done = st->run(); !done) return done.error();
        return code;
    }

    Result<PatientAccount> redeem_code(const std::string& phone, const std::string& code, bool* created) override {
        std::lock_guard lock(mu_);
        const std::string key = sha256_hex(phone);
        // The check and the use (or the count of a wrong try) are one transaction: two
        // guesses at once cannot both spend the same last try.
        std::optional<Error> refused;
        auto result = db_.transaction([&]() -> Result<PatientAccount> {
            auto st = db_.prepare_cached("SELECT code_mac, salt, expires_ms, tries_left FROM sign_in_codes WHERE phone_key = ?1");
            if (!st) return st.error();
            st->bind(1, key);
            if (!st->step()) {
                if (st->error()) return *st->error();
                refused = rejected("auth.no_code", "no code is waiting for this number: ask for a new one");
                return PatientAccount{};
            }
            std::string mac = st->text(0), salt = st->text(1);
            int64_t expires_ms = st->integer(2), tries_left = st->integer(3);
            st->reset();
            if (clock_.wall_ms() >= expires_ms) {
                if (auto d = drop_code(key); !d) return d.error();
                refused = rejected("auth.code_expired", "the code has expired: ask for a new one");
                return PatientAccount{};
            }
            if (!same_secret(hmac_sha256_hex(salt, code), mac)) {
                if (tries_left <= 1) {
                    if (auto d = drop_code(key); !d) return d.error();
                    refused = rejected("auth.code_locked", "too many wrong codes: ask for a new one");
                    return PatientAccount{};
                }
                auto dec = db_.prepare_cached("UPDATE sign_in_codes SET tries_left = tries_left - 1 WHERE phone_key = ?1");
                if (!dec) return dec.error();
                dec->bind(1, key);
                if (auto d = dec->run(); !d) return d.error();
                refused = rejected("auth.code_wrong", "the code is wrong: " + std::to_string(tries_left - 1) +
                                                          " more tries before it is gone");
                return PatientAccount{};
            }
            if (auto d = drop_code(key); !d) return d.error();
            auto found = find_by_phone_key(key);
            if (!found) return found.error();
            if (*found) return **found;
            PatientAccount made;
            made.patient_id = "P" + random_hex(12);
            made.phone = phone;
            auto ins = db_.prepare_cached(
                "INSERT INTO portal_patients(patient_id, phone_key, phone, email, lang, real_name, id_masked, created_ms) "
                "VALUES(?1, ?2, ?3, '', 'zh-CN', '', '', ?4)");
            if (!ins) return ins.error();
            ins->bind(1, made.patient_id).bind(2, key).bind(3, phone).bind(4, clock_.wall_ms());
            if (auto d = ins->run(); !d) return d.error();
            if (created) *created = true;
            return made;
        });
        if (!result) return result.error();
        if (refused) return *refused;
        return result;
    }

    Result<PatientAccount> account(const std::string& patient_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(std::string(kSelect) + " WHERE patient_id = ?1");
        if (!st) return st.error();
        st->bind(1, patient_id);
        if (st->step()) return read(*st);
        if (st->error()) return *st->error();
        return make_error(ErrorClass::NotFound, "patient.unknown", "no patient with that id");
    }

    Result<void> set_contact(const std::string& patient_id, const std::string& email, const std::string& lang) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("UPDATE portal_patients SET email = ?2, lang = ?3 WHERE patient_id = ?1");
        if (!st) return st.error();
        st->bind(1, patient_id).bind(2, email).bind(3, lang);
        return st->run();
    }

    Result<void> set_real_name(const std::string& patient_id, const std::string& name, const std::string& id_masked) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("UPDATE portal_patients SET real_name = ?2, id_masked = ?3 WHERE patient_id = ?1");
        if (!st) return st.error();
        st->bind(1, patient_id).bind(2, name).bind(3, id_masked);
        return st->run();
    }

    Result<std::string> open_session(const std::string& patient_id, std::chrono::sys_seconds expires) override {
        std::lock_guard lock(mu_);
        const std::string id = new_id();
        auto result = db_.transaction([&]() -> Result<void> {
            // Sessions past their expiry are closed already: their rows go here.
            auto prune = db_.prepare_cached("DELETE FROM portal_sessions WHERE expires_ms <= ?1");
            if (!prune) return prune.error();
            prune->bind(1, clock_.wall_ms());
            if (auto d = prune->run(); !d) return d.error();
            auto ins = db_.prepare_cached(
                "INSERT INTO portal_sessions(session_id, patient_id, expires_ms, opened_ms) VALUES(?1, ?2, ?3, ?4)");
            if (!ins) return ins.error();
            ins->bind(1, id).bind(2, patient_id).bind(3, int64_t{expires.time_since_epoch().count()} * 1000);
            ins->bind(4, clock_.wall_ms());
            return ins->run();
        });
        if (!result) return result.error();
        return id;
    }

    Result<bool> session_open(const std::string& session_id, const std::string& patient_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(
            "SELECT 1 FROM portal_sessions WHERE session_id = ?1 AND patient_id = ?2 AND expires_ms > ?3");
        if (!st) return st.error();
        st->bind(1, session_id).bind(2, patient_id).bind(3, clock_.wall_ms());
        bool open = st->step();
        if (st->error()) return *st->error();
        st->reset();
        return open;
    }

    Result<void> extend_session(const std::string& session_id, std::chrono::sys_seconds expires) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("UPDATE portal_sessions SET expires_ms = ?2 WHERE session_id = ?1");
        if (!st) return st.error();
        st->bind(1, session_id).bind(2, int64_t{expires.time_since_epoch().count()} * 1000);
        return st->run();
    }

    Result<void> close_session(const std::string& session_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("DELETE FROM portal_sessions WHERE session_id = ?1");
        if (!st) return st.error();
        st->bind(1, session_id);
        return st->run();
    }

    Result<int64_t> close_sessions_of(const std::string& patient_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("DELETE FROM portal_sessions WHERE patient_id = ?1");
        if (!st) return st.error();
        st->bind(1, patient_id);
        if (auto r = st->run(); !r) return r.error();
        return static_cast<int64_t>(sqlite3_changes(db_.handle()));
    }

private:
    static constexpr const char* kSelect =
        "SELECT patient_id, phone, email, lang, real_name, id_masked FROM portal_patients";

    static PatientAccount read(sql::Statement& st) {
        return {st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5)};
    }

    Result<void> drop_code(const std::string& key) {
        auto st = db_.prepare_cached("DELETE FROM sign_in_codes WHERE phone_key = ?1");
        if (!st) return st.error();
        st->bind(1, key);
        return st->run();
    }

    Result<std::optional<PatientAccount>> find_by_phone_key(const std::string& key) {
        auto st = db_.prepare_cached(std::string(kSelect) + " WHERE phone_key = ?1");
        if (!st) return st.error();
        st->bind(1, key);
        if (st->step()) return std::optional<PatientAccount>(read(*st));
        if (st->error()) return *st->error();
        return std::optional<PatientAccount>();
    }

    std::mutex mu_;
    sql::Db db_;
    Clock& clock_;
    CodePolicy policy_;
};

}  // namespace

Result<std::unique_ptr<SignInStore>> open_sqlite_sign_in_store(const std::string& path, Clock& clock, CodePolicy policy) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS portal_patients(patient_id TEXT PRIMARY KEY, phone_key TEXT NOT NULL UNIQUE, "
         "phone TEXT NOT NULL, email TEXT NOT NULL, lang TEXT NOT NULL, real_name TEXT NOT NULL, id_masked TEXT NOT NULL, "
         "created_ms INTEGER NOT NULL)",
         "CREATE TABLE IF NOT EXISTS sign_in_codes(phone_key TEXT PRIMARY KEY, code_mac TEXT NOT NULL, salt TEXT NOT NULL, "
         "expires_ms INTEGER NOT NULL, tries_left INTEGER NOT NULL)",
         "CREATE TABLE IF NOT EXISTS portal_sessions(session_id TEXT PRIMARY KEY, patient_id TEXT NOT NULL, "
         "expires_ms INTEGER NOT NULL, opened_ms INTEGER NOT NULL)",
         "CREATE INDEX IF NOT EXISTS portal_sessions_expiry ON portal_sessions(expires_ms)"});
    if (!db) return db.error();
    return std::unique_ptr<SignInStore>(new SqliteSignInStore(std::move(db.value()), clock, policy));
}

}  // namespace hisgate::controlplane::portal
