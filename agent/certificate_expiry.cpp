#include "agent/certificate_expiry.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>

namespace hisgate::agent {

std::string certificate_not_after(const std::string& pem_file) {
    if (pem_file.empty()) return "";
    FILE* f = std::fopen(pem_file.c_str(), "r");
    if (!f) return "";
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!cert) return "";
    std::tm t{};
    std::string out;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) == 1) {
        char buf[32];
        if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t) > 0) out = buf;
    }
    X509_free(cert);
    return out;
}

}  // namespace hisgate::agent
