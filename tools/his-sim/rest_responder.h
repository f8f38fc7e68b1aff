// How the simulated HIS answers REST/JSON, shaped by its dialect's parameters (base path,
// JSON key names): the resources listed in adapters/rest/rest_adapter.h, each answered from
// the hospital's records, with the faults in force applied. Anything else is a 404.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "adapters/rest/rest_fields.h"
#include "adapters/sex_codes.h"
#include "his-sim/faults.h"
#include "his-sim/stale_answers.h"
#include "his-sim/hospital.h"

namespace hisgate::sim {

class RestResponder {
public:
    // `field_map` is his.rest.field_map (logical field -> JSON key or pointer); `base_path`
    // his.rest.base_path. A field_map or moved field the adapter would refuse is answered
    // 500 SIM_BAD_FAULT, so a broken rehearsal shows instead of passing silently.
    // `sex` is his.code_tables.sex: the codes patient sex travels in.
    RestResponder(Hospital& hospital, nlohmann::json field_map, std::string base_path, FaultSwitch& faults,
                  SexCodes sex = SexCodes::hl7_table_0001());

    // The HttpServer route.
    void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    struct Answer {
        int status = 200;
        nlohmann::json body;
    };

    Answer route(const rest::RestFields& f, const std::string& method, const std::vector<std::string>& path,
                 const std::map<std::string, std::string>& query, const nlohmann::json& body, const std::string& request_id);
    Answer report(const rest::RestFields& f, const std::string& report_id);
    Answer reports_of(const rest::RestFields& f, const std::string& patient_id);
    Answer reference_data(const rest::RestFields& f, const std::string& from, const std::string& to);
    Answer statement(const rest::RestFields& f, const std::string& date);

    Hospital& hospital_;
    nlohmann::json field_map_;
    std::vector<std::string> base_;  // base_path's segments
    FaultSwitch& faults_;
    SexCodes sex_;
    // duplicate_answers: a copy of an answer, to be served to the next request instead of its own.
    StaleAnswers<Answer> stale_{faults_};
};

}  // namespace hisgate::sim
