// The HL7 v2 over MLLP adapter: report queries as QRY^R02 answered by ORF^R04.
#pragma once

#include <memory>

#include "adapters/his_adapter.h"
#include "common/config.h"

namespace hisgate {

// Parameters (under `prefix`, e.g. "his."): host, port, hl7_version, sending_application,
// sending_facility, receiving_application, receiving_facility, connect_timeout_ms,
// ack_timeout_ms, max_attempts.
std::unique_ptr<HisAdapter> make_hl7v2_adapter(ConfigReader& params, const std::string& prefix);

}  // namespace hisgate
