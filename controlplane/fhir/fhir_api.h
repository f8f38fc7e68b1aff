// The FHIR R4 read facade's HTTP routes (issue 17 item 3, first slice; docs/fhir.md):
//
//   GET /fhir/r4/metadata                      the CapabilityStatement (fhir_resources.h)
//   GET /fhir/r4/Organization/{id}             a hospital
//   GET /fhir/r4/Organization?address-state=&_count=&_cursor=
//   GET /fhir/r4/Practitioner/{hospitalId}.{doctorId}
//   GET /fhir/r4/Practitioner?organization=&_count=&_cursor=
//   GET /fhir/r4/Schedule/{hospitalId}.{doctorId}   a doctor's Schedule (one per doctor)
//   GET /fhir/r4/Slot/{hospitalId}.{slotId}
//   GET /fhir/r4/Slot?schedule=&start=&status=free|busy&_count=&_cursor=
//
// The signed-in patient's own data (a patient token only; docs/fhir.md):
//   GET /fhir/r4/Appointment/{transactionId}   a booking of theirs
//   GET /fhir/r4/Appointment?patient=&date=&status=&_count=&_cursor=
//   GET /fhir/r4/DiagnosticReport/{hospitalId}.{reportId}
//   GET /fhir/r4/DiagnosticReport?[performer=&]patient=&_count=&_cursor=   without performer: the
//                                              hospitals linked to the patient only (patient_links.h)
//   GET /fhir/r4/Observation/{hospitalId}.{reportId}.{n}   result line n of a report
//   GET /fhir/r4/Observation?_id= | ?_has:DiagnosticReport:result:_id=  [&patient=&_count=&_cursor=]
// Another patient's resource answers 404, as one that does not exist.
//
// Any signed-in role reads the reference data (reference data; Api::handle has authenticated the caller,
// and answers a 401 under /fhir/ as an OperationOutcome, issue type "login"). Answers are application/fhir+json; a search is
// a searchset Bundle of one page (fhir_bundle.h). Every query parameter is read within
// bounds before any other work, and an unknown one is refused. Every error here is an
// OperationOutcome with its status: 400 invalid (a parameter, an id, naming what was
// expected), 404 not-found (no such resource) or not-supported (a resource type or path
// not served), 405 not-supported (with Allow), 500 exception (the store failed).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "controlplane/api_route.h"
#include "controlplane/fhir/fhir_data.h"
#include "controlplane/patient_links.h"

namespace hisgate::controlplane::fhir {

class FhirApi {
public:
    // `https`: the facade is reached over HTTPS (its links say so).
    FhirApi(FhirData& data, bool https) : data_(data), https_(https) {}
    // The patient's own data; set before the server starts (without it those routes 404).
    void set_patient_data(PatientData* patient) { patient_ = patient; }
    // The links of patients to hospitals' numbers (controlplane/patient_links.h): a
    // DiagnosticReport search without performer asks only the linked hospitals, each by its
    // own number; a report or search naming a hospital not linked to the patient asks
    // nothing (404, an empty Bundle). Without it a search names its performer and every
    // hospital is asked by the platform's id, as before the links.
    void set_patient_links(PatientLinks* links) { links_ = links; }

    // Whether a request target is the facade's (/fhir/...).
    static bool serves(const std::string& uri);
    static const std::vector<RouteTemplate>& routes();

    // Answers the request; returns the route's name (the metrics label).
    std::string handle(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res);

    // An OperationOutcome of one error issue, as application/fhir+json.
    static void send_outcome(Poco::Net::HTTPServerResponse& res, int status, const std::string& code,
                             const std::string& diagnostics);

private:
    void slots_search(const std::string& raw_query, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void patient_route(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                       const std::string& raw_query, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void appointments_search(const std::string& me, const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res);
    void reports_search(const std::string& me, const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                        Poco::Net::HTTPServerResponse& res);
    void observations_search(const std::string& me, const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res);
    // The patient's report from its hospital, or (on_its_way) the line of their list that
    // names it while the report itself has not come; nullopt when it answered the request
    // itself (404, 503 while nothing tells the report is theirs, an error).
    struct OwnReport {
        nlohmann::json report;
        bool on_its_way = false;
    };
    std::optional<OwnReport> own_report(const std::string& me, const std::string& hospital_id,
                                             const std::string& report_id, const char* type, const std::string& id,
                                             Poco::Net::HTTPServerResponse& res);
    // The patient's number at a hospital: the linked one, nullopt when not linked there (the
    // hospital is then not asked); the platform's id when this facade keeps no links.
    std::optional<std::string> number_at(const std::string& me, const std::string& hospital_id);
    FhirData& data_;
    bool https_;
    PatientData* patient_ = nullptr;
    PatientLinks* links_ = nullptr;
};

}  // namespace hisgate::controlplane::fhir
