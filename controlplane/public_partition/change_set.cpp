#include "controlplane/public_partition/change_set.h"

#include <algorithm>
#include <cstring>

namespace hisgate::controlplane::public_partition {

namespace {

enum class Kind { Text, Integer, Date, Time, Half };

struct FieldRule {
    const char* name;
    Kind kind;
    bool required;
    int64_t max;  // Text: bytes; Integer: largest value (smallest is 0)
};

struct EntityRules {
    const char* entity;
    const char* id_field;  // equals the record's key
    std::vector<FieldRule> fields;
};

// What each entity's data must hold. Fields not listed are ignored (a newer agent may send
// more); a listed field that is present must have its type whatever `required` says.
const std::vector<EntityRules>& entity_rules() {
    static const std::vector<EntityRules> rules = {
        {kHospital, "hospitalId",
         {{"hospitalId", Kind::Text, true, kMaxKeyBytes}, {"name", Kind::Text, false, 200},
          {"region", Kind::Text, false, 32}, {"city", Kind::Text, false, 64}, {"level", Kind::Text, false, 8}}},
        {kDepartment, "departmentId",
         {{"departmentId", Kind::Text, true, kMaxKeyBytes}, {"name", Kind::Text, true, 200}}},
        {kDoctor, "doctorId",
         {{"doctorId", Kind::Text, true, kMaxKeyBytes}, {"departmentId", Kind::Text, true, kMaxKeyBytes},
          {"name", Kind::Text, true, 200}, {"title", Kind::Text, false, 64}, {"specialty", Kind::Text, false, 200}}},
        {kSlot, "slotId",
         {{"slotId", Kind::Text, true, kMaxKeyBytes}, {"doctorId", Kind::Text, true, kMaxKeyBytes},
          {"departmentId", Kind::Text, true, kMaxKeyBytes}, {"date", Kind::Date, true, 0},
          {"start", Kind::Time, false, 0}, {"end", Kind::Time, false, 0}, {"half", Kind::Half, false, 0},
          {"capacity", Kind::Integer, true, 1000000}, {"booked", Kind::Integer, true, 1000000},
          {"feeCents", Kind::Integer, false, 100000000000}}},
    };
    return rules;
}

const EntityRules* rules_of(const std::string& entity) {
    for (const auto& r : entity_rules())
        if (entity == r.entity) return &r;
    return nullptr;
}

bool digits(const std::string& s, size_t from, size_t n) {
    return std::all_of(s.begin() + static_cast<long>(from), s.begin() + static_cast<long>(from + n),
                       [](char c) { return c >= '0' && c <= '9'; });
}

// "" when the value fits the rule, otherwise what was expected.
std::string misfit(const FieldRule& rule, const nlohmann::json& v) {
    switch (rule.kind) {
        case Kind::Text:
            if (!v.is_string()) return "a string";
            if (v.get_ref<const std::string&>().size() > static_cast<size_t>(rule.max))
                return "a string of at most " + std::to_string(rule.max) + " bytes";
            return "";
        case Kind::Integer:
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > rule.max)
                return "an integer from 0 to " + std::to_string(rule.max);
            return "";
        case Kind::Date: {
            if (!v.is_string()) return "a date YYYY-MM-DD";
            const auto& s = v.get_ref<const std::string&>();
            if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4) || !digits(s, 5, 2) || !digits(s, 8, 2))
                return "a date YYYY-MM-DD";
            return "";
        }
        case Kind::Time: {
            if (!v.is_string()) return "a time HH:MM or \"\"";
            const auto& s = v.get_ref<const std::string&>();
            if (!s.empty() && (s.size() != 5 || s[2] != ':' || !digits(s, 0, 2) || !digits(s, 3, 2)))
                return "a time HH:MM or \"\"";
            return "";
        }
        case Kind::Half: {
            if (!v.is_string()) return "\"AM\", \"PM\" or \"\"";
            const auto& s = v.get_ref<const std::string&>();
            if (s != "AM" && s != "PM" && !s.empty()) return "\"AM\", \"PM\" or \"\"";
            return "";
        }
    }
    return "a known kind";
}

bool printable_key(const std::string& k) {
    return !k.empty() && k.size() <= kMaxKeyBytes &&
           std::none_of(k.begin(), k.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Error bad(const std::string& prefix, const std::string& code, const std::string& message) {
    return make_error(ErrorClass::BadInput, prefix + "." + code, message);
}

// One record of a change set (`with_op`) or a snapshot (upserts, no op).
Result<RecordChange> parse_record(const nlohmann::json& c, size_t index, const std::string& prefix,
                                  const std::string& hospital_id, bool with_op) {
    const std::string where = (with_op ? "changes[" : "records[") + std::to_string(index) + "]";
    if (!c.is_object()) return bad(prefix, "record", where + ": expected an object");
    RecordChange out;
    auto entity = c.find("entity");
    if (entity == c.end() || !entity->is_string() || !rules_of(entity->get<std::string>()))
        return bad(prefix, "record", where + ".entity: expected \"hospital\", \"department\", \"doctor\" or \"slot\"");
    out.entity = entity->get<std::string>();
    auto key = c.find("key");
    if (key == c.end() || !key->is_string() || !printable_key(key->get<std::string>()))
        return bad(prefix, "record",
                   where + ".key: expected 1 to " + std::to_string(kMaxKeyBytes) + " bytes without control characters");
    out.key = key->get<std::string>();
    if (out.entity == kHospital && out.key != hospital_id)
        return bad(prefix, "record", where + ".key: a hospital record must be the hospital's own (" + hospital_id + ")");
    if (with_op) {
        auto op = c.find("op");
        if (op == c.end() || !op->is_string() || (*op != "upsert" && *op != "delete"))
            return bad(prefix, "record", where + ".op: expected \"upsert\" or \"delete\"");
        out.remove = *op == "delete";
    }
    auto data = c.find("data");
    if (out.remove) {
        out.data = nullptr;
        return out;
    }
    if (data == c.end() || !data->is_object()) return bad(prefix, "record", where + ".data: expected an object");
    const auto& rules = *rules_of(out.entity);
    for (const auto& rule : rules.fields) {
        auto f = data->find(rule.name);
        if (f == data->end() || f->is_null()) {
            if (rule.required) return bad(prefix, "record", where + ".data." + rule.name + ": missing");
            continue;
        }
        if (auto expected = misfit(rule, *f); !expected.empty())
            return bad(prefix, "record", where + ".data." + rule.name + ": expected " + expected);
    }
    if ((*data)[rules.id_field] != out.key)
        return bad(prefix, "record", where + ".data." + rules.id_field + ": expected the record's key \"" + out.key + "\"");
    out.data = *data;
    return out;
}

Result<int64_t> read_seq(const nlohmann::json& body, const char* field, const std::string& prefix, int64_t min) {
    auto f = body.find(field);
    if (f == body.end() || !f->is_number_integer() || f->get<int64_t>() < min || f->get<int64_t>() > (int64_t{1} << 53))
        return bad(prefix, "seq", std::string(field) + ": expected an integer from " + std::to_string(min) + " to 2^53");
    return f->get<int64_t>();
}

// The checks a change set and a snapshot share: an object of this schema and hospital.
Result<void> check_head(const nlohmann::json& body, const std::string& prefix, const std::string& hospital_id) {
    if (!body.is_object()) return bad(prefix, "record", "expected an object");
    auto schema = body.find("schema");
    if (schema == body.end() || !schema->is_number_integer() || schema->get<int64_t>() != kChangeSetSchema)
        return bad(prefix, "schema", "schema: expected " + std::to_string(kChangeSetSchema) + ", found " +
                                         (schema == body.end() ? std::string("none") : schema->dump().substr(0, 32)));
    auto hospital = body.find("hospital");
    if (hospital == body.end() || !hospital->is_string() || *hospital != hospital_id)
        return bad(prefix, "hospital", "hospital: expected \"" + hospital_id + "\" (the topic's), found " +
                                           (hospital == body.end() ? std::string("none") : hospital->dump().substr(0, 80)));
    return {};
}

// `list` is the array named `field` (null when absent).
Result<void> read_list(const nlohmann::json& list, const char* field, const std::string& prefix,
                       const std::string& hospital_id, bool with_op, std::vector<RecordChange>& out) {
    if (!list.is_array() || list.size() > kMaxRecords)
        return bad(prefix, "record", std::string(field) + ": expected an array of at most " + std::to_string(kMaxRecords));
    out.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
        auto r = parse_record(list[i], i, prefix, hospital_id, with_op);
        if (!r) return r.error();
        out.push_back(std::move(r.value()));
    }
    return {};
}

Result<void> read_records(const nlohmann::json& body, const char* field, const std::string& prefix,
                          const std::string& hospital_id, bool with_op, std::vector<RecordChange>& out) {
    auto list = body.find(field);
    return read_list(list == body.end() ? nlohmann::json(nullptr) : *list, field, prefix, hospital_id, with_op, out);
}

}  // namespace

Result<ChangeSet> parse_change_set(const nlohmann::json& body, const std::string& hospital_id) {
    const std::string prefix = "changeset";
    if (auto head = check_head(body, prefix, hospital_id); !head) return head.error();
    ChangeSet cs;
    cs.hospital_id = hospital_id;
    auto seq = read_seq(body, "seq", prefix, 1);
    if (!seq) return seq.error();
    cs.seq = *seq;
    auto base = read_seq(body, "baseSeq", prefix, 0);
    if (!base) return base.error();
    if (*base != cs.seq - 1)
        return bad(prefix, "seq", "baseSeq: expected seq - 1 = " + std::to_string(cs.seq - 1) + ", found " +
                                      std::to_string(*base));
    auto source = body.find("source");
    cs.source = source != body.end() && source->is_string() && (*source == "pull" || *source == "push")
                    ? source->get<std::string>()
                    : "other";
    if (auto r = read_records(body, "changes", prefix, hospital_id, true, cs.changes); !r) return r.error();
    return cs;
}

Result<std::vector<RecordChange>> parse_change_records(const nlohmann::json& changes, const std::string& hospital_id) {
    std::vector<RecordChange> out;
    if (auto r = read_list(changes, "changes", "changeset", hospital_id, true, out); !r) return r.error();
    return out;
}

Result<Snapshot> parse_snapshot(const nlohmann::json& body, const std::string& hospital_id) {
    const std::string prefix = "snapshot";
    if (auto head = check_head(body, prefix, hospital_id); !head) return head.error();
    Snapshot s;
    s.hospital_id = hospital_id;
    auto seq = read_seq(body, "seq", prefix, 0);
    if (!seq) return seq.error();
    s.seq = *seq;
    if (auto r = read_records(body, "records", prefix, hospital_id, false, s.records); !r) return r.error();
    return s;
}

}  // namespace hisgate::controlplane::public_partition
