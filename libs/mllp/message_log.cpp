#include "mllp/message_log.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/log.h"
#include "common/thread_name.h"

namespace hisgate::mllp {

namespace {

constexpr uint32_t kMagic = 0x314C4748;  // "HGL1" in the file's byte order
constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kLogReadChunk = 1u << 20;
// The largest key or body a scan accepts, whatever the options (they may have been larger
// when the record was written): a length past it is damage, not a record.
constexpr std::size_t kMaxField = 1u << 30;

Error io_error(std::string_view what, const std::string& path, int err) {
    return make_error(ErrorClass::Unavailable, "mllp.store_failed",
                      std::string(what) + " " + path + ": " + std::strerror(err));
}

void put32(char* at, uint32_t v) {
    for (int i = 0; i < 4; ++i) at[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t get32(const char* at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(at[i])) << (8 * i);
    return v;
}

uint32_t crc_of(std::string_view bytes, uint32_t crc) {
    // zlib takes uInt lengths: feed huge inputs in pieces.
    while (!bytes.empty()) {
        auto n = static_cast<uInt>(std::min<std::size_t>(bytes.size(), 1u << 30));
        crc = static_cast<uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), n));
        bytes.remove_prefix(n);
    }
    return crc;
}

// The record's checksum: over the two lengths (header bytes 4..12), the key and the body.
uint32_t record_crc(const char* header, std::string_view key, std::string_view body) {
    uint32_t crc = crc_of(std::string_view(header + 4, 8), 0);
    return crc_of(body, crc_of(key, crc));
}

void make_header(char* header, std::string_view key, std::string_view body) {
    put32(header, kMagic);
    put32(header + 4, static_cast<uint32_t>(key.size()));
    put32(header + 8, static_cast<uint32_t>(body.size()));
    put32(header + 12, record_crc(header, key, body));
}

Result<void> pread_all(int fd, char* into, std::size_t n, uint64_t offset, const std::string& path) {
    while (n > 0) {
        ssize_t got = ::pread(fd, into, n, static_cast<off_t>(offset));
        if (got < 0) {
            if (errno == EINTR) continue;
            return io_error("cannot read", path, errno);
        }
        if (got == 0) return make_error(ErrorClass::Internal, "mllp.store_failed", "unexpected end of " + path);
        into += got;
        n -= static_cast<std::size_t>(got);
        offset += static_cast<uint64_t>(got);
    }
    return {};
}

// Scans the file from the start with a sliding buffer; stops at the first record that is
// incomplete, out of bounds or fails its checksum.
Result<LogScan> scan_fd(int fd, const std::string& path, std::size_t max_key, std::size_t max_body,
                        const std::function<void(const LogRecord&)>& visit) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return io_error("cannot stat", path, errno);
    LogScan scan;
    scan.file_bytes = static_cast<uint64_t>(st.st_size);
    std::string buffer;
    uint64_t buffer_at = 0;  // file offset of buffer[0]
    uint64_t offset = 0;
    // Makes [offset, offset + n) present in the buffer; false when the file ends first.
    auto have = [&](std::size_t n) -> Result<bool> {
        if (offset + n > scan.file_bytes) return false;
        if (offset >= buffer_at && offset + n <= buffer_at + buffer.size()) return true;
        std::size_t want = static_cast<std::size_t>(
            std::min<uint64_t>(std::max<std::size_t>(n, kLogReadChunk), scan.file_bytes - offset));
        buffer.resize(want);
        if (auto r = pread_all(fd, buffer.data(), want, offset, path); !r) return r.error();
        buffer_at = offset;
        return true;
    };
    while (true) {
        auto h = have(kHeaderBytes);
        if (!h) return h.error();
        if (!*h) break;
        const char* header = buffer.data() + (offset - buffer_at);
        const uint32_t key_len = get32(header + 4), body_len = get32(header + 8);
        if (get32(header) != kMagic || key_len > max_key || body_len > max_body) break;
        const std::size_t whole = kHeaderBytes + key_len + body_len;
        auto r = have(whole);
        if (!r) return r.error();
        if (!*r) break;
        header = buffer.data() + (offset - buffer_at);
        std::string_view key(header + kHeaderBytes, key_len);
        std::string_view body(header + kHeaderBytes + key_len, body_len);
        if (record_crc(header, key, body) != get32(header + 12)) break;
        if (visit) visit(LogRecord{offset, key, body});
        ++scan.records;
        offset += whole;
    }
    scan.valid_bytes = offset;
    return scan;
}

struct IndexEntry {
    uint64_t offset;
    uint32_t crc;
    uint32_t body_len;
};

}  // namespace

struct MessageLog::Impl {
    struct Request {
        LogEntry entry;
        Result<Appended> result = Appended{};
        bool done = false;
        // The caller's own: the writer wakes exactly the callers of a batch, not every
        // waiting connection.
        std::condition_variable* wake = nullptr;
        char header[kHeaderBytes];
        std::size_t bytes() const { return kHeaderBytes + entry.key.size() + entry.message.size(); }
    };

    MessageLogOptions options;
    std::string path;
    int fd = -1;

    // Owned by the writer thread (and by open() before it starts).
    uint64_t end = 0;  // the durable end of the file: the next record goes here
    std::unordered_multimap<std::string, IndexEntry> index;  // key -> its records
    std::deque<std::string> index_order;                    // keys, oldest first
    std::optional<Error> poisoned;                           // set by a failed sync

    mutable std::mutex mu;
    std::condition_variable work_cv;
    std::deque<Request*> queue;
    std::size_t queued_bytes = 0;
    bool stopping = false;
    bool fail_writes = false;
    MessageLogStats stats;
    std::thread writer;

    ~Impl() {
        if (fd >= 0) ::close(fd);
    }

    void remember(std::string_view key, IndexEntry e) {
        if (key.empty() || options.dedupe_window == 0) return;
        index.emplace(std::string(key), e);
        index_order.emplace_back(key);
        while (index_order.size() > options.dedupe_window) {
            forget(index_order.front(), 0, true);
            index_order.pop_front();
        }
    }
    // Drops the oldest record of `key` (oldest = true), or the one at `offset`.
    void forget(const std::string& key, uint64_t offset, bool oldest) {
        auto [first, last] = index.equal_range(key);
        auto victim = last;
        for (auto it = first; it != last; ++it)
            if (oldest ? (victim == last || it->second.offset < victim->second.offset) : it->second.offset == offset)
                victim = it;
        if (victim != last) index.erase(victim);
    }

    // The record `r` duplicates (same key, same bytes), among the stored ones and the
    // earlier ones of this batch; nullopt if none.
    std::optional<uint64_t> duplicate_of(const Request& r, uint32_t crc, const std::vector<Request*>& batch,
                                         const std::vector<uint64_t>& offsets) {
        if (r.entry.key.empty()) return std::nullopt;
        auto [first, last] = index.equal_range(std::string(r.entry.key));
        for (auto it = first; it != last; ++it) {
            const IndexEntry& e = it->second;
            if (e.crc != crc || e.body_len != r.entry.message.size()) continue;
            if (e.offset >= end) {  // in this batch: compare with the request itself
                for (std::size_t i = 0; i < batch.size(); ++i)
                    if (offsets[i] == e.offset && batch[i]->entry.message == r.entry.message) return e.offset;
                continue;
            }
            std::string stored(r.entry.message.size(), '\0');
            const uint64_t at = e.offset + kHeaderBytes + r.entry.key.size();
            if (pread_all(fd, stored.data(), stored.size(), at, path).ok() && stored == r.entry.message)
                return e.offset;
        }
        return std::nullopt;
    }

    void write_loop();
    // Writes and syncs one batch; sets every request's result.
    void commit(std::vector<Request*>& batch);
    Result<void> write_iovecs(std::vector<iovec>& iov, uint64_t at);
};

MessageLog::MessageLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<MessageLog>> MessageLog::open(MessageLogOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    const std::string& dir = impl->options.dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(ErrorClass::Config, "mllp.store_dir", "cannot create store directory " + dir + ": " + ec.message());
    impl->path = dir + "/" + kMessageLogFile;
    impl->fd = ::open(impl->path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (impl->fd < 0)
        return make_error(ErrorClass::Config, "mllp.store_dir", "cannot open " + impl->path + ": " + std::strerror(errno));
    if (::flock(impl->fd, LOCK_EX | LOCK_NB) != 0)
        return make_error(ErrorClass::Config, "mllp.store_locked", impl->path + " is open in another process");
    // The file's name must survive a crash as well as its contents.
    if (int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        int synced = ::fsync(d);
        ::close(d);
        if (synced != 0) return io_error("cannot fsync directory", dir, errno);
    }

    Impl& s = *impl;
    auto scan = scan_fd(s.fd, s.path, kMaxField, kMaxField,
                        [&s](const LogRecord& r) {
                            char header[kHeaderBytes];
                            make_header(header, r.key, r.message);
                            s.remember(r.key, IndexEntry{r.offset, get32(header + 12),
                                                         static_cast<uint32_t>(r.message.size())});
                        });
    if (!scan) return scan.error();
    const uint64_t torn = scan->file_bytes - scan->valid_bytes;
    // A crash tears at most the batch being written: its bytes, and one record past the
    // byte bound (a batch always takes at least one record).
    const uint64_t max_torn = s.options.max_batch_bytes + kHeaderBytes + s.options.max_key_bytes + s.options.max_message_bytes;
    if (torn > max_torn)
        return make_error(ErrorClass::Internal, "mllp.store_corrupt",
                          s.path + ": " + std::to_string(torn) + " bytes after the last whole record at offset " +
                              std::to_string(scan->valid_bytes) + ", more than a torn batch can leave; not truncated");
    if (torn > 0) {
        if (::ftruncate(s.fd, static_cast<off_t>(scan->valid_bytes)) != 0 || ::fdatasync(s.fd) != 0)
            return io_error("cannot truncate the torn tail of", s.path, errno);
        log::warn("mllp.store_torn_tail", {{"path", s.path}, {"offset", scan->valid_bytes}, {"bytes", torn}});
    }
    s.end = scan->valid_bytes;
    s.stats.records = scan->records;
    s.stats.truncated_bytes = torn;
    s.writer = std::thread([&s] { s.write_loop(); });
    return std::unique_ptr<MessageLog>(new MessageLog(std::move(impl)));
}

MessageLog::~MessageLog() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->work_cv.notify_all();
    if (impl_->writer.joinable()) impl_->writer.join();
}

const std::string& MessageLog::path() const { return impl_->path; }

MessageLogStats MessageLog::stats() const {
    std::lock_guard lock(impl_->mu);
    return impl_->stats;
}

void MessageLog::fail_writes_for_test(bool fail) {
    std::lock_guard lock(impl_->mu);
    impl_->fail_writes = fail;
}

Result<Appended> MessageLog::append(std::string_view message, std::string_view key) {
    LogEntry entry{message, key};
    return std::move(append_all(std::span<const LogEntry>(&entry, 1)).front());
}

std::vector<Result<Appended>> MessageLog::append_all(std::span<const LogEntry> entries) {
    Impl& s = *impl_;
    std::vector<Impl::Request> requests(entries.size());
    std::condition_variable wake;
    std::size_t waiting = 0;
    {
        std::unique_lock lock(s.mu);
        for (std::size_t i = 0; i < entries.size(); ++i) {
            Impl::Request& r = requests[i];
            r.entry = entries[i];
            r.done = true;  // until queued
            if (r.entry.message.size() > s.options.max_message_bytes || r.entry.key.size() > s.options.max_key_bytes) {
                r.result = make_error(ErrorClass::BadInput, "mllp.store_bad_input",
                                      "message of " + std::to_string(r.entry.message.size()) + " bytes or key of " +
                                          std::to_string(r.entry.key.size()) + " bytes is over the store's bound");
                continue;
            }
            // An empty queue always takes one message, so any message within the bound gets in.
            if (s.stopping || (!s.queue.empty() && s.queued_bytes + r.bytes() > s.options.max_pending_bytes)) {
                r.result = make_error(ErrorClass::Unavailable, "mllp.store_busy",
                                      s.stopping ? "the store is closing" : "too many bytes are waiting to be stored");
                continue;
            }
            r.done = false;
            r.wake = &wake;
            s.queue.push_back(&r);
            s.queued_bytes += r.bytes();
            ++waiting;
        }
        if (waiting > 0) {
            s.work_cv.notify_one();
            wake.wait(lock, [&] {
                return std::all_of(requests.begin(), requests.end(), [](const Impl::Request& r) { return r.done; });
            });
        }
    }
    std::vector<Result<Appended>> results;
    results.reserve(requests.size());
    for (auto& r : requests) results.push_back(std::move(r.result));
    return results;
}

void MessageLog::Impl::write_loop() {
    name_this_thread("mllp-store");
    std::vector<Request*> batch;
    std::unique_lock lock(mu);
    while (true) {
        work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) break;  // stopping, and nothing left to store
        if (options.max_wait.count() > 0 && queue.size() < options.max_batch_messages)
            work_cv.wait_for(lock, options.max_wait, [&] {
                return stopping || queue.size() >= options.max_batch_messages || queued_bytes >= options.max_batch_bytes;
            });
        batch.clear();
        std::size_t bytes = 0;
        while (!queue.empty() && batch.size() < options.max_batch_messages &&
               (batch.empty() || bytes + queue.front()->bytes() <= options.max_batch_bytes)) {
            bytes += queue.front()->bytes();
            batch.push_back(queue.front());
            queue.pop_front();
        }
        queued_bytes -= bytes;
        const bool failing = fail_writes;
        lock.unlock();

        if (failing) {
            for (Request* r : batch)
                r->result = make_error(ErrorClass::Unavailable, "mllp.store_failed", "cannot write " + path + ": test fault");
        } else {
            commit(batch);
        }

        lock.lock();
        std::condition_variable* woken = nullptr;
        for (Request* r : batch) {
            if (r->result.ok()) {
                if (r->result->duplicate) ++stats.duplicates;
                else ++stats.records;
            }
            r->done = true;
            // A caller's requests are queued together: wake each caller once.
            if (r->wake != woken) r->wake->notify_one();
            woken = r->wake;
        }
        ++stats.batches;
    }
}

void MessageLog::Impl::commit(std::vector<Request*>& batch) {
    if (poisoned) {
        for (Request* r : batch) r->result = *poisoned;
        return;
    }
    std::vector<iovec> iov;
    iov.reserve(batch.size() * 3);
    std::vector<uint64_t> offsets(batch.size(), 0);
    std::vector<std::size_t> added;  // batch positions whose key this batch remembered
    uint64_t at = end;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        Request& r = *batch[i];
        make_header(r.header, r.entry.key, r.entry.message);
        const uint32_t crc = get32(r.header + 12);
        if (auto earlier = duplicate_of(r, crc, batch, offsets)) {
            offsets[i] = UINT64_MAX;  // not written
            r.result = Appended{*earlier, true};
            continue;
        }
        offsets[i] = at;
        r.result = Appended{at, false};
        iov.push_back({r.header, kHeaderBytes});
        if (!r.entry.key.empty()) iov.push_back({const_cast<char*>(r.entry.key.data()), r.entry.key.size()});
        if (!r.entry.message.empty())
            iov.push_back({const_cast<char*>(r.entry.message.data()), r.entry.message.size()});
        at += r.bytes();
        if (!r.entry.key.empty() && options.dedupe_window > 0) {
            index.emplace(std::string(r.entry.key), IndexEntry{offsets[i], crc, static_cast<uint32_t>(r.entry.message.size())});
            added.push_back(i);
        }
    }
    auto fail_batch = [&](const Error& e) {
        for (std::size_t i : added) forget(std::string(batch[i]->entry.key), offsets[i], false);
        for (Request* r : batch) r->result = e;
    };
    if (iov.empty()) return;  // only duplicates: their records are durable already
    if (auto w = write_iovecs(iov, end); !w) {
        // Undo the partial write so the next batch starts at a record boundary.
        if (::ftruncate(fd, static_cast<off_t>(end)) != 0) poisoned = io_error("cannot truncate", path, errno);
        log::error("mllp.store_failed", {{"path", path}, {"error", w.error().describe()}});
        fail_batch(w.error());
        return;
    }
    if (::fdatasync(fd) != 0) {
        poisoned = io_error("cannot fdatasync", path, errno);
        log::error("mllp.store_failed", {{"path", path}, {"error", poisoned->describe()}});
        fail_batch(*poisoned);
        return;
    }
    end = at;
    // The index entries become permanent; bound them by the window.
    for (std::size_t i : added) index_order.emplace_back(batch[i]->entry.key);
    while (index_order.size() > options.dedupe_window) {
        forget(index_order.front(), 0, true);
        index_order.pop_front();
    }
}

Result<void> MessageLog::Impl::write_iovecs(std::vector<iovec>& iov, uint64_t at) {
    std::size_t first = 0;
    while (first < iov.size()) {
        const int count = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
        ssize_t n = ::pwritev(fd, iov.data() + first, count, static_cast<off_t>(at));
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("cannot write", path, errno);
        }
        at += static_cast<uint64_t>(n);
        auto left = static_cast<std::size_t>(n);
        while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (left > 0) {  // a short write ended inside this piece
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    return {};
}

Result<LogScan> MessageLog::read(const std::string& path, const std::function<void(const LogRecord&)>& visit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(ErrorClass::NotFound, "mllp.store_missing", "cannot open " + path + ": " + std::strerror(errno));
    auto scan = scan_fd(fd, path, kMaxField, kMaxField, visit);
    ::close(fd);
    return scan;
}

}  // namespace hisgate::mllp
