// The simulated hospital's own records, in SQLite: what a real HIS would hold.
// Every simulated hospital is seeded with the demo report R-DEMO-1 of patient P-DEMO-1
// (docs/demo.md), plus reports of its own.
#pragma once

#include <optional>
#include <string>

#include "adapters/his_adapter.h"
#include "common/sqlite.h"

namespace hisgate::sim {

class HospitalDb {
public:
    static Result<HospitalDb> open(const std::string& path, const std::string& hospital_id);

    std::optional<Report> report(const std::string& report_id);
    // Records that the HIS answered a query, for tests that check what the HIS saw.
    void record_query(const std::string& control_id, const std::string& kind, const std::string& key);

private:
    explicit HospitalDb(sql::Db db) : db_(std::move(db)) {}
    Result<void> seed(const std::string& hospital_id);
    sql::Db db_;
};

}  // namespace hisgate::sim
