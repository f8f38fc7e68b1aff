#include "adapters/hl7v2/push_message.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "adapters/his_values.h"
#include "adapters/money.h"
#include "hl7/path.h"

namespace hisgate::hl7v2 {

namespace {

PushRefusal refuse(hl7::AckCode code, std::string hl7_code, const std::string& path, std::string text) {
    hl7::AckError e;
    e.hl7_code = std::move(hl7_code);
    e.text = std::move(text);
    if (auto p = hl7::parse_path(path)) {
        e.segment = p->segment;
        e.sequence = p->occurrence;
        e.field = p->field;
    }
    return {code, std::move(e)};
}

// "STF[2]-3-1"; indexes that are 1 are left out where HL7 allows.
std::string path_text(const hl7::Path& p) {
    std::string s = p.segment;
    if (p.occurrence != 1) s += "[" + std::to_string(p.occurrence) + "]";
    s += "-" + std::to_string(p.field);
    if (p.repetition != 1) s += "(" + std::to_string(p.repetition) + ")";
    if (p.component != 1 || p.subcomponent != 1) s += "-" + std::to_string(p.component);
    if (p.subcomponent != 1) s += "-" + std::to_string(p.subcomponent);
    return s;
}

// The segments of one MFE group: which occurrence of each segment name belongs to it, so a
// field path such as "STF-3-1" is read from this group's STF.
struct Group {
    std::map<std::string, std::size_t> occurrence;  // segment name -> occurrence in the message
};

// Reads values at logical fields within one group (or the whole message for SIU).
class Reader {
public:
    Reader(const hl7::Message& m, const PushFields& f, const Group* g) : m_(m), f_(f), g_(g) {}

    // The value and the path it was read from (for error locations).
    std::pair<std::string, std::string> at(const std::string& logical) const {
        auto p = hl7::parse_path(f_.path(logical));
        if (!p) return {"", f_.path(logical)};  // checked at start; unreachable
        if (g_) {
            auto it = g_->occurrence.find(p->segment);
            if (it == g_->occurrence.end()) return {"", path_text(*p)};
            p->occurrence = it->second;
        }
        std::string where = path_text(*p);
        return {m_.get(where), where};
    }

private:
    const hl7::Message& m_;
    const PushFields& f_;
    const Group* g_;
};

// A required value, or the refusal naming where it was expected.
Result<std::string> required(const Reader& r, const std::string& logical, std::optional<PushRefusal>& refusal) {
    auto [value, where] = r.at(logical);
    if (value.empty()) {
        refusal = refuse(hl7::AckCode::AE, "101", where,
                         "required field missing: " + logical + " at " + where + " is empty");
        return make_error(ErrorClass::BadInput, "push.missing", "");
    }
    return value;
}

std::vector<Group> mfe_groups(const hl7::Message& m) {
    std::vector<Group> groups;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < m.segment_count(); ++i) {
        std::string name(m.segment(i).name());
        std::size_t occurrence = ++seen[name];
        if (name == "MFE") groups.emplace_back();
        if (!groups.empty() && !groups.back().occurrence.count(name)) groups.back().occurrence[name] = occurrence;
    }
    return groups;
}

enum class Entity { Department, Doctor };

void read_master_file(const hl7::Message& m, const PushFields& f, Entity entity, PushReading& out) {
    auto groups = mfe_groups(m);
    if (groups.empty()) {
        out.refusal = refuse(hl7::AckCode::AE, "100", "MFE-1", "required segment missing: an MFN message needs at least one MFE");
        return;
    }
    for (const auto& g : groups) {
        Reader r(m, f, &g);
        auto event = required(r, "record.event", out.refusal);
        if (!event) return;
        auto key = required(r, "record.key", out.refusal);
        if (!key) return;
        const std::string& code = event.value();
        if (code == "MDL" || code == "MDC") {
            ReferenceUpdate gone{Department{key.value(), ""}, true};
            if (entity == Entity::Doctor) gone.record = Doctor{key.value(), "", "", ""};
            out.updates.push_back(std::move(gone));
            continue;
        }
        if (code != "MAD" && code != "MUP" && code != "MAC") {
            out.refusal = refuse(hl7::AckCode::AE, "103", r.at("record.event").second,
                                 "table value not found: record event \"" + code +
                                     "\" of " + (entity == Entity::Doctor ? "doctor" : "department") + " " +
                                     key.value() + "; expected MAD, MUP, MAC, MDL or MDC");
            return;
        }
        if (entity == Entity::Department) {
            auto name = required(r, "department.name", out.refusal);
            if (!name) return;
            Department d;
            d.department_id = key.value();
            d.name = name.value();
            out.updates.push_back({d});
        } else {
            auto family = required(r, "doctor.family_name", out.refusal);
            if (!family) return;
            auto department = required(r, "doctor.department_id", out.refusal);
            if (!department) return;
            std::string given = r.at("doctor.given_name").first;
            Doctor d;
            d.doctor_id = key.value();
            d.department_id = department.value();
            d.name = given.empty() ? family.value() : family.value() + " " + given;
            d.title = r.at("doctor.title").first;
            out.updates.push_back({d});
        }
    }
}

bool digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// YYYYMMDD[HHMM[SS...]] -> (YYYY-MM-DD, HH:MM or "").
std::optional<std::pair<std::string, std::string>> split_timestamp(const std::string& ts) {
    if (ts.size() < 8 || !digits(ts.substr(0, 8))) return std::nullopt;
    int month = std::stoi(ts.substr(4, 2)), day = std::stoi(ts.substr(6, 2));
    if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
    std::string date = ts.substr(0, 4) + "-" + ts.substr(4, 2) + "-" + ts.substr(6, 2);
    if (ts.size() < 12) return std::pair{date, std::string()};
    if (!digits(ts.substr(8, 4)) || std::stoi(ts.substr(8, 2)) > 23 || std::stoi(ts.substr(10, 2)) > 59)
        return std::nullopt;
    return std::pair{date, ts.substr(8, 2) + ":" + ts.substr(10, 2)};
}

void read_slot(const hl7::Message& m, const PushFields& f, bool withdrawn, PushReading& out) {
    Reader r(m, f, nullptr);
    auto id = required(r, "slot.id", out.refusal);
    if (!id) return;
    if (withdrawn) {
        ScheduleSlot gone;
        gone.slot_id = id.value();
        out.updates.push_back({gone, true});
        return;
    }
    auto start = required(r, "slot.start", out.refusal);
    if (!start) return;
    auto doctor = required(r, "slot.doctor_id", out.refusal);
    if (!doctor) return;
    auto department = required(r, "slot.department_id", out.refusal);
    if (!department) return;
    auto capacity_text = required(r, "slot.capacity", out.refusal);
    if (!capacity_text) return;

    auto bad = [&](const std::string& logical, const std::string& expected) {
        auto [value, where] = r.at(logical);
        out.refusal = refuse(hl7::AckCode::AE, "102", where,
                             "data type error: " + logical + " of slot " + id.value() + " at " + where + " is \"" +
                                 value + "\"; expected " + expected);
    };
    auto begins = split_timestamp(start.value());
    if (!begins) return bad("slot.start", "a timestamp YYYYMMDD or YYYYMMDDHHMM");
    ScheduleSlot slot;
    slot.slot_id = id.value();
    slot.doctor_id = doctor.value();
    slot.department_id = department.value();
    slot.date = begins->first;
    slot.start = begins->second;
    if (auto end_text = r.at("slot.end").first; !end_text.empty()) {
        auto ends = split_timestamp(end_text);
        if (!ends) return bad("slot.end", "a timestamp YYYYMMDD or YYYYMMDDHHMM");
        slot.end = ends->second;
    }
    slot.half = r.at("slot.half").first;
    if (!slot.half.empty() && slot.half != "AM" && slot.half != "PM") return bad("slot.half", "AM, PM or empty");
    auto capacity = whole_number(capacity_text.value());
    if (!capacity || *capacity < 0) return bad("slot.capacity", "a whole number of places");
    slot.capacity = *capacity;
    if (auto booked_text = r.at("slot.booked").first; !booked_text.empty()) {
        auto booked = whole_number(booked_text);
        if (!booked || *booked < 0 || *booked > slot.capacity) return bad("slot.booked", "a whole number from 0 to the capacity");
        slot.booked = *booked;
    }
    if (auto fee_text = r.at("slot.fee").first; !fee_text.empty()) {
        auto fee = decimal_to_cents(fee_text);
        if (!fee || *fee < 0) return bad("slot.fee", "a decimal amount such as 25.00");
        slot.fee_cents = *fee;
    }
    out.updates.push_back({slot});
}

}  // namespace

PushReading read_push(const hl7::Message& m, const PushFields& fields) {
    PushReading out;
    std::string type = m.get("MSH-9-1"), event = m.get("MSH-9-2");
    out.kind = type + "^" + event;
    if (type == "MFN" && event == "M02") read_master_file(m, fields, Entity::Doctor, out);
    else if (type == "MFN" && event == "M05") read_master_file(m, fields, Entity::Department, out);
    else if (type == "SIU" && (event == "S12" || event == "S13" || event == "S14")) read_slot(m, fields, false, out);
    else if (type == "SIU" && (event == "S15" || event == "S17")) read_slot(m, fields, true, out);
    else if (type == "MFN" || type == "SIU")
        out.refusal = refuse(hl7::AckCode::AR, "201", "MSH-9-2",
                             "unsupported event code: " + out.kind +
                                 "; reference data is taken as MFN^M02, MFN^M05 and SIU^S12, S13, S14, S15, S17");
    else
        out.refusal = refuse(hl7::AckCode::AR, "200", "MSH-9",
                             "unsupported message type: " + out.kind +
                                 "; reference data is taken as MFN^M02, MFN^M05 and SIU^S12, S13, S14, S15, S17");
    if (out.refusal) out.updates.clear();
    return out;
}

}  // namespace hisgate::hl7v2
