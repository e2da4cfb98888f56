#include "fs_line_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hostsync::fs {

bool LineReader::open(const std::string& path, std::uint64_t offset, std::string& err, std::uint64_t line_no) {
    Fd fd(open_cloexec(path, O_RDONLY));
    if (!fd) return (err = sys_error("open", path, errno), false);
    fd_ = std::move(fd);
    path_ = path;
    buf_.assign(kChunk, '\0');
    begin_ = scanned_ = end_ = 0;
    base_ = offset;
    partial_ = 0;
    line_no_ = line_no;
    return true;
}

LineReader::Result LineReader::next(std::string_view& line, std::uint64_t& start, std::string& err) {
    while (true) {
        const char* nl = static_cast<const char*>(std::memchr(buf_.data() + scanned_, '\n', end_ - scanned_));
        if (nl != nullptr) {
            std::size_t stop = static_cast<std::size_t>(nl - buf_.data());
            std::size_t len = stop - begin_;
            if (len > 0 && buf_[stop - 1] == '\r') --len;
            line = std::string_view(buf_.data() + begin_, len);
            start = base_ + begin_;
            begin_ = scanned_ = stop + 1;
            partial_ = 0;
            ++line_no_;
            return kLine;
        }
        scanned_ = end_;
        // Need more data: move the unfinished line to the front, grow only if it fills
        // the whole buffer, and shrink back after a long line has passed.
        if (begin_ > 0) {
            std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
            base_ += begin_;
            end_ -= begin_;
            scanned_ -= begin_;
            begin_ = 0;
        }
        if (end_ == buf_.size()) {
            buf_.resize(buf_.size() * 2);
        } else if (buf_.size() > 4 * kChunk && end_ < kChunk) {
            buf_.resize(kChunk);
            buf_.shrink_to_fit();
        }
        ssize_t n = ::pread(fd_.get(), buf_.data() + end_, buf_.size() - end_, static_cast<off_t>(base_ + end_));
        if (n < 0) {
            if (errno == EINTR) continue;
            err = sys_error("read", path_, errno);
            return kError;
        }
        if (n == 0) {
            partial_ = end_ - begin_;
            return kEnd;
        }
        if (hasher_ && !hasher_->write(std::string_view(buf_.data() + end_, static_cast<std::size_t>(n)), err))
            return kError;
        end_ += static_cast<std::size_t>(n);
    }
}

void LineReader::close() {
    fd_.reset();
    buf_.clear();
    buf_.shrink_to_fit();
}

}  // namespace hostsync::fs
