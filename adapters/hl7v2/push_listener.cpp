#include "adapters/hl7v2/push_listener.h"

#include "adapters/hl7v2/push_message.h"
#include "adapters/registry.h"
#include "common/log.h"
#include "common/metrics.h"
#include "hl7/ack.h"
#include "mllp/server.h"

namespace hisgate::hl7v2 {

namespace {

metrics::Counter& push_counter(std::string_view ack) {
    return metrics::global().counter("hisgate_extraction_push_messages_total",
                                     "Reference-data pushes from the HIS, by the acknowledgement code answered",
                                     {{"ack", std::string(ack)}});
}

// A HIS pushes over one or two connections, and no reference-data message comes near a
// few MiB: the caps (push_listener.h) bound what the listener can be made to hold, instead
// of the MLLP server's defaults (256 x 16 MiB). An oversize frame closes its connection.
mllp::ServerOptions server_options(const PushSettings& settings) {
    mllp::ServerOptions o;
    o.bind = settings.host;
    o.port = settings.port;
    o.max_frame_bytes = kPushMaxFrameBytes;
    o.max_connections = kPushMaxConnections;
    o.max_buffered_bytes = kPushMaxBufferedBytes;
    o.close_on_oversize = true;
    o.allowed_peers = settings.allowed_peers;
    o.tls = !settings.cert_file.empty();
    o.cert_file = settings.cert_file;
    o.key_file = settings.key_file;
    o.client_ca_file = settings.client_ca_file;
    o.name = "hl7_push";
    return o;
}

class Hl7PushListener : public PushListener {
public:
    Hl7PushListener(const PushSettings& settings, hl7::ParseOptions parse_options, PushHandler handler)
        : fields_(settings.fields),
          parse_options_(parse_options),
          handler_(std::move(handler)),
          server_(server_options(settings), [this](std::string_view raw) { return on_push(raw); }) {}
    ~Hl7PushListener() override { stop(); }

    Result<void> start() { return server_.start(); }
    uint16_t port() const override { return server_.port(); }
    void stop() override { server_.stop(); }

private:
    mllp::Answer on_push(std::string_view raw) {
        auto message = hl7::Message::parse(raw, parse_options_);
        if (!message) {
            push_counter("AR").inc();
            log::warn("extraction.push_refused", {{"code", message.error().code}, {"reason", message.error().message}});
            return hl7::ack_for(raw, parse_options_);
        }
        if (message->get("MSH-9-1") == "ACK") return std::string();  // an ACK is never acknowledged

        auto reading = read_push(message.value(), fields_);
        if (reading.refusal) {
            push_counter(hl7::to_string(reading.refusal->code)).inc();
            log::warn("extraction.push_refused", {{"kind", reading.kind},
                                                  {"control_id", message->get("MSH-10")},
                                                  {"hl7_code", reading.refusal->error.hl7_code},
                                                  {"reason", reading.refusal->error.text}});
            return hl7::make_ack(message.value(), reading.refusal->code, reading.refusal->error);
        }
        auto stored = handler_({reading.kind, message->get("MSH-10"), std::move(reading.updates)});
        if (!stored) {
            push_counter("AE").inc();
            log::error("extraction.push_unapplied", {{"kind", reading.kind}, {"code", stored.error().code},
                                                     {"message", stored.error().message}});
            hl7::AckError e;
            e.hl7_code = "207";
            e.text = "application internal error: the agent could not store the change (" + stored.error().code +
                     "); send it again";
            return hl7::make_ack(message.value(), hl7::AckCode::AE, e);
        }
        push_counter("AA").inc();
        return hl7::make_ack(message.value(), hl7::AckCode::AA);
    }

    PushFields fields_;
    hl7::ParseOptions parse_options_;
    PushHandler handler_;
    mllp::Server server_;  // last: stopped (its threads joined) before the rest goes
};

}  // namespace

Result<std::optional<PushSettings>> push_settings_from_params(const params::ParamSet& p) {
    // The field map is checked even without a listener: a wrong entry stops the agent at start.
    auto fields = PushFields::from_json(p.json("extraction.hl7.fields"));
    if (!fields) return fields.error();
    std::vector<IpRange> allowed;
    for (const auto& item : p.json("extraction.push.allowed_peers")) {
        auto range = item.is_string() ? IpRange::parse(item.get<std::string>()) : std::nullopt;
        if (!range)  // the validator refused it already; a ParamSet built by hand may not have
            return make_error(ErrorClass::Config, "params.invalid",
                              "extraction.push.allowed_peers: " + item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                  " is not an IP address or CIDR block");
        allowed.push_back(*range);
    }
    std::string cert = p.string("extraction.push.tls.cert_file");
    std::string key = p.string("extraction.push.tls.key_file");
    std::string client_ca = p.string("extraction.push.tls.client_ca_file");
    if (cert.empty() != key.empty() || (cert.empty() && !client_ca.empty()))
        return make_error(ErrorClass::Config, "params.invalid",
                          "extraction.push.tls: cert_file and key_file go together, and client_ca_file needs them");
    std::string listen = p.string("extraction.push.listen");
    if (listen.empty()) return std::optional<PushSettings>();
    auto endpoint = host_and_port(listen, "extraction.push.listen");
    if (!endpoint) return endpoint.error();
    return std::optional<PushSettings>(PushSettings{endpoint->first, endpoint->second, std::move(fields.value()),
                                                    std::move(allowed), cert, key, client_ca});
}

Result<std::unique_ptr<PushListener>> listen_for_hl7_pushes(const PushSettings& settings,
                                                            const hl7::ParseOptions& parse_options, PushHandler handler) {
    auto listener = std::make_unique<Hl7PushListener>(settings, parse_options, std::move(handler));
    if (auto started = listener->start(); !started) return started.error();
    log::info("extraction.push_listening", {{"bind", settings.host},
                                            {"port", listener->port()},
                                            {"tls", !settings.cert_file.empty()},
                                            {"allowed_peers", settings.allowed_peers.size()}});
    return std::unique_ptr<PushListener>(std::move(listener));
}

}  // namespace hisgate::hl7v2
