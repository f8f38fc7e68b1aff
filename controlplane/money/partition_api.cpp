#include "controlplane/money/partition_api.h"

#include <set>

#include "common/http_server.h"
#include "common/log.h"
#include "controlplane/api_error.h"
#include "controlplane/json_body.h"

namespace hisgate::controlplane::money {

namespace {

constexpr size_t kMaxTargets = 16;
constexpr int64_t kMaxFreezeMsLimit = 600000;

// Refusals because of where a split stands conflict with the current state: 409.
constexpr CodeStatus kSplitConflicts[] = {{"split.running", 409},  {"split.target_exists", 409}, {"split.nothing_to_roll_back", 409},
                                          {"split.map_moving", 409}, {"split.map_moved", 409},     {"split.bad_phase", 409}};

void send_split_failure(Poco::Net::HTTPServerResponse& res, const Error& e) { send_api_error(res, e, kSplitConflicts); }

Error bad(const std::string& what) { return make_error(ErrorClass::BadInput, "split.bad_request", what); }

Result<std::string> name_field(const nlohmann::json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string() || it->get<std::string>().empty() || it->get<std::string>().size() > 32)
        return bad(std::string(key) + ": a partition name (1 to 32 characters)");
    return it->get<std::string>();
}

Result<SplitRequest> split_request(const nlohmann::json& body) {
    for (const auto& [key, value] : body.items())
        if (key != "source" && key != "targets" && key != "maxFreezeMs") return bad("unknown field " + key.substr(0, 32));
    SplitRequest out;
    auto source = name_field(body, "source");
    if (!source) return source.error();
    out.source = *source;
    auto targets = body.find("targets");
    if (targets == body.end() || !targets->is_array() || targets->size() < 2 || targets->size() > kMaxTargets)
        return bad("targets: an array of 2 to " + std::to_string(kMaxTargets) + " {name, provinces} objects");
    for (const auto& t : *targets) {
        if (!t.is_object()) return bad("targets: each one {name, provinces}");
        auto name = name_field(t, "name");
        if (!name) return name.error();
        auto provinces = t.find("provinces");
        if (provinces == t.end() || !provinces->is_array() || provinces->empty() || provinces->size() > 64)
            return bad("targets[" + *name + "].provinces: an array of GB/T 2260 province codes");
        std::set<std::string> set;
        for (const auto& p : *provinces) {
            if (!p.is_string() || !ledger::known_province(p.get<std::string>()))
                return bad("targets[" + *name + "].provinces: " + p.dump().substr(0, 16) + " is not a GB/T 2260 province code");
            set.insert(p.get<std::string>());
        }
        out.targets.emplace_back(*name, std::move(set));
    }
    if (auto freeze = body.find("maxFreezeMs"); freeze != body.end()) {
        if (!freeze->is_number_integer() || freeze->get<int64_t>() < 1 || freeze->get<int64_t>() > kMaxFreezeMsLimit)
            return bad("maxFreezeMs: milliseconds, 1 to " + std::to_string(kMaxFreezeMsLimit));
        out.max_freeze = std::chrono::milliseconds(freeze->get<int64_t>());
    }
    return out;
}

nlohmann::json view_json(const PartitionsView& view) {
    nlohmann::json partitions = nlohmann::json::object();
    for (const auto& [province, partition] : view.map.partition_of_province) partitions[partition].push_back(province);
    nlohmann::json out{{"epoch", view.map.epoch}, {"partitions", partitions}};
    if (view.split_state.empty()) out["split"] = nullptr;
    else out["split"] = {{"state", view.split_state}, {"progress", view.split}};
    return out;
}

}  // namespace

const std::vector<RouteTemplate>& partition_routes() {
    static const std::vector<RouteTemplate> table = {
        {"partitions", "/api/v1/ledger/partitions", "GET, HEAD"},
        {"partition_split", "/api/v1/ledger/partitions/split", "POST"},
        {"partition_rollback", "/api/v1/ledger/partitions/rollback", "POST"},
    };
    return table;
}

std::optional<PartitionRoute> partition_route_of(const std::vector<std::string>& parts) {
    return match_route(partition_routes(), parts);
}

void handle_partition_route(const std::string& route, const auth::AccessToken& who, LedgerService& ledgers,
                            Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto forbidden = [](const std::string& why) { return make_error(ErrorClass::Rejected, "auth.forbidden", why); };
    if (route == "partitions") {
        if (who.role == auth::Role::Patient) return send_split_failure(res, forbidden("the partition map is for staff"));
        auto view = ledgers.partitions_view();
        if (!view) return send_split_failure(res, view.error());
        return send_json(res, 200, view_json(*view));
    }
    if (who.role != auth::Role::Admin) return send_split_failure(res, forbidden("partitions are split and rolled back by admins"));
    auto body = read_json_object(req, route == "partition_split" ? "the split" : "the rollback");
    if (!body) return send_split_failure(res, body.error());
    if (route == "partition_split") {
        auto request = split_request(*body);
        if (!request) return send_split_failure(res, request.error());
        auto started = ledgers.start_split(*request);
        if (!started) return send_split_failure(res, started.error());
        log::info("audit.partition_split", {{"who", who.subject}, {"source", request->source}});
        return send_json(res, 202, started->to_json());
    }
    for (const auto& [key, value] : body->items())
        if (key != "source") return send_split_failure(res, bad("unknown field " + key.substr(0, 32)));
    auto source = name_field(*body, "source");
    if (!source) return send_split_failure(res, source.error());
    auto rolled = ledgers.rollback_split(*source);
    if (!rolled) return send_split_failure(res, rolled.error());
    log::info("audit.partition_rollback", {{"who", who.subject}, {"source", *source}});
    send_json(res, 200, rolled->to_json());
}

}  // namespace hisgate::controlplane::money
