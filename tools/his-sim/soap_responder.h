// How the simulated HIS answers SOAP 1.1 over HTTP, shaped by its dialect's parameters
// (namespace, charset, element names): the operations listed in
// adapters/soap/soap_adapter.h, each answered from the hospital's records; refusals are
// SOAP faults carrying the vendor code, anything it does not know a soap:Client fault.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "adapters/sex_codes.h"
#include "adapters/soap/soap_envelope.h"
#include "his-sim/faults.h"
#include "his-sim/stale_answers.h"
#include "his-sim/hospital.h"

namespace hisgate::sim {

class SoapResponder {
public:
    // `field_map` is his.soap.field_map (hisgate element -> vendor element), `charset` his.charset,
    // `sex` his.code_tables.sex (the codes patient sex travels in).
    SoapResponder(Hospital& hospital, std::string ns, nlohmann::json field_map, FaultSwitch& faults,
                  hl7::Charset charset = hl7::Charset::Utf8, SexCodes sex = SexCodes::hl7_table_0001());

    // The HTTP handler for the SOAP endpoint.
    void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    // The answer to one operation, or the error to refuse it with.
    Result<soap::Element> perform(const soap::Element& op, const std::string& request_id);

    Hospital& hospital_;
    soap::SoapDialect dialect_;
    FaultSwitch& faults_;
    SexCodes sex_;
    // duplicate_answers: a copy of an answer (HTTP status, bytes), to be served to the
    // next request instead of its own.
    StaleAnswers<std::pair<int, std::string>> stale_{faults_};
};

}  // namespace hisgate::sim
