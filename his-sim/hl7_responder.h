// How the simulated HIS answers HL7 v2, shaped by its dialect's parameters (version,
// delimiters, terminator, charset, field positions): the messages listed in
// adapters/hl7v2/hl7v2_adapter.h, each answered from the hospital's records; anything
// else gets AR.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "adapters/hl7v2/hl7_dialect.h"
#include "his-sim/hospital.h"

namespace hisgate::sim {

struct Faults {
    std::chrono::milliseconds latency{0};  // wait this long before answering
    bool silent = false;                   // read every message, never answer
};

class Hl7Responder {
public:
    Hl7Responder(Hospital& hospital, hl7v2::Hl7Dialect dialect, Faults faults)
        : hospital_(hospital), d_(std::move(dialect)), faults_(faults) {}

    // The MLLP handler: the bytes to answer with, "" for none.
    std::string answer(std::string_view message);

private:
    hl7::Message reply(const hl7::Message& request, const std::string& type) const;
    // AE with the vendor error code in ERR-3 and the reason in MSA-3.
    std::string refuse(const hl7::Message& request, const std::string& type, const Error& why) const;

    std::string report(const hl7::Message& m);
    std::string reference_data(const hl7::Message& m);
    std::string appointment(const hl7::Message& m, bool cancel);
    std::string financial(const hl7::Message& m);
    std::string payment_status(const hl7::Message& m);
    std::string statement(const hl7::Message& m);

    Hospital& hospital_;
    hl7v2::Hl7Dialect d_;
    Faults faults_;
};

// The vendor error code his-sim uses for an error (its own code table).
std::string vendor_code(const Error& e);

}  // namespace hisgate::sim
