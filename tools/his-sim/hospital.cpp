#include "his-sim/hospital.h"

#include <cstdio>
#include <ctime>

#include "common/utc_time.h"

namespace hisgate::sim {

namespace {
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS departments(department_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS doctors(
  doctor_id TEXT PRIMARY KEY, department_id TEXT NOT NULL REFERENCES departments(department_id),
  name TEXT NOT NULL, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS slots(
  slot_id TEXT PRIMARY KEY, doctor_id TEXT NOT NULL REFERENCES doctors(doctor_id),
  department_id TEXT NOT NULL, date TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL, half TEXT NOT NULL,
  capacity INTEGER NOT NULL, booked INTEGER NOT NULL DEFAULT 0, fee_cents INTEGER NOT NULL,
  CHECK (booked >= 0 AND booked <= capacity));
CREATE TABLE IF NOT EXISTS patients(
  patient_id TEXT PRIMARY KEY, family_name TEXT NOT NULL, given_name TEXT NOT NULL,
  sex TEXT NOT NULL, birth_date TEXT NOT NULL, phone TEXT);
CREATE TABLE IF NOT EXISTS bookings(
  booking_no INTEGER PRIMARY KEY, order_id TEXT NOT NULL, slot_id TEXT NOT NULL REFERENCES slots(slot_id),
  patient_id TEXT NOT NULL, status TEXT NOT NULL, patient_sex TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS bookings_by_order ON bookings(order_id);
CREATE TABLE IF NOT EXISTS payments(
  payment_no INTEGER PRIMARY KEY, order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL, method TEXT NOT NULL,
  status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS payments_by_order ON payments(order_id);
CREATE TABLE IF NOT EXISTS statement(
  order_id TEXT NOT NULL, kind TEXT NOT NULL, amount_cents INTEGER NOT NULL, day TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions(
  execution_no INTEGER PRIMARY KEY, order_id TEXT NOT NULL, operation TEXT NOT NULL,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE INDEX IF NOT EXISTS executions_by_order ON executions(order_id);
CREATE TABLE IF NOT EXISTS reports(
  report_id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(patient_id),
  title TEXT NOT NULL, status TEXT NOT NULL, issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS observations(
  report_id TEXT NOT NULL REFERENCES reports(report_id), seq INTEGER NOT NULL,
  code TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, units TEXT, ref_range TEXT, flag TEXT,
  PRIMARY KEY(report_id, seq));
CREATE TABLE IF NOT EXISTS queries(
  control_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
)";

// Bumped whenever a table changes shape; PRAGMA user_version holds it.
constexpr int64_t kSchemaVersion = 3;

struct SeedObservation {
    const char *code, *name, *value, *units, *range, *flag;
};
struct SeedReport {
    const char* title;
    SeedObservation observations[3];  // up to 3; a null code ends the list
};
// The names the hospital is seeded with; ids, values and schedules are the same in every
// language, so the demo's requests work on every hospital.
struct SeedText {
    struct {
        const char *id, *name;
    } departments[4];
    struct {
        const char *id, *department, *name, *title;
    } doctors[5];
    const char* demo_patient[2];    // P-DEMO-1: family, given
    const char* second_patient[2];  // P-<hospital>-2
    SeedReport blood_count, metabolic_panel;
};
constexpr SeedText kEnglishText = {
    {{"D-INT", "内科 Internal Medicine"}, {"D-PED", "儿科 Pediatrics"}, {"D-CAR", "心内科 Cardiology"},
     {"D-OBS", "产科 Obstetrics"}},
    {{"DR-101", "D-INT", "Dr. Wang Fang", "Chief physician"},
     {"DR-102", "D-INT", "Dr. Liu Yang", "Attending physician"},
     {"DR-201", "D-PED", "Dr. Chen Jing", "Chief physician"},
     {"DR-301", "D-CAR", "Dr. Zhao Lei", "Associate chief physician"},
     {"DR-401", "D-OBS", "Dr. Sun Li", "Attending physician"}},
    {"DEMO", "PATIENT"},
    {"ZHANG", "WEI"},
    {"Complete blood count",
     {{"718-7", "Hemoglobin", "13.5", "g/dL", "12.0-16.0", "N"},
      {"6690-2", "Leukocytes", "11.2", "10*3/uL", "4.0-10.0", "H"},
      {"777-3", "Platelets", "250", "10*3/uL", "150-400", "N"}}},
    {"Basic metabolic panel",
     {{"2345-7", "Glucose", "5.4", "mmol/L", "3.9-6.1", "N"}, {"2160-0", "Creatinine", "88", "umol/L", "59-104", "N"}}},
};
constexpr SeedText kChineseText = {
    {{"D-INT", "内科"}, {"D-PED", "儿科"}, {"D-CAR", "心血管内科"}, {"D-OBS", "产科"}},
    {{"DR-101", "D-INT", "王芳", "主任医师"},
     {"DR-102", "D-INT", "刘洋", "主治医师"},
     {"DR-201", "D-PED", "陈静", "主任医师"},
     {"DR-301", "D-CAR", "赵磊", "副主任医师"},
     {"DR-401", "D-OBS", "孙丽", "主治医师"}},
    {"李", "娜"},
    {"张", "伟"},
    {"血常规",
     {{"718-7", "血红蛋白", "13.5", "g/dL", "12.0-16.0", "N"},
      {"6690-2", "白细胞计数", "11.2", "10*3/uL", "4.0-10.0", "H"},
      {"777-3", "血小板计数", "250", "10*3/uL", "150-400", "N"}}},
    {"基础代谢检查",
     {{"2345-7", "葡萄糖", "5.4", "mmol/L", "3.9-6.1", "N"}, {"2160-0", "肌酐", "88", "umol/L", "59-104", "N"}}},
};

Error not_found(const std::string& what) { return make_error(ErrorClass::NotFound, "his.not_found", what); }
Error refused(const std::string& code, const std::string& what) {
    return make_error(ErrorClass::Rejected, code, what);
}

}  // namespace

std::string utc_today() { return utc_strftime(std::chrono::system_clock::now(), "%Y-%m-%d"); }

std::string add_days(const std::string& date, int days) {
    std::tm tm{};
    tm.tm_year = std::stoi(date.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(date.substr(5, 2)) - 1;
    tm.tm_mday = std::stoi(date.substr(8, 2)) + days;
    tm.tm_hour = 12;
    std::time_t t = timegm(&tm);
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

Result<Hospital> Hospital::open(const std::string& path, const std::string& hospital_id, const std::string& today,
                                OrderIds order_ids, SeedNames names) {
    auto db = sql::Db::open(path);
    if (!db) return db.error();
    auto version = db->prepare("PRAGMA user_version");
    auto tables = db->prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'bookings'");
    if (!version || !tables || !version->step() || !tables->step())
        return make_error(ErrorClass::Internal, "sim.sql", path + ": cannot read the schema version");
    if (tables->integer(0) > 0 && version->integer(0) != kSchemaVersion)
        return make_error(ErrorClass::Config, "sim.old_schema",
                          path + ": holds a hospital of schema version " + std::to_string(version->integer(0)) +
                              ", this his-sim keeps version " + std::to_string(kSchemaVersion) +
                              "; remove the file and his-sim seeds a new one");
    if (auto r = db->exec(kSchema); !r) return r.error();
    if (auto r = db->exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)); !r) return r.error();
    Hospital h(std::move(db.value()), order_ids);
    if (auto r = h.seed(hospital_id, today, names); !r) return r.error();
    return h;
}

Result<void> Hospital::seed(const std::string& hospital_id, const std::string& today, SeedNames names) {
    auto seeded = db_.transaction([&]() -> Result<bool> {
               auto dept = db_.prepare("INSERT OR IGNORE INTO departments(department_id, name) VALUES(?,?)");
               auto doctor = db_.prepare(
                   "INSERT OR IGNORE INTO doctors(doctor_id, department_id, name, title) VALUES(?,?,?,?)");
               auto slot = db_.prepare(
                   "INSERT OR IGNORE INTO slots(slot_id, doctor_id, department_id, date, start, end, half, capacity, "
                   "fee_cents) VALUES(?,?,?,?,?,?,?,?,?)");
               auto patient = db_.prepare(
                   "INSERT OR IGNORE INTO patients(patient_id, family_name, given_name, sex, birth_date, phone) "
                   "VALUES(?,?,?,?,?,?)");
               auto report = db_.prepare(
                   "INSERT OR IGNORE INTO reports(report_id, patient_id, title, status, issued_at) VALUES(?,?,?,?,?)");
               auto obs = db_.prepare(
                   "INSERT OR IGNORE INTO observations(report_id, seq, code, name, value, units, ref_range, flag) "
                   "VALUES(?,?,?,?,?,?,?,?)");
               if (!dept || !doctor || !slot || !patient || !report || !obs)
                   return make_error(ErrorClass::Internal, "sim.seed", "cannot prepare seed statements");
               Result<void> r;
               auto step = [&](Result<void> x) {
                   if (r.ok() && !x.ok()) r = x;
               };

               const SeedText& text = names == SeedNames::Chinese ? kChineseText : kEnglishText;
               for (const auto& d : text.departments) step(dept->bind(1, d.id).bind(2, d.name).run());
               for (const auto& d : text.doctors)
                   step(doctor->bind(1, d.id).bind(2, d.department).bind(3, d.name).bind(4, d.title).run());
               // A week of schedules: 15-minute timed slots in the morning for internal medicine
               // and cardiology, half-day quotas for pediatrics, a whole-day quota for obstetrics.
               for (int day = 0; day < 7; ++day) {
                   std::string date = add_days(today, day);
                   for (const char* doc : {"DR-101", "DR-102", "DR-301"}) {
                       std::string dep = std::string(doc) == "DR-301" ? "D-CAR" : "D-INT";
                       for (int m = 8 * 60; m < 11 * 60 + 45; m += 15) {
                           char start[6], end[6];
                           std::snprintf(start, sizeof start, "%02d:%02d", m / 60, m % 60);
                           std::snprintf(end, sizeof end, "%02d:%02d", (m + 15) / 60, (m + 15) % 60);
                           std::string id = "S-" + std::string(doc) + "-" + date + "-" + start;
                           step(slot->bind(1, id).bind(2, doc).bind(3, dep).bind(4, date).bind(5, start).bind(6, end)
                                    .bind(7, "AM").bind(8, int64_t{1}).bind(9, int64_t{2500}).run());
                       }
                   }
                   for (const char* half : {"AM", "PM"}) {
                       std::string id = "S-DR-201-" + date + "-" + half;
                       step(slot->bind(1, id).bind(2, "DR-201").bind(3, "D-PED").bind(4, date).bind(5, "").bind(6, "")
                                .bind(7, half).bind(8, int64_t{20}).bind(9, int64_t{1500}).run());
                   }
                   std::string id = "S-DR-401-" + date;
                   step(slot->bind(1, id).bind(2, "DR-401").bind(3, "D-OBS").bind(4, date).bind(5, "").bind(6, "")
                            .bind(7, "").bind(8, int64_t{30}).bind(9, int64_t{5000}).run());
               }

               step(patient->bind(1, "P-DEMO-1").bind(2, text.demo_patient[0]).bind(3, text.demo_patient[1]).bind(4, "F")
                        .bind(5, "19800101").bind(6, "13800000000").run());
               step(patient->bind(1, "P-" + hospital_id + "-2").bind(2, text.second_patient[0])
                        .bind(3, text.second_patient[1]).bind(4, "M").bind(5, "19750512").bind(6, "13900000001").run());
               auto add_report = [&](const std::string& id, const std::string& pid, const SeedReport& seed,
                                     const char* issued) {
                   step(report->bind(1, id).bind(2, pid).bind(3, seed.title).bind(4, "F").bind(5, issued).run());
                   int64_t seq = 1;
                   for (const auto& o : seed.observations) {
                       if (!o.code) break;
                       step(obs->bind(1, id).bind(2, seq++).bind(3, o.code).bind(4, o.name).bind(5, o.value)
                                .bind(6, o.units).bind(7, o.range).bind(8, o.flag).run());
                   }
               };
               add_report("R-DEMO-1", "P-DEMO-1", text.blood_count, "20261120083000");
               add_report("R-" + hospital_id + "-2", "P-" + hospital_id + "-2", text.metabolic_panel, "20261119101500");
               if (!r) return r.error();
               return true;
           });
    if (!seeded) return seeded.error();
    return {};
}

ReferenceData Hospital::reference_data(const std::string& from, const std::string& to) {
    std::lock_guard lock(*mu_);
    ReferenceData out;
    if (auto st = db_.prepare("SELECT department_id, name FROM departments ORDER BY department_id"))
        while (st->step()) out.departments.push_back({st->text(0), st->text(1)});
    if (auto st = db_.prepare("SELECT doctor_id, department_id, name, title FROM doctors ORDER BY doctor_id"))
        while (st->step()) out.doctors.push_back({st->text(0), st->text(1), st->text(2), st->text(3)});
    if (auto st = db_.prepare(
            "SELECT slot_id, doctor_id, department_id, date, start, end, half, capacity, booked, fee_cents FROM slots "
            "WHERE date >= ? AND date <= ? ORDER BY date, doctor_id, start, half")) {
        st->bind(1, from).bind(2, to);
        while (st->step())
            out.slots.push_back({st->text(0), st->text(1), st->text(2), st->text(3), st->text(4), st->text(5),
                                 st->text(6), static_cast<int>(st->integer(7)), static_cast<int>(st->integer(8)),
                                 st->integer(9)});
    }
    return out;
}

int64_t Hospital::count_of(const char* sql, const std::string& key) {
    auto st = db_.prepare(sql);
    if (!st) return -1;
    st->bind(1, key);
    return st->step() ? st->integer(0) : -1;
}

Result<void> Hospital::put_doctor(const Doctor& d) {
    std::lock_guard lock(*mu_);
    if (count_of("SELECT count(*) FROM departments WHERE department_id = ?", d.department_id) != 1)
        return make_error(ErrorClass::BadInput, "doctor.departmentId",
                          "departmentId \"" + d.department_id + "\" is not a department of this hospital");
    auto st = db_.prepare(
        "INSERT INTO doctors(doctor_id, department_id, name, title) VALUES(?,?,?,?) "
        "ON CONFLICT(doctor_id) DO UPDATE SET department_id = excluded.department_id, name = excluded.name, "
        "title = excluded.title");
    if (!st) return st.error();
    return st->bind(1, d.doctor_id).bind(2, d.department_id).bind(3, d.name).bind(4, d.title).run();
}

Result<bool> Hospital::delete_doctor(const std::string& doctor_id) {
    std::lock_guard lock(*mu_);
    if (int64_t slots = count_of("SELECT count(*) FROM slots WHERE doctor_id = ?", doctor_id); slots != 0)
        return make_error(ErrorClass::Rejected, "doctor.has_slots",
                          "doctor " + doctor_id + " still has " + std::to_string(slots) + " slots; delete them first");
    auto st = db_.prepare("DELETE FROM doctors WHERE doctor_id = ?");
    if (!st) return st.error();
    if (auto r = st->bind(1, doctor_id).run(); !r) return r.error();
    return sqlite3_changes(db_.handle()) > 0;
}

Result<void> Hospital::put_slot(const ScheduleSlot& s) {
    std::lock_guard lock(*mu_);
    if (count_of("SELECT count(*) FROM doctors WHERE doctor_id = ?", s.doctor_id) != 1)
        return make_error(ErrorClass::BadInput, "slot.doctorId",
                          "doctorId \"" + s.doctor_id + "\" is not a doctor of this hospital");
    if (count_of("SELECT count(*) FROM departments WHERE department_id = ?", s.department_id) != 1)
        return make_error(ErrorClass::BadInput, "slot.departmentId",
                          "departmentId \"" + s.department_id + "\" is not a department of this hospital");
    int64_t held = count_of("SELECT count(*) FROM bookings WHERE slot_id = ? AND status = 'booked'", s.slot_id);
    if (held > s.booked)
        return make_error(ErrorClass::Rejected, "slot.booked",
                          "slot " + s.slot_id + " holds " + std::to_string(held) + " bookings; booked must be at least that");
    auto st = db_.prepare(
        "INSERT INTO slots(slot_id, doctor_id, department_id, date, start, end, half, capacity, booked, fee_cents) "
        "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(slot_id) DO UPDATE SET doctor_id = excluded.doctor_id, "
        "department_id = excluded.department_id, date = excluded.date, start = excluded.start, end = excluded.end, "
        "half = excluded.half, capacity = excluded.capacity, booked = excluded.booked, fee_cents = excluded.fee_cents");
    if (!st) return st.error();
    return st->bind(1, s.slot_id).bind(2, s.doctor_id).bind(3, s.department_id).bind(4, s.date).bind(5, s.start)
        .bind(6, s.end).bind(7, s.half).bind(8, int64_t{s.capacity}).bind(9, int64_t{s.booked}).bind(10, s.fee_cents)
        .run();
}

Result<bool> Hospital::delete_slot(const std::string& slot_id) {
    std::lock_guard lock(*mu_);
    if (int64_t held = count_of("SELECT count(*) FROM bookings WHERE slot_id = ?", slot_id); held != 0)
        return make_error(ErrorClass::Rejected, "slot.has_bookings",
                          "slot " + slot_id + " has " + std::to_string(held) + " bookings on record; it cannot be deleted");
    auto st = db_.prepare("DELETE FROM slots WHERE slot_id = ?");
    if (!st) return st.error();
    if (auto r = st->bind(1, slot_id).run(); !r) return r.error();
    return sqlite3_changes(db_.handle()) > 0;
}

Result<void> Hospital::record_execution(const std::string& order_id, const char* operation) {
    auto st = db_.prepare("INSERT INTO executions(order_id, operation) VALUES(?,?)");
    if (!st) return st.error();
    return st->bind(1, order_id).bind(2, operation).run();
}

std::optional<Booking> Hospital::stored_booking(const std::string& order_id) {
    auto st = db_.prepare(
        "SELECT slot_id, patient_id, status, patient_sex FROM bookings WHERE order_id = ? "
        "ORDER BY booking_no DESC LIMIT 1");
    if (!st || !st->bind(1, order_id).step()) return std::nullopt;
    return Booking{order_id, st->text(0), st->text(1), st->text(2), st->text(3)};
}

Result<Booking> Hospital::book(const BookingOrder& order) {
    std::lock_guard lock(*mu_);
    return db_.transaction([&]() -> Result<Booking> {
        if (auto existing = idempotent_ ? stored_booking(order.order_id) : std::nullopt) {
            if (existing->slot_id != order.slot_id || existing->patient_id != order.patient_id)
                return refused("order.conflict", "order " + order.order_id + " already names another booking");
            return *existing;
        }
        auto slot = db_.prepare("SELECT capacity, booked FROM slots WHERE slot_id = ?");
        if (!slot || !slot->bind(1, order.slot_id).step()) return not_found("no slot " + order.slot_id);
        if (slot->integer(1) >= slot->integer(0)) return refused("slot.full", "slot " + order.slot_id + " is full");
        auto take = db_.prepare("UPDATE slots SET booked = booked + 1 WHERE slot_id = ?");
        auto ins = db_.prepare(
            "INSERT INTO bookings(order_id, slot_id, patient_id, status, patient_sex) VALUES(?,?,?,'booked',?)");
        if (!take || !ins) return make_error(ErrorClass::Internal, "sim.sql", "cannot prepare booking");
        if (auto r = take->bind(1, order.slot_id).run(); !r) return r.error();
        if (auto r = ins->bind(1, order.order_id).bind(2, order.slot_id).bind(3, order.patient_id)
                         .bind(4, order.patient_sex).run();
            !r)
            return r.error();
        if (auto r = record_execution(order.order_id, "book"); !r) return r.error();
        return Booking{order.order_id, order.slot_id, order.patient_id, "booked", order.patient_sex};
    });
}

Result<Booking> Hospital::cancel(const std::string& order_id) {
    std::lock_guard lock(*mu_);
    return db_.transaction([&]() -> Result<Booking> {
        auto existing = stored_booking(order_id);
        if (!existing) return not_found("no booking with order " + order_id);
        if (existing->status == "cancelled") return *existing;
        auto free_slot = db_.prepare("UPDATE slots SET booked = booked - 1 WHERE slot_id = ?");
        auto mark = db_.prepare(
            "UPDATE bookings SET status = 'cancelled' "
            "WHERE booking_no = (SELECT max(booking_no) FROM bookings WHERE order_id = ?)");
        if (!free_slot || !mark) return make_error(ErrorClass::Internal, "sim.sql", "cannot prepare cancellation");
        if (auto r = free_slot->bind(1, existing->slot_id).run(); !r) return r.error();
        if (auto r = mark->bind(1, order_id).run(); !r) return r.error();
        if (auto r = record_execution(order_id, "cancel"); !r) return r.error();
        existing->status = "cancelled";
        return *existing;
    });
}

Booking Hospital::booking_status(const std::string& order_id) {
    std::lock_guard lock(*mu_);
    if (auto b = stored_booking(order_id)) return *b;
    return Booking{order_id, "", "", "not_found"};
}

std::optional<Payment> Hospital::stored_payment(const std::string& order_id) {
    auto st = db_.prepare(
        "SELECT amount_cents, status FROM payments WHERE order_id = ? ORDER BY payment_no DESC LIMIT 1");
    if (!st || !st->bind(1, order_id).step()) return std::nullopt;
    return Payment{order_id, st->integer(0), st->text(1)};
}

Result<Payment> Hospital::pay(const PaymentOrder& order) {
    std::lock_guard lock(*mu_);
    if (order.amount_cents <= 0) return refused("payment.bad_amount", "a payment must be a positive amount");
    return db_.transaction([&]() -> Result<Payment> {
        if (auto existing = idempotent_ ? stored_payment(order.order_id) : std::nullopt) {
            if (existing->amount_cents != order.amount_cents)
                return refused("order.conflict", "order " + order.order_id + " was paid with another amount");
            return *existing;
        }
        auto ins = db_.prepare("INSERT INTO payments(order_id, amount_cents, method, status) VALUES(?,?,?,'paid')");
        auto line = db_.prepare("INSERT INTO statement(order_id, kind, amount_cents, day) VALUES(?,'payment',?,?)");
        if (!ins || !line) return make_error(ErrorClass::Internal, "sim.sql", "cannot prepare payment");
        if (auto r = ins->bind(1, order.order_id).bind(2, order.amount_cents).bind(3, order.method).run(); !r)
            return r.error();
        if (auto r = line->bind(1, order.order_id).bind(2, order.amount_cents).bind(3, utc_today()).run(); !r)
            return r.error();
        if (auto r = record_execution(order.order_id, "pay"); !r) return r.error();
        return Payment{order.order_id, order.amount_cents, "paid"};
    });
}

Result<Payment> Hospital::refund(const PaymentOrder& order) {
    std::lock_guard lock(*mu_);
    return db_.transaction([&]() -> Result<Payment> {
        auto existing = stored_payment(order.order_id);
        if (!existing) return not_found("no payment with order " + order.order_id);
        if (idempotent_ && existing->status == "refunded") return *existing;
        if (order.amount_cents != existing->amount_cents)
            return refused("refund.bad_amount", "a refund must return the whole payment of order " + order.order_id);
        auto mark = db_.prepare(
            "UPDATE payments SET status = 'refunded' "
            "WHERE payment_no = (SELECT max(payment_no) FROM payments WHERE order_id = ?)");
        auto line = db_.prepare("INSERT INTO statement(order_id, kind, amount_cents, day) VALUES(?,'refund',?,?)");
        if (!mark || !line) return make_error(ErrorClass::Internal, "sim.sql", "cannot prepare refund");
        if (auto r = mark->bind(1, order.order_id).run(); !r) return r.error();
        if (auto r = line->bind(1, order.order_id).bind(2, existing->amount_cents).bind(3, utc_today()).run(); !r)
            return r.error();
        if (auto r = record_execution(order.order_id, "refund"); !r) return r.error();
        existing->status = "refunded";
        return *existing;
    });
}

Payment Hospital::payment_status(const std::string& order_id) {
    std::lock_guard lock(*mu_);
    if (auto p = stored_payment(order_id)) return *p;
    return Payment{order_id, 0, "not_found"};
}

std::optional<Report> Hospital::report(const std::string& report_id) {
    std::lock_guard lock(*mu_);
    auto head = db_.prepare(
        "SELECT r.patient_id, r.title, r.status, r.issued_at, coalesce(p.sex, '') FROM reports r "
        "LEFT JOIN patients p ON p.patient_id = r.patient_id WHERE r.report_id = ?");
    if (!head || !head->bind(1, report_id).step()) return std::nullopt;
    Report r;
    r.report_id = report_id;
    r.patient_id = head->text(0);
    r.title = head->text(1);
    r.status = head->text(2);
    r.issued_at = head->text(3);
    r.patient_sex = head->text(4);
    auto rows = db_.prepare(
        "SELECT code, name, value, units, ref_range, flag FROM observations WHERE report_id = ? ORDER BY seq");
    if (!rows) return std::nullopt;
    rows->bind(1, report_id);
    while (rows->step())
        r.observations.push_back({rows->text(0), rows->text(1), rows->text(2), rows->text(3), rows->text(4), rows->text(5)});
    return r;
}

std::vector<ReportSummary> Hospital::reports_of(const std::string& patient_id) {
    std::lock_guard lock(*mu_);
    std::vector<ReportSummary> out;
    auto st = db_.prepare(
        "SELECT report_id, title, status, issued_at FROM reports WHERE patient_id = ? ORDER BY issued_at DESC");
    if (!st) return out;
    st->bind(1, patient_id);
    while (st->step()) out.push_back({st->text(0), st->text(1), st->text(2), st->text(3)});
    return out;
}

std::vector<StatementLine> Hospital::statement(const std::string& date) {
    std::lock_guard lock(*mu_);
    std::vector<StatementLine> out;
    auto st = db_.prepare("SELECT order_id, kind, amount_cents FROM statement WHERE day = ? ORDER BY rowid");
    if (!st) return out;
    st->bind(1, date);
    while (st->step()) out.push_back({st->text(0), st->text(1), st->integer(2)});
    return out;
}

void Hospital::record_query(const std::string& control_id, const std::string& kind, const std::string& key) {
    std::lock_guard lock(*mu_);
    auto st = db_.prepare("INSERT INTO queries(control_id, kind, key) VALUES(?,?,?)");
    if (st) (void)st->bind(1, control_id).bind(2, kind).bind(3, key).run();
}

}  // namespace hisgate::sim
