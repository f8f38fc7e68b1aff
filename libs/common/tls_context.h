// TLS contexts (POCO NetSSL on OpenSSL) for every TLS the processes speak: MLLP, HTTPS to a
// HIS, the control plane's API and its clients. Errors in the files named
// (missing, unreadable, key not matching the certificate) come back as Config errors
// when the context is made, not as failures on the first connection.
#pragma once

#include <Poco/Net/Context.h>

#include <string>

#include "common/error.h"

namespace hisgate {

struct TlsServerFiles {
    std::string cert_file, key_file;  // PEM; required
    std::string client_ca_file;       // PEM; non-empty = clients must present a certificate it signed
};

struct TlsClientFiles {
    std::string ca_file;              // PEM; empty = the system's trusted CAs
    bool verify_peer = true;          // false only for rehearsals against a self-signed HIS
    std::string cert_file, key_file;  // PEM; optional client certificate
};

Result<Poco::Net::Context::Ptr> make_server_tls(const TlsServerFiles& files);
Result<Poco::Net::Context::Ptr> make_client_tls(const TlsClientFiles& files);

}  // namespace hisgate
