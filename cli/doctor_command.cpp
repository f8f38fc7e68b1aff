// `hisgate doctor <hospital> [--json]`: the agent's doctor, run by the agent itself on the
// hospital's front-end server and answered over MQTT (POST /api/v1/hospitals/<id>/doctor;
// docs/doctor.md "Remote"): its table as hospital IT would see it at the server. Exits
// 0 when nothing failed, 1 when a check failed or the agent could not be asked, 2 on bad
// arguments.
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace hisgate::cli {

namespace {
const char* kDoctorUsage = "usage: hisgate doctor <hospital id> [--json] [--url URL] [--token-file F]\n";
}  // namespace

int doctor_main(const Args& given) {
    Args args = given;
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate doctor: %s\n", target.error().message.c_str());
        return 2;
    }
    std::string hospital;
    bool json = false;
    for (const auto& a : args) {
        if (a == "--json") json = true;
        else if (hospital.empty() && a.rfind("--", 0) != 0) hospital = a;
        else {
            std::fprintf(stderr, "hisgate doctor: unexpected argument '%s'\n%s", a.c_str(), kDoctorUsage);
            return 2;
        }
    }
    if (hospital.empty()) {
        std::fprintf(stderr, "hisgate doctor: which hospital?\n%s", kDoctorUsage);
        return 2;
    }
    // The agent's doctor takes up to a minute (its HIS rows); the control plane waits 70 s.
    auto found = api_post(*target, "/api/v1/hospitals/" + url_encode(hospital) + "/doctor", 90);
    if (!found) {
        std::fprintf(stderr, "hisgate doctor: %s\n", found.error().describe().c_str());
        return 1;
    }
    if (json) std::printf("%s\n", found->dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    else if (found->contains("table") && (*found)["table"].is_string())
        std::printf("%s: the agent's doctor\n%s", hospital.c_str(), (*found)["table"].get<std::string>().c_str());
    else std::printf("%s\n", found->dump(2).c_str());
    return found->value("ok", false) ? 0 : 1;
}

}  // namespace hisgate::cli
