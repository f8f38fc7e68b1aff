// How the simulated HIS answers HL7 v2, shaped by its dialect's parameters (version,
// delimiters, terminator, charset, field positions): the messages listed in
// adapters/hl7v2/hl7v2_adapter.h, each answered from the hospital's records; anything
// else gets AR.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "adapters/hl7v2/hl7_dialect.h"
#include "adapters/sex_codes.h"
#include "his-sim/faults.h"
#include "his-sim/hospital.h"
#include "mllp/server.h"

namespace hisgate::sim {

class Hl7Responder {
public:
    // `sex` is his.code_tables.sex: the codes patient sex travels in.
    Hl7Responder(Hospital& hospital, hl7v2::Hl7Dialect dialect, FaultSwitch& faults,
                 SexCodes sex = SexCodes::hl7_table_0001())
        : hospital_(hospital), dialect_(std::move(dialect)), faults_(faults), sex_(std::move(sex)) {}

    // The MLLP handler: the answer, possibly none, possibly sent twice (faults).
    mllp::Answer answer(std::string_view message);

private:
    static hl7::Message reply(const hl7v2::Hl7Dialect& d, const hl7::Message& request, const std::string& type);
    // AE with the vendor error code in ERR-3 and the reason in MSA-3.
    static std::string refuse(const hl7v2::Hl7Dialect& d, const hl7::Message& request, const std::string& type,
                              const std::string& vendor_code, const std::string& why);

    std::string report(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    std::string reference_data(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    std::string appointment(const hl7v2::Hl7Dialect& d, const hl7::Message& m, bool cancel);
    std::string financial(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    std::string booking_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    std::string payment_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    std::string statement(const hl7v2::Hl7Dialect& d, const hl7::Message& m);

    Hospital& hospital_;
    hl7v2::Hl7Dialect dialect_;
    FaultSwitch& faults_;
    SexCodes sex_;
};

// The vendor error code his-sim uses for an error (its own code table).
std::string vendor_code(const Error& e);

}  // namespace hisgate::sim
