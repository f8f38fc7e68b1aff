// hisgate-pay-sim as a real process for tests (pay_sim_process.h, checked with Catch), and a
// small real HTTP server that plays the control plane's notify_url, keeping every
// notification it receives.
#pragma once

#include <catch2/catch.hpp>

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "tests/support/pay_sim_process.h"
#include "tests/support/process.h"
#include "tests/support/system.h"

namespace hisgate::test {

struct RunningPaySim : PaySimProcess {
    // `config` is merged into pay-sim's config (notify.*, faults, ...).
    explicit RunningPaySim(const nlohmann::json& config = nlohmann::json::object()) { REQUIRE(launch(config)); }

    // Stops it (SIGTERM) and starts it again on the same records; the ports change.
    void restart() {
        REQUIRE(sim.stop() == 0);
        REQUIRE(start());
    }

    // Arms one fault or a list (POST /faults); the answer's status.
    int arm(const nlohmann::json& faults) { return http_send(control_port, "POST", "/faults", faults.dump()).status; }
    nlohmann::json stats() {
        auto r = http_get(control_port, "/stats");
        REQUIRE(r.status == 200);
        return nlohmann::json::parse(r.body)["notifications"];
    }
};

// The control plane's notify_url, played by a real HTTP server on a free loopback port.
class NotificationSink {
public:
    struct Received {
        std::map<std::string, std::string> headers;
        std::string body;
    };

    NotificationSink()
        : server_("127.0.0.1", 0, [this](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
              Received r;
              for (const auto& [k, v] : req) r.headers[k] = v;
              auto body = read_body(req, 64 * 1024, "a notification");
              r.body = body ? body.value() : "";
              int status = 200;
              {
                  std::lock_guard lock(mu_);
                  if (refuse_next_ > 0) {
                      --refuse_next_;
                      status = 500;
                      ++refused_;
                  } else {
                      received_.push_back(std::move(r));
                  }
              }
              send_text(res, status, "application/json", status == 200 ? R"({"code":"SUCCESS"})" : R"({"code":"FAIL"})");
          }) {
        REQUIRE(server_.start().ok());
    }
    ~NotificationSink() { server_.stop(); }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/payments/notify"; }
    // Answers the next `n` notifications 500 (the provider must retry).
    void refuse_next(int n) {
        std::lock_guard lock(mu_);
        refuse_next_ = n;
    }
    std::vector<Received> received() {
        std::lock_guard lock(mu_);
        return received_;
    }
    // The notifications received for one order (by its out_trade_no in the body).
    std::vector<Received> for_order(const std::string& out_trade_no) {
        std::vector<Received> out;
        for (auto& r : received())
            if (r.body.find("\"out_trade_no\":\"" + out_trade_no + "\"") != std::string::npos) out.push_back(r);
        return out;
    }
    int refused() {
        std::lock_guard lock(mu_);
        return refused_;
    }

private:
    std::mutex mu_;
    std::vector<Received> received_;
    int refuse_next_ = 0, refused_ = 0;
    HttpServer server_;
};

}  // namespace hisgate::test
