// Throwaway TLS certificates for tests, made by `openssl` for each run, never committed.
#pragma once

#include <string>

namespace hisgate::test {

// In `dir`: a CA (ca.crt, ca.key) and a certificate it signed for 127.0.0.1 and localhost
// (NAME.crt, NAME.key). False if openssl failed.
bool make_test_certificates(const std::string& dir, const std::string& name);

}  // namespace hisgate::test
