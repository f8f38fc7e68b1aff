#include "controlplane/notify/notifier.h"

#include <cstdio>

#include "common/log.h"
#include "common/metrics.h"
#include "common/random_id.h"

namespace hisgate::controlplane::notify {

namespace {

constexpr int kBatch = 50;
constexpr int kChinaUtcOffsetHours = 8;

// zh-CN first; every template names the platform so a patient knows who writes.
constexpr Template kZh[] = {
    {"【hisgate】登录验证码", "您的登录验证码是 {code}，5 分钟内有效。请勿将验证码告诉他人。"},
    {"【hisgate】预约成功",
     "您已成功预约 {date} {half} 的门诊：医院 {hospital}，科室 {department}，医生 {doctor}。订单号 {order}。"
     "如不能前往，请在医院规定时间前取消。"},
    {"【hisgate】就诊提醒",
     "提醒：您明天（{date} {half}）有门诊预约：医院 {hospital}，科室 {department}，医生 {doctor}。"
     "请携带身份证按时就诊；如不能前往，请尽早取消。"},
};
constexpr Template kEn[] = {
    {"hisgate sign-in code", "Your sign-in code is {code}. It expires in 5 minutes. Never share it with anyone."},
    {"hisgate: appointment confirmed",
     "Your appointment on {date} {half} is confirmed: hospital {hospital}, department {department}, doctor {doctor}. "
     "Order {order}. If you cannot come, cancel before the hospital's deadline."},
    {"hisgate: your appointment is tomorrow",
     "Reminder: you have an appointment tomorrow ({date} {half}): hospital {hospital}, department {department}, "
     "doctor {doctor}. Bring your ID card; if you cannot come, cancel as early as you can."},
};

std::string half_words(const std::string& half, const std::string& lang) {
    bool en = lang == "en";
    if (half == "AM") return en ? "morning" : "上午";
    if (half == "PM") return en ? "afternoon" : "下午";
    return "";
}

// The UTC time (ms) of `reminder_hour` local time the day before `date` (YYYY-MM-DD), or
// nothing for a date that is not one.
std::optional<int64_t> reminder_due_ms(const std::string& date, int reminder_hour) {
    unsigned y = 0, m = 0, d = 0;
    if (date.size() != 10 || std::sscanf(date.c_str(), "%4u-%2u-%2u", &y, &m, &d) != 3) return std::nullopt;
    std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(y)), std::chrono::month(m), std::chrono::day(d)};
    if (!ymd.ok()) return std::nullopt;
    auto due = std::chrono::sys_days(ymd) - std::chrono::days(1) + std::chrono::hours(reminder_hour - kChinaUtcOffsetHours);
    return std::chrono::duration_cast<std::chrono::milliseconds>(due.time_since_epoch()).count();
}

}  // namespace

const Template& template_of(MessageKind kind, const std::string& lang) {
    return (lang == "en" ? kEn : kZh)[static_cast<int>(kind)];
}

std::string render(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
    for (const auto& [name, value] : values) {
        const std::string mark = "{" + name + "}";
        for (size_t at = text.find(mark); at != std::string::npos; at = text.find(mark, at + value.size()))
            text.replace(at, mark.size(), value);
    }
    return text;
}

Result<void> Notifier::queue(const std::string& key, const std::string& to, MessageKind kind, const std::string& lang,
                             const std::vector<std::pair<std::string, std::string>>& values, int64_t due_ms) {
    const auto& t = template_of(kind, lang);
    auto added = outbox_.add(key, {to, render(t.subject, values), render(t.body, values)}, due_ms);
    if (!added) return added.error();
    publish_waiting();
    return {};
}

Result<void> Notifier::sign_in_code(const std::string& phone, const std::string& code, const std::string& lang) {
    // Each code is its own message: a key of its own, never the phone.
    auto queued = queue("code:" + random_hex(12), phone + "@" + settings_.sms_domain, MessageKind::SignInCode, lang,
                        {{"code", code}}, clock_.wall_ms());
    if (queued) poke();
    return queued;
}

Result<void> Notifier::booking_confirmed(const BookingNote& b) {
    auto account = accounts_.account(b.patient_id);
    if (!account) return account.error().code == "patient.unknown" ? Result<void>{} : Result<void>(account.error());
    std::vector<std::string> to = {account->phone + "@" + settings_.sms_domain};
    if (!account->email.empty()) to.push_back(account->email);
    const std::string& lang = account->lang;
    std::vector<std::pair<std::string, std::string>> values = {
        {"date", b.date},         {"half", half_words(b.half, lang)}, {"hospital", b.hospital_id},
        {"department", b.department_id}, {"doctor", b.doctor_id},   {"order", b.order_id}};
    const int64_t now = clock_.wall_ms();
    auto remind_at = reminder_due_ms(b.date, settings_.reminder_hour);
    for (size_t i = 0; i < to.size(); ++i) {
        // Keys by request and channel: a booking noted again queues nothing new.
        const std::string channel = i == 0 ? "sms" : "email";
        if (auto q = queue("confirm:" + b.request_id + ":" + channel, to[i], MessageKind::Confirmation, lang, values, now); !q)
            return q;
        if (remind_at && *remind_at > now)
            if (auto q = queue("remind:" + b.request_id + ":" + channel, to[i], MessageKind::Reminder, lang, values, *remind_at);
                !q)
                return q;
    }
    poke();
    return {};
}

int Notifier::relay_once() {
    static auto& sent_total = metrics::global().counter("hisgate_notify_sent_total", "Messages the SMTP relay accepted");
    auto due = outbox_.due(clock_.wall_ms(), kBatch);
    if (!due) {
        log::error("notify.outbox_failed", {{"error", due.error().describe()}});
        return 0;
    }
    if (due->empty()) return 0;
    std::vector<Mail> mails;
    for (const auto& q : *due) mails.push_back(q.mail);
    auto results = sender_.send(mails);
    int sent = 0;
    const int64_t now = clock_.wall_ms();
    for (size_t i = 0; i < due->size(); ++i) {
        const auto& q = (*due)[i];
        if (i < results.size() && results[i]) {
            if (auto done = outbox_.sent(q.id, now); !done)
                log::error("notify.outbox_failed", {{"error", done.error().describe()}});
            ++sent;
            sent_total.inc();
            continue;
        }
        const Error why = i < results.size() ? results[i].error()
                                             : make_error(ErrorClass::Internal, "smtp.no_result", "the sender gave no result");
        metrics::global()
            .counter("hisgate_notify_failed_total", "Message sends that failed and wait to go again", {{"reason", why.code}})
            .inc();
        auto pause = std::min<std::chrono::seconds>(std::chrono::seconds(1LL << std::min(q.attempts, 20)), settings_.max_backoff);
        if (auto done = outbox_.retry(q.id, now + std::chrono::duration_cast<std::chrono::milliseconds>(pause).count()); !done)
            log::error("notify.outbox_failed", {{"error", done.error().describe()}});
        // The key names the kind of message and the booking, never the address.
        log::warn("notify.send_failed",
                  {{"key", q.key}, {"attempts", q.attempts + 1}, {"code", why.code}, {"retry_in_s", pause.count()}});
    }
    publish_waiting();
    return sent;
}

void Notifier::publish_waiting() {
    if (auto n = outbox_.waiting())
        metrics::global().gauge("hisgate_notify_waiting", "Messages in the outbox not sent yet").set(static_cast<double>(*n));
}

void Notifier::start() {
    std::lock_guard lock(mu_);
    if (loop_.joinable()) return;
    stopping_ = false;
    loop_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!stopping_) {
            poked_ = false;
            lock.unlock();
            relay_once();
            lock.lock();
            clock_.wait_for(lock, cv_, settings_.interval, [&] { return stopping_ || poked_; });
        }
    });
}

void Notifier::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (loop_.joinable()) loop_.join();
}

void Notifier::poke() {
    {
        std::lock_guard lock(mu_);
        poked_ = true;
    }
    cv_.notify_all();
}

void confirm_booking(Notifier& notifier, const BookingNote& booking) {
    if (auto queued = notifier.booking_confirmed(booking); !queued) {
        metrics::global()
            .counter("hisgate_notify_failed_total", "Message sends that failed and wait to go again", {{"reason", "queue"}})
            .inc();
        log::error("notify.confirmation_not_queued", {{"request_id", booking.request_id}, {"error", queued.error().describe()}});
    }
}

Result<void> NotifyingRecords::note_booking(const BookingNote& booking) {
    auto noted = inner_.note_booking(booking);
    if (!noted) return noted;
    confirm_booking(notifier_, booking);
    return noted;
}

}  // namespace hisgate::controlplane::notify
