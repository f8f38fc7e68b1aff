// The HIS's side of reference-data pushes, for tests: MFN and SIU messages built with the
// hl7 API and sent over real MLLP to an agent's push listener, the ACK read back.
// Header-only: it uses Catch2's REQUIRE, so only test sources include it.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "hl7/message.h"
#include "mllp/client.h"

namespace hisgate::test::hl7_push {

// A HIS's message: MSH filled in, HL7 2.4 (errors come back in MSA-3 and ERR-1).
struct Push {
    hl7::Message m = hl7::Message::create();
    Push(const std::string& type, const std::string& event, const std::string& control_id) {
        set("MSH-3", "HIS");
        set("MSH-5", "HISGATE");
        set("MSH-7", "20260101120000");
        set("MSH-9-1", type);
        set("MSH-9-2", event);
        set("MSH-10", control_id);
        set("MSH-11", "P");
        set("MSH-12", "2.4");
    }
    Push& set(const std::string& path, const std::string& value) {
        REQUIRE(m.set(path, value).ok());
        return *this;
    }
};

struct Ack {
    std::string code, control_id, text;
};

class FakeHis {
public:
    explicit FakeHis(uint16_t port) : client_(mllp::ClientOptions{.port = port, .max_attempts = 1}) {}
    Ack send(const Push& p) {
        auto answer = client_.send(p.m.serialize());
        INFO((answer.ok() ? "" : answer.error().describe()));
        REQUIRE(answer.ok());
        auto ack = hl7::Message::parse(answer.value());
        REQUIRE(ack.ok());
        CHECK(ack->get("MSH-9-1") == "ACK");
        return {ack->get("MSA-1"), ack->get("MSA-2"), ack->get("MSA-3")};
    }

private:
    mllp::Client client_;
};

// A doctor as MFN^M02 would carry one record.
inline Push doctor_message(const std::string& control_id, const std::string& event, const std::string& id,
                    const std::string& department) {
    Push p("MFN", "M02", control_id);
    p.set("MFI-1", "PRA").set("MFI-3", "UPD");
    p.set("MFE-1", event).set("MFE-4-1", id);
    p.set("STF-1", id).set("STF-3-1", "Li").set("STF-3-2", "Wei").set("STF-7-1", department);
    p.set("PRA-1", id).set("PRA-3-1", "Chief Physician");
    return p;
}

// A slot as SIU^S12/S13/S14 carries it: SCH for identity and time, AIP and AIL for doctor
// and department, the vendor's ZSL for the quota.
inline Push slot_message(const std::string& control_id, const std::string& event, const std::string& id,
                  const std::string& start, const std::string& capacity) {
    Push p("SIU", event, control_id);
    p.set("SCH-1", "P-" + id).set("SCH-2-1", id).set("SCH-11-4", start).set("SCH-11-5", "202612011130");
    p.set("RGS-1", "1");
    p.set("AIL-1", "1").set("AIL-3-1", "DEP-X");
    p.set("AIP-1", "1").set("AIP-3-1", "DOC-X");
    p.set("ZSL-7", "AM").set("ZSL-8", capacity).set("ZSL-9", "2").set("ZSL-10", "25.50");
    return p;
}

}  // namespace hisgate::test::hl7_push
