#include "pay-sim/faults.h"

#include "controlplane/payments/order_fields.h"

namespace hisgate::paysim {

namespace {

constexpr std::pair<FaultKind, const char*> kKinds[] = {
    {FaultKind::NotifyLost, "notify_lost"},           {FaultKind::NotifyDuplicate, "notify_duplicate"},
    {FaultKind::NotifyLate, "notify_late"},           {FaultKind::QueryNotPayOnce, "query_notpay_once"},
    {FaultKind::ClosePaidInGap, "close_paid_in_gap"}, {FaultKind::RefundFail, "refund_fail"},
};

const char* kind_name(FaultKind k) {
    for (auto [kind, name] : kKinds)
        if (kind == k) return name;
    return "unknown";
}

constexpr int kMaxCount = 1'000'000;
constexpr int64_t kMaxDelayMs = 3'600'000;

}  // namespace

Result<Fault> fault_from_json(const nlohmann::json& doc, const std::string& where) {
    auto bad = [&](const std::string& field, const std::string& expected) {
        return make_error(ErrorClass::BadInput, "faults.bad_fault", where + ": " + field + ": expected " + expected);
    };
    if (!doc.is_object()) return bad("the fault", "an object {\"kind\", \"count\", \"out_trade_no\", \"delay_ms\"}");
    for (const auto& [key, value] : doc.items())
        if (key != "kind" && key != "count" && key != "out_trade_no" && key != "delay_ms")
            return bad("\"" + key.substr(0, 32) + "\"", "only kind, count, out_trade_no, delay_ms");
    Fault f;
    if (!doc.contains("kind") || !doc["kind"].is_string()) return bad("kind", "a string");
    bool known = false;
    for (auto [kind, name] : kKinds)
        if (doc["kind"] == name) f.kind = kind, known = true;
    if (!known)
        return bad("kind", "one of notify_lost, notify_duplicate, notify_late, query_notpay_once, close_paid_in_gap, refund_fail");
    if (doc.contains("count")) {
        if (!doc["count"].is_number_integer() || doc["count"].get<int64_t>() < 1 || doc["count"].get<int64_t>() > kMaxCount)
            return bad("count", "an integer from 1 to " + std::to_string(kMaxCount));
        f.count = doc["count"].get<int>();
    }
    if (doc.contains("out_trade_no")) {
        if (!doc["out_trade_no"].is_string() || !payments::is_trade_no(doc["out_trade_no"].get<std::string>()))
            return bad("out_trade_no", "1-64 of A-Z a-z 0-9 _ -");
        f.out_trade_no = doc["out_trade_no"].get<std::string>();
    }
    if (doc.contains("delay_ms")) {
        if (f.kind != FaultKind::NotifyLate) return bad("delay_ms", "only with kind notify_late");
        if (!doc["delay_ms"].is_number_integer() || doc["delay_ms"].get<int64_t>() < 0 ||
            doc["delay_ms"].get<int64_t>() > kMaxDelayMs)
            return bad("delay_ms", "an integer from 0 to " + std::to_string(kMaxDelayMs));
        f.delay_ms = doc["delay_ms"].get<int64_t>();
    } else if (f.kind == FaultKind::NotifyLate) {
        return bad("delay_ms", "how late, in milliseconds (notify_late needs it)");
    }
    return f;
}

nlohmann::json to_json(const Fault& f) {
    nlohmann::json j = {{"kind", kind_name(f.kind)}, {"count", f.count}};
    if (!f.out_trade_no.empty()) j["out_trade_no"] = f.out_trade_no;
    if (f.kind == FaultKind::NotifyLate) j["delay_ms"] = f.delay_ms;
    return j;
}

void FaultBook::add(Fault f) {
    std::lock_guard lock(mu_);
    faults_.push_back(std::move(f));
}

std::optional<Fault> FaultBook::take(FaultKind kind, const std::string& out_trade_no) {
    std::lock_guard lock(mu_);
    auto pick = faults_.end();
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->kind != kind) continue;
        if (it->out_trade_no == out_trade_no) {
            pick = it;
            break;
        }
        if (it->out_trade_no.empty() && pick == faults_.end()) pick = it;
    }
    if (pick == faults_.end()) return std::nullopt;
    Fault used = *pick;
    if (--pick->count == 0) faults_.erase(pick);
    return used;
}

void FaultBook::clear() {
    std::lock_guard lock(mu_);
    faults_.clear();
}

nlohmann::json FaultBook::to_json() const {
    std::lock_guard lock(mu_);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : faults_) list.push_back(paysim::to_json(f));
    return list;
}

}  // namespace hisgate::paysim
