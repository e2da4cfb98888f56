#include "file_sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <random>

#include "fs_sys.hpp"

namespace hostsync {

FileSink::~FileSink() {
    if (opened_ && !finished_ && !aborted_) abort();
}

bool FileSink::open(const std::string& path, const Options& opts, std::string& err) {
    if (opened_) return (err = "FileSink::open: already open", false);
    path_ = path;
    fs::Appender::Options ao;
    ao.exclusive = true;
    ao.sha256 = opts.sha256;
    if (!opts.atomic) {
        if (!out_.open(path, ao, err)) return false;
        opened_ = true;
        return true;
    }
    // A hidden temp file next to the target (same file system, so the rename is atomic).
    std::random_device rd;
    std::string dir = fs::parent_dir(path), base = fs::base_name(path);
    for (int attempt = 0; attempt < 16; ++attempt) {
        char suffix[32];
        std::snprintf(suffix, sizeof suffix, ".%d.%08x.tmp", static_cast<int>(getpid()), rd());
        temp_path_ = (dir == "." && path.find('/') == std::string::npos ? std::string() : dir + "/") + "." + base + suffix;
        std::string e;
        if (out_.open(temp_path_, ao, e)) {
            opened_ = true;
            return true;
        }
        if (errno != EEXIST) return (err = e, false);
    }
    err = fs::sys_error("create", temp_path_, EEXIST);
    return false;
}

bool FileSink::write(std::string_view data, std::string& err) {
    if (!failed_.empty()) return (err = failed_, false);
    if (!opened_ || finished_ || aborted_) return (err = "write " + path_ + ": sink is not open", false);
    if (!out_.write(data, err)) return (failed_ = err, false);
    return true;
}

bool FileSink::finish(std::string& err) {
    if (!failed_.empty()) return (err = failed_, false);
    if (!opened_ || finished_ || aborted_) return (err = "finish " + path_ + ": sink is not open", false);
    if (!out_.close(err)) {  // flush, fdatasync, close, fsync the directory
        failed_ = err;
        abort();
        return false;
    }
    if (!temp_path_.empty()) {
        if (int e = fs::rename_no_replace(temp_path_, path_); e != 0) {
            failed_ = err = fs::sys_error("create", path_, e);
            abort();
            return false;
        }
        temp_path_.clear();
        if (int e = fs::fsync_dir_raw(fs::parent_dir(path_)); e != 0) {
            failed_ = err = fs::sys_error("fsync directory", fs::parent_dir(path_), e);
            return false;
        }
    }
    finished_ = true;
    return true;
}

void FileSink::abort() {
    if (!opened_ || finished_ || aborted_) return;
    aborted_ = true;
    std::string ignored;
    out_.close(ignored);
    ::unlink(temp_path_.empty() ? path_.c_str() : temp_path_.c_str());
    temp_path_.clear();
    if (failed_.empty()) failed_ = "write " + path_ + ": aborted";
}

}  // namespace hostsync
