// PatientLinks on SQLite: one row per (patient, hospital), unique per (hospital, number).
#include <map>
#include <mutex>

#include "common/sql_shared.h"
#include "controlplane/patient_links.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

Result<void> check_patient_link(const PatientLink& l) {
    if (!topics::valid_hospital_id(l.patient_id))
        return make_error(ErrorClass::BadInput, "link.bad_patient", "patient id: 1 to 64 characters of A-Z a-z 0-9 _ -");
    if (!topics::valid_hospital_id(l.hospital_id))
        return make_error(ErrorClass::BadInput, "link.bad_hospital", "hospital id: 1 to 64 characters of A-Z a-z 0-9 _ -");
    bool printable = !l.his_patient_id.empty() && l.his_patient_id.size() <= 64;
    for (unsigned char c : l.his_patient_id) printable = printable && c > 0x20 && c < 0x7f;
    if (!printable)
        return make_error(ErrorClass::BadInput, "link.bad_his_patient",
                          "the hospital's patient number: 1 to 64 printable ASCII characters without spaces");
    return {};
}

namespace {

// Who holds a number at a hospital (at most one: UNIQUE(hospital_id, his_patient_id)).
constexpr const char* kSelectHolder = "SELECT patient_id FROM patient_links WHERE hospital_id = ?1 AND his_patient_id = ?2";

class SqlitePatientLinks final : public PatientLinks {
public:
    SqlitePatientLinks(std::shared_ptr<sql::SharedDb> shared, Clock& clock)
        : shared_(std::move(shared)), mu_(shared_->mutex()), db_(shared_->db()), clock_(clock) {}

    Result<void> link(const std::vector<PatientLink>& links) override {
        // Everything is checked before the transaction: a bad link writes nothing.
        std::map<std::pair<std::string, std::string>, std::string> asked;
        for (const auto& l : links) {
            if (auto ok = check_patient_link(l); !ok) return ok.error();
            auto [it, fresh] = asked.emplace(std::pair{l.patient_id, l.hospital_id}, l.his_patient_id);
            if (!fresh && it->second != l.his_patient_id)
                return make_error(ErrorClass::BadInput, "link.conflict",
                                  "two numbers for one patient at hospital " + l.hospital_id + " in one write");
        }
        if (links.empty()) return {};
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        return db_.transaction([&]() -> Result<void> {
            for (const auto& l : links) {
                auto owner = db_.prepare_cached(kSelectHolder);
                if (!owner) return owner.error();
                owner->bind(1, l.hospital_id).bind(2, l.his_patient_id);
                if (owner->step()) {
                    if (owner->text(0) != l.patient_id)
                        return make_error(ErrorClass::Rejected, "link.taken",
                                          "the hospital " + l.hospital_id +
                                              " gave a patient number already linked to another patient: not linked");
                } else if (owner->error()) {
                    return *owner->error();
                }
                auto put = db_.prepare_cached(
                    "INSERT INTO patient_links(patient_id, hospital_id, his_patient_id, linked_ms) VALUES(?1, ?2, ?3, ?4) "
                    "ON CONFLICT(patient_id, hospital_id) DO UPDATE SET his_patient_id = ?3, linked_ms = ?4");
                if (!put) return put.error();
                put->bind(1, l.patient_id).bind(2, l.hospital_id).bind(3, l.his_patient_id).bind(4, now);
                if (auto done = put->run(); !done) return done.error();
            }
            return {};
        });
    }

    Result<std::vector<PatientLink>> links_of(const std::string& patient_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(
            "SELECT hospital_id, his_patient_id, linked_ms FROM patient_links WHERE patient_id = ?1 ORDER BY hospital_id");
        if (!st) return st.error();
        st->bind(1, patient_id);
        std::vector<PatientLink> out;
        while (st->step()) out.push_back({patient_id, st->text(0), st->text(1), st->integer(2)});
        if (st->error()) return *st->error();
        return out;
    }

    Result<std::optional<std::string>> his_patient_id(const std::string& patient_id,
                                                      const std::string& hospital_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("SELECT his_patient_id FROM patient_links WHERE patient_id = ?1 AND hospital_id = ?2");
        if (!st) return st.error();
        st->bind(1, patient_id).bind(2, hospital_id);
        if (st->step()) return std::optional<std::string>(st->text(0));
        if (st->error()) return *st->error();
        return std::optional<std::string>();
    }

    Result<std::optional<std::string>> patient_of(const std::string& hospital_id,
                                                  const std::string& his_patient_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(kSelectHolder);
        if (!st) return st.error();
        st->bind(1, hospital_id).bind(2, his_patient_id);
        if (st->step()) return std::optional<std::string>(st->text(0));
        if (st->error()) return *st->error();
        return std::optional<std::string>();
    }

private:
    std::shared_ptr<sql::SharedDb> shared_;
    std::recursive_mutex& mu_;  // the shared connection's (common/sql_shared.h)
    sql::Db& db_;
    Clock& clock_;
};

}  // namespace

Result<std::unique_ptr<PatientLinks>> open_sqlite_patient_links(const std::string& path, Clock& clock) {
    auto shared = sql::SharedDb::open(path);
    if (!shared) return shared.error();
    return open_sqlite_patient_links(std::move(shared.value()), clock);
}

Result<std::unique_ptr<PatientLinks>> open_sqlite_patient_links(std::shared_ptr<sql::SharedDb> shared, Clock& clock) {
    std::lock_guard lock(shared->mutex());
    auto made = shared->db().make_schema(
        {"CREATE TABLE IF NOT EXISTS patient_links(patient_id TEXT NOT NULL, hospital_id TEXT NOT NULL, "
         "his_patient_id TEXT NOT NULL, linked_ms INTEGER NOT NULL, PRIMARY KEY(patient_id, hospital_id), "
         "UNIQUE(hospital_id, his_patient_id))"});
    if (!made) return made.error();
    return std::unique_ptr<PatientLinks>(new SqlitePatientLinks(std::move(shared), clock));
}

}  // namespace hisgate::controlplane
