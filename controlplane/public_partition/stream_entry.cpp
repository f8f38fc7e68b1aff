#include "controlplane/public_partition/stream_entry.h"

#include <cstdio>

namespace hisgate::controlplane::public_partition {

namespace {
const char* kind_name(EntryKind k) {
    switch (k) {
        case EntryKind::Changes: return "changes";
        case EntryKind::Replace: return "replace";
        case EntryKind::State: return "state";
    }
    return "changes";
}

Error bad(const std::string& what) { return make_error(ErrorClass::BadInput, "stream.entry", what); }
}  // namespace

std::string checksum_text(uint64_t checksum) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(checksum));
    return buf;
}

Result<uint64_t> parse_checksum(const std::string& text) {
    if (text.size() != 16) return bad("checksum: expected 16 hex digits");
    uint64_t v = 0;
    for (char c : text) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return bad("checksum: expected 16 lowercase hex digits");
        v = v << 4 | static_cast<uint64_t>(d);
    }
    return v;
}

nlohmann::json records_to_json(const std::vector<RecordChange>& records) {
    auto list = nlohmann::json::array();
    for (const auto& r : records)
        list.push_back({{"entity", r.entity}, {"key", r.key}, {"op", r.remove ? "delete" : "upsert"}, {"data", r.data}});
    return list;
}

nlohmann::json StreamEntry::to_json() const {
    auto list = records_to_json(records);
    return {{"pos", pos},           {"hospital", hospital_id},          {"kind", kind_name(kind)},
            {"seq", seq},           {"suspect", suspect},               {"checksum", checksum_text(checksum)},
            {"atMs", at_ms},        {"records", std::move(list)}};
}

Result<StreamEntry> parse_stream_entry(const nlohmann::json& j) {
    if (!j.is_object()) return bad("expected an object");
    StreamEntry e;
    auto integer = [&](const char* f, int64_t min, int64_t& out) -> Result<void> {
        auto it = j.find(f);
        if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < min)
            return bad(std::string(f) + ": expected an integer >= " + std::to_string(min));
        out = it->get<int64_t>();
        return {};
    };
    if (auto r = integer("pos", 1, e.pos); !r) return r.error();
    if (auto r = integer("seq", 0, e.seq); !r) return r.error();
    if (auto r = integer("atMs", 0, e.at_ms); !r) return r.error();
    auto hospital = j.find("hospital");
    if (hospital == j.end() || !hospital->is_string() || hospital->get_ref<const std::string&>().empty() ||
        hospital->get_ref<const std::string&>().size() > kMaxKeyBytes)
        return bad("hospital: expected a hospital id");
    e.hospital_id = hospital->get<std::string>();
    auto kind = j.find("kind");
    if (kind == j.end() || !kind->is_string()) return bad("kind: expected \"changes\", \"replace\" or \"state\"");
    if (*kind == "changes") e.kind = EntryKind::Changes;
    else if (*kind == "replace") e.kind = EntryKind::Replace;
    else if (*kind == "state") e.kind = EntryKind::State;
    else return bad("kind: expected \"changes\", \"replace\" or \"state\"");
    auto suspect = j.find("suspect");
    if (suspect == j.end() || !suspect->is_boolean()) return bad("suspect: expected true or false");
    e.suspect = suspect->get<bool>();
    auto checksum = j.find("checksum");
    if (checksum == j.end() || !checksum->is_string()) return bad("checksum: expected 16 hex digits");
    auto sum = parse_checksum(checksum->get<std::string>());
    if (!sum) return sum.error();
    e.checksum = *sum;
    // The primary checked the records as they came from the agent; a replica checks them
    // again, trusting no input.
    static const nlohmann::json none;
    auto list = j.find("records");
    auto records = parse_change_records(list == j.end() ? none : *list, e.hospital_id);
    if (!records) return bad("records: " + records.error().message);
    e.records = std::move(records.value());
    return e;
}

}  // namespace hisgate::controlplane::public_partition
