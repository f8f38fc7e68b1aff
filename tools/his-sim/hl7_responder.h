// How the simulated HIS answers HL7 v2, shaped by its dialect's parameters (version,
// delimiters, terminator, charset, field positions): the messages listed in
// adapters/hl7v2/hl7v2_adapter.h, each answered from the hospital's records; anything
// else gets AR.
#pragma once

#include <chrono>
#include <initializer_list>
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
    // The answer of `type` to `request`: MSA-1 AA, MSA-2 its control id, then `fields`.
    // Errors: a value this HIS's charset cannot carry.
    static Result<hl7::Message> reply(const hl7v2::Hl7Dialect& d, const hl7::Message& request, const std::string& type,
                                      std::initializer_list<hl7::FieldValue> fields = {});
    static Result<std::string> wire(const hl7v2::Hl7Dialect& d, const Result<hl7::Message>& m);
    // AE with the vendor error code in ERR-3 and the reason in MSA-3.
    static Result<std::string> refuse(const hl7v2::Hl7Dialect& d, const hl7::Message& request, const std::string& type,
                                      const std::string& vendor_code, const std::string& why);
    // The answer, or an AE saying this HIS could not write it.
    static mllp::Answer answered_or_error(const hl7::Message& request, const Result<std::string>& answer);

    // Each: the answer on the wire, or what this HIS could not write into it.
    Result<std::string> report(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    Result<std::string> reference_data(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    Result<std::string> appointment(const hl7v2::Hl7Dialect& d, const hl7::Message& m, bool cancel);
    Result<std::string> financial(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    Result<std::string> booking_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    Result<std::string> payment_status(const hl7v2::Hl7Dialect& d, const hl7::Message& m);
    Result<std::string> statement(const hl7v2::Hl7Dialect& d, const hl7::Message& m);

    Hospital& hospital_;
    hl7v2::Hl7Dialect dialect_;
    FaultSwitch& faults_;
    SexCodes sex_;
};

// The vendor error code his-sim uses for an error (its own code table).
std::string vendor_code(const Error& e);

}  // namespace hisgate::sim
