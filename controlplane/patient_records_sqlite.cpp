// PatientRecords on SQLite: one row of facts per patient, one row per booking the platform
// made (by request id), one row per paid order, one row per booking's slot as it was sent
// (by transaction id).
#include <mutex>

#include "common/sql_shared.h"
#include "controlplane/patient_records.h"

namespace hisgate::controlplane {

namespace {

class SqlitePatientRecords final : public PatientRecords {
public:
    SqlitePatientRecords(std::shared_ptr<sql::SharedDb> shared, Clock& clock)
        : shared_(std::move(shared)), mu_(shared_->mutex()), db_(shared_->db()), clock_(clock) {}

    Result<PatientFacts> facts(const std::string& patient_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("SELECT real_name_verified, no_show_count FROM patient_facts WHERE patient_id = ?1");
        if (!st) return st.error();
        st->bind(1, patient_id);
        PatientFacts f;
        if (st->step()) {
            f.real_name_verified = st->integer(0) != 0;
            f.no_show_count = static_cast<int>(st->integer(1));
        } else if (st->error()) {
            return *st->error();
        }
        return f;
    }

    Result<void> set_facts(const std::string& patient_id, const PatientFacts& f) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare(
            "INSERT INTO patient_facts(patient_id, real_name_verified, no_show_count, updated_ms) VALUES(?1, ?2, ?3, ?4) "
            "ON CONFLICT(patient_id) DO UPDATE SET real_name_verified = ?2, no_show_count = ?3, updated_ms = ?4");
        if (!st) return st.error();
        st->bind(1, patient_id).bind(2, int64_t{f.real_name_verified ? 1 : 0}).bind(3, int64_t{f.no_show_count});
        st->bind(4, clock_.wall_ms());
        return st->run();
    }

    Result<appointments::BookingCounts> counts(const SlotAsked& s) override {
        std::lock_guard lock(mu_);
        // One pass over the hospital's bookings of that date (indexed by hospital and date).
        auto st = db_.prepare_cached(
            "SELECT count(*) FILTER (WHERE doctor_id = ?2), "
            "       count(*) FILTER (WHERE department_id = ?3), "
            "       count(*) FILTER (WHERE patient_id = ?4), "
            "       count(*) FILTER (WHERE patient_id = ?4 AND department_id = ?3), "
            "       count(*) FILTER (WHERE doctor_id = ?2 AND visit = 'first'), "
            "       count(*) FILTER (WHERE doctor_id = ?2 AND visit = 'follow_up'), "
            "       count(*) FILTER (WHERE patient_id = ?4 AND half = 'AM'), "
            "       count(*) FILTER (WHERE patient_id = ?4 AND half = 'PM') "
            "FROM platform_bookings WHERE hospital_id = ?1 AND date = ?5");
        if (!st) return st.error();
        st->bind(1, s.hospital_id).bind(2, s.doctor_id).bind(3, s.department_id).bind(4, s.patient_id).bind(5, s.date);
        if (!st->step())
            return st->error() ? *st->error() : make_error(ErrorClass::Internal, "records.no_row", "a count gave no row");
        appointments::BookingCounts c;
        c.doctor_day = static_cast<int>(st->integer(0));
        c.department_day = static_cast<int>(st->integer(1));
        c.patient_day = static_cast<int>(st->integer(2));
        c.patient_department_day = static_cast<int>(st->integer(3));
        c.first_visits_day = static_cast<int>(st->integer(4));
        c.follow_ups_day = static_cast<int>(st->integer(5));
        c.patient_holds_morning = st->integer(6) > 0;
        c.patient_holds_afternoon = st->integer(7) > 0;
        auto paid = db_.prepare_cached(
            "SELECT prepaid, deposit_cents FROM order_payments WHERE hospital_id = ?1 AND patient_id = ?2 AND order_id = ?3");
        if (!paid) return paid.error();
        paid->bind(1, s.hospital_id).bind(2, s.patient_id).bind(3, s.order_id);
        if (paid->step()) {
            c.prepaid = paid->integer(0) != 0;
            c.deposit_paid = paid->integer(1);
        } else if (paid->error()) {
            return *paid->error();
        }
        return c;
    }

    Result<void> note_booking(const BookingNote& b) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(
            "INSERT OR IGNORE INTO platform_bookings(request_id, hospital_id, patient_id, order_id, doctor_id, "
            "department_id, date, half, visit, noted_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        if (!st) return st.error();
        st->bind(1, b.request_id).bind(2, b.hospital_id).bind(3, b.patient_id).bind(4, b.order_id);
        st->bind(5, b.doctor_id).bind(6, b.department_id).bind(7, b.date).bind(8, b.half).bind(9, b.visit);
        st->bind(10, clock_.wall_ms());
        return st->run();
    }

    Result<void> set_payment(const std::string& hospital_id, const std::string& patient_id, const std::string& order_id,
                             const OrderPayment& paid) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare(
            "INSERT INTO order_payments(hospital_id, patient_id, order_id, prepaid, deposit_cents, updated_ms) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(hospital_id, patient_id, order_id) "
            "DO UPDATE SET prepaid = ?4, deposit_cents = ?5, updated_ms = ?6");
        if (!st) return st.error();
        st->bind(1, hospital_id).bind(2, patient_id).bind(3, order_id).bind(4, int64_t{paid.prepaid ? 1 : 0});
        st->bind(5, paid.deposit_cents).bind(6, clock_.wall_ms());
        return st->run();
    }

    Result<void> keep_booked_slot(const std::string& transaction_id, const BookedSlot& b) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(
            "INSERT INTO booked_slots(transaction_id, hospital_id, slot_id, doctor_id, date, start, end_time, half, kept_ms) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(transaction_id) DO UPDATE SET hospital_id = ?2, "
            "slot_id = ?3, doctor_id = ?4, date = ?5, start = ?6, end_time = ?7, half = ?8, kept_ms = ?9");
        if (!st) return st.error();
        st->bind(1, transaction_id).bind(2, b.hospital_id).bind(3, b.slot_id).bind(4, b.doctor_id).bind(5, b.date);
        st->bind(6, b.start).bind(7, b.end).bind(8, b.half).bind(9, clock_.wall_ms());
        return st->run();
    }

    Result<std::optional<BookedSlot>> booked_slot(const std::string& transaction_id) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(
            "SELECT hospital_id, slot_id, doctor_id, date, start, end_time, half FROM booked_slots WHERE transaction_id = ?1");
        if (!st) return st.error();
        st->bind(1, transaction_id);
        if (!st->step()) {
            if (st->error()) return *st->error();
            return std::optional<BookedSlot>();
        }
        return std::optional<BookedSlot>(
            BookedSlot{st->text(0), st->text(1), st->text(2), st->text(3), st->text(4), st->text(5), st->text(6)});
    }

private:
    std::shared_ptr<sql::SharedDb> shared_;
    std::recursive_mutex& mu_;  // the shared connection's (common/sql_shared.h)
    sql::Db& db_;
    Clock& clock_;
};

}  // namespace

Result<std::unique_ptr<PatientRecords>> open_sqlite_patient_records(const std::string& path, Clock& clock) {
    auto shared = sql::SharedDb::open(path);
    if (!shared) return shared.error();
    return open_sqlite_patient_records(std::move(shared.value()), clock);
}

Result<std::unique_ptr<PatientRecords>> open_sqlite_patient_records(std::shared_ptr<sql::SharedDb> shared, Clock& clock) {
    std::lock_guard lock(shared->mutex());
    auto made = shared->db().make_schema(
        {"CREATE TABLE IF NOT EXISTS patient_facts(patient_id TEXT PRIMARY KEY, real_name_verified INTEGER NOT NULL, "
         "no_show_count INTEGER NOT NULL, updated_ms INTEGER NOT NULL)",
         "CREATE TABLE IF NOT EXISTS platform_bookings(request_id TEXT PRIMARY KEY, hospital_id TEXT NOT NULL, "
         "patient_id TEXT NOT NULL, order_id TEXT NOT NULL, doctor_id TEXT NOT NULL, department_id TEXT NOT NULL, "
         "date TEXT NOT NULL, half TEXT NOT NULL, visit TEXT NOT NULL, noted_ms INTEGER NOT NULL)",
         "CREATE INDEX IF NOT EXISTS platform_bookings_day ON platform_bookings(hospital_id, date)",
         "CREATE TABLE IF NOT EXISTS order_payments(hospital_id TEXT NOT NULL, patient_id TEXT NOT NULL, "
         "order_id TEXT NOT NULL, prepaid INTEGER NOT NULL, deposit_cents INTEGER NOT NULL, updated_ms INTEGER NOT NULL, "
         "PRIMARY KEY(hospital_id, patient_id, order_id))",
         "CREATE TABLE IF NOT EXISTS booked_slots(transaction_id TEXT PRIMARY KEY, hospital_id TEXT NOT NULL, "
         "slot_id TEXT NOT NULL, doctor_id TEXT NOT NULL, date TEXT NOT NULL, start TEXT NOT NULL, "
         "end_time TEXT NOT NULL, half TEXT NOT NULL, kept_ms INTEGER NOT NULL)"});
    if (!made) return made.error();
    return std::unique_ptr<PatientRecords>(new SqlitePatientRecords(std::move(shared), clock));
}

}  // namespace hisgate::controlplane
