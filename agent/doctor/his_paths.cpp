#include "agent/doctor/his_paths.h"

#include <chrono>

#include "appointment-rules/calendar.h"
#include "common/pattern.h"
#include "common/time_zone.h"
#include "common/trace.h"

namespace hisgate::agent::doctor {

namespace {

using Clock = std::chrono::steady_clock;

int64_t millis_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// The hospital's date `days` from today (its own time zone; UTC if that cannot load,
// which the params_file row would already have reported).
std::string hospital_date(const params::ParamSet& p, int days) {
    auto zone = TimeZone::load(p.string("hospital.timezone"));
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto local = zone ? zone->to_local(now) : TimeZone().to_local(now);
    auto today = std::chrono::floor<std::chrono::days>(local);
    return appointments::format_date(std::chrono::year_month_day{today + std::chrono::days(days)});
}

// A report id nobody has, in the hospital's report id format, or "" if none of the
// candidates fits that format.
std::string made_up_report_id(const params::ParamSet& p) {
    auto format = Pattern::compile(p.string("his.id_formats.report_id"));
    if (!format) return "";  // the params_file row reports it
    for (const char* candidate : {"HISGATE-DOCTOR-0", "R-HISGATE-DOCTOR-0", "999999999999", "0000000000", "ZZ99999999"})
        if (format->full_match(candidate)) return candidate;
    return "";
}

// The row for one path: FAIL on an error, WARN when it used more than half of
// his.answer_timeout (a loaded HIS times out under real traffic).
Finding timed(const std::string& check, Finding f, int64_t ms, const params::ParamSet& p) {
    f.check = check;
    f.millis = ms;
    auto budget = p.duration("his.answer_timeout").count();
    if (f.status == Status::Ok && ms * 2 > budget)
        f = Finding{check, Status::Warn, f.detail + "; slow: more than half of his.answer_timeout (" + std::to_string(budget) + " ms)",
                    "ask the HIS team why this query is slow, or raise his.answer_timeout", ms};
    return f;
}

Finding failed(const Error& e, const params::ParamSet& p) { return fail("", e.describe(), his_fix(e, p)); }

}  // namespace

std::string his_fix(const Error& e, const params::ParamSet& p) {
    std::string endpoint = p.string("his.endpoint");
    switch (e.cls) {
        case ErrorClass::Unavailable:
            return "make sure the HIS interface is running and this server can reach " + endpoint +
                   " (his.endpoint; firewall, address, port, TLS settings his.tls.*)";
        case ErrorClass::Timeout:
            return "the HIS took longer than his.answer_timeout (" + std::to_string(p.duration("his.answer_timeout").count()) +
                   " ms): ask the HIS team to check its load, or raise his.answer_timeout";
        case ErrorClass::Protocol:
            return "the HIS answered what the " + p.string("his.dialect") +
                   " adapter cannot read: compare his.* (field positions, field maps, charset) with the vendor's interface specification";
        case ErrorClass::Rejected:
            return "the HIS refused the request: ask the HIS vendor what its code means and whether this interface user may query; "
                   "map the code in his.error_map";
        case ErrorClass::Config:
            return "correct the parameter the detail names";
        case ErrorClass::BadInput:
            return "give a report id in the hospital's format (his.id_formats.report_id)";
        default:
            return "report this to the platform team with the detail";
    }
}

Findings check_his_paths(HisAdapter& adapter, const params::ParamSet& p, const std::string& report_id) {
    Findings out;

    auto start = Clock::now();
    std::string today = hospital_date(p, 0);
    auto ref = adapter.extract_reference_data(today, today);
    out.push_back(timed("his.reference_data",
                        ref ? ok("", std::to_string(ref->departments.size()) + " departments, " +
                                         std::to_string(ref->doctors.size()) + " doctors, " + std::to_string(ref->slots.size()) +
                                         " slots for " + today)
                            : failed(ref.error(), p),
                        millis_since(start), p));
    if (ref && ref->departments.empty())
        out.back() = Finding{"his.reference_data", Status::Warn, out.back().detail + ": the HIS lists no departments",
                             "ask the HIS team whether this interface user may see the departments", out.back().millis};

    std::string asked = report_id.empty() ? made_up_report_id(p) : report_id;
    if (asked.empty()) {
        out.push_back(warn("his.report", "not checked: no made-up report id fits his.id_formats.report_id",
                           "run doctor again with --report-id <a report the HIS has>"));
    } else {
        start = Clock::now();
        auto report = adapter.get_report(asked);
        Finding f;
        if (report)
            f = ok("", "report " + asked + " read: " + std::to_string(report->observations.size()) + " observations");
        else if (report.error().cls == ErrorClass::NotFound && report_id.empty())
            f = ok("", "the HIS answered \"no such report\" for the made-up id " + asked);
        else if (report.error().cls == ErrorClass::NotFound)
            f = fail("", "the HIS has no report " + asked + " (" + report.error().describe() + ")",
                     "give --report-id a report the HIS has");
        else
            f = failed(report.error(), p);
        out.push_back(timed("his.report", std::move(f), millis_since(start), p));
    }

    start = Clock::now();
    std::string order_id = "DOCTOR-" + random_hex(6);
    auto payment = adapter.payment_status(order_id);
    Finding pf = payment ? ok("", "the HIS answered not_found for the made-up order " + order_id) : failed(payment.error(), p);
    if (payment && payment->status != "not_found")
        pf = warn("", "the HIS answered \"" + payment->status + "\" for the made-up order " + order_id + ", not not_found",
                  "ask the HIS vendor how its payment status query answers an unknown order: the ledger relies on not_found");
    out.push_back(timed("his.payment_status", std::move(pf), millis_since(start), p));

    start = Clock::now();
    std::string yesterday = hospital_date(p, -1);
    auto statement = adapter.daily_statement(yesterday);
    out.push_back(timed("his.statement",
                        statement ? ok("", std::to_string(statement->size()) + " statement lines for " + yesterday)
                                  : failed(statement.error(), p),
                        millis_since(start), p));
    return out;
}

}  // namespace hisgate::agent::doctor
