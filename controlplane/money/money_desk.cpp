#include "controlplane/money/money_desk.h"

#include <Poco/URI.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/log.h"
#include "controlplane/money/booking_body.h"
#include "controlplane/payments/notification.h"

namespace hisgate::controlplane::money {

namespace {
constexpr size_t kMaxMerchantKey = 256;

Result<std::string> read_key_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorClass::Config, "payments.key_file", "payments.key_file " + path + ": cannot be read");
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
    if (key.size() < 16 || key.size() > kMaxMerchantKey)
        return make_error(ErrorClass::Config, "payments.key_file",
                          "payments.key_file " + path + ": expected a key of 16 to 256 characters, found " +
                              std::to_string(key.size()));
    return key;
}

Result<payments::PaySimAddress> provider_address(const std::string& url) {
    payments::PaySimAddress a;
    try {
        Poco::URI uri(url);
        if (uri.getScheme() != "http" || uri.getHost().empty() || uri.getPort() == 0)
            throw Poco::SyntaxException("scheme, host or port");
        a.host = uri.getHost();
        a.port = uri.getPort();
    } catch (const Poco::Exception&) {
        return make_error(ErrorClass::Config, "payments.url",
                          "payments.url: expected http://host:port of the payment provider, found \"" +
                              url.substr(0, 128) + "\"");
    }
    return a;
}
}  // namespace

const char* money_usage_help() {
    return R"(  ledger.dir          string   directory of the ledgers (ledger-<partition>.db) and the partition map;
                               without it the money routes (docs/ledger.md) are off
  ledger.prefixes_file string  the operator's mobile prefix -> province table (CSV)
  ledger.pay_window_ms int     a patient pays within this long of creating a payment (default 900000)
  ledger.reply_timeout_ms int  no answer from the hospital this long after dispatch: IN_DOUBT (default 10000)
  ledger.first_probe_ms, ledger.probe_cap_ms int   status probes: the first, doubling to the cap
                               (defaults 3000, 60000)
  ledger.retry_ms     int      a close, revoke or refund unanswered is asked again (default 5000)
  ledger.max_probes   int      probes before the operators' queue (default 8)
  ledger.max_reasks   int      a correction in doubt re-asks its change, same request id, in every
                               second probe slot, at most this often (default 3; 0: never; at most
                               ledger.max_probes / 2, since re-asks take probe slots: a larger
                               value is refused, the default lowered to it)
  ledger.his_workers  int      the ledger's changes, probes and revokes asked of the agents at once,
                               all hospitals together (default 16, 1-64): each waits for its
                               answer, and the answer's ledger commits, before it takes the next
  ledger.default_province string  a hospital's province when ledger.hospital_province does not
                               name it (GB/T 2260, default "44")
  ledger.hospital_province object  {"H001": "44", ...}
  ledger.split_max_freeze_ms int  a live partition split freezes writes at most this long, then
                               aborts by itself (default 30000; a split's maxFreezeMs overrides)
  payments.url        string   the payment provider's API, http://host:port (required with ledger.dir)
  payments.key_file   string   the merchant key its notifications are signed with (required)
  payments.notify_url string   where the provider sends notifications (default: this instance's
                               /api/v1/provider/notify)
  reconcile.nightly_hour_utc int  the nightly reconciliation of the day before runs at this hour
                               (UTC, default 2; -1: none)
  reconcile.statement_wait_ms int  how long a hospital's statement is waited for (default 120000)
)";
}

MoneySettings read_money_settings(ConfigReader& c, const std::string& results_db) {
    MoneySettings s;
    using std::chrono::milliseconds;
    s.ledger.dir = c.string("ledger.dir", "");
    s.ledger.prefixes_file = c.string("ledger.prefixes_file", "");
    s.ledger.pay_window = milliseconds(c.integer("ledger.pay_window_ms", 900000, 1000, 86400000));
    s.ledger.confirmer.reply_timeout = milliseconds(c.integer("ledger.reply_timeout_ms", 10000, 100, 3600000));
    s.ledger.confirmer.first_probe = milliseconds(c.integer("ledger.first_probe_ms", 3000, 100, 3600000));
    s.ledger.confirmer.probe_cap = milliseconds(c.integer("ledger.probe_cap_ms", 60000, 100, 86400000));
    s.ledger.confirmer.retry = milliseconds(c.integer("ledger.retry_ms", 5000, 100, 3600000));
    s.ledger.confirmer.max_probes = static_cast<int>(c.integer("ledger.max_probes", 8, 1, 1000));
    s.ledger.confirmer.max_reasks = static_cast<int>(c.integer("ledger.max_reasks", 3, 0, 1000));
    s.his_workers = static_cast<int>(c.integer("ledger.his_workers", 16, 1, 64));
    // How long IN_DOUBT transactions wait for their hospital's absent agent (their probes
    // held, not counted) before the manual queue: from probe_cap (one held attempt) to 30 days.
    {
        const int64_t cap_ms = s.ledger.confirmer.probe_cap.count();
        const int64_t patience = c.integer("ledger.offline_patience_ms", 86400000, 1, 30LL * 86400000);
        if (patience < cap_ms)
            c.problem("ledger.offline_patience_ms",
                      "milliseconds, at least ledger.probe_cap_ms (" + std::to_string(cap_ms) +
                          ": an absent agent's attempt is held that long) and at most 30 days",
                      std::to_string(patience));
        s.ledger.confirmer.offline_patience = milliseconds(patience);
    }
    // Re-asks take probe slots (every reask_every-th of max_probes), so no more than
    // max_probes / reask_every of them can happen: a larger value would silently do nothing.
    // Named in the file, it is refused; left to its default (3), it is lowered to the cap (a
    // file that sets only a small max_probes stays valid).
    if (const int every = s.ledger.confirmer.reask_every; every > 0) {
        const int cap = s.ledger.confirmer.max_probes / every;
        if (s.ledger.confirmer.max_reasks > cap && !c.has("ledger.max_reasks")) {
            s.ledger.confirmer.max_reasks = cap;
        } else if (s.ledger.confirmer.max_reasks > cap) {
            c.problem("ledger.max_reasks",
                      "an integer from 0 to " + std::to_string(cap) + " (re-asks take probe slots, one in every " +
                          std::to_string(every) + ", and ledger.max_probes " + std::to_string(s.ledger.confirmer.max_probes) +
                          " allows " + std::to_string(cap) + " of them; raise ledger.max_probes for more)",
                      std::to_string(s.ledger.confirmer.max_reasks));
            s.ledger.confirmer.max_reasks = cap;
        }
    }
    s.ledger.default_province = c.string("ledger.default_province", "44");
    s.ledger.split_max_freeze = milliseconds(c.integer("ledger.split_max_freeze_ms", 30000, 1, 600000));
    if (const auto* provinces = c.section("ledger.hospital_province")) {
        if (!provinces->is_object())
            c.problem("ledger.hospital_province", "an object of hospital id -> province code", describe_json_type(*provinces));
        else
            for (const auto& [hospital, province] : provinces->items()) {
                if (!province.is_string())
                    c.problem("ledger.hospital_province." + hospital.substr(0, 64), "a province code string",
                              describe_json_type(province));
                else s.ledger.hospital_province[hospital] = province.get<std::string>();
            }
    }
    s.provider_url = c.string("payments.url", "");
    s.merchant_key_file = c.string("payments.key_file", "");
    s.notify_url = c.string("payments.notify_url", "");
    if (!s.ledger.dir.empty() && (s.provider_url.empty() || s.merchant_key_file.empty()))
        c.problem("payments", "payments.url and payments.key_file with ledger.dir", "missing");
    s.keyed_answers_db = results_db;
    s.reconcile.nightly_hour_utc = static_cast<int>(c.integer("reconcile.nightly_hour_utc", 2, -1, 23));
    s.reconcile.statement_wait =
        std::chrono::milliseconds(c.integer("reconcile.statement_wait_ms", 120000, 1000, 3600000));
    return s;
}

Result<std::unique_ptr<MoneyDesk>> MoneyDesk::open(const MoneySettings& settings, Router& router, TaskResults& results,
                                                   public_partition::PublicPrimary* primary, PatientRecords& records,
                                                   triage::ErrorBook* triage, Clock& clock,
                                                   std::function<std::string()> own_url,
                                                   std::function<std::optional<int64_t>(const std::string&)> agent_offline_since) {
    auto key = read_key_file(settings.merchant_key_file);
    if (!key) return key.error();
    auto address = provider_address(settings.provider_url);
    if (!address) return address.error();
    std::unique_ptr<MoneyDesk> desk(new MoneyDesk());
    MoneyDesk* self = desk.get();

    AgentHisPortOptions his_options;
    his_options.workers = settings.his_workers;
    if (primary)
        his_options.booking_body = [primary, &records](const ledger::Transaction& t) {
            return booking_body(*primary, records, t);
        };
    // An agent the fleet registry holds offline: the ledger's probes wait for it
    // (docs/ledger.md, "An absent agent") instead of being lost and counted.
    his_options.agent_offline_since = agent_offline_since;
    desk->his_ = std::make_unique<AgentHisPort>(
        router, [self](const HisAnswer& a) {
            if (auto* s = self->live_.load()) a.deliver_to(*s);
        },
        his_options);
    payments::PaymentSinks sinks;
    sinks.close_answer = [self](const std::string& id, ledger::CloseOutcome outcome) {
        if (auto* s = self->live_.load()) s->on_close_answer(id, outcome);
    };
    sinks.refund_answer = [self](const std::string& id, bool refunded) {
        if (auto* s = self->live_.load()) s->on_refund_answer(id, refunded);
    };
    sinks.failed = [](const std::string& id, const Error& e) {
        log::warn("money.provider_failed", {{"transaction_id", id}, {"error", e.describe()}});
    };
    desk->provider_ = std::make_unique<payments::PaySimProvider>(*address, std::move(sinks));

    auto ledgers = LedgerService::open(settings.ledger, clock, *desk->his_, *desk->provider_);
    if (!ledgers) return ledgers.error();
    desk->ledgers_ = std::move(ledgers.value());
    auto keys = open_sqlite_keyed_answers(settings.keyed_answers_db, clock, settings.keys);
    if (!keys) return keys.error();
    desk->keys_ = std::move(keys.value());

    const std::string notify_url = settings.notify_url;
    auto open_checkout = [self, notify_url, own_url, provider_url = settings.provider_url](
                             const ledger::Transaction& t) -> Result<nlohmann::json> {
        payments::OrderRequest order;
        order.out_trade_no = t.intent.id;
        order.amount_fen = t.intent.amount_fen;
        order.currency = t.intent.currency;
        order.description = t.intent.purpose;  // never the patient's name
        order.notify_url = notify_url.empty() ? own_url() + "/api/v1/provider/notify" : notify_url;
        auto prepay = self->provider_->create_order(order);
        if (!prepay) return prepay.error();
        return nlohmann::json{{"provider", "pay-sim"},
                              {"prepayId", *prepay},
                              {"payUrl", provider_url + "/v3/checkout/" + *prepay}};
    };
    auto slot_fee = [primary](const std::string& hospital, const std::string& slot) -> std::optional<int64_t> {
        if (!primary) return std::nullopt;
        auto s = primary->slot(hospital, slot);
        if (!s || !*s || !(**s).contains("feeCents") || !(**s)["feeCents"].is_number_integer()) return std::nullopt;
        return (**s)["feeCents"].get<int64_t>();
    };
    auto check_notice = [merchant_key = *key, &clock](const Poco::Net::HTTPServerRequest& req,
                                                      const std::string& body) -> Result<ProviderNotice> {
        std::map<std::string, std::string> headers;
        for (const auto& [name, value] : req) headers[name] = value;
        auto n = payments::verify_notification(headers, body, merchant_key, clock.wall_now());
        if (!n) return n.error();
        if (n->currency != "CNY")
            return make_error(ErrorClass::BadInput, "notification.bad_currency", "amount.currency: expected CNY");
        return ProviderNotice{n->out_trade_no, n->amount_fen, n->trade_state == "SUCCESS"};
    };
    desk->api_ = std::make_unique<MoneyApi>(*desk->ledgers_, *desk->keys_, open_checkout, slot_fee, check_notice);
    // A new payment or booking for a hospital whose agent is offline: 503 at once, nothing created.
    desk->api_->set_agent_offline_since(std::move(agent_offline_since));
    desk->reconciler_ = std::make_unique<Reconciler>(*desk->ledgers_, router, results, *desk->provider_, triage, clock,
                                                     settings.reconcile);
    desk->api_->set_reconcile([self](const std::string& date, const std::string& partition) -> Result<nlohmann::json> {
        auto report = self->reconciler_->run(date, partition);
        if (!report) return report.error();
        auto out = report->to_json();
        out["text"] = report->to_text();
        return out;
    });
    desk->api_->set_cancel_check([self, primary, &clock](const ledger::Transaction& booking) -> Result<void> {
        return check_cancellation(primary, self->hospital_params_, booking,
                                  std::chrono::time_point_cast<std::chrono::seconds>(clock.wall_now()));
    });
    desk->live_ = desk->ledgers_.get();
    return desk;
}

void MoneyDesk::start() {
    ledgers_->start();
    reconciler_->start();
}

void MoneyDesk::close() {
    if (closed_) return;
    closed_ = true;
    if (reconciler_) reconciler_->stop();
    if (ledgers_) ledgers_->stop();
    if (his_) his_->stop();
    if (provider_) provider_->stop();
    live_ = nullptr;
}

MoneyDesk::~MoneyDesk() { close(); }

}  // namespace hisgate::controlplane::money
