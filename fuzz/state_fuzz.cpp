// libFuzzer target for the agents' retained state messages as the control plane reads them
// (HospitalRegistry::apply_state; see docs/fuzzing.md).
//
// Input: byte 0 picks the topic (hospital H001's or H002's state topic, or a topic made of
// the next bytes, up to 96 of them), the rest is one or more payloads separated by NUL bytes
// (which JSON never holds raw), applied in order to one registry. Checked on every message:
//  - a message applied names its topic's hospital, which is then known, online as the
//    body says (the description of an offline one is what it said online);
//  - a refused message changes nothing (the registry reads the same before and after);
//  - the hospital list the API serves (every online birth, with its id) renders to JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log.h"
#include "controlplane/hospital_registry.h"
#include "transport/topics.h"
#include "fuzz_check.h"

using hisgate::IncomingMessage;
using hisgate::controlplane::HospitalRegistry;
using hisgate::controlplane::HospitalState;

namespace {

std::string snapshot(const HospitalRegistry& registry, const std::string& hospital) {
    nlohmann::json out = nlohmann::json::array();
    for (const HospitalState& h : registry.online()) out.push_back({h.hospital_id, h.birth, h.updated_at});
    if (auto h = registry.find(hospital)) out.push_back({h->hospital_id, h->online, h->birth, h->updated_at});
    return out.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static bool quiet = (hisgate::log::init("state_fuzz", "/dev/null", hisgate::log::Level::Error), true);
    (void)quiet;
    if (size < 1) return 0;
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    std::string topic;
    switch (data[0] % 4) {
        case 0: topic = hisgate::topics::state("H001"); break;
        case 1: topic = hisgate::topics::state("H002"); break;
        case 2: topic = "hisgate/v1/hospitals/H001/event"; break;
        default: {
            std::size_t n = std::min<std::size_t>(rest.size(), data[0] % 97);
            topic = std::string(rest.substr(0, n));
            rest.remove_prefix(n);
        }
    }
    auto hospital = hisgate::topics::hospital_of(topic);
    HospitalRegistry registry;
    while (true) {
        std::size_t end = rest.find('\0');
        IncomingMessage msg;
        msg.topic = topic;
        msg.payload = std::string(rest.substr(0, end));
        msg.retained = true;
        std::string before = snapshot(registry, hospital.value_or(""));
        auto applied = registry.apply_state(msg);
        if (!applied) {
            FUZZ_CHECK(!applied.error().code.empty());
            FUZZ_CHECK(snapshot(registry, hospital.value_or("")) == before);
        } else {
            FUZZ_CHECK(hospital.has_value());
            auto h = registry.find(*hospital);
            if (msg.payload.empty()) {
                FUZZ_CHECK(!h.has_value() || !h->online);  // a cleared retained message: offline, still known
            } else {
                FUZZ_CHECK(h.has_value() && h->hospital_id == *hospital && h->birth.is_object() &&
                      h->birth["online"].is_boolean() && h->online == h->birth["online"].get<bool>());
            }
        }
        nlohmann::json list = nlohmann::json::array();
        for (const HospitalState& h : registry.online()) {
            FUZZ_CHECK(h.online);
            nlohmann::json item = h.birth;
            item["hospitalId"] = h.hospital_id;
            item["updatedAt"] = h.updated_at;
            list.push_back(std::move(item));
        }
        (void)nlohmann::json({{"hospitals", list}}).dump();
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    return 0;
}
