#include "agent/vitals/monitor_link.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>

#include "agent/vitals/oru_parser.h"
#include "common/log.h"
#include "common/metrics.h"
#include "mllp/framer.h"
#include "mllp/socket_io.h"
#include "transport/backoff.h"

namespace hisgate::vitals {

const char* to_string(MonitorState s) {
    switch (s) {
        case MonitorState::Connecting: return "connecting";
        case MonitorState::Connected: return "connected";
        case MonitorState::Stale: return "stale";
        case MonitorState::Lost: return "lost";
    }
    return "";
}

// The socket of one connection, so the loop's helpers share it.
class ConnectionIo {
public:
    Poco::Net::StreamSocket socket;
};

namespace {
constexpr std::chrono::milliseconds kConnectTimeout{2000};
constexpr std::chrono::milliseconds kReadSlice{200};  // how often a quiet connection is looked at
constexpr std::size_t kReadBytes = 16 * 1024;  // a result is under 1 KiB; one buffer per monitor thread

metrics::Counter& connects(const char* outcome) {
    return metrics::global().counter("hisgate_vitals_connects_total", "Connection attempts to monitors, by outcome",
                                     {{"outcome", outcome}});
}
metrics::Counter& resets(const char* reason) {
    return metrics::global().counter("hisgate_vitals_connection_resets_total",
                                     "Monitor connections the gateway closed, by reason", {{"reason", reason}});
}
metrics::Counter& out_of_order() {
    return metrics::global().counter("hisgate_vitals_out_of_order_total",
                                     "Monitor messages older than one already taken from the same bed (stored, with their own time)");
}
}  // namespace

MonitorLink::MonitorLink(const VitalsSettings& settings, Announcement announced, VitalsStore& store, DropLog& drops,
                         Clock& clock)
    : settings_(settings), store_(store), drops_(drops), clock_(clock), target_(std::move(announced)),
      rng_(std::random_device{}()) {
    status_.device = target_.device;
    status_.model = target_.model;
    status_.ward = target_.ward;
    status_.bed = target_.bed;
    status_.address = target_.address;
    status_.port = target_.port;
    status_.interface = settings_.interface_of(target_.model);
}

MonitorLink::~MonitorLink() { stop(); }

void MonitorLink::start() { thread_ = std::thread([this] { run(); }); }

void MonitorLink::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void MonitorLink::announced(const Announcement& a) {
    std::lock_guard lock(mu_);
    bool moved = a.address != target_.address || a.port != target_.port;
    target_ = a;
    status_.model = a.model;
    status_.ward = a.ward;
    status_.bed = a.bed;
    status_.interface = settings_.interface_of(a.model);
    if (moved) {
        log::info("vitals.monitor_moved", {{"device", a.device}, {"address", a.address}, {"port", a.port}});
        status_.address = a.address;
        status_.port = a.port;
        retarget_ = true;
        cv_.notify_all();
    }
}

MonitorStatus MonitorLink::status() const {
    std::lock_guard lock(mu_);
    return status_;
}

void MonitorLink::set_state(MonitorState s) {
    std::lock_guard lock(mu_);
    if (status_.state == s) return;
    status_.state = s;
    log::info("vitals.monitor_state", {{"device", status_.device}, {"bed", status_.bed}, {"state", to_string(s)}});
}

bool MonitorLink::interrupted() const { return stopping_ || retarget_; }

void MonitorLink::run() {
    int attempt = 0;
    while (true) {
        Announcement target;
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            retarget_ = false;
            target = target_;
        }
        ConnectionIo io;
        bool opened = false;
        try {
            io.socket.connect(Poco::Net::SocketAddress(target.address, target.port),
                              Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(kConnectTimeout).count()));
            io.socket.setNoDelay(true);
            opened = true;
        } catch (const Poco::Exception& e) {
            connects("failed").inc();
            log::debug("vitals.connect_failed", {{"device", target.device}, {"error", e.displayText()}});
        }
        if (opened) {
            connects("ok").inc();
            {
                std::lock_guard lock(mu_);
                ++status_.connections;
            }
            log::info("vitals.monitor_connected", {{"device", target.device}, {"bed", target.bed}, {"port", target.port}});
            recent_ids_.clear();
            if (serve(io)) attempt = 0;  // data flowed: the next failure starts from the minimum wait
            try {
                io.socket.close();
            } catch (const Poco::Exception&) {
            }
        }
        std::unique_lock lock(mu_);
        if (stopping_) return;
        if (retarget_) continue;  // a new address: connect there at once
        if (status_.state != MonitorState::Lost) {
            status_.state = status_.connections > 0 ? MonitorState::Lost : MonitorState::Connecting;
            log::info("vitals.monitor_state", {{"device", status_.device}, {"bed", status_.bed}, {"state", to_string(status_.state)}});
        }
        auto wait = jittered_backoff(attempt++, settings_.backoff_min, settings_.backoff_max, rng_);
        clock_.wait_for(lock, cv_, wait, [this] { return interrupted(); });
    }
}

bool MonitorLink::serve(ConnectionIo& io) {
    mllp::FrameDecoder decoder(settings_.max_frame_bytes);
    std::vector<char> buffer(kReadBytes);
    std::vector<mllp::Frame> frames;
    auto last_data = clock_.steady_now();
    bool flowed = false;
    std::size_t discarded_seen = 0;
    int64_t window_start_ms = 0;
    int window_count = 0;
    std::string device;
    {
        std::lock_guard lock(mu_);
        device = status_.device;
    }
    while (true) {
        {
            std::lock_guard lock(mu_);
            if (interrupted()) return flowed;
        }
        auto got = mllp::read_some(io.socket, buffer.data(), buffer.size(), kReadSlice);
        auto now = clock_.steady_now();
        if (!got) {
            if (got.error().cls != ErrorClass::Timeout) {
                resets("connection_lost").inc();
                return flowed;
            }
            auto quiet = now - last_data;
            if (quiet >= settings_.lost_after) {
                // A stalled connection: the monitor holds it open and sends nothing.
                resets("stalled").inc();
                drops_.drop("stalled_connection", {{"device", device}});
                set_state(MonitorState::Lost);
                return flowed;
            }
            if (quiet >= settings_.stale_after) set_state(MonitorState::Stale);
            continue;
        }
        if (got.value() == 0) {
            resets("closed_by_monitor").inc();
            return flowed;
        }
        last_data = now;
        frames.clear();
        decoder.feed(std::string_view(buffer.data(), got.value()), frames);
        if (decoder.discarded_bytes() > discarded_seen) {
            drops_.drop("garbage_bytes", {{"device", device}}, static_cast<int64_t>(decoder.discarded_bytes() - discarded_seen));
            discarded_seen = decoder.discarded_bytes();
        }
        for (const auto& f : frames) {
            if (f.oversize) {
                drops_.drop("oversize_frame", {{"device", device}});
                resets("oversize_frame").inc();
                return flowed;
            }
            handle_frame(f.payload, window_start_ms, window_count);
            flowed = true;
        }
        if (decoder.skipping()) {
            // A frame past the cap that has not ended (and may never end): reading on would
            // only burn the link. Reset; the monitor starts clean on the next connection.
            drops_.drop("oversize_frame", {{"device", device}});
            resets("oversize_frame").inc();
            return flowed;
        }
    }
}

void MonitorLink::handle_frame(const std::string& payload, int64_t& window_start_ms, int& window_count) {
    ParseContext ctx;
    std::string device;
    {
        std::lock_guard lock(mu_);
        ctx.interface = status_.interface;
        ctx.bed = status_.bed;
        device = status_.device;
    }
    ctx.codes = &settings_.codes;
    ctx.device = device;
    ctx.now_ms = clock_.wall_ms();
    ctx.future_tolerance_ms = settings_.future_tolerance.count();
    // A monitor that floods: at most kMaxMessagesPerSecond messages per second are taken.
    if (ctx.now_ms - window_start_ms >= 1000) {
        window_start_ms = ctx.now_ms;
        window_count = 0;
    }
    if (++window_count > kMaxMessagesPerSecond) {
        drops_.drop("flood", {{"device", device}});
        return;
    }
    auto parsed = parse_result(payload, ctx);
    if (!parsed) {
        // "vitals.not_hl7" -> "not_hl7"; never the payload itself (it may name a patient).
        drops_.drop(parsed.error().code.substr(7), {{"device", device}});
        return;
    }
    auto& p = parsed.value();
    if (!p.control_id.empty()) {
        if (std::find(recent_ids_.begin(), recent_ids_.end(), p.control_id) != recent_ids_.end()) {
            drops_.drop("duplicate", {{"device", device}});
            return;
        }
        recent_ids_.push_back(p.control_id);
        if (recent_ids_.size() > kRecentControlIds) recent_ids_.pop_front();
    }
    for (const auto& [reason, n] : p.drops) drops_.drop(reason, {{"device", device}}, n);
    int64_t newest = 0;
    for (const auto& r : p.records)
        if (r.kind == VitalRecord::Kind::Sample) newest = std::max(newest, r.observed_ms);
    {
        std::lock_guard lock(mu_);
        ++status_.messages;
        if (newest > 0) {
            if (newest < status_.last_sample_ms) out_of_order().inc();
            status_.last_sample_ms = std::max(status_.last_sample_ms, newest);
        }
        if (status_.state != MonitorState::Connected) {
            status_.state = MonitorState::Connected;
            log::info("vitals.monitor_state", {{"device", status_.device}, {"bed", status_.bed}, {"state", "connected"}});
        }
    }
    store_.ingest(std::move(p.records));
}

}  // namespace hisgate::vitals
