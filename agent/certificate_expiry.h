// When the agent's TLS client certificate expires, for its birth message (the fleet
// registry shows it; operators renew certificates before they lapse).
#pragma once

#include <string>

namespace hisgate::agent {

// The certificate's notAfter as ISO 8601 UTC ("2027-01-31T00:00:00Z"), read from the
// first certificate of the PEM file; "" when the path is empty or the file cannot be read.
std::string certificate_not_after(const std::string& pem_file);

}  // namespace hisgate::agent
