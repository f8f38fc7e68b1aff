#include "controlplane/payments/bill.h"

#include <charconv>

#include "controlplane/payments/order_fields.h"

namespace hisgate::payments {

std::string bill_csv(const std::vector<ledger::ProviderLine>& lines) {
    std::string out = std::string(kBillHeader) + "\n";
    for (const auto& l : lines)
        out += l.out_trade_no + "," + l.kind + "," + std::to_string(l.amount_fen) + "," + l.time + "," + l.out_refund_no + "\n";
    return out;
}

Result<std::vector<ledger::ProviderLine>> parse_bill_csv(std::string_view text, BillLimits limits) {
    if (text.size() > limits.max_bytes)
        return make_error(ErrorClass::BadInput, "bill.too_large",
                          "the provider's bill is " + std::to_string(text.size()) + " bytes; at most " +
                              std::to_string(limits.max_bytes) + " expected");
    std::vector<ledger::ProviderLine> lines;
    size_t number = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        ++number;
        auto bad = [&](const std::string& column, const std::string& expected) {
            return make_error(ErrorClass::BadInput, "bill.bad_line",
                              "the provider's bill, line " + std::to_string(number) + ", " + column + ": expected " + expected);
        };
        if (number == 1) {
            if (line != kBillHeader)
                return make_error(ErrorClass::BadInput, "bill.bad_header",
                                  std::string("the provider's bill, line 1: expected the header \"") + kBillHeader + "\"");
            continue;
        }
        // (The final line end makes no empty line here: the loop stops at the text's end.)
        if (line.empty()) return bad("the whole line", "a payment or refund, not an empty line");
        if (lines.size() >= limits.max_lines)
            return bad("the whole line", "at most " + std::to_string(limits.max_lines) + " lines");
        std::vector<std::string_view> f;
        size_t at = 0;
        while (true) {
            size_t comma = line.find(',', at);
            f.push_back(line.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
            if (comma == std::string_view::npos) break;
            at = comma + 1;
        }
        if (f.size() != 5) return bad("the whole line", "5 comma-separated fields, found " + std::to_string(f.size()));
        ledger::ProviderLine l;
        if (!is_trade_no(f[0])) return bad("out_trade_no", "1-64 of A-Z a-z 0-9 _ -");
        l.out_trade_no = f[0];
        if (f[1] != "payment" && f[1] != "refund") return bad("kind", "payment or refund");
        l.kind = f[1];
        int64_t fen = 0;
        auto [ptr, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), fen);
        if (f[2].empty() || ec != std::errc() || ptr != f[2].data() + f[2].size() || !check_amount(fen, "amount_fen"))
            return bad("amount_fen", "an integer number of fen, 1 or more");
        l.amount_fen = fen;
        if (f[3].size() < 20 || f[3].size() > 30 || f[3].back() != 'Z') return bad("time", "ISO 8601 UTC (…Z)");
        l.time = f[3];
        if (l.kind == "refund" ? !is_trade_no(f[4]) : !f[4].empty())
            return bad("out_refund_no", l.kind == "refund" ? "1-64 of A-Z a-z 0-9 _ -" : "empty for a payment");
        l.out_refund_no = f[4];
        lines.push_back(std::move(l));
    }
    if (number == 0) return make_error(ErrorClass::BadInput, "bill.bad_header", "the provider's bill is empty; expected at least its header");
    return lines;
}

}  // namespace hisgate::payments
