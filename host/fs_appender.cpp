#include "fs_appender.hpp"

#include <fcntl.h>

#include <cerrno>

#include "failpoint.hpp"
#include "fs_write.hpp"

namespace hostsync::fs {

Appender::~Appender() {
    std::string ignored;
    close(ignored);
}

bool Appender::open(const std::string& path, const Options& opts, std::string& err) {
    path_ = path;
    cap_ = opts.buffer_size > 0 ? opts.buffer_size : 1;
    int fd;
    if (opts.exclusive) {
        fd = open_cloexec(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0666);
        created_ = fd >= 0;
    } else {
        fd = open_append(path, created_);
    }
    if (fd < 0) return (err = sys_error(opts.exclusive ? "create" : "open", path, errno), false);
    fd_.reset(fd);
    buf_.reserve(cap_);
    if (opts.sha256) hash_ = std::make_unique<sha256::Hasher>();
    return true;
}

bool Appender::fail(const char* step, int errnum, std::string& err) {
    failed_ = sys_error(step, path_, errnum);
    err = failed_;
    return false;
}

int Appender::write_block(std::string& block) {
    failpoint::hit("fs_block");
    if (!pipeline_ && block.size() >= cap_) pipeline_ = std::make_unique<BlockPipeline>(fd_.get(), hash_.get());
    if (pipeline_) return pipeline_->submit(block);
    if (hash_) hash_->update(block);
    int e = write_all(fd_.get(), block);
    block.clear();
    return e;
}

bool Appender::write(std::string_view data, std::string& err) {
    if (!fd_) return (err = "write " + path_ + ": appender is closed", false);
    if (!failed_.empty()) return (err = failed_, false);
    bytes_ += data.size();
    buf_.append(data);
    if (buf_.size() < cap_) return true;
    if (int e = write_block(buf_); e != 0) return fail("write", e, err);
    return true;
}

bool Appender::flush(std::string& err) {
    if (!failed_.empty()) return (err = failed_, false);
    if (!buf_.empty()) {
        if (int e = write_block(buf_); e != 0) return fail("write", e, err);
    }
    if (pipeline_) {
        if (int e = pipeline_->drain(); e != 0) return fail("write", e, err);
    }
    return true;
}

bool Appender::finish(std::string& err) {
    if (!fd_) return (err = "flush " + path_ + ": appender is closed", false);
    return flush(err);
}

bool Appender::sync(std::string& err) {
    if (!flush(err)) return false;
    if (int e = fdatasync_fd(fd_.get()); e != 0) return fail("fdatasync", e, err);
    return true;
}

bool Appender::close(std::string& err) {
    if (!fd_) return failed_.empty() || (err = failed_, false);
    bool ok = sync(err);
    pipeline_.reset();  // joins the worker before its descriptor goes away
    if (int e = fd_.close(); e != 0 && ok) ok = fail("close", e, err);
    if (ok && created_) {
        std::string dir = parent_dir(path_);
        if (int e = fsync_dir_raw(dir); e != 0) {
            failed_ = sys_error("fsync directory", dir, e);
            err = failed_;
            ok = false;
        }
    }
    buf_.clear();
    buf_.shrink_to_fit();
    return ok;
}

std::string Appender::sha256_hex() {
    std::string ignored;
    if (!hash_ || (fd_ && !flush(ignored))) return std::string();
    return hash_->hex();
}

}  // namespace hostsync::fs
