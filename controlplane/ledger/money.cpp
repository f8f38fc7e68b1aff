#include "controlplane/ledger/money.h"

namespace hisgate::ledger {

namespace {
Error bad(std::string_view field, const std::string& what, const std::string& code = "ledger.bad_amount") {
    return make_error(ErrorClass::BadInput, code, std::string(field) + ": " + what);
}
}  // namespace

Result<int64_t> parse_yuan(std::string_view text, std::string_view field) {
    if (text.empty()) return bad(field, "empty; expected a decimal number of yuan such as \"12.50\"");
    if (text.size() > 20) return bad(field, "longer than 20 characters; expected yuan such as \"12.50\"");
    int64_t yuan = 0, fen = 0;
    size_t i = 0, int_digits = 0, decimals = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++int_digits) {
        if (yuan > kMaxAmountFen / 100) return bad(field, "over the cap of " + format_yuan(kMaxAmountFen) + " yuan");
        yuan = yuan * 10 + (text[i] - '0');
    }
    if (int_digits == 0)
        return bad(field, "not a number at character 1; expected digits, e.g. \"12.50\" (no sign)");
    if (i < text.size()) {
        if (text[i] != '.') return bad(field, "not a number at character " + std::to_string(i + 1) + "; expected digits and one '.'");
        ++i;
        for (; i < text.size(); ++i, ++decimals) {
            if (text[i] < '0' || text[i] > '9')
                return bad(field, "not a number at character " + std::to_string(i + 1) + "; expected digits after '.'");
            if (decimals >= 2) return bad(field, "more than two decimals; expected fen precision, e.g. \"12.50\"");
            fen = fen * 10 + (text[i] - '0');
        }
        if (decimals == 0) return bad(field, "nothing after '.'; expected e.g. \"12.50\"");
        if (decimals == 1) fen *= 10;
    }
    int64_t total = yuan * 100 + fen;
    if (auto ok = check_amount_fen(total, field); !ok) return ok.error();
    return total;
}

Result<void> check_amount_fen(int64_t fen, std::string_view field) {
    if (fen < 0) return bad(field, "negative; expected a positive amount");
    if (fen == 0) return bad(field, "zero; expected a positive amount");
    if (fen > kMaxAmountFen) return bad(field, "over the cap of " + format_yuan(kMaxAmountFen) + " yuan");
    return {};
}

Result<void> check_currency(std::string_view currency) {
    if (currency == "CNY") return {};
    return make_error(ErrorClass::BadInput, "ledger.bad_currency",
                      "currency: unknown (" + std::to_string(currency.size()) + " characters); expected \"CNY\"");
}

Result<void> check_patient_id(std::string_view id) {
    if (id.empty() || id.size() > 32)
        return make_error(ErrorClass::BadInput, "ledger.bad_patient_id",
                          "patientId: " + std::to_string(id.size()) + " characters; expected 1 to 32 of A-Z a-z 0-9 -");
    for (size_t i = 0; i < id.size(); ++i) {
        char c = id[i];
        bool fine = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
        if (!fine)
            return make_error(ErrorClass::BadInput, "ledger.bad_patient_id",
                              "patientId: character " + std::to_string(i + 1) + " not allowed; expected A-Z a-z 0-9 -");
    }
    return {};
}

Result<void> check_transaction_id(std::string_view id) {
    bool fine = id.size() >= 16 && id.size() <= 64;
    for (char c : id) fine = fine && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (fine) return {};
    return make_error(ErrorClass::BadInput, "ledger.bad_transaction_id",
                      "transaction id: " + std::to_string(id.size()) + " characters; expected 16 to 64 lowercase hex digits");
}

std::string format_yuan(int64_t fen) {
    std::string cents = std::to_string(fen % 100);
    return std::to_string(fen / 100) + "." + (cents.size() == 1 ? "0" + cents : cents);
}

}  // namespace hisgate::ledger
