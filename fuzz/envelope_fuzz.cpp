// libFuzzer target for the MQTT envelope (transport/envelope.h; see docs/fuzzing.md).
//
// Input: byte 0 picks the cap (a request, a state message, an answer or event), the rest
// is the payload. Whatever the bytes, Envelope::parse returns a value or an error. On
// success it checks:
//  - the payload was within the cap, and every field within its limit (transport/limits.h);
//  - the schema read is the one the payload holds (no number wraps into the range);
//  - the envelope written back (to_json) parses again to the same fields and body;
//  - a reply, an error reply and a stored-ack made from a request parse again and name it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transport/envelope.h"
#include "fuzz_check.h"

using hisgate::Envelope;
namespace limits = hisgate::limits;

namespace {

bool same(const Envelope& a, const Envelope& b) {
    return a.schema == b.schema && a.id == b.id && a.type == b.type && a.hospital_id == b.hospital_id &&
           a.sent_at == b.sent_at && a.in_reply_to == b.in_reply_to && a.body == b.body &&
           a.ack_stored == b.ack_stored && a.error.has_value() == b.error.has_value() &&
           (!a.error || (a.error->cls == b.error->cls && a.error->code == b.error->code &&
                         a.error->message == b.error->message));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static constexpr std::size_t kCaps[] = {limits::kRequestBytes, limits::kStateBytes, limits::kAnswerBytes,
                                            limits::kEventBytes, 64};
    const std::size_t cap = kCaps[data[0] % (sizeof kCaps / sizeof kCaps[0])];
    const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);

    auto env = Envelope::parse(payload, cap);
    if (!env) {
        FUZZ_CHECK(!env.error().code.empty());
        return 0;
    }
    FUZZ_CHECK(payload.size() <= cap);
    FUZZ_CHECK(env->schema >= Envelope::kMinSchema && env->schema <= Envelope::kMaxSchema);
    auto doc = nlohmann::json::parse(payload);
    FUZZ_CHECK(doc["schema"] == env->schema);
    FUZZ_CHECK(!env->id.empty() && env->id.size() <= limits::kMessageIdBytes);
    // A reply's type may carry ".result" or ".stored" beyond a request type's limit.
    FUZZ_CHECK(!env->type.empty() && env->type.size() <= limits::kReplyTypeBytes &&
               (!env->in_reply_to.empty() || env->type.size() <= limits::kTypeBytes));
    FUZZ_CHECK(!env->hospital_id.empty() && env->hospital_id.size() <= limits::kHospitalIdBytes);
    FUZZ_CHECK(env->sent_at.size() <= limits::kTimestampBytes && env->in_reply_to.size() <= limits::kMessageIdBytes);
    FUZZ_CHECK(env->body.is_object());
    if (env->error)
        FUZZ_CHECK(env->error->code.size() <= limits::kErrorCodeBytes &&
              env->error->message.size() <= limits::kErrorMessageBytes);

    auto again = Envelope::parse(env->to_json(), limits::kAnswerBytes);
    FUZZ_CHECK(again.ok() && same(*env, *again));

    if (!env->in_reply_to.empty()) return 0;  // only a request is answered
    for (const Envelope& made : {env->reply(), env->reply_error(hisgate::make_error(hisgate::ErrorClass::Timeout,
                                                                                   "his.timeout", "no answer")),
                                 env->stored_ack()}) {
        auto read = Envelope::parse(made.to_json(), limits::kAnswerBytes);
        FUZZ_CHECK(read.ok() && read->in_reply_to == env->id && read->hospital_id == env->hospital_id);
    }
    FUZZ_CHECK(env->stored_ack().is_stored_ack());
    return 0;
}
