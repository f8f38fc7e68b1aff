// How the simulated HIS answers HL7 v2 messages: QRY^R02 report queries with ORF^R04
// from its database; anything else it does not serve with an AR acknowledgement.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "his-sim/hospital_db.h"

namespace hisgate::sim {

struct Faults {
    std::chrono::milliseconds latency{0};  // wait this long before answering
    bool silent = false;                   // read every message, never answer
};

class Hl7Responder {
public:
    Hl7Responder(HospitalDb& db, std::string hospital_id, Faults faults)
        : db_(db), hospital_id_(std::move(hospital_id)), faults_(faults) {}

    // The MLLP handler: the bytes to answer with, "" for none.
    std::string answer(std::string_view message);

private:
    std::string report_response(const std::string& query_control_id, const std::string& report_id,
                                const std::string& query_text);

    HospitalDb& db_;
    std::string hospital_id_;
    Faults faults_;
};

}  // namespace hisgate::sim
