// The notification service (issue 17 item 1): sign-in codes, appointment confirmations and
// a reminder the day before, to patients by SMS and email, through the outbox (outbox.h)
// and an SMTP relay (smtp_sender.h).
//
// Every message goes as email: an SMS as email to <phone>@<sms_domain> (the operator's
// email-to-SMS gateway), and, when the patient gave an email address, the same words to it
// as well (codes go by SMS only: they prove the phone). Words are the patient's language,
// zh-CN unless they chose en (templates below).
//
// Scheduling is the outbox's: a reminder is added when the booking is confirmed, due the
// day before the visit at `reminder_hour` local time (China Standard Time, UTC+8; the
// platform's hospitals are all in it), and the relay loop sends whatever is due by the
// injected clock. A reminder whose time has already passed when the booking is made
// (a visit tomorrow booked late today) is not added: the confirmation just went.
//
// The relay loop: every `interval` (and at once when poked), up to 50 due messages go to
// the relay in one connection; one that fails waits 2^attempts seconds (at most
// `max_backoff`) and goes again, for as long as it takes: a relay outage delays messages
// and loses none. Counts: hisgate_notify_sent_total, hisgate_notify_failed_total{reason},
// hisgate_notify_waiting (gauge). No log line names an address or a body.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/notify/outbox.h"
#include "controlplane/notify/smtp_sender.h"
#include "controlplane/patient_records.h"
#include "controlplane/portal/sign_in_store.h"

namespace hisgate::controlplane::notify {

struct NotifySettings {
    std::string sms_domain = "sms.hisgate.invalid";
    std::chrono::milliseconds interval{1000};
    std::chrono::seconds max_backoff{60};
    int reminder_hour = 18;  // local time (UTC+8), the day before the visit
};

// The words of one kind of message in one language; "{name}" is replaced by its value.
struct Template {
    const char* subject;
    const char* body;
};
enum class MessageKind { SignInCode, Confirmation, Reminder };
// zh-CN for any `lang` but "en".
const Template& template_of(MessageKind kind, const std::string& lang);
// `text` with every "{name}" of `values` replaced.
std::string render(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

class Notifier {
public:
    Notifier(Outbox& outbox, MailSender& sender, portal::SignInStore& accounts, Clock& clock, NotifySettings settings)
        : outbox_(outbox), sender_(sender), accounts_(accounts), clock_(clock), settings_(std::move(settings)) {}
    ~Notifier() { stop(); }

    // Queues the sign-in code to `phone`'s SMS address and pokes the relay loop.
    Result<void> sign_in_code(const std::string& phone, const std::string& code, const std::string& lang);
    // Queues the confirmation of a booking the hospital confirmed and its reminder, to the
    // patient's SMS (and email) address; a patient with no portal account gets nothing.
    Result<void> booking_confirmed(const BookingNote& booking);

    // Sends what is due now; answers how many the relay took.
    int relay_once();
    void start();
    void stop();
    void poke();

private:
    Result<void> queue(const std::string& key, const std::string& to, MessageKind kind, const std::string& lang,
                       const std::vector<std::pair<std::string, std::string>>& values, int64_t due_ms);
    void publish_waiting();

    Outbox& outbox_;
    MailSender& sender_;
    portal::SignInStore& accounts_;
    Clock& clock_;
    NotifySettings settings_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool poked_ = false;
    std::thread loop_;
};

// Queues the confirmation and reminder of a booking noted (a booking the hospital
// confirmed). A failure to queue is logged and counted, never the booking's failure.
// Called after the note is committed: the answers' group commit calls it once its batch
// is durable (controlplane/answer_commit.h), NotifyingRecords after its note.
void confirm_booking(Notifier& notifier, const BookingNote& booking);

// PatientRecords that also tell the notifier of each booking noted (a booking the hospital
// confirmed: controlplane/booking_facts.h note_booked). A failure to queue is logged and
// counted, never the booking's failure: the booking stands.
class NotifyingRecords final : public PatientRecords {
public:
    NotifyingRecords(PatientRecords& inner, Notifier& notifier) : inner_(inner), notifier_(notifier) {}
    Result<PatientFacts> facts(const std::string& patient_id) override { return inner_.facts(patient_id); }
    Result<void> set_facts(const std::string& patient_id, const PatientFacts& f) override {
        return inner_.set_facts(patient_id, f);
    }
    Result<appointments::BookingCounts> counts(const SlotAsked& slot) override { return inner_.counts(slot); }
    Result<void> note_booking(const BookingNote& booking) override;
    Result<void> keep_booked_slot(const std::string& transaction_id, const BookedSlot& slot) override {
        return inner_.keep_booked_slot(transaction_id, slot);
    }
    Result<std::optional<BookedSlot>> booked_slot(const std::string& transaction_id) override {
        return inner_.booked_slot(transaction_id);
    }
    Result<void> set_payment(const std::string& hospital_id, const std::string& patient_id, const std::string& order_id,
                             const OrderPayment& paid) override {
        return inner_.set_payment(hospital_id, patient_id, order_id, paid);
    }

private:
    PatientRecords& inner_;
    Notifier& notifier_;
};

}  // namespace hisgate::controlplane::notify
