#include "http_stream.hpp"

#include <algorithm>
#include <cstring>

namespace hostsync::http {

void Lifecycle::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping = true;
    }
    cv_.notify_all();
}

bool Lifecycle::wait(double seconds) {
    std::unique_lock<std::mutex> lock(mu_);
    return !cv_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stopping.load(); });
}

void StreamConnection::push_locked(std::shared_ptr<const std::string> frame) {
    queued_ += frame->size();
    queue_.push_back(std::move(frame));
    last_push_ = std::chrono::steady_clock::now();
    if (parked_) {
        parked_ = false;
        MHD_resume_connection(conn_);
    }
}

bool StreamConnection::deliver(const std::shared_ptr<const std::string>& frame) {
    std::lock_guard<std::mutex> lock(mu_);
    if (gone_) return false;
    if (finishing_) return true;
    if (queued_ > kMaxQueued) {
        // A client this far behind resumes from its last event instead of holding memory.
        finishing_ = true;
        if (parked_) {
            parked_ = false;
            MHD_resume_connection(conn_);
        }
        return true;
    }
    push_locked(frame);
    return true;
}

void StreamConnection::finish() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        finishing_ = true;
        if (parked_) {
            parked_ = false;
            MHD_resume_connection(conn_);
        }
    }
    drained_.notify_all();
}

bool StreamConnection::write(std::string_view bytes) {
    std::unique_lock<std::mutex> lock(mu_);
    drained_.wait(lock, [&] { return gone_ || finishing_ || life_.stopping || queued_ <= kMaxQueued; });
    if (gone_ || finishing_ || life_.stopping) return false;
    push_locked(std::make_shared<const std::string>(bytes));
    return true;
}

ssize_t StreamConnection::read(char* buf, std::size_t max) {
    std::lock_guard<std::mutex> lock(mu_);
    if (gone_) return MHD_CONTENT_READER_END_WITH_ERROR;
    std::size_t n = 0;
    while (n < max && !queue_.empty()) {
        const std::string& front = *queue_.front();
        std::size_t take = std::min(max - n, front.size() - offset_);
        std::memcpy(buf + n, front.data() + offset_, take);
        n += take;
        offset_ += take;
        if (offset_ == front.size()) {
            queue_.pop_front();
            offset_ = 0;
        }
    }
    queued_ -= n;
    if (n > 0) {
        drained_.notify_all();
        return static_cast<ssize_t>(n);
    }
    if (finishing_) return MHD_CONTENT_READER_END_OF_STREAM;
    // Nothing to send: sleep until a producer pushes (libmicrohttpd's prescribed way;
    // returning 0 without it would spin).
    parked_ = true;
    MHD_suspend_connection(conn_);
    return 0;
}

void StreamConnection::gone() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        gone_ = true;
        parked_ = false;
        queue_.clear();
        queued_ = 0;
    }
    drained_.notify_all();
}

void StreamConnection::ping_if_idle(std::chrono::steady_clock::time_point now, double interval) {
    static const auto ping = std::make_shared<const std::string>(": ping\n\n");
    std::lock_guard<std::mutex> lock(mu_);
    if (gone_ || finishing_) return;
    if (std::chrono::duration<double>(now - last_push_).count() < interval) return;
    push_locked(ping);
}

}  // namespace hostsync::http
