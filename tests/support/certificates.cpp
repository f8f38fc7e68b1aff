#include "tests/support/certificates.h"

#include <cstdlib>

#include "tests/support/process.h"

namespace hisgate::test {

bool make_test_certificates(const std::string& dir, const std::string& name) {
    auto sh = [](const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; };
    const std::string& d = dir;
    write_file(d + "/san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    return sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=hisgate test CA' -keyout " + d +
              "/ca.key -out " + d + "/ca.crt") &&
           sh("openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout " + d + "/" + name + ".key -out " + d +
              "/" + name + ".csr") &&
           sh("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.crt -CAkey " + d +
              "/ca.key -CAcreateserial -days 1 -extfile " + d + "/san.ext -out " + d + "/" + name + ".crt");
}

}  // namespace hisgate::test
