#include "adapters/rest/rest_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace hisgate::rest {

namespace {

// curl_global_init is not thread-safe in older libcurl: run it once, before any handle.
void global_init_once() {
    static const bool done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    (void)done;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

struct SlistFree {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct EasyFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

Error transport_error(CURL* curl, CURLcode rc, const std::string& url) {
    std::string why = url + ": " + curl_easy_strerror(rc);
    curl_off_t until_sent = 0;  // microseconds until the request was about to go; 0 if it never was
    curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &until_sent);
    switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT: return make_error(ErrorClass::Unavailable, "rest.connect_failed", why);
        case CURLE_OPERATION_TIMEDOUT:
            // A timeout before the connection opened sent nothing: the HIS is unreachable,
            // and the operation certainly did not happen.
            if (until_sent == 0) return make_error(ErrorClass::Unavailable, "rest.connect_failed", why);
            return make_error(ErrorClass::Timeout, "rest.timeout", why);
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE: return make_error(ErrorClass::Timeout, "rest.answer_lost", why);
        default: return make_error(ErrorClass::Unavailable, "rest.transport_failed", why);
    }
}

// curl_easy_perform has one deadline for connecting and answering together; the answer
// timeout must count from when the request went out, so the transfer is driven here.
CURLcode perform(CURL* c, std::chrono::milliseconds answer_timeout) {
    using Clock = std::chrono::steady_clock;
    std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(), curl_multi_cleanup);
    if (!multi) return CURLE_OUT_OF_MEMORY;
    curl_multi_add_handle(multi.get(), c);
    std::optional<Clock::time_point> deadline;
    CURLcode rc = CURLE_OK;
    for (int running = 1; running;) {
        if (curl_multi_perform(multi.get(), &running) != CURLM_OK) {
            rc = CURLE_RECV_ERROR;
            break;
        }
        if (!deadline) {
            curl_off_t until_sent = 0;
            curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &until_sent);
            if (until_sent > 0) deadline = Clock::now() + answer_timeout;
        }
        if (running && deadline && Clock::now() >= *deadline) {
            rc = CURLE_OPERATION_TIMEDOUT;
            break;
        }
        auto wait = deadline ? std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now())
                             : std::chrono::milliseconds(50);
        if (running) curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(std::clamp<int64_t>(wait.count(), 1, 50)), nullptr);
    }
    int left = 0;
    if (rc == CURLE_OK)
        while (CURLMsg* m = curl_multi_info_read(multi.get(), &left))
            if (m->msg == CURLMSG_DONE) rc = m->data.result;
    curl_multi_remove_handle(multi.get(), c);
    return rc;
}

}  // namespace

Result<HttpAnswer> http_exchange(const HttpOptions& o, const std::string& method, const std::string& url,
                                 const std::string& body, const std::string& request_id) {
    global_init_once();
    std::unique_ptr<CURL, EasyFree> curl(curl_easy_init());
    if (!curl) return make_error(ErrorClass::Internal, "rest.curl_init_failed", "libcurl could not create a handle");
    CURL* c = curl.get();

    curl_slist* raw = nullptr;
    raw = curl_slist_append(raw, ("X-Request-Id: " + request_id).c_str());
    raw = curl_slist_append(raw, "Accept: application/json");
    if (!body.empty()) raw = curl_slist_append(raw, "Content-Type: application/json");
    if (!o.auth_header.empty()) raw = curl_slist_append(raw, (o.auth_header + ": " + o.auth_value).c_str());
    std::unique_ptr<curl_slist, SlistFree> headers(raw);

    HttpAnswer answer;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // signals are process-wide; we run on many threads
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer.body);
    if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
    if (method == "POST") {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }

    CURLcode rc = perform(c, o.answer_timeout);
    if (rc != CURLE_OK) return transport_error(c, rc, url);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
    return answer;
}

std::string path_segment(const std::string& text) {
    global_init_once();
    char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
    if (!escaped) return {};
    std::string out(escaped);
    curl_free(escaped);
    return out;
}

}  // namespace hisgate::rest
