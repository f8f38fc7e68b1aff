#include "his-sim/hospital_db.h"

namespace hisgate::sim {

namespace {
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS patients(
  patient_id TEXT PRIMARY KEY, family_name TEXT NOT NULL, given_name TEXT NOT NULL,
  sex TEXT NOT NULL, birth_date TEXT NOT NULL, phone TEXT);
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

struct SeedObservation {
    const char *code, *name, *value, *units, *range, *flag;
};
}  // namespace

Result<HospitalDb> HospitalDb::open(const std::string& path, const std::string& hospital_id) {
    auto db = sql::Db::open(path);
    if (!db) return db.error();
    if (auto r = db->exec(kSchema); !r) return r.error();
    HospitalDb h(std::move(db.value()));
    if (auto r = h.seed(hospital_id); !r) return r.error();
    return h;
}

Result<void> HospitalDb::seed(const std::string& hospital_id) {
    if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) return r;
    auto patient = db_.prepare(
        "INSERT OR IGNORE INTO patients(patient_id, family_name, given_name, sex, birth_date, phone) VALUES(?,?,?,?,?,?)");
    auto report = db_.prepare(
        "INSERT OR IGNORE INTO reports(report_id, patient_id, title, status, issued_at) VALUES(?,?,?,?,?)");
    auto obs = db_.prepare(
        "INSERT OR IGNORE INTO observations(report_id, seq, code, name, value, units, ref_range, flag) "
        "VALUES(?,?,?,?,?,?,?,?)");
    if (!patient || !report || !obs) return make_error(ErrorClass::Internal, "sim.seed", "cannot prepare seed statements");

    auto add_report = [&](const std::string& id, const std::string& pid, const char* title, const char* issued,
                          std::initializer_list<SeedObservation> rows) -> Result<void> {
        if (auto r = report->bind(1, id).bind(2, pid).bind(3, title).bind(4, "F").bind(5, issued).run(); !r) return r;
        int64_t seq = 1;
        for (const auto& o : rows) {
            obs->bind(1, id).bind(2, seq++).bind(3, o.code).bind(4, o.name).bind(5, o.value);
            obs->bind(6, o.units).bind(7, o.range).bind(8, o.flag);
            if (auto r = obs->run(); !r) return r;
        }
        return {};
    };

    Result<void> r = patient->bind(1, "P-DEMO-1").bind(2, "DEMO").bind(3, "PATIENT").bind(4, "F")
                         .bind(5, "19800101").bind(6, "13800000000").run();
    if (r) r = patient->bind(1, "P-" + hospital_id + "-2").bind(2, "ZHANG").bind(3, "WEI").bind(4, "M")
                   .bind(5, "19750512").bind(6, "13900000001").run();
    if (r)
        r = add_report("R-DEMO-1", "P-DEMO-1", "Complete blood count", "20261120083000",
                       {{"718-7", "Hemoglobin", "13.5", "g/dL", "12.0-16.0", "N"},
                        {"6690-2", "Leukocytes", "11.2", "10*3/uL", "4.0-10.0", "H"},
                        {"777-3", "Platelets", "250", "10*3/uL", "150-400", "N"}});
    if (r)
        r = add_report("R-" + hospital_id + "-2", "P-" + hospital_id + "-2", "Basic metabolic panel", "20261119101500",
                       {{"2345-7", "Glucose", "5.4", "mmol/L", "3.9-6.1", "N"},
                        {"2160-0", "Creatinine", "88", "umol/L", "59-104", "N"}});
    if (!r) {
        (void)db_.exec("ROLLBACK");
        return r;
    }
    return db_.exec("COMMIT");
}

std::optional<Report> HospitalDb::report(const std::string& report_id) {
    auto head = db_.prepare("SELECT patient_id, title, status, issued_at FROM reports WHERE report_id = ?");
    if (!head || !head->bind(1, report_id).step()) return std::nullopt;
    Report r;
    r.report_id = report_id;
    r.patient_id = head->text(0);
    r.title = head->text(1);
    r.status = head->text(2);
    r.issued_at = head->text(3);
    auto rows = db_.prepare(
        "SELECT code, name, value, units, ref_range, flag FROM observations WHERE report_id = ? ORDER BY seq");
    if (!rows) return std::nullopt;
    rows->bind(1, report_id);
    while (rows->step())
        r.observations.push_back({rows->text(0), rows->text(1), rows->text(2), rows->text(3), rows->text(4), rows->text(5)});
    return r;
}

void HospitalDb::record_query(const std::string& control_id, const std::string& kind, const std::string& key) {
    auto st = db_.prepare("INSERT INTO queries(control_id, kind, key) VALUES(?,?,?)");
    if (st) (void)st->bind(1, control_id).bind(2, kind).bind(3, key).run();
}

}  // namespace hisgate::sim
