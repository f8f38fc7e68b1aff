// libFuzzer target for the control plane's HTTP API handler, in-process (controlplane/api.h;
// see docs/fuzzing.md): no socket, no broker. The request head is read from the input by
// POCO's own parser (what the server runs before the handler), the rest of the input is the
// body, and Api::handle answers into memory. Behind it: a registry where H001 is online
// (its birth names report.get, deferred, and appointment.book), a fresh in-memory
// TaskResults per input holding two answered tasks (patient P1's and P2's reports), an
// in-memory idempotency store shared by all inputs (opening one per input cost 4/5 of the
// rate; a key may meet a claim an earlier input made, as a retry would), and a
// Requester on an MQTT link that is never started, so every request to an agent fails at
// once as "not connected" (502) instead of waiting.
//
// Input: byte 0 picks the bearer token put in when the request carries no Authorization
// header (none, patient P1, viewer, operator, or a forged one); the rest is the request.
// Checked on every request the head parser accepts:
//  - exactly one response is sent, with a standard status and a traceparent header;
//  - a JSON body parses; an error body has "code" and "traceId";
//  - 401 carries WWW-Authenticate, 405 carries Allow;
//  - patient P1's token never reads patient P2's answer.
#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SocketAddress.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <unistd.h>

#include "auth/access_token.h"
#include "common/clock.h"
#include "common/log.h"
#include "controlplane/api.h"
#include "controlplane/hospital_registry.h"
#include "controlplane/idempotency_store.h"
#include "controlplane/patient_records.h"
#include "controlplane/router.h"
#include "controlplane/task_results.h"
#include "transport/requester.h"
#include "transport/topics.h"
#include "fuzz_check.h"

using namespace hisgate;

namespace {

class MemoryResponse final : public Poco::Net::HTTPServerResponse {
public:
    void sendContinue() override {}
    std::ostream& send() override {
        ++sends;
        return body;
    }
    void sendFile(const std::string&, const std::string&) override { ++sends; }
    void sendBuffer(const void* p, std::size_t n) override {
        ++sends;
        body.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    }
    void redirect(const std::string&, HTTPStatus) override { ++sends; }
    void requireAuthentication(const std::string&) override { ++sends; }
    bool sent() const override { return sends > 0; }

    int sends = 0;
    std::ostringstream body;
};

class MemoryRequest final : public Poco::Net::HTTPServerRequest {
public:
    MemoryRequest(std::istream& body, MemoryResponse& response) : body_(body), response_(response) {}
    std::istream& stream() override { return body_; }
    const Poco::Net::SocketAddress& clientAddress() const override { return client_; }
    const Poco::Net::SocketAddress& serverAddress() const override { return server_; }
    const Poco::Net::HTTPServerParams& serverParams() const override { return *params_; }
    Poco::Net::HTTPServerResponse& response() const override { return response_; }
    bool secure() const override { return false; }

private:
    std::istream& body_;
    MemoryResponse& response_;
    Poco::Net::SocketAddress client_{"127.0.0.1", 40000};
    Poco::Net::SocketAddress server_{"127.0.0.1", 8080};
    Poco::AutoPtr<Poco::Net::HTTPServerParams> params_{new Poco::Net::HTTPServerParams};
};

struct World {
    ManualClock clock;
    std::unique_ptr<auth::KeyRing> keys;
    std::string tokens[5];  // none, patient P1, viewer, operator, forged
    controlplane::HospitalRegistry registry;
    MqttLink link{[] {
        MqttOptions o;
        o.uri = "tcp://127.0.0.1:1";
        o.client_id = "api-fuzz";
        return o;
    }()};
    Requester requester{link};
    std::filesystem::path dir;  // the signing key, removed at exit
    std::unique_ptr<controlplane::IdempotencyStore> idempotency;
    std::unique_ptr<controlplane::PatientRecords> records;

    World() {
        log::init("api_fuzz", "/dev/null", log::Level::Error);
        dir = std::filesystem::temp_directory_path() / ("hisgate-api-fuzz-" + std::to_string(::getpid()));
        FUZZ_CHECK(auth::KeyRing::create_key(dir.string(), clock.wall_now()).ok());
        auto ring = auth::KeyRing::open(dir.string(), clock);
        FUZZ_CHECK(ring.ok());
        keys = std::move(ring.value());
        auto now = std::chrono::floor<std::chrono::seconds>(clock.wall_now());
        auto issue = [&](auth::Role role, const char* subject) {
            auto t = auth::issue_token(*keys, {role, subject, now + std::chrono::hours(1)}, now);
            FUZZ_CHECK(t.ok());
            return "Bearer " + t.value();
        };
        tokens[1] = issue(auth::Role::Patient, "P1");
        tokens[2] = issue(auth::Role::Viewer, "ops");
        tokens[3] = issue(auth::Role::Operator, "ops");
        tokens[4] = tokens[3];
        tokens[4][tokens[4].size() - 2] ^= 1;  // a signature byte changed

        Envelope birth = Envelope::make("state", "H001",
                                        {{"online", true},
                                         {"capabilities",
                                          {{{"type", "report.get"}, {"class", "deferred"}},
                                           {{"type", "appointment.book"}, {"class", "realtime"}}}}});
        IncomingMessage state;
        state.topic = topics::state("H001");
        state.payload = birth.to_json();
        FUZZ_CHECK(registry.apply_state(state).ok());
        auto store = controlplane::open_sqlite_idempotency_store(":memory:", clock);
        FUZZ_CHECK(store.ok());
        idempotency = std::move(store.value());
        auto opened_records = controlplane::open_sqlite_patient_records(":memory:", clock);
        FUZZ_CHECK(opened_records.ok());
        records = std::move(opened_records.value());
    }
    ~World() { std::filesystem::remove_all(dir); }
};

// Tasks T1 (patient P1's report R-P1) and T2 (patient P2's report R-P2), answered.
std::unique_ptr<controlplane::TaskResults> results_with_answers(Clock& clock) {
    auto results = controlplane::TaskResults::open(":memory:", clock);
    FUZZ_CHECK(results.ok());
    for (const char* patient : {"P1", "P2"}) {
        Envelope request = Envelope::make("report.get", "H001");
        request.id = std::string("T") + patient[1];
        FUZZ_CHECK((*results)->expect(request, {.deferred = true, .contents_until_delivered = true}, {patient, ""}).ok());
        Envelope answer = request.reply({{"patientId", patient}, {"reportId", std::string("R-") + patient}});
        FUZZ_CHECK((*results)->record("H001", answer, answer.to_json()).ok());
    }
    return std::move(results.value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static World world;
    if (size < 1) return 0;
    const int token = data[0] % 5;
    std::istringstream input(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
    MemoryResponse res;
    MemoryRequest req(input, res);
    try {
        req.read(input);  // the head, as Poco's server reads it; a malformed one never reaches the API
    } catch (const Poco::Exception&) {
        return 0;
    }
    if (!req.has("Authorization") && token > 0) req.set("Authorization", world.tokens[token]);

    auto results = results_with_answers(world.clock);
    controlplane::Router router(world.registry, world.requester, *results, "cp1", {std::chrono::milliseconds(100), {}});
    controlplane::Api api(world.registry, router, *results, *world.keys, *world.idempotency, *world.records,
                          world.clock);
    try {
        api.handle(req, res);
    } catch (const Poco::Exception&) {
        // Framing the handler cannot read (an unparseable Content-Length): HttpServer answers
        // it 400 and closes the connection. Any other exception is a finding (it would be 500).
        return 0;
    }

    FUZZ_CHECK(res.sends == 1);
    const int status = static_cast<int>(res.getStatus());
    FUZZ_CHECK(status >= 200 && status <= 599 && res.getReason() == Poco::Net::HTTPResponse::getReasonForStatus(res.getStatus()));
    FUZZ_CHECK(res.has("traceparent"));
    const std::string body = res.body.str();
    if (res.getContentType() == "application/json") {
        auto doc = nlohmann::json::parse(body, nullptr, false);
        FUZZ_CHECK(!doc.is_discarded());
        if (status >= 400) FUZZ_CHECK(doc.contains("code") && doc.contains("traceId"));
    }
    if (status == 401) FUZZ_CHECK(res.has("WWW-Authenticate"));
    if (status == 405) FUZZ_CHECK(res.has("Allow"));
    if (token == 1 && req.get("Authorization", "") == world.tokens[1])
        FUZZ_CHECK(body.find(R"("patientId":"P2")") == std::string::npos);
    return 0;
}
