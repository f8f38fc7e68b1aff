// `hisgate hl7 send|listen` as a user runs them: the real binary, a real server.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "hl7-gen/generator.h"
#include "hl7/ack.h"
#include "mllp/server.h"

namespace {

struct CliRun {
    int status = -1;
    std::string out;  // stdout and stderr
};

CliRun run_cli(const std::string& arguments) {
    const std::string command = std::string(HISGATE_BINARY_DIR) + "/cli/hisgate " + arguments + " 2>&1";
    CliRun run;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.out.append(buffer, n);
    int raw = ::pclose(pipe);
    run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return run;
}

// Two generated messages (tools/hl7-gen) in original acknowledgement mode, so the ACK
// is the answer: MSG000001 and the next such one.
struct Sample {
    std::string path;
    std::vector<std::string> control_ids;
};
Sample sample_file() {
    hisgate::hl7gen::Generator generator(1);
    Sample sample{std::string(HISGATE_BINARY_DIR) + "/mllp-cli-test-sample.hl7", {}};
    std::string bytes;
    while (sample.control_ids.size() < 2) {
        auto g = generator.next(hisgate::hl7gen::Kind::Discharge);
        if (g.enhanced_ack) continue;
        bytes += g.bytes;
        sample.control_ids.push_back(g.control_id);
    }
    std::ofstream(sample.path, std::ios::binary) << bytes;
    return sample;
}

}  // namespace

TEST_CASE("hl7 send prints the ACK of each message and exits 0", "[mllp][cli]") {
    hisgate::mllp::Server server({}, [](std::string_view m) { return hisgate::hl7::ack_for(m); });
    REQUIRE(server.start().ok());
    Sample sample = sample_file();
    CliRun run = run_cli("hl7 send 127.0.0.1:" + std::to_string(server.port()) + " " + sample.path);
    INFO(run.out);
    CHECK(run.status == 0);
    for (const auto& id : sample.control_ids) CHECK(run.out.find("MSA|AA|" + id) != std::string::npos);
}

TEST_CASE("hl7 send exits 1 when a message gets no answer", "[mllp][cli]") {
    hisgate::mllp::Server server({}, [](std::string_view) { return std::string(); });
    REQUIRE(server.start().ok());
    CliRun run = run_cli("hl7 send 127.0.0.1:" + std::to_string(server.port()) + " " + sample_file().path +
                      " --ack-timeout 200 --attempts 1");
    INFO(run.out);
    CHECK(run.status == 1);
    CHECK(run.out.find("mllp.ack_timeout") != std::string::npos);
}

TEST_CASE("hl7 send and listen refuse bad arguments with exit 2 and say why", "[mllp][cli]") {
    struct Case {
        const char* args;
        const char* says;
    };
    for (const Case& c : {Case{"hl7 send nohost f.hl7", "HOST:PORT"},
                          Case{"hl7 send 127.0.0.1:70000 f.hl7", "port must be"},
                          Case{"hl7 send 127.0.0.1:2575", "needs HOST:PORT and FILE"},
                          Case{"hl7 send 127.0.0.1:2575 /nonexistent.hl7", "cannot read"},
                          Case{"hl7 send 127.0.0.1:2575 f.hl7 --attempts zero", "--attempts"},
                          Case{"hl7 send 127.0.0.1:2575 f.hl7 --ca ca.pem", "need --tls"},
                          Case{"hl7 listen", "needs PORT"},
                          Case{"hl7 listen 99999", "port must be"},
                          Case{"hl7 listen 0 --tls", "--cert FILE and --key FILE"},
                          Case{"hl7 listen 0 --frobnicate", "unknown option"}}) {
        CliRun run = run_cli(c.args);
        INFO(c.args << "\n" << run.out);
        CHECK(run.status == 2);
        CHECK(run.out.find(c.says) != std::string::npos);
    }
}
