#include "byte_sinks.hpp"

#include <unistd.h>

#include <cerrno>

#include "fs_sys.hpp"

namespace hostsync {

bool HashSink::write(std::string_view data, std::string& err) {
    if (finished_) return (err = "hash sink: write after finish", false);
    bytes_ += data.size();
    buf_.append(data);
    if (buf_.size() >= kBlock) {
        if (!pipeline_) pipeline_ = std::make_unique<fs::BlockPipeline>(-1, &h_);
        pipeline_->submit(buf_);  // hashing cannot fail: no error to report
    }
    return true;
}

// Hashes what is buffered and waits for the hashing thread: h_ is then complete.
void HashSink::drain() {
    if (pipeline_) {
        if (!buf_.empty()) pipeline_->submit(buf_);
        pipeline_->drain();
    } else if (!buf_.empty()) {
        h_.update(buf_);
        buf_.clear();
    }
}

bool HashSink::finish(std::string&) {
    drain();
    pipeline_.reset();
    finished_ = true;
    return true;
}

std::string HashSink::hex() {
    drain();
    return h_.hex();
}

bool TeeSink::write(std::string_view data, std::string& err) {
    for (ByteSink* s : sinks_)
        if (!s->write(data, err)) return false;
    return true;
}

bool TeeSink::finish(std::string& err) {
    for (ByteSink* s : sinks_)
        if (!s->finish(err)) return false;
    return true;
}

ssize_t FdSource::read(char* buf, std::size_t n, std::string& err) {
    for (;;) {
        ssize_t r = ::read(fd_, buf, n);
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        err = fs::sys_error("read", name_, errno);
        return -1;
    }
}

}  // namespace hostsync
