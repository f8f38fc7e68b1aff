#include "adapters/hl7v2/hl7v2_adapter.h"

#include <chrono>
#include <ctime>
#include <mutex>

#include "common/log.h"
#include "common/trace.h"
#include "hl7/message.h"
#include "mllp/client.h"

namespace hisgate {

namespace {

std::string hl7_timestamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

// "20261120083000" -> "2026-11-20T08:30:00"; anything else is passed through.
std::string iso_from_hl7(const std::string& ts) {
    if (ts.size() < 14) return ts;
    return ts.substr(0, 4) + "-" + ts.substr(4, 2) + "-" + ts.substr(6, 2) + "T" + ts.substr(8, 2) + ":" +
           ts.substr(10, 2) + ":" + ts.substr(12, 2);
}

struct Hl7v2Params {
    std::string hl7_version, sending_application, sending_facility, receiving_application, receiving_facility;
};

class Hl7v2Adapter : public HisAdapter {
public:
    Hl7v2Adapter(mllp::ClientOptions mllp, Hl7v2Params params) : client_(std::move(mllp)), params_(std::move(params)) {}

    std::string dialect() const override { return "hl7v2-mllp"; }

    Result<Report> get_report(const std::string& report_id) override {
        std::string control_id = random_hex(10);
        auto query = build_query(report_id, control_id);
        if (!query) return query.error();
        // The HIS cannot carry our trace context; the control id links its log lines to ours.
        log::info("his.query_sent", {{"hl7_control_id", control_id}, {"message_type", "QRY^R02"}});
        Result<std::string> answer = [&] {
            std::lock_guard lock(client_mu_);
            return client_.send(query.value());
        }();
        if (!answer) {
            log::warn("his.query_failed", {{"hl7_control_id", control_id}, {"error", answer.error().describe()}});
            return answer.error();
        }
        log::info("his.answer_received", {{"hl7_control_id", control_id}});
        auto parsed = hl7::Message::parse(answer.value());
        if (!parsed)
            return make_error(ErrorClass::Protocol, "his.unreadable_response",
                              "the HIS answered the report query with an unreadable message: " + parsed.error().message);
        return read_report(parsed.value(), report_id);
    }

private:
    Result<std::string> build_query(const std::string& report_id, const std::string& control_id) {
        auto msg = hl7::Message::parse("MSH|^~\\&|||||||QRY^R02^QRY_R02||P|2.4\rQRD|\rQRF|\r");
        if (!msg) return msg.error();
        auto& m = msg.value();
        std::string now = hl7_timestamp();
        for (auto [path, value] : {std::pair<const char*, std::string>{"MSH-3", params_.sending_application},
                                   {"MSH-4", params_.sending_facility},
                                   {"MSH-5", params_.receiving_application},
                                   {"MSH-6", params_.receiving_facility},
                                   {"MSH-7", now},
                                   {"MSH-10", control_id},
                                   {"MSH-12", params_.hl7_version},
                                   {"QRD-1", now},
                                   {"QRD-2", "R"},
                                   {"QRD-3", "I"},
                                   {"QRD-4", control_id},
                                   {"QRD-7-1", "1"},
                                   {"QRD-7-2", "RD"},
                                   {"QRD-9", "RES"},
                                   {"QRD-10", report_id},
                                   {"QRF-1", "LAB"}}) {
            if (auto r = m.set(path, value); !r) return r.error();
        }
        return m.serialize();
    }

    Result<Report> read_report(const hl7::Message& m, const std::string& report_id) {
        std::string ack = m.get("MSA-1");
        if (ack != "AA" && ack != "CA") {
            std::string text = m.get("MSA-3").empty() ? m.get("ERR-8") : m.get("MSA-3");
            return make_error(ErrorClass::Rejected, "his.rejected",
                              "the HIS rejected the report query (" + ack + "): " + text);
        }
        if (m.get("OBR-3").empty())
            return make_error(ErrorClass::NotFound, "report.not_found", "report " + report_id + " does not exist");
        Report r;
        r.report_id = m.get("OBR-3");
        r.patient_id = m.get("PID-3-1");
        r.title = m.get("OBR-4-2");
        r.issued_at = iso_from_hl7(m.get("OBR-7"));
        std::string status = m.get("OBR-25");
        r.status = status == "F" ? "final" : status == "P" ? "preliminary" : status == "C" ? "corrected" : status;
        for (int i = 1;; ++i) {
            std::string seg = "OBX[" + std::to_string(i) + "]";
            if (m.get(seg + "-3-1").empty()) break;
            r.observations.push_back(Observation{m.get(seg + "-3-1"), m.get(seg + "-3-2"), m.get(seg + "-5"),
                                                 m.get(seg + "-6"), m.get(seg + "-7"), m.get(seg + "-8")});
        }
        return r;
    }

    // One connection to the HIS, one message at a time: the MLLP client is not thread-safe,
    // and HIS interfaces commonly allow a single session.
    std::mutex client_mu_;
    mllp::Client client_;
    Hl7v2Params params_;
};

}  // namespace

std::unique_ptr<HisAdapter> make_hl7v2_adapter(ConfigReader& p, const std::string& prefix) {
    mllp::ClientOptions mllp;
    mllp.host = p.string(prefix + "host", "127.0.0.1");
    mllp.port = static_cast<uint16_t>(p.integer(prefix + "port", std::nullopt, 1, 65535));
    mllp.connect_timeout = std::chrono::milliseconds(p.integer(prefix + "connect_timeout_ms", 2000, 1, 600000));
    mllp.ack_timeout = std::chrono::milliseconds(p.integer(prefix + "ack_timeout_ms", 3000, 1, 600000));
    mllp.max_attempts = static_cast<int>(p.integer(prefix + "max_attempts", 1, 1, 10));
    Hl7v2Params h;
    h.hl7_version = p.string(prefix + "hl7_version", "2.4");
    h.sending_application = p.string(prefix + "sending_application", "HISGATE");
    h.sending_facility = p.string(prefix + "sending_facility", "");
    h.receiving_application = p.string(prefix + "receiving_application", "HIS");
    h.receiving_facility = p.string(prefix + "receiving_facility", "");
    return std::make_unique<Hl7v2Adapter>(std::move(mllp), std::move(h));
}

}  // namespace hisgate
