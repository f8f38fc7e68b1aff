// The control plane's HTTP API (JSON). Every response carries a traceparent header; an
// error body is always {"code", "message", "traceId"}.
//
//   GET /api/v1/hospitals                                  hospitals whose agents are online
//   GET /api/v1/hospitals/{hospitalId}/reports/{reportId}  one lab report, from the HIS; reports are
//                                                          deferred work at the agent, so a report not
//                                                          ready in time is 202 {taskId, status, poll}
//   GET /api/v1/tasks/{taskId}                             a request's answer once it came: 200, or 202
//                                                          while pending
//   POST /api/v1/hospitals/{hospitalId}/appointments       book (body: agent/booking_request.h);
//                                                          422 with the patient's words when a rule refuses
//   GET /metrics, GET /healthz
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "controlplane/hospital_registry.h"
#include "controlplane/router.h"

namespace hisgate::controlplane {

class Api {
public:
    Api(const HospitalRegistry& registry, Router& router, TaskResults& results)
        : registry_(registry), router_(router), results_(results) {}
    void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

    static int http_status(ErrorClass cls);

private:
    void list_hospitals(Poco::Net::HTTPServerResponse& res);
    void book(const std::string& hospital_id, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void get_report(const std::string& hospital_id, const std::string& report_id, Poco::Net::HTTPServerResponse& res);
    void get_task(const std::string& task_id, Poco::Net::HTTPServerResponse& res);

    const HospitalRegistry& registry_;
    Router& router_;
    TaskResults& results_;
};

}  // namespace hisgate::controlplane
