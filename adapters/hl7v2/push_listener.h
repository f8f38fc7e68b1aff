// The HL7 v2 adapter's listener for a HIS's reference-data pushes (MFN^M02, MFN^M05,
// SIU^S12-S17) over MLLP: each message is read in the HIS's charset (his.charset when
// MSH-18 is empty), turned into updates (push_message.h) and handed to the handler; the
// HIS gets AA once the handler stored it, AE (207, "send it again") when it could not,
// and AE/AR with the reason when the message cannot be applied. An ACK is never
// acknowledged.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "common/ip_range.h"
#include "adapters/hl7v2/push_fields.h"
#include "config-params/param_set.h"
#include "hl7/message.h"

namespace hisgate::hl7v2 {

// extraction.push.listen and extraction.hl7.fields, as the factory read them.
struct PushSettings {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0 = any free port (tests)
    PushFields fields;
    // extraction.push.allowed_peers: the HIS's addresses; empty = any peer.
    std::vector<IpRange> allowed_peers;
    // extraction.push.tls.*: TLS when cert_file is set (key_file with it); with
    // client_ca_file the HIS must show a certificate that CA signed.
    std::string cert_file, key_file, client_ca_file;
};

// What the listener holds at most: a frame of kPushMaxFrameBytes per connection (an
// oversize one is answered AR and its connection closed at the cap), kPushMaxConnections
// connections, and kPushMaxBufferedBytes of frames in progress across all of them.
inline constexpr std::size_t kPushMaxFrameBytes = 4u << 20;
inline constexpr int kPushMaxConnections = 8;
inline constexpr std::size_t kPushMaxBufferedBytes = 8u << 20;

// extraction.push.listen ("" = no listener: nullopt), extraction.push.allowed_peers,
// extraction.push.tls.* and extraction.hl7.fields (checked either way). Errors:
// Config "params.invalid" naming the parameter.
Result<std::optional<PushSettings>> push_settings_from_params(const params::ParamSet& p);

// Starts listening. Errors: Unavailable "mllp.bind_failed" (nothing started).
Result<std::unique_ptr<PushListener>> listen_for_hl7_pushes(const PushSettings& settings,
                                                            const hl7::ParseOptions& parse_options, PushHandler handler);

}  // namespace hisgate::hl7v2
