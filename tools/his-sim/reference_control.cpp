#include "his-sim/reference_control.h"

#include <regex>
#include <set>

#include "common/http_server.h"
#include "common/log.h"
#include "his-sim/body_limits.h"

namespace hisgate::sim {

namespace {

const std::regex kId("^[A-Za-z0-9_.-]{1,64}$");
const std::regex kDate("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$");
const std::regex kTime("^([01][0-9]|2[0-3]):[0-5][0-9]$");

Error bad(const std::string& field, const std::string& expected, const nlohmann::json* found) {
    std::string seen = !found ? "nothing" : found->dump();
    if (seen.size() > 80) seen = seen.substr(0, 77) + "...";
    return make_error(ErrorClass::BadInput, "control.bad_" + field,
                      "body." + field + " must be " + expected + ", found " + seen);
}

// The fields a body may carry: anything else is a typo the caller should hear about.
std::optional<Error> unknown_field(const nlohmann::json& body, const std::set<std::string>& known) {
    for (const auto& [key, value] : body.items())
        if (!known.count(key))
            return make_error(ErrorClass::BadInput, "control.unknown_field",
                              "body." + key + " is not a field here; expected only these fields");
    return std::nullopt;
}

Result<std::string> text(const nlohmann::json& body, const std::string& field, bool may_be_empty,
                         const std::regex* shape = nullptr, const char* expected = nullptr) {
    auto it = body.find(field);
    const nlohmann::json* found = it == body.end() ? nullptr : &*it;
    if (!found || !found->is_string()) return bad(field, expected ? expected : "a string", found);
    const auto& v = found->get_ref<const std::string&>();
    if (v.empty() ? !may_be_empty : (shape && !std::regex_match(v, *shape)) || v.size() > 256)
        return bad(field, expected ? expected : "a non-empty string of at most 256 bytes", found);
    return v;
}

Result<int64_t> whole(const nlohmann::json& body, const std::string& field, int64_t min, int64_t max) {
    auto it = body.find(field);
    const nlohmann::json* found = it == body.end() ? nullptr : &*it;
    if (!found || !found->is_number_integer() || found->get<int64_t>() < min || found->get<int64_t>() > max)
        return bad(field, "a whole number from " + std::to_string(min) + " to " + std::to_string(max), found);
    return found->get<int64_t>();
}

int status_of(const Error& e) {
    return e.cls == ErrorClass::BadInput ? 400 : e.cls == ErrorClass::Rejected ? 409 : 500;
}

void answer_error(Poco::Net::HTTPServerResponse& res, const Error& e) {
    send_text(res, status_of(e), "application/json", nlohmann::json{{"code", e.code}, {"message", e.message}}.dump());
}

nlohmann::json doctor_json(const Doctor& d) {
    return {{"doctorId", d.doctor_id}, {"departmentId", d.department_id}, {"name", d.name}, {"title", d.title}};
}
nlohmann::json slot_json(const ScheduleSlot& s) {
    return {{"slotId", s.slot_id}, {"doctorId", s.doctor_id}, {"departmentId", s.department_id}, {"date", s.date},
            {"start", s.start}, {"end", s.end}, {"half", s.half}, {"capacity", s.capacity}, {"booked", s.booked},
            {"feeCents", s.fee_cents}};
}

// How the agent took a pushed change, for the answer and the log.
nlohmann::json push_outcome(const Result<PushAck>& ack) {
    if (!ack) return {{"error", ack.error().describe()}};
    nlohmann::json out = {{"ack", ack->code}};
    if (!ack->text.empty()) out["text"] = ack->text;
    return out;
}

}  // namespace

Result<Doctor> doctor_from_json(const std::string& doctor_id, const nlohmann::json& body) {
    if (!body.is_object()) return make_error(ErrorClass::BadInput, "control.bad_body", "the body must be a JSON object");
    if (auto e = unknown_field(body, {"departmentId", "name", "title"})) return *e;
    Doctor d{doctor_id, "", "", ""};
    auto dep = text(body, "departmentId", false, &kId, "a department id (letters, digits, '_', '.', '-'; 1 to 64)");
    if (!dep) return dep.error();
    auto name = text(body, "name", false);
    if (!name) return name.error();
    auto title = text(body, "title", true);
    if (!title) return title.error();
    d.department_id = *dep;
    d.name = *name;
    d.title = *title;
    return d;
}

Result<ScheduleSlot> slot_from_json(const std::string& slot_id, const nlohmann::json& body) {
    if (!body.is_object()) return make_error(ErrorClass::BadInput, "control.bad_body", "the body must be a JSON object");
    if (auto e = unknown_field(body, {"doctorId", "departmentId", "date", "start", "end", "half", "capacity", "booked",
                                      "feeCents"}))
        return *e;
    ScheduleSlot s;
    s.slot_id = slot_id;
    const char* id_shape = "an id (letters, digits, '_', '.', '-'; 1 to 64)";
    auto doctor = text(body, "doctorId", false, &kId, id_shape);
    if (!doctor) return doctor.error();
    auto dep = text(body, "departmentId", false, &kId, id_shape);
    if (!dep) return dep.error();
    auto date = text(body, "date", false, &kDate, "a date YYYY-MM-DD");
    if (!date) return date.error();
    const char* time_shape = "a time HH:MM, or \"\" for a half-day or whole-day quota";
    auto start = text(body, "start", true, &kTime, time_shape);
    if (!start) return start.error();
    auto end = text(body, "end", true, &kTime, time_shape);
    if (!end) return end.error();
    if (start->empty() != end->empty() || (!start->empty() && *end <= *start))
        return bad("end", "after start (" + (start->empty() ? std::string("\"\"") : *start) +
                              "), or \"\" with start \"\"", &body["end"]);
    auto half = body.find("half");
    if (half == body.end() || !half->is_string() ||
        (*half != "" && *half != "AM" && *half != "PM"))
        return bad("half", "\"AM\", \"PM\" or \"\"", half == body.end() ? nullptr : &*half);
    auto capacity = whole(body, "capacity", 1, 100000);
    if (!capacity) return capacity.error();
    auto booked = whole(body, "booked", 0, *capacity);
    if (!booked) return booked.error();
    auto fee = whole(body, "feeCents", 0, 100000000);
    if (!fee) return fee.error();
    s.doctor_id = *doctor;
    s.department_id = *dep;
    s.date = *date;
    s.start = *start;
    s.end = *end;
    s.half = half->get<std::string>();
    s.capacity = static_cast<int>(*capacity);
    s.booked = static_cast<int>(*booked);
    s.fee_cents = *fee;
    return s;
}

bool serve_reference_control(Hospital& hospital, ReferencePusher* pusher, Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res) {
    const std::string& uri = req.getURI();
    bool doctors = uri.rfind("/doctors/", 0) == 0, slots = uri.rfind("/slots/", 0) == 0;
    if (!doctors && !slots) return false;
    const std::string id = uri.substr(doctors ? 9 : 7);
    const std::string field = doctors ? "doctorId" : "slotId";
    if (!std::regex_match(id, kId)) {
        answer_error(res, make_error(ErrorClass::BadInput, "control.bad_" + field,
                                     "the path's " + field + " must be letters, digits, '_', '.', '-' (1 to 64)"));
        return true;
    }
    const std::string& method = req.getMethod();
    if (method == "DELETE") {
        auto gone = doctors ? hospital.delete_doctor(id) : hospital.delete_slot(id);
        if (!gone) return answer_error(res, gone.error()), true;
        nlohmann::json answer = {{field, id}, {"deleted", gone.value()}};
        if (pusher && gone.value())
            answer["push"] = push_outcome(doctors ? pusher->doctor_deleted(id) : pusher->slot_deleted(id));
        log::info(doctors ? "sim.doctor_deleted" : "sim.slot_deleted", answer);
        send_text(res, 200, "application/json", answer.dump());
        return true;
    }
    if (method != "PUT") {
        send_text(res, 405, "application/json",
                  nlohmann::json{{"code", "http.method"}, {"message", uri + " takes PUT and DELETE"}}.dump());
        return true;
    }
    auto text_body = read_body(req, kMaxControlBodyBytes, "a " + std::string(doctors ? "doctor" : "slot") + " body");
    if (!text_body) return answer_error(res, text_body.error()), true;
    auto body = nlohmann::json::parse(text_body.value(), nullptr, false);
    if (body.is_discarded()) {
        answer_error(res, make_error(ErrorClass::BadInput, "control.invalid_json", "the body is not JSON"));
        return true;
    }
    nlohmann::json stored;
    if (doctors) {
        auto d = doctor_from_json(id, body);
        auto put = d ? hospital.put_doctor(d.value()) : Result<void>(d.error());
        if (!put) return answer_error(res, put.error()), true;
        stored = doctor_json(d.value());
        if (pusher) stored["push"] = push_outcome(pusher->doctor_put(d.value()));
    } else {
        auto s = slot_from_json(id, body);
        auto put = s ? hospital.put_slot(s.value()) : Result<void>(s.error());
        if (!put) return answer_error(res, put.error()), true;
        stored = slot_json(s.value());
        if (pusher) stored["push"] = push_outcome(pusher->slot_put(s.value()));
    }
    log::info(doctors ? "sim.doctor_put" : "sim.slot_put",
              {{field, id}, {"push", stored.contains("push") ? stored["push"] : nlohmann::json()}});
    send_text(res, 200, "application/json", stored.dump());
    return true;
}

}  // namespace hisgate::sim
