#include "transport/topics.h"

#include <cctype>

namespace hisgate::topics {

std::string request(std::string_view hid) { return std::string(kRoot) + std::string(hid) + "/request"; }
std::string response(std::string_view hid, std::string_view instance) {
    return std::string(kRoot) + std::string(hid) + "/response/" + std::string(instance);
}
std::string event(std::string_view hid) { return std::string(kRoot) + std::string(hid) + "/event"; }
std::string vitals(std::string_view hid) { return std::string(kRoot) + std::string(hid) + "/vitals"; }
std::string state(std::string_view hid) { return std::string(kRoot) + std::string(hid) + "/state"; }

std::string all_states() { return std::string(kRoot) + "+/state"; }
std::string all_vitals() { return std::string(kRoot) + "+/vitals"; }
std::string all_responses(std::string_view instance) { return std::string(kRoot) + "+/response/" + std::string(instance); }
std::string every_response() { return std::string(kRoot) + "+/response/+"; }
std::string shared_events(std::string_view group) {
    return "$share/" + std::string(group) + "/" + std::string(kRoot) + "+/event";
}

std::optional<std::string> hospital_of(std::string_view topic) {
    if (topic.substr(0, kRoot.size()) != kRoot) return std::nullopt;
    topic.remove_prefix(kRoot.size());
    auto slash = topic.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto id = topic.substr(0, slash);
    if (!valid_hospital_id(id)) return std::nullopt;
    return std::string(id);
}

bool valid_response_topic(std::string_view topic, std::string_view hospital_id) {
    if (topic.size() > kMaxResponseTopic) return false;
    std::string prefix = std::string(kRoot) + std::string(hospital_id) + "/response/";
    if (topic.substr(0, prefix.size()) != prefix) return false;
    std::string_view instance = topic.substr(prefix.size());
    if (instance.empty() || instance.size() > 64) return false;
    for (char c : instance)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

bool valid_hospital_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

}  // namespace hisgate::topics
