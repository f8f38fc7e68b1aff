#include "agent/booking_request.h"

#include "appointment-rules/calendar.h"
#include "common/config.h"

namespace hisgate::agent {

Result<BookingAsk> read_booking_ask(const nlohmann::json& body, std::chrono::sys_seconds now) {
    using namespace appointments;
    ConfigReader r(body, "body");
    BookingAsk ask;
    ask.order.order_id = r.string("orderId");
    ask.order.slot_id = r.string("slotId");
    ask.order.patient_id = r.string("patient.id");

    Slot& slot = ask.request.slot;
    slot.doctor_id = r.string("slot.doctorId");
    slot.department_id = r.string("slot.departmentId");
    std::string date = r.string("slot.date");
    if (auto d = parse_date(date)) slot.date = *d;
    else r.problem("slot.date", "a date YYYY-MM-DD", "\"" + date + "\"");
    std::string start = r.string("slot.start", ""), end = r.string("slot.end", "");
    if (!start.empty() || !end.empty()) {
        auto s = parse_time_of_day(start), e = parse_time_of_day(end);
        if (s && e) slot.time = SlotTime{*s, *e};
        else r.problem("slot.start", "start and end as HH:MM, or neither", "\"" + start + "\" to \"" + end + "\"");
    }
    std::string half = r.string("slot.half", "");
    if (half == "AM") slot.half = Half::morning;
    else if (half == "PM") slot.half = Half::afternoon;
    else if (!half.empty()) r.problem("slot.half", "\"AM\", \"PM\" or \"\"", "\"" + half + "\"");
    std::string visit = r.string("slot.visit", "first");
    if (visit == "follow_up") slot.visit = VisitKind::follow_up;
    else if (visit != "first") r.problem("slot.visit", "\"first\" or \"follow_up\"", "\"" + visit + "\"");
    slot.fee = r.integer("slot.feeCents", 0, 0, INT64_MAX);
    slot.deposit = r.integer("slot.depositCents", 0, 0, INT64_MAX);

    Patient& patient = ask.request.patient;
    patient.id = ask.order.patient_id;
    std::string birth = r.string("patient.birthDate", "");
    if (!birth.empty()) {
        if (auto d = parse_date(birth)) patient.birth_date = *d;
        else r.problem("patient.birthDate", "a date YYYY-MM-DD", "\"" + birth + "\"");
    }
    std::string sex = r.string("patient.sex", "unknown");
    if (sex == "female") patient.sex = Sex::female;
    else if (sex == "male") patient.sex = Sex::male;
    else if (sex != "unknown") r.problem("patient.sex", "\"female\", \"male\" or \"unknown\"", "\"" + sex + "\"");
    patient.real_name_verified = r.boolean("patient.realNameVerified", false);
    patient.no_show_count = static_cast<int>(r.integer("patient.noShowCount", 0, 0, 100000));

    BookingCounts& c = ask.counts;
    c.doctor_day = static_cast<int>(r.integer("counts.doctorDay", 0, 0, 1000000));
    c.department_day = static_cast<int>(r.integer("counts.departmentDay", 0, 0, 1000000));
    c.patient_day = static_cast<int>(r.integer("counts.patientDay", 0, 0, 1000000));
    c.patient_department_day = static_cast<int>(r.integer("counts.patientDepartmentDay", 0, 0, 1000000));
    c.first_visits_day = static_cast<int>(r.integer("counts.firstVisitsDay", 0, 0, 1000000));
    c.follow_ups_day = static_cast<int>(r.integer("counts.followUpsDay", 0, 0, 1000000));
    c.patient_holds_morning = r.boolean("counts.patientHoldsMorning", false);
    c.patient_holds_afternoon = r.boolean("counts.patientHoldsAfternoon", false);
    c.prepaid = r.boolean("counts.prepaid", false);
    c.deposit_paid = r.integer("counts.depositPaidCents", 0, 0, INT64_MAX);

    ask.request.requested_at = now;
    if (auto done = r.finish(); !done)
        return make_error(ErrorClass::BadInput, "request.invalid", done.error().message);
    return ask;
}

}  // namespace hisgate::agent
