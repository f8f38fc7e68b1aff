// The public partition at national size (issue 14, "Benchmarks"): search latency on read
// replicas under an open-loop load, beside the same searches answered from the primary's
// own file while change sets are applied to it; a replica's apply rate from the stream; and
// a new replica's join time from a snapshot.
//
//   public_partition_bench [--hospitals N] [--doctors D] [--days K] [--slots-per-day S]
//                          [--rate R] [--seconds S] [--warmup S] [--connections C]
//                          [--change-rate CS_PER_S] [--change-records N]
//                          [--burst CHANGESETS] [--dir DIR] [--rows replicas,primary]
//                          (defaults 2000, 30, 7, 8, 500, 30, 5, 32, 200, 5, 5000, a temp dir, both)
//                          [--primary-mmap BYTES] [--explain FILE]
//   public_partition_bench --serve-search FILE PORT MMAP_BYTES   (the primary row's search server)
//
// What runs, all on loopback:
//  1. Build. This program writes one change set per hospital (its hospital record, 10
//     departments, D doctors with Chinese names, titles and specialties, D x K x S slots:
//     hourly time segments with capacity and booked counts, from today) through the real
//     primary (open_sqlite_public_primary, PublicPrimary::apply of parse_change_set's
//     value, as the control plane applies an agent's change set), into DIR/primary.db.
//     A DIR holding a primary.db built with the same sizes is reused (the build's figures
//     are then not printed again).
//  2. Mosquitto and a real hisgate-controlplane (tests/support/system.h, no hospitals)
//     serving that file as its public partition (public.db): the replication stream and
//     snapshots. This program keeps the file open too and goes on applying change sets to
//     it, as a second control-plane instance sharing the file would (the stream is read
//     from the file, so the control plane serves them to the replicas).
//  3. Join: two real hisgate-replica processes started one after the other on empty files;
//     each one's time from its start to answering a search at the primary's head (snapshot
//     written by the control plane, sent, verified by checksum, moved into place).
//  4. Apply rate: both replicas stopped (SIGSTOP), a burst of change sets (R records each)
//     applied to the primary as fast as it takes them (the primary's apply rate), then one
//     replica resumed (SIGCONT): records in the burst / time until it reports the head.
//  5. Search rows, each `warmup` s not counted then `seconds` s counted, with a change
//     load of CS_PER_S change sets/s (N slot records each: booked counts moving, hospitals in
//     turn) applied to the primary throughout:
//       replicas  C keep-alive connections, half to each replica (which follow the stream);
//       primary   the same C connections, the same queries in the same order, to a server
//                 (this program, --serve-search) running the very code a replica answers
//                 with (public_partition::serve_search over a pool of read connections) on
//                 the primary's own file, the file the change load is written to; the
//                 replicas are stopped (SIGSTOP) meanwhile, as without replicas there are
//                 none.
//     The load is open loop: request i is due at t0 + i / rate on connection i mod C, and
//     its latency counts from when it was due (a late send is latency, not a lower rate).
//     Query mix (seeded, the same in both rows): slots of a hospital's department over a
//     3-day range (35%), slots of a department nationwide over 3 days (15%), slots by a
//     doctor's name (5%); doctors by Chinese name or specialty (15%), by pinyin (10%), by
//     Latin text (5%); hospitals by Chinese or pinyin city or name (10%); a hospital's
//     departments (5%).
// Prints a RESULT line per figure, a table, the load average and every process's CPU.
// Exit status 1 when the system did not come up or a request failed; timing never fails it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/program.h"
#include "common/sqlite.h"
#include "common/utc_time.h"
#include "controlplane/public_partition/public_primary.h"
#include "controlplane/public_partition/search_api.h"
#include "controlplane/replica/replica_store.h"
#include "tests/support/proc_stats.h"
#include "tests/support/replica.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::test;
namespace pp = hisgate::controlplane::public_partition;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
    int hospitals = 2000, doctors = 30, days = 7, slots_per_day = 8;
    double rate = 500;
    int seconds = 30, warmup = 5, connections = 32;
    double change_rate = 200;
    int change_records = 5;
    int burst = 5000;
    std::string dir;
    std::string rows = "replicas,primary";
    std::string explain;  // a file to explain the query mix on, instead of running
    // PRAGMA mmap_size of the primary row's read connections (default: the replicas' own).
    int64_t primary_mmap = hisgate::controlplane::replica::ReplicaStore::kReaderMmapBytes;
};

double since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

// ---- the data -------------------------------------------------------------------------

struct Place {
    const char* region;
    const char* city;
};
const std::vector<Place> kPlaces = {
    {"beijing", "北京"},   {"shanghai", "上海"},  {"guangdong", "广州"}, {"guangdong", "深圳"}, {"sichuan", "成都"},
    {"hubei", "武汉"},     {"zhejiang", "杭州"},  {"jiangsu", "南京"},   {"jiangsu", "苏州"},   {"shaanxi", "西安"},
    {"hunan", "长沙"},     {"henan", "郑州"},     {"shandong", "济南"},  {"shandong", "青岛"},  {"fujian", "福州"},
    {"fujian", "厦门"},    {"liaoning", "沈阳"},  {"liaoning", "大连"},  {"tianjin", "天津"},   {"chongqing", "重庆"},
    {"yunnan", "昆明"},    {"guangxi", "南宁"},   {"anhui", "合肥"},     {"jiangxi", "南昌"},   {"hebei", "石家庄"},
    {"shanxi", "太原"},    {"jilin", "长春"},     {"heilongjiang", "哈尔滨"}, {"guizhou", "贵阳"}, {"gansu", "兰州"},
    {"xinjiang", "乌鲁木齐"}, {"hainan", "海口"}, {"neimenggu", "呼和浩特"}, {"ningxia", "银川"}, {"qinghai", "西宁"},
    {"xizang", "拉萨"},    {"guangdong", "佛山"}, {"zhejiang", "宁波"},  {"jiangsu", "无锡"},   {"guangdong", "东莞"},
};
const std::vector<const char*> kHospitalKinds = {"第一人民医院", "第二人民医院", "第三人民医院", "中医医院",
                                                 "中心医院",     "妇幼保健院",   "儿童医院",     "肿瘤医院",
                                                 "口腔医院",     "眼科医院",     "人民医院",     "中西医结合医院"};
const std::vector<const char*> kLevels = {"3A", "3A", "3B", "2A", "2B", "1A"};
struct Dept {
    const char* id;
    const char* name;
};
const std::vector<Dept> kDepartments = {{"D-INT", "内科"},   {"D-CAR", "心血管内科"}, {"D-PED", "儿科"},
                                        {"D-OBS", "妇产科"}, {"D-ORT", "骨科"},       {"D-OPH", "眼科"},
                                        {"D-DER", "皮肤科"}, {"D-NEU", "神经内科"},   {"D-GAS", "消化内科"},
                                        {"D-DEN", "口腔科"}};
const std::vector<const char*> kSurnames = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
                                            "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋",
                                            "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁"};
const std::vector<const char*> kGiven = {"芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
                                         "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建国", "建华",
                                         "文", "华", "红", "玉兰", "志强", "海燕", "晓东", "国庆", "春梅", "立新"};
const std::vector<const char*> kTitles = {"主任医师", "副主任医师", "主治医师", "住院医师"};
// Per department: a specialty in Chinese, and one in Latin text (a third of the doctors).
const std::vector<std::pair<const char*, const char*>> kSpecialties = {
    {"高血压 糖尿病", "internal medicine"}, {"冠心病 心律失常", "cardiology, heart failure"},
    {"小儿哮喘 发热", "pediatric asthma"},  {"高危妊娠", "obstetrics"},
    {"脊柱 关节置换", "spine surgery"},     {"白内障 青光眼", "cataract"},
    {"湿疹 银屑病", "dermatology"},         {"癫痫 帕金森", "epilepsy"},
    {"胃镜 肝病", "gastroenterology"},      {"种植牙 正畸", "orthodontics"}};

uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::string hospital_id(int h) {
    char b[16];
    std::snprintf(b, sizeof b, "H%04d", h + 1);
    return b;
}
std::string doctor_id(int d) {
    char b[16];
    std::snprintf(b, sizeof b, "DR-%03d", d + 1);
    return b;
}
std::string hospital_name(int h) {
    const auto& p = kPlaces[h % kPlaces.size()];
    return std::string(p.city) + "市" + kHospitalKinds[(h / kPlaces.size()) % kHospitalKinds.size()] +
           ((h / kPlaces.size()) >= kHospitalKinds.size() ? std::string("分院") + std::to_string(h / kPlaces.size() / kHospitalKinds.size()) : "");
}
std::string doctor_name(int h, int d) {
    uint64_t r = mix(static_cast<uint64_t>(h) * 1000 + d);
    return std::string(kSurnames[r % kSurnames.size()]) + kGiven[(r >> 16) % kGiven.size()];
}
const Dept& doctor_dept(int d) { return kDepartments[d % kDepartments.size()]; }
std::string date_plus(const std::string& today, int days) {
    std::tm tm{};
    strptime(today.c_str(), "%Y-%m-%d", &tm);
    auto t = std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::hours(24 * days);
    return utc_strftime(t, "%Y-%m-%d");
}

// Slot k of a day: hourly segments, half in the morning from 08:00, half in the afternoon from 13:30.
struct SlotTime {
    std::string start, end, half;
};
SlotTime slot_time(int k, int per_day) {
    const int am = (per_day + 1) / 2;
    int m = k < am ? 8 * 60 + 60 * k : 13 * 60 + 30 + 60 * (k - am);
    char s[32], e[32];
    std::snprintf(s, sizeof s, "%02d:%02d", m / 60, m % 60);
    std::snprintf(e, sizeof e, "%02d:%02d", (m + 60) / 60, (m + 60) % 60);
    return {s, e, k < am ? "AM" : "PM"};
}

struct Data {
    Options o;
    std::string today;
    std::vector<std::string> dates;  // today .. today + days - 1

    int capacity(int h, int d, int day, int k) const { return 4 + static_cast<int>(mix((h * 64 + d) * 64 + day * 16 + k) % 12); }
    int64_t fee(int d) const {
        static const int64_t fees[] = {5000, 3000, 2000, 1000};
        return fees[(d / kDepartments.size()) % 4];
    }
    nlohmann::json slot(int h, int d, int day, int k, int booked) const {
        const auto t = slot_time(k, o.slots_per_day);
        const std::string id = "S-" + doctor_id(d) + "-" + dates[day] + "-" + t.start;
        return {{"entity", "slot"},
                {"op", "upsert"},
                {"key", id},
                {"data",
                 {{"slotId", id}, {"doctorId", doctor_id(d)}, {"departmentId", doctor_dept(d).id}, {"date", dates[day]},
                  {"start", t.start}, {"end", t.end}, {"half", t.half}, {"capacity", capacity(h, d, day, k)},
                  {"booked", booked}, {"feeCents", fee(d)}}}};
    }
    nlohmann::json change_set(int h, int64_t seq, nlohmann::json changes) const {
        return {{"schema", 1},       {"seq", seq},       {"baseSeq", seq - 1},
                {"hospital", hospital_id(h)}, {"source", "pull"}, {"createdAt", "2026-12-05T00:00:00Z"},
                {"changes", std::move(changes)}};
    }
    // A hospital's first change set: everything it has.
    nlohmann::json full(int h) const {
        nlohmann::json c = nlohmann::json::array();
        const auto& p = kPlaces[h % kPlaces.size()];
        c.push_back({{"entity", "hospital"}, {"op", "upsert"}, {"key", hospital_id(h)},
                     {"data", {{"hospitalId", hospital_id(h)}, {"name", hospital_name(h)}, {"region", p.region},
                               {"city", p.city}, {"level", kLevels[h % kLevels.size()]}}}});
        for (const auto& dep : kDepartments)
            c.push_back({{"entity", "department"}, {"op", "upsert"}, {"key", dep.id},
                         {"data", {{"departmentId", dep.id}, {"name", dep.name}}}});
        for (int d = 0; d < o.doctors; ++d) {
            const auto& sp = kSpecialties[d % kDepartments.size()];
            std::string specialty = sp.first;
            if (mix(h * 100 + d) % 3 == 0) specialty += std::string(" ") + sp.second;
            c.push_back({{"entity", "doctor"}, {"op", "upsert"}, {"key", doctor_id(d)},
                         {"data", {{"doctorId", doctor_id(d)}, {"departmentId", doctor_dept(d).id},
                                   {"name", doctor_name(h, d)}, {"title", kTitles[(d / kDepartments.size()) % 4]},
                                   {"specialty", specialty}}}});
        }
        for (int d = 0; d < o.doctors; ++d)
            for (int day = 0; day < o.days; ++day)
                for (int k = 0; k < o.slots_per_day; ++k) {
                    const int cap = capacity(h, d, day, k);
                    // Sooner days are fuller; about one slot in eight is full.
                    const int booked = static_cast<int>(mix(h * 7919 + d * 131 + day * 17 + k) % (cap + 2));
                    c.push_back(slot(h, d, day, k, std::min(booked, cap)));
                }
        return change_set(h, 1, std::move(c));
    }
};

// ---- the change load ------------------------------------------------------------------

class Changer {
public:
    Changer(const Data& data, pp::PublicPrimary& primary) : data_(data), primary_(primary), seq_(data.o.hospitals, 1) {
        // A reused file goes on from where its hospitals are.
        if (auto states = primary_.hospitals())
            for (const auto& st : *states)
                if (st.hospital_id.size() == 5 && st.hospital_id[0] == 'H') {
                    const int h = std::stoi(st.hospital_id.substr(1)) - 1;
                    if (h >= 0 && h < data.o.hospitals) seq_[h] = st.seq;
                }
    }

    // One change set: `records` slots of the next hospital in turn with new booked counts.
    bool apply_one(int records) {
        const int h = next_++ % data_.o.hospitals;
        nlohmann::json c = nlohmann::json::array();
        for (int i = 0; i < records; ++i) {
            uint64_t r = rng_();
            const int d = static_cast<int>(r % data_.o.doctors), day = static_cast<int>((r >> 8) % data_.o.days),
                      k = static_cast<int>((r >> 16) % data_.o.slots_per_day);
            const int cap = data_.capacity(h, d, day, k);
            c.push_back(data_.slot(h, d, day, k, static_cast<int>((r >> 24) % (cap + 1))));
        }
        auto cs = pp::parse_change_set(data_.change_set(h, ++seq_[h], std::move(c)), hospital_id(h));
        if (!cs) return fail(cs.error().describe());
        auto out = primary_.apply(*cs);
        if (!out) return fail(out.error().describe());
        if (out->applied != pp::Applied::Applied) return fail("change set not applied");
        records_ += records;
        ++changesets_;
        return true;
    }
    // Applies `per_second` change sets a second on a thread of its own until stop().
    void start(double per_second, int records) {
        stop_ = false;
        thread_ = std::thread([=, this] {
            const auto t0 = Steady::now();
            for (int64_t i = 0; !stop_; ++i) {
                std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(i / per_second)));
                if (!apply_one(records)) break;
            }
        });
    }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    int64_t records() const { return records_; }
    int64_t changesets() const { return changesets_; }
    bool failed() const { return failed_; }

private:
    bool fail(const std::string& why) {
        std::fprintf(stderr, "public_partition_bench: change load: %s\n", why.c_str());
        failed_ = true;
        return false;
    }
    const Data& data_;
    pp::PublicPrimary& primary_;
    std::vector<int64_t> seq_;
    int next_ = 0;
    std::mt19937_64 rng_{42};
    std::atomic<int64_t> records_{0}, changesets_{0};
    std::atomic<bool> stop_{false}, failed_{false};
    std::thread thread_;
};

// ---- the query mix --------------------------------------------------------------------

std::string encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out += static_cast<char>(c);
        else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", c);
            out += b;
        }
    }
    return out;
}

struct Query {
    std::string path;
    int cls;  // index into kClasses
};
const char* kClasses[] = {"slots hospital+dept", "slots dept nationwide", "slots by doctor name", "doctors Chinese",
                          "doctors pinyin",      "doctors Latin",         "hospitals text",       "departments"};
bool is_slot_class(int c) { return c <= 2; }

std::vector<Query> make_queries(const Data& data, size_t n) {
    std::mt19937_64 rng(7);
    std::vector<Query> out;
    out.reserve(n);
    const char* pinyin_names[] = {"wangfang", "zhangwei", "liuyang", "chenjing", "lijun", "zhaomin", "huangli", "zhoujie"};
    const char* latin[] = {"cardiology", "asthma", "spine", "cataract", "epilepsy", "orthodontics", "dermatology"};
    const char* chinese_text[] = {"高血压", "冠心病", "白内障", "哮喘", "种植牙"};
    const char* hospital_text[] = {"人民医院", "儿童医院", "guangzhou", "chengdu", "中医", "妇幼保健院"};
    for (size_t i = 0; i < n; ++i) {
        const int roll = static_cast<int>(rng() % 100);
        const int h = static_cast<int>(rng() % data.o.hospitals), d = static_cast<int>(rng() % data.o.doctors);
        const int day = static_cast<int>(rng() % std::max(1, data.o.days - 2));
        const std::string from = data.dates[day], to = data.dates[std::min(day + 2, data.o.days - 1)];
        const std::string range = "&from=" + from + "&to=" + to;
        Query q;
        if (roll < 35) {
            q = {"/api/v1/search/slots?hospital=" + hospital_id(h) + "&department=" + doctor_dept(d).id + range, 0};
        } else if (roll < 50) {
            q = {"/api/v1/search/slots?department=" + std::string(doctor_dept(d).id) + range +
                     (rng() % 2 ? "&half=AM" : ""),
                 1};
        } else if (roll < 55) {
            q = {"/api/v1/search/slots?q=" + encode(doctor_name(h, d)) + range, 2};
        } else if (roll < 70) {
            const std::string text = rng() % 3 == 0 ? std::string(chinese_text[rng() % 5]) : doctor_name(h, d);
            q = {"/api/v1/search/doctors?q=" + encode(text), 3};
        } else if (roll < 80) {
            q = {"/api/v1/search/doctors?q=" + std::string(pinyin_names[rng() % 8]), 4};
        } else if (roll < 85) {
            q = {"/api/v1/search/doctors?q=" + std::string(latin[rng() % 7]), 5};
        } else if (roll < 95) {
            const auto& p = kPlaces[rng() % kPlaces.size()];
            const int pick = static_cast<int>(rng() % 3);
            q = {pick == 0   ? "/api/v1/search/hospitals?q=" + encode(p.city)
                 : pick == 1 ? "/api/v1/search/hospitals?region=" + std::string(p.region) + "&q=" + encode(hospital_text[rng() % 6])
                             : "/api/v1/search/hospitals?q=" + encode(hospital_text[rng() % 6]),
                 6};
        } else {
            q = {"/api/v1/search/departments?hospital=" + hospital_id(h), 7};
        }
        out.push_back(std::move(q));
    }
    return out;
}

// ---- the open-loop load ---------------------------------------------------------------

// A keep-alive HTTP/1.1 connection from 127.0.0.x.
class Conn {
public:
    Conn(uint16_t port, int source) : port_(port), source_(source) {}
    ~Conn() { close_fd(); }
    // GET path; the status, or 0 when the connection failed (it reconnects next time).
    int get(const std::string& path, size_t* body_bytes) {
        if (fd_ < 0 && !connect_now()) return 0;
        const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return close_fd(), 0;
        std::string buf;
        char chunk[65536];
        size_t head_end = std::string::npos, need = 0;
        for (;;) {
            if (head_end == std::string::npos) {
                head_end = buf.find("\r\n\r\n");
                if (head_end != std::string::npos) {
                    auto at = buf.find("Content-Length: ");
                    if (at == std::string::npos || at > head_end) return close_fd(), 0;
                    need = head_end + 4 + std::stoul(buf.substr(at + 16));
                }
            }
            if (head_end != std::string::npos && buf.size() >= need) break;
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return close_fd(), 0;
            buf.append(chunk, static_cast<size_t>(n));
        }
        if (body_bytes) *body_bytes = need - head_end - 4;
        return std::atoi(buf.c_str() + 9);
    }

private:
    bool connect_now() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000000u + static_cast<uint32_t>(source_));
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return close_fd(), false;
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port_);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return close_fd(), false;
        int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{10, 0};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return true;
    }
    void close_fd() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    uint16_t port_;
    int source_;
    int fd_ = -1;
};

struct Sample {
    double ms;
    int cls;
};

struct RowResult {
    std::vector<Sample> samples;  // counted window only
    int64_t sent = 0, errors = 0, late = 0;
    double seconds = 0;
    std::string first_error;
};

double pct(std::vector<double> v, double p) {
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

RowResult run_load(const std::vector<uint16_t>& ports, const std::vector<Query>& queries, const Options& o) {
    RowResult res;
    const int C = o.connections;
    const size_t total = static_cast<size_t>(o.rate * (o.warmup + o.seconds));
    const auto t0 = Steady::now() + std::chrono::milliseconds(200);
    const auto counted_from = t0 + std::chrono::seconds(o.warmup);
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int c = 0; c < C; ++c) {
        threads.emplace_back([&, c] {
            // Spread over the targets, and over source addresses (an API takes at most 32
            // connections from one address).
            Conn conn(ports[c % ports.size()], 2 + c / 16);
            std::vector<Sample> mine;
            int64_t errors = 0, sent = 0;
            std::string first_error;
            for (size_t i = c; i < total; i += C) {
                const auto due = t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(i / o.rate));
                std::this_thread::sleep_until(due);
                size_t bytes = 0;
                const int status = conn.get(queries[i % queries.size()].path, &bytes);
                const double ms = std::chrono::duration<double, std::milli>(Steady::now() - due).count();
                ++sent;
                if (status != 200) {
                    ++errors;
                    if (first_error.empty()) first_error = std::to_string(status) + " " + queries[i % queries.size()].path;
                }
                if (due >= counted_from) mine.push_back({ms, queries[i % queries.size()].cls});
            }
            std::lock_guard lock(mu);
            res.samples.insert(res.samples.end(), mine.begin(), mine.end());
            res.errors += errors;
            res.sent += sent;
            if (res.first_error.empty()) res.first_error = first_error;
        });
    }
    for (auto& t : threads) t.join();
    res.seconds = std::chrono::duration<double>(Steady::now() - counted_from).count();
    return res;
}

// ---- processes ------------------------------------------------------------------------

struct CpuWatch {
    std::vector<std::pair<std::string, pid_t>> procs;
    std::vector<long> start_ticks;
    Steady::time_point t0;
    void begin() {
        start_ticks.clear();
        for (auto& [_, pid] : procs) {
            auto s = proc_stats(pid);
            start_ticks.push_back(s ? s->cpu_ticks : 0);
        }
        t0 = Steady::now();
    }
    std::string end() {
        const double secs = since(t0);
        std::string out;
        for (size_t i = 0; i < procs.size(); ++i) {
            auto s = proc_stats(procs[i].second);
            if (!s) continue;
            const double pct = 100.0 * static_cast<double>(s->cpu_ticks - start_ticks[i]) / sysconf(_SC_CLK_TCK) / secs;
            char b[96];
            std::snprintf(b, sizeof b, "%s%s %.0f%%", out.empty() ? "" : ", ", procs[i].first.c_str(), pct);
            out += b;
        }
        return out;
    }
};

int serve_search(const std::string& file, uint16_t port, int64_t mmap_bytes) {
    log::init("primary-search", "", log::Level::Warn);
    std::mutex mu;
    std::vector<std::unique_ptr<sql::Db>> idle;
    const nlohmann::json freshness = {{"primary", true}};
    HttpServer http("127.0.0.1", port, [&](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
        std::unique_ptr<sql::Db> db;
        {
            std::lock_guard lock(mu);
            if (!idle.empty()) {
                db = std::move(idle.back());
                idle.pop_back();
            }
        }
        if (!db) {
            auto opened = sql::Db::open(file, false);  // as ReplicaStore::read opens its readers
            if (!opened) return send_json(res, 503, {{"code", "open"}});
            (void)opened->exec("PRAGMA mmap_size=" + std::to_string(mmap_bytes));
            db = std::make_unique<sql::Db>(std::move(opened.value()));
        }
        const std::string today = utc_strftime(std::chrono::system_clock::now(), "%Y-%m-%d");
        pp::serve_search(req, res, *db, freshness, today);
        std::lock_guard lock(mu);
        idle.push_back(std::move(db));
    });
    if (auto started = http.start(); !started) {
        std::fprintf(stderr, "serve-search: %s\n", started.error().describe().c_str());
        return 2;
    }
    std::printf("serving search on %s at %u\n", file.c_str(), http.port());
    std::fflush(stdout);
    block_shutdown_signals();
    wait_for_shutdown();
    http.stop();
    return 0;
}


// Each query class's plan (EXPLAIN QUERY PLAN of run_search's statement) and its time
// alone, one query after another on one connection: what the indexes give before any load.
int explain(const Data& data, const std::string& file) {
    // With the schema, as a replica opens its file: an index it adds is made here.
    auto db = sql::Db::open_with_schema(file, pp::ReferenceTables::schema());
    if (!db) return std::fprintf(stderr, "%s\n", db.error().describe().c_str()), 1;
    if (auto r = pp::ReferenceTables(*db).upgrade_text_index(); !r)
        return std::fprintf(stderr, "%s\n", r.error().describe().c_str()), 1;
    const auto queries = make_queries(data, 4000);
    for (int cls = 0; cls < 8; ++cls) {
        std::vector<double> ms;
        bool shown = false;
        for (const auto& q : queries) {
            if (q.cls != cls || ms.size() >= 40) continue;
            auto r = pp::read_search_request("GET", q.path, data.today);
            if (!r) return std::fprintf(stderr, "%s: %s\n", q.path.c_str(), r.error().describe().c_str()), 1;
            if (!shown) {
                std::printf("%s: %s\n", kClasses[cls], q.path.c_str());
                auto plan = pp::explain_search(*db, *r);
                if (plan)
                    for (const auto& line : *plan) std::printf("    %s\n", line.c_str());
                shown = true;
            }
            const auto t = Steady::now();
            auto page = pp::run_search(*db, *r);
            ms.push_back(since(t) * 1000);
            if (!page) return std::fprintf(stderr, "%s: %s\n", q.path.c_str(), page.error().describe().c_str()), 1;
        }
        std::printf("  alone: n=%zu p50 %.2f ms max %.2f ms\n", ms.size(), pct(ms, 0.5), pct(ms, 1.0));
    }
    return 0;
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) return false;
        std::string v = argv[++i];
        if (a == "--hospitals") o.hospitals = std::stoi(v);
        else if (a == "--doctors") o.doctors = std::stoi(v);
        else if (a == "--days") o.days = std::stoi(v);
        else if (a == "--slots-per-day") o.slots_per_day = std::stoi(v);
        else if (a == "--rate") o.rate = std::stod(v);
        else if (a == "--seconds") o.seconds = std::stoi(v);
        else if (a == "--warmup") o.warmup = std::stoi(v);
        else if (a == "--connections") o.connections = std::stoi(v);
        else if (a == "--change-rate") o.change_rate = std::stod(v);
        else if (a == "--change-records") o.change_records = std::stoi(v);
        else if (a == "--burst") o.burst = std::stoi(v);
        else if (a == "--dir") o.dir = v;
        else if (a == "--rows") o.rows = v;
        else if (a == "--explain") o.explain = v;
        else if (a == "--primary-mmap") o.primary_mmap = std::stoll(v);
        else return false;
    }
    return o.hospitals > 0 && o.doctors > 0 && o.days >= 3 && o.slots_per_day > 0 && o.slots_per_day <= 16 && o.rate > 0 && o.connections > 0;
}

void print_row(const char* name, const RowResult& r, const Options& o) {
    std::vector<double> all, slots, text;
    std::map<int, std::vector<double>> by_class;
    for (const auto& s : r.samples) {
        all.push_back(s.ms);
        (is_slot_class(s.cls) ? slots : text).push_back(s.ms);
        by_class[s.cls].push_back(s.ms);
    }
    std::printf("RESULT search %s: %.0f searches/s offered, %zu counted in %.1f s (%.0f/s done), errors %lld; "
                "all p50 %.2f ms p99 %.2f ms max %.1f ms; slot p50 %.2f p99 %.2f ms; text p50 %.2f p99 %.2f ms\n",
                name, o.rate, all.size(), r.seconds, all.size() / std::max(0.001, r.seconds), static_cast<long long>(r.errors),
                pct(all, 0.5), pct(all, 0.99), pct(all, 1.0), pct(slots, 0.5), pct(slots, 0.99), pct(text, 0.5),
                pct(text, 0.99));
    for (auto& [cls, v] : by_class)
        std::printf("  %-22s n=%-6zu p50 %7.2f ms  p99 %7.2f ms  max %7.1f ms\n", kClasses[cls], v.size(), pct(v, 0.5),
                    pct(v, 0.99), pct(v, 1.0));
    if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && std::string(argv[1]) == "--serve-search")
        return serve_search(argv[2], static_cast<uint16_t>(std::stoi(argv[3])), std::stoll(argv[4]));
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: public_partition_bench [--hospitals N] [--doctors D] [--days K] [--slots-per-day S] [--rate R]\n"
                     "         [--seconds S] [--warmup S] [--connections C] [--change-rate CS_PER_S] [--change-records N]\n"
                     "         [--burst CHANGESETS] [--dir DIR] [--rows replicas,primary] [--primary-mmap BYTES]\n"
                     "       public_partition_bench --explain FILE   (each query class's plan and time alone)\n"
                     "       public_partition_bench --serve-search FILE PORT MMAP_BYTES\n");
        return 2;
    }
    log::init("bench", "", log::Level::Warn);
    const bool keep_dir = !o.dir.empty();
    if (o.dir.empty()) o.dir = make_temp_dir("hisgate-ppbench");
    std::filesystem::create_directories(o.dir);
    Data data{o, utc_strftime(std::chrono::system_clock::now(), "%Y-%m-%d"), {}};
    for (int d = 0; d < o.days; ++d) data.dates.push_back(date_plus(data.today, d));
    if (!o.explain.empty()) return explain(data, o.explain);
    const int64_t slots = int64_t{o.hospitals} * o.doctors * o.days * o.slots_per_day;
    std::printf("public_partition_bench: %d hospitals x %d doctors x %d days x %d slots/day = %lld slots; %ld cores; "
                "load average %s\n",
                o.hospitals, o.doctors, o.days, o.slots_per_day, static_cast<long long>(slots),
                sysconf(_SC_NPROCESSORS_ONLN), load_average().c_str());
    std::fflush(stdout);

    // 1. Build (or reuse) the primary's file.
    const std::string primary_file = o.dir + "/primary.db";
    const std::string stamp_file = o.dir + "/primary.sizes";
    const std::string stamp = std::to_string(o.hospitals) + " " + std::to_string(o.doctors) + " " + std::to_string(o.days) +
                              " " + std::to_string(o.slots_per_day) + " " + data.today;
    bool reuse = std::filesystem::exists(primary_file) && std::filesystem::exists(stamp_file) &&
                 read_file(stamp_file) == stamp;
    if (!reuse)
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(primary_file + suffix);
    SystemClock& clock = SystemClock::instance();
    pp::PrimarySettings settings;  // the control plane's defaults
    auto primary = pp::open_sqlite_public_primary(primary_file, clock, settings);
    if (!primary) return std::fprintf(stderr, "open primary: %s\n", primary.error().describe().c_str()), 1;
    if (!reuse) {
        const auto t = Steady::now();
        double parse_s = 0;
        int64_t records = 0;
        for (int h = 0; h < o.hospitals; ++h) {
            const auto tp = Steady::now();
            auto cs = pp::parse_change_set(data.full(h), hospital_id(h));
            parse_s += since(tp);
            if (!cs) return std::fprintf(stderr, "build: %s\n", cs.error().describe().c_str()), 1;
            records += static_cast<int64_t>(cs->changes.size());
            auto out = (*primary)->apply(*cs);
            if (!out || out->applied != pp::Applied::Applied)
                return std::fprintf(stderr, "build: hospital %d not applied\n", h), 1;
            if ((h + 1) % 200 == 0) {
                std::printf("  built %d hospitals, %lld records, %.0f s\n", h + 1, static_cast<long long>(records), since(t));
                std::fflush(stdout);
            }
        }
        const double secs = since(t);
        std::printf("RESULT build: %lld records in %d change sets through PublicPrimary::apply in %.1f s: %.0f records/s "
                    "(%.1f s of it making and parsing the JSON)\n",
                    static_cast<long long>(records), o.hospitals, secs, records / secs, parse_s);
        write_file(stamp_file, stamp);
    }
    {
        auto db = sql::Db::open(primary_file);
        if (db) (void)db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    auto head = (*primary)->head();
    std::printf("primary file %s: %.0f MB, stream head %lld\n", primary_file.c_str(),
                std::filesystem::file_size(primary_file) / 1e6, static_cast<long long>(head ? head->pos : -1));
    std::fflush(stdout);

    // 2. Mosquitto and the control plane serving the file.
    SystemOptions so;
    so.hospitals = {};
    so.tls = false;
    so.controlplane_config = nlohmann::json({{"public", {{"db", primary_file}}}}).dump();
    System system(so);
    if (!system.start()) return std::fprintf(stderr, "the broker or the control plane did not start (%s)\n", system.dir().c_str()), 1;
    std::printf("control plane pid %d on port %u, system dir %s\n", system.controlplane().pid(), system.api_port(),
                system.dir().c_str());

    // 3. Two replicas join.
    std::vector<std::unique_ptr<Replica>> replicas;
    for (const char* name : {"r1", "r2"}) {
        auto target = (*primary)->head();
        auto r = std::make_unique<Replica>();
        const auto t = Steady::now();
        if (!r->start(system, name)) return std::fprintf(stderr, "replica %s did not start\n", name), 1;
        const bool joined = eventually(
            [&] {
                return r->position() >= target->pos &&
                       http_get(r->port, "/api/v1/search/hospitals?limit=1").status == 200;
            },
            std::chrono::seconds(1800));
        const double secs = since(t);
        if (!joined) return std::fprintf(stderr, "replica %s did not join\n", name), 1;
        const auto size = std::filesystem::file_size(r->db);
        std::printf("RESULT join %s: %.1f s from start to searching at the head (position %lld, file %.0f MB)\n", name,
                    secs, static_cast<long long>(target->pos), size / 1e6);
        std::fflush(stdout);
        replicas.push_back(std::move(r));
    }

    // 4. Apply rate.
    Changer changer(data, **primary);
    for (auto& r : replicas) kill(r->process.pid(), SIGSTOP);
    {
        const int64_t before_records = changer.records();
        const auto t = Steady::now();
        for (int i = 0; i < o.burst; ++i)
            if (!changer.apply_one(std::max(1, o.change_records * 4))) return 1;
        const double secs = since(t);
        const int64_t records = changer.records() - before_records;
        std::printf("RESULT primary apply: %d change sets, %lld records in %.2f s: %.0f records/s, %.0f change sets/s\n",
                    o.burst, static_cast<long long>(records), secs, records / secs, o.burst / secs);
        auto target = (*primary)->head();
        for (size_t i = 0; i < replicas.size(); ++i) {
            const auto t1 = Steady::now();
            kill(replicas[i]->process.pid(), SIGCONT);
            const bool caught = eventually([&] { return replicas[i]->position() >= target->pos; }, std::chrono::seconds(600));
            const double s1 = since(t1);
            std::printf("RESULT replica apply %s: %lld records (%d entries) behind, at the head in %.2f s: %.0f records/s, "
                        "%.0f entries/s%s\n",
                        replicas[i]->name.c_str(), static_cast<long long>(records), o.burst, s1, records / s1, o.burst / s1,
                        caught ? "" : " (DID NOT CATCH UP)");
            std::fflush(stdout);
        }
    }

    // 5. Search rows.
    const auto queries = make_queries(data, static_cast<size_t>(o.rate * (o.warmup + o.seconds)));
    const uint16_t search_port = free_port();
    Process search_server({std::filesystem::read_symlink("/proc/self/exe").string(), "--serve-search", primary_file,
                           std::to_string(search_port), std::to_string(o.primary_mmap)},
                          system.log_dir() + "/primary-search.out");
    if (!search_server.start() || !wait_port_open(search_port, std::chrono::seconds(10)))
        return std::fprintf(stderr, "the primary's search server did not start\n"), 1;
    bool failed = false;
    std::map<std::string, RowResult> rows;
    std::map<std::string, std::string> cpu;
    std::map<std::string, std::string> loads;
    for (const std::string row : {"replicas", "primary"}) {
        if (o.rows.find(row) == std::string::npos) continue;
        const bool on_primary = row == "primary";
        if (on_primary)
            for (auto& r : replicas) kill(r->process.pid(), SIGSTOP);
        CpuWatch watch;
        watch.procs = {{"controlplane", system.controlplane().pid()}, {"bench (load+changes)", getpid()}};
        if (on_primary) watch.procs.push_back({"primary-search", search_server.pid()});
        else
            for (auto& r : replicas) watch.procs.push_back({r->name, r->process.pid()});
        std::vector<uint16_t> ports;
        if (on_primary) ports = {search_port};
        else
            for (auto& r : replicas) ports.push_back(r->port);
        const std::string load_before = load_average();
        const int64_t changes_before = changer.changesets();
        changer.start(o.change_rate, o.change_records);
        std::this_thread::sleep_for(std::chrono::seconds(1));
        watch.begin();
        auto res = run_load(ports, queries, o);
        cpu[row] = watch.end();
        changer.stop();
        const int64_t changes = changer.changesets() - changes_before;
        loads[row] = load_before + " -> " + load_average();
        if (res.errors > 0 || changer.failed()) failed = true;
        std::printf("row %s: change load %lld change sets (%d records each) during the row; CPU (%% of one core): %s; "
                    "load average %s\n",
                    row.c_str(), static_cast<long long>(changes), o.change_records, cpu[row].c_str(), loads[row].c_str());
        print_row(row.c_str(), res, o);
        if (!on_primary) {
            for (auto& r : replicas) {
                auto st = r->status();
                std::printf("  %s after the row: %s\n", r->name.c_str(), st.dump().c_str());
            }
        } else {
            for (auto& r : replicas) kill(r->process.pid(), SIGCONT);
        }
        rows[row] = std::move(res);
    }

    // The table docs/benchmarks.md quotes.
    std::printf("\n| row | searches/s | all p50 / p99 (ms) | slot p50 / p99 | text p50 / p99 | errors |\n|---|---|---|---|---|---|\n");
    for (auto& [name, r] : rows) {
        std::vector<double> all, sl, tx;
        for (const auto& s : r.samples) {
            all.push_back(s.ms);
            (is_slot_class(s.cls) ? sl : tx).push_back(s.ms);
        }
        std::printf("| %s | %.0f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %lld |\n", name.c_str(),
                    all.size() / std::max(0.001, r.seconds), pct(all, 0.5), pct(all, 0.99), pct(sl, 0.5), pct(sl, 0.99),
                    pct(tx, 0.5), pct(tx, 0.99), static_cast<long long>(r.errors));
    }
    if (rows.count("replicas") && rows.count("primary")) {
        auto p99 = [](const RowResult& r) {
            std::vector<double> v;
            for (const auto& s : r.samples) v.push_back(s.ms);
            return pct(v, 0.99);
        };
        std::printf("RATIO primary p99 / replicas p99: %.2f\n", p99(rows["primary"]) / p99(rows["replicas"]));
    }
    std::printf("load average at the end: %s\n", load_average().c_str());
    search_server.stop();
    for (auto& r : replicas) r->process.stop();
    primary->reset();
    if (!keep_dir) std::filesystem::remove_all(o.dir);
    return failed ? 1 : 0;
}
