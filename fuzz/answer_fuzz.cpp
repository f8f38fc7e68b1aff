// libFuzzer target for the answers the control plane reads on its response topic
// (controlplane/answer_intake.h: TaskResults and the Requester; see docs/fuzzing.md).
//
// Each input starts with a fresh in-memory TaskResults expecting two requests: "r1" sent to
// H001 (deferred) and "r2" sent to H002. The input is one or more messages separated by NUL
// bytes; each message's first byte picks its topic (H001's or H002's response topic, or a
// topic made of the next bytes) and the rest is its payload. Checked after every message:
//  - a request becomes answered only by an answer on its own hospital's topic whose
//    in_reply_to names it (another hospital cannot answer for it), and never by a stored-ack;
//  - an answer kept is never replaced by a later one;
//  - what GET /api/v1/tasks/{id} would show (TaskResult::to_json) renders for every request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/log.h"
#include "controlplane/answer_intake.h"
#include "transport/topics.h"
#include "fuzz_check.h"

using namespace hisgate;
using controlplane::TaskResults;

namespace {

struct Sent {
    const char* id;
    const char* hospital;
    bool deferred;
};
constexpr Sent kSent[] = {{"r1", "H001", true}, {"r2", "H002", false}};

Requester& requester() {
    // Never started: nothing is sent or received over a network; deliver() finds no waiter.
    static MqttLink link([] {
        MqttOptions o;
        o.uri = "tcp://127.0.0.1:1";
        o.client_id = "answer-fuzz";
        return o;
    }());
    static Requester r(link);
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static bool quiet = (log::init("answer_fuzz", "/dev/null", log::Level::Error), true);
    (void)quiet;
    static ManualClock clock;
    auto opened = TaskResults::open(":memory:", clock);
    FUZZ_CHECK(opened.ok());
    TaskResults& results = **opened;
    static auto records = controlplane::open_sqlite_patient_records(":memory:", clock);
    FUZZ_CHECK(records.ok());
    for (const Sent& s : kSent) {
        Envelope request = Envelope::make(s.deferred ? "report.get" : "appointment.book", s.hospital);
        request.id = s.id;
        FUZZ_CHECK(results.expect(request, {.deferred = s.deferred, .contents_until_delivered = s.deferred}).ok());
    }

    std::string_view rest(reinterpret_cast<const char*>(data), size);
    std::string kept[2];
    while (!rest.empty()) {
        std::size_t end = rest.find('\0');
        std::string_view message = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        if (message.empty()) continue;
        IncomingMessage m;
        uint8_t pick = static_cast<uint8_t>(message[0]);
        message.remove_prefix(1);
        if (pick % 3 < 2) {
            m.topic = topics::response(kSent[pick % 3].hospital, "cp1");
        } else {
            std::size_t n = std::min<std::size_t>(message.size(), pick % 97);
            m.topic = std::string(message.substr(0, n));
            message.remove_prefix(n);
        }
        m.payload = std::string(message);
        m.correlation_data = "c1";

        controlplane::take_answer(results, **records, requester(), m, "cp1");

        for (int i = 0; i < 2; ++i) {
            auto found = results.find(kSent[i].id);
            FUZZ_CHECK(found.has_value() && found->hospital_id == kSent[i].hospital);
            if (!kept[i].empty()) {
                FUZZ_CHECK(found->answered && found->answer == kept[i]);
            } else if (found->answered) {
                auto reply = Envelope::parse(m.payload);
                FUZZ_CHECK(m.payload == found->answer && reply.ok() && reply->in_reply_to == kSent[i].id &&
                      !reply->is_stored_ack() && topics::hospital_of(m.topic) == std::string(kSent[i].hospital));
                kept[i] = found->answer;
            }
            (void)found->to_json().dump();
        }
    }
    return 0;
}
