#include "controlplane/payments/order_fields.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "controlplane/ledger/money.h"

namespace hisgate::payments {

bool is_trade_no(std::string_view s) {
    return !s.empty() && s.size() <= kMaxTradeNoBytes && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

Result<void> check_amount(int64_t fen, std::string_view field) {
    if (fen <= 0 || fen > ledger::kMaxAmountFen)
        return make_error(ErrorClass::BadInput, "payments.bad_amount",
                          std::string(field) + " is " + std::to_string(fen) + "; expected an integer number of fen from 1 to " +
                              std::to_string(ledger::kMaxAmountFen));
    return {};
}

Result<void> check_notify_url(std::string_view url) {
    auto bad = [&](const std::string& why) {
        return make_error(ErrorClass::BadInput, "payments.bad_notify_url",
                          "notify_url " + why + "; expected http://host:port/path of at most " +
                              std::to_string(kMaxNotifyUrlBytes) + " bytes");
    };
    if (url.size() > kMaxNotifyUrlBytes) return bad("is " + std::to_string(url.size()) + " bytes");
    try {
        Poco::URI uri{std::string(url)};
        if (uri.getScheme() != "http") return bad("is not http://");
        if (uri.getHost().empty()) return bad("names no host");
    } catch (const Poco::Exception&) {
        return bad("is not a URL");
    }
    return {};
}

}  // namespace hisgate::payments
