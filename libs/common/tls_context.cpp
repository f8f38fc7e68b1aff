#include "common/tls_context.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetSSL.h>

#include <fstream>
#include <mutex>

namespace hisgate {

namespace {

// OpenSSL and POCO's SSL layer are initialised once per process, on first use.
void initialize_ssl_once() {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

// Modern defaults: TLS 1.2 or newer, and the library's strong cipher list.
void harden(Poco::Net::Context& context) {
    context.requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
}

Result<Poco::Net::Context::Ptr> make_tls_context(Poco::Net::Context::Usage usage, const Poco::Net::Context::Params& params,
                                     std::string_view side) {
    initialize_ssl_once();
    try {
        Poco::Net::Context::Ptr context = new Poco::Net::Context(usage, params);
        harden(*context);
        return context;
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Config, "tls.config",
                          std::string(side) + " TLS setup failed: " + e.displayText());
    }
}

}  // namespace

Result<Poco::Net::Context::Ptr> make_server_tls(const TlsServerFiles& files) {
    if (files.cert_file.empty() || files.key_file.empty())
        return make_error(ErrorClass::Config, "tls.config",
                          "server TLS needs a certificate file and a private key file");
    // Named here: OpenSSL's own message for a missing file does not say which one.
    for (const auto* file : {&files.cert_file, &files.key_file, &files.client_ca_file})
        if (!file->empty() && !std::ifstream(*file).good())
            return make_error(ErrorClass::Config, "tls.config", "server TLS: cannot read " + *file);
    Poco::Net::Context::Params params;
    params.certificateFile = files.cert_file;
    params.privateKeyFile = files.key_file;
    params.caLocation = files.client_ca_file;
    params.verificationMode =
        files.client_ca_file.empty() ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_STRICT;
    params.loadDefaultCAs = false;
    auto context = make_tls_context(Poco::Net::Context::TLS_SERVER_USE, params, "server");
    // A client certificate names a sending system, not the address it connects from:
    // the chain is checked against client_ca_file, POCO's host-name check is not wanted.
    if (context.ok()) (*context)->enableExtendedCertificateVerification(false);
    return context;
}

Result<Poco::Net::Context::Ptr> make_client_tls(const TlsClientFiles& files) {
    Poco::Net::Context::Params params;
    params.caLocation = files.ca_file;
    params.loadDefaultCAs = files.ca_file.empty();
    params.certificateFile = files.cert_file;
    params.privateKeyFile = files.key_file;
    params.verificationMode = files.verify_peer ? Poco::Net::Context::VERIFY_RELAXED : Poco::Net::Context::VERIFY_NONE;
    return make_tls_context(Poco::Net::Context::TLS_CLIENT_USE, params, "client");
}

}  // namespace hisgate
