#include "controlplane/ledger/refusal.h"

namespace hisgate::ledger {

namespace {
constexpr std::string_view kRejected = "reply:rejected";
constexpr std::string_view kLate = "late ";
}  // namespace

bool is_refusal_code(std::string_view code) {
    if (code.empty() || code.size() > kMaxRefusalCode) return false;
    bool word_start = true;
    int dots = 0;
    for (char c : code) {
        if (c == '.') {
            if (word_start) return false;  // an empty word
            word_start = true;
            ++dots;
            continue;
        }
        bool letter = c >= 'a' && c <= 'z';
        if (word_start && !letter) return false;
        if (!letter && !(c >= '0' && c <= '9') && c != '_') return false;
        word_start = false;
    }
    return !word_start && dots >= 1;
}

std::string rejected_reply_evidence(std::string_view code) {
    std::string out(kRejected);
    if (is_refusal_code(code)) out.append(" ").append(code);
    return out;
}

std::optional<std::string> refusal_code_of(std::string_view evidence) {
    if (evidence.substr(0, kLate.size()) == kLate) evidence.remove_prefix(kLate.size());
    if (evidence.substr(0, kRejected.size()) != kRejected) return std::nullopt;
    evidence.remove_prefix(kRejected.size());
    if (evidence.empty() || evidence.front() != ' ') return std::nullopt;
    evidence.remove_prefix(1);
    if (!is_refusal_code(evidence)) return std::nullopt;
    return std::string(evidence);
}

}  // namespace hisgate::ledger
