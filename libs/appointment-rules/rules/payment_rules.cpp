// Money before booking: the fee paid in advance, or a deposit held.
#include <algorithm>

#include "appointment-rules/rules/rules.h"
#include "appointment-rules/wording.h"

namespace hisgate::appointments {

namespace {

// A slot with a fee is booked only once the fee is paid; free slots pass.
class PrepaymentRequired final : public Rule {
public:
    std::optional<Objection> check_booking(const BookingView& v) const override {
        if (v.slot().fee <= 0 || v.counts.prepaid) return std::nullopt;
        return Objection{"unpaid", "This appointment must be paid in advance. Please pay the fee of " +
                                       money(v.slot().fee) + ", then book."};
    }
};

// The deposit due is the slot's own deposit or the hospital's minimum, whichever is more.
class DepositRequired final : public Rule {
public:
    explicit DepositRequired(int64_t minimum) : minimum_(minimum) {}

    std::optional<Objection> check_booking(const BookingView& v) const override {
        int64_t due = std::max(v.slot().deposit, minimum_);
        if (v.counts.deposit_paid >= due) return std::nullopt;
        std::string paid = v.counts.deposit_paid > 0 ? " (you have paid " + money(v.counts.deposit_paid) + ")" : "";
        return Objection{"missing", "This appointment needs a deposit of " + money(due) + paid +
                                        ". Please pay the deposit, then book. It is returned after your visit."};
    }

private:
    int64_t minimum_;
};

}  // namespace

std::unique_ptr<Rule> make_prepayment_required(RuleFields&) { return std::make_unique<PrepaymentRequired>(); }

std::unique_ptr<Rule> make_deposit_required(RuleFields& f) {
    return std::make_unique<DepositRequired>(f.optional_money("min_amount").value_or(0));
}

}  // namespace hisgate::appointments
