#include "monitor-sim/sim_monitor.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>

#include <algorithm>

#include "common/log.h"
#include "mllp/framer.h"

namespace hisgate::monitor_sim {

using std::chrono::steady_clock;

namespace {
// How often an idle monitor looks at its queue of faults.
constexpr std::chrono::microseconds kLookEvery{100000};
}  // namespace

SimMonitor::SimMonitor(MonitorOptions options, std::function<void()> announce_now)
    : options_(std::move(options)), announce_now_(std::move(announce_now)),
      values_(options_.seed, options_.who.bed_number) {}

SimMonitor::~SimMonitor() { stop(); }

Result<void> SimMonitor::listen() {
    try {
        listener_.emplace();
        listener_->bind(Poco::Net::SocketAddress(options_.listen_address, 0), true);
        listener_->listen(4);
        port_ = listener_->address().port();
        return {};
    } catch (const Poco::Exception& e) {
        listener_.reset();
        return make_error(ErrorClass::Unavailable, "monitor.listen_failed",
                          options_.who.device_id + " cannot listen on " + options_.listen_address + ": " + e.displayText());
    }
}

Result<void> SimMonitor::start() {
    if (auto l = listen(); !l) return l;
    thread_ = std::thread([this] { run(); });
    return {};
}

void SimMonitor::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

void SimMonitor::command(const FaultCommand& f) {
    std::lock_guard lock(mu_);
    commands_.push_back(f);
}

nlohmann::json SimMonitor::status() const {
    return {{"device", options_.who.device_id}, {"model", options_.who.model}, {"bed", options_.who.bed},
            {"interface", to_string(options_.who.interface)}, {"port", port_.load()}, {"connected", connected_.load()},
            {"connections", connections_.load()}, {"results", results_.load()}, {"alarms", alarms_.load()}};
}

void SimMonitor::drop_connection() {
    if (conn_) {
        try {
            conn_->close();
        } catch (const Poco::Exception&) {
        }
    }
    conn_.reset();
    connected_ = false;
    endless_ = false;
    held_.reset();
}

bool SimMonitor::write(const std::string& bytes) {
    if (!conn_) return false;
    try {
        std::size_t done = 0;
        while (done < bytes.size()) {
            int n = conn_->sendBytes(bytes.data() + done, static_cast<int>(bytes.size() - done));
            if (n <= 0) throw Poco::Net::ConnectionResetException("send returned " + std::to_string(n));
            done += static_cast<std::size_t>(n);
        }
        return true;
    } catch (const Poco::Exception& e) {
        log::info("monitor.connection_lost", {{"device", options_.who.device_id}, {"error", e.displayText()}});
        drop_connection();
        return false;
    }
}

// A new connection replaces the current one: the gateway reconnecting after it gave up on
// a stalled connection must be served.
void SimMonitor::accept_waiting() {
    if (!listener_) return;
    try {
        // Waits for a connection until this monitor's next result is due, and at most
        // kLookEvery (faults are taken that often): a thread per monitor that woke every
        // 20 ms cost a third of a core for 200 monitors (bench/vitals), which 2,000 could
        // not have.
        auto wait = kLookEvery;
        if (conn_ && !stalled_ && !endless_)
            wait = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(next_send_ - steady_clock::now()),
                              std::chrono::microseconds(0), kLookEvery);
        if (!listener_->poll(Poco::Timespan(wait.count()), Poco::Net::Socket::SELECT_READ)) return;
        auto s = listener_->acceptConnection();
        drop_connection();
        s.setSendTimeout(Poco::Timespan(2, 0));
        s.setNoDelay(true);
        conn_ = std::move(s);
        connected_ = true;
        stalled_ = false;
        ++connections_;
        next_send_ = steady_clock::now();
        log::info("monitor.connected", {{"device", options_.who.device_id}});
    } catch (const Poco::Exception& e) {
        log::warn("monitor.accept_failed", {{"device", options_.who.device_id}, {"error", e.displayText()}});
    }
}

void SimMonitor::apply(const FaultCommand& f) {
    using K = FaultCommand::Kind;
    log::info("monitor.fault", {{"device", options_.who.device_id}, {"kind", static_cast<int>(f.kind)}, {"amount", f.amount}});
    switch (f.kind) {
        case K::Disconnect: drop_connection(); break;
        case K::Stall: stalled_ = true; break;
        case K::Garbage: {
            std::string junk(static_cast<std::size_t>(f.amount), '\0');
            for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) % 251);
            // Garbage outside frames (the start block removed so it stays outside), then a
            // frame whose payload is not HL7 at all.
            for (auto& c : junk)
                if (c == mllp::kStartBlock) c = 'x';
            write(junk + mllp::encode_frame("THIS IS NOT HL7\rNOR THIS"));
            break;
        }
        case K::EndlessFrame: endless_ = true; write(std::string(1, mllp::kStartBlock) + "MSH|^~\\&|"); break;
        case K::Duplicate: duplicate_next_ = true; break;
        case K::OutOfOrder: out_of_order_next_ = true; break;
        case K::ClockSkew: skew_seconds_ = f.amount; break;
        case K::Reboot:
            drop_connection();
            listener_.reset();
            port_ = 0;
            control_id_ = 0;  // a rebooted monitor counts its messages from the start again
            down_until_ = steady_clock::now() + std::chrono::milliseconds(f.amount);
            break;
        case K::UnknownCode: spoil_next_.unknown_code = true; break;
        case K::NonNumeric: spoil_next_.non_numeric = true; break;
        case K::Alarm: send_alarm({f.technical ? "2001" : "1001", f.technical ? "ECG Lead Off" : "HR High", f.priority, f.technical}); break;
        case K::Flood:
            for (int64_t i = 0; i < f.amount && conn_; ++i) send_result();
            break;
    }
}

void SimMonitor::send_result() {
    auto at = std::chrono::system_clock::now() + std::chrono::seconds(skew_seconds_);
    auto values = values_.next();
    auto msg = build_result(options_.who, ++control_id_, at, values, port_.load(), spoil_next_);
    spoil_next_ = {};
    std::string frame = mllp::encode_frame(msg);
    ++results_;
    if (out_of_order_next_) {
        out_of_order_next_ = false;
        held_ = frame;  // goes after the next one
        return;
    }
    if (duplicate_next_) {
        duplicate_next_ = false;
        frame += frame;
    }
    if (held_) {
        frame += *held_;
        held_.reset();
    }
    write(frame);
}

void SimMonitor::send_alarm(const Alarm& a) {
    if (!conn_) return;
    auto at = std::chrono::system_clock::now() + std::chrono::seconds(skew_seconds_);
    if (write(mllp::encode_frame(build_alarm(options_.who, ++control_id_, at, a)))) ++alarms_;
}

void SimMonitor::run() {
    int64_t alarm_n = 0;
    while (!stopping_) {
        if (down_until_) {
            if (steady_clock::now() < *down_until_) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                continue;
            }
            down_until_.reset();
            if (auto l = listen(); !l) {
                log::error("monitor.reboot_failed", {{"error", l.error().describe()}});
                down_until_ = steady_clock::now() + std::chrono::seconds(1);
                continue;
            }
            log::info("monitor.rebooted", {{"device", options_.who.device_id}, {"port", port_.load()}});
            announce_now_();
        }
        accept_waiting();
        std::deque<FaultCommand> todo;
        {
            std::lock_guard lock(mu_);
            todo.swap(commands_);
        }
        for (const auto& f : todo) apply(f);
        if (!conn_ || stalled_) continue;
        if (endless_) {
            // A frame that never ends: payload without an end block, until the gateway
            // closes the connection.
            write(std::string(16 * 1024, 'X'));
            continue;
        }
        auto now = steady_clock::now();
        if (now < next_send_) continue;
        next_send_ += options_.period;
        if (next_send_ < now) next_send_ = now + options_.period;  // never a burst to catch up
        send_result();
        if (options_.alarm_every > 0 && results_ % options_.alarm_every == 0) {
            ++alarm_n;
            send_alarm(alarm_n % 3 == 0 ? technical_alarm(alarm_n / 3) : physiological_alarm(alarm_n));
        }
    }
    drop_connection();
}

}  // namespace hisgate::monitor_sim
