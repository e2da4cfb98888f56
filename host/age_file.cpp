#include "age_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hostsync::age {

namespace {

constexpr std::size_t kReadBlock = 1 << 16;

// Reads whole file `src` in blocks into `sink` (without finishing it).
bool pump_file(const std::string& src, ByteSink& sink, std::string& err, bool& sink_failed) {
    sink_failed = false;
    fs::Fd fd(fs::open_cloexec(src, O_RDONLY));
    if (!fd) return (err = fs::sys_error("open", src, errno), false);
    std::string buf(1 << 20, '\0');
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return (err = fs::sys_error("read", src, errno), false);
        }
        if (n == 0) return true;
        if (!sink.write(std::string_view(buf.data(), static_cast<std::size_t>(n)), err)) {
            sink_failed = true;
            return false;
        }
    }
}

}  // namespace

bool FileReader::fail(ErrorKind k, const std::string& e, std::string& err) {
    kind_ = k;
    failed_ = path_ + ": " + e;
    err = failed_;
    fd_.reset();
    return false;
}

bool FileReader::open(const std::string& path, std::vector<Identity> identities, std::string& err) {
    path_ = path;
    fd_.reset(fs::open_cloexec(path, O_RDONLY));
    if (!fd_) {
        kind_ = ErrorKind::Io;
        return (err = failed_ = fs::sys_error("open", path, errno), false);
    }
    dec_ = std::make_unique<Decryptor>(std::move(identities), queue_);
    buf_.resize(kReadBlock);
    while (!dec_->header_done()) {
        if (!failed_.empty()) return (err = failed_, false);
        if (!pump(err)) return false;
    }
    return true;
}

bool FileReader::pump(std::string& err) {
    if (eof_) return true;
    ssize_t n;
    do n = ::read(fd_.get(), buf_.data(), buf_.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        kind_ = ErrorKind::Io;
        failed_ = err = fs::sys_error("read", path_, errno);
        fd_.reset();
        return false;
    }
    std::string e;
    if (n == 0) {
        eof_ = true;
        fd_.reset();
        if (!dec_->finish(e)) return fail(dec_->error_kind(), e, err);
        return true;
    }
    if (!dec_->write(std::string_view(buf_.data(), static_cast<std::size_t>(n)), e))
        return fail(dec_->error_kind(), e, err);
    return true;
}

FileReader::Status FileReader::read(std::string& out, std::string& err) {
    out.clear();
    std::string pump_err;
    while (queue_.data.empty() && failed_.empty() && !eof_) {
        if (!pump(pump_err)) break;
    }
    if (!queue_.data.empty()) {  // verified plaintext goes out before any later error
        out.swap(queue_.data);
        queue_.data.clear();
        return Status::Data;
    }
    if (!failed_.empty()) return (err = failed_, Status::Error);
    return Status::End;
}

ssize_t FileReader::read(char* buf, std::size_t n, std::string& err) {
    if (out_pos_ == out_.size()) {
        out_pos_ = 0;
        switch (read(out_, err)) {
            case Status::Data: break;
            case Status::End: out_.clear(); return 0;
            case Status::Error: out_.clear(); return -1;
        }
    }
    std::size_t k = std::min(n, out_.size() - out_pos_);
    std::memcpy(buf, out_.data() + out_pos_, k);
    out_pos_ += k;
    return static_cast<ssize_t>(k);
}

void FileReader::close() {
    fd_.reset();
    dec_.reset();
    queue_.data.clear();
    eof_ = true;
}

bool encrypt_file(const std::string& src, const std::string& dst, const std::vector<Recipient>& recipients,
                  const FileSink::Options& opts, std::string& err) {
    FileSink sink;
    if (!sink.open(dst, opts, err)) return false;
    Encryptor enc(sink);
    bool sink_failed = false;
    if (!enc.start(recipients, err) || !pump_file(src, enc, err, sink_failed) || !enc.finish(err)) {
        sink.abort();
        return false;
    }
    return true;
}

ErrorKind decrypt_file(const std::string& src, const std::string& dst, std::vector<Identity> identities,
                       std::string& err) {
    FileSink sink;
    FileSink::Options opts;
    opts.atomic = true;  // the plaintext appears only once every chunk verified
    if (!sink.open(dst, opts, err)) return ErrorKind::Io;
    Decryptor dec(std::move(identities), sink);
    bool sink_failed = false;
    if (!pump_file(src, dec, err, sink_failed)) {
        sink.abort();
        if (!sink_failed) return ErrorKind::Io;
        err = src + ": " + err;
        return dec.error_kind();
    }
    if (!dec.finish(err)) {
        sink.abort();
        err = src + ": " + err;
        return dec.error_kind();
    }
    return ErrorKind::None;
}

std::string encrypt_string(std::string_view plaintext, const std::vector<Recipient>& recipients) {
    StringSink sink;
    Encryptor enc(sink);
    std::string err;
    if (!enc.start(recipients, err) || !enc.write(plaintext, err) || !enc.finish(err)) throw std::runtime_error(err);
    return std::move(sink.data);
}

ErrorKind decrypt_string(std::string_view ciphertext, std::vector<Identity> identities, std::string& out,
                         std::string& err) {
    StringSink sink;
    Decryptor dec(std::move(identities), sink);
    out.clear();
    if (!dec.write(ciphertext, err) || !dec.finish(err)) {
        wipe(sink.data.data(), sink.data.size());
        return dec.error_kind();
    }
    out = std::move(sink.data);
    return ErrorKind::None;
}

}  // namespace hostsync::age
