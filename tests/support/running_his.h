// his-sim as a real process, started from a hospital parameter file, and the registry's
// adapter for the same file (the hospital's id formats and code tables applied). What the
// HIS did is read from its own SQLite records, the way tools/his-sim/hospital.h says tests
// count them.
#pragma once

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "adapters/registry.h"
#include "common/sqlite.h"
#include "config-params/param_set.h"
#include "tests/support/process.h"

namespace hisgate::test {

struct RunningHis {
    std::string dir = make_temp_dir("his-process");
    uint16_t port = free_port();
    uint16_t control_port = free_port();  // his-sim's fault control API (GET/PUT /faults)
    nlohmann::json parameters;            // the hospital parameter file it plays
    Process sim;
    std::unique_ptr<HisAdapter> adapter;

    // `his` is merged into the hospital's his section (REST unless it names another
    // dialect: hl7v2-mllp, soap-xml); `faults` are in force from the start
    // (tools/his-sim/faults.h).
    explicit RunningHis(const nlohmann::json& his, const nlohmann::json& faults = nlohmann::json::object()) {
        std::string dialect = his.value("dialect", "rest-json");
        std::string endpoint = dialect == "hl7v2-mllp" ? "127.0.0.1:" + std::to_string(port)
                               : "http://127.0.0.1:" + std::to_string(port) + (dialect == "soap-xml" ? "/his/soap" : "");
        parameters = {{"hospital", {{"id", "H001"}, {"region", "south"}}},
                                 {"his",
                                  {{"dialect", dialect},
                                   {"endpoint", endpoint},
                                   {"error_map", {{"SLOT_FULL", "rejected"}, {"NOT_FOUND", "not_found"}}}}}};
        if (dialect == "soap-xml")
            parameters["his"]["soap"] = {{"namespace", "urn:vendor-d:his"}, {"action_prefix", "urn:vendor-d:his/"}};
        parameters["his"].update(his);
        write_file(dir + "/params.json", parameters.dump());
        nlohmann::json config = {{"params_file", dir + "/params.json"},
                                 {"db", dir + "/his.db"},
                                 {"faults", faults},
                                 {"control", {{"port", control_port}}},
                                 {"log", {{"file", dir + "/his-sim.log"}}}};
        write_file(dir + "/his-sim.json", config.dump());
        sim = Process({binary("tools/his-sim/his-sim"), "--config", dir + "/his-sim.json"}, dir + "/his-sim.out");
        REQUIRE(sim.start());
        REQUIRE(wait_port_open(port, std::chrono::milliseconds(10000)));
        REQUIRE(wait_port_open(control_port, std::chrono::milliseconds(10000)));
        adapter = adapter_with(nlohmann::json::object());
    }

    // The registry's adapter for the hospital's parameters with `his` merged in (another
    // endpoint, say: a HIS moved or half-deployed).
    std::unique_ptr<HisAdapter> adapter_with(const nlohmann::json& his) const {
        nlohmann::json doc = parameters;
        doc["his"].update(his);
        const auto& catalog = params::Catalog::builtin();
        REQUIRE(catalog.ok());
        auto p = params::ParamSet::validate(catalog.value(), doc, dir + "/params.json");
        REQUIRE(p.ok());
        auto a = AdapterRegistry::builtin().create(p.value());
        REQUIRE(a.ok());
        return std::move(a.value());
    }

    // How many times the HIS executed `operation` for `order_id`, from its own records.
    int64_t executions(const std::string& order_id, const std::string& operation) const {
        return count("SELECT count(*) FROM executions WHERE order_id = ?1 AND operation = ?2", order_id, operation);
    }
    // One integer from the HIS's records: `sql` with ?1 (and ?2) bound.
    int64_t count(const std::string& sql, const std::string& first, const std::string& second = "") const {
        auto db = sql::Db::open(dir + "/his.db");
        REQUIRE(db.ok());
        auto st = db->prepare(sql);
        REQUIRE(st.ok());
        st->bind(1, first);
        if (sql.find("?2") != std::string::npos) st->bind(2, second);
        REQUIRE(st->step());
        return st->integer(0);
    }
    // Changes the HIS's records behind its back (a report issued at a date only, say).
    void execute(const std::string& sql, const std::string& first, const std::string& second) const {
        auto db = sql::Db::open(dir + "/his.db");
        REQUIRE(db.ok());
        auto st = db->prepare(sql);
        REQUIRE(st.ok());
        REQUIRE(st->bind(1, first).bind(2, second).run().ok());
    }
};

}  // namespace hisgate::test
