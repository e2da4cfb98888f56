#pragma once
// Small helpers shared by the fuzz targets: a property check that aborts with a message
// (libFuzzer then saves the input as a crash), an in-memory file, and a byte source that
// hands out an input in irregular pieces.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "byte_source.hpp"

namespace fuzz {

// A broken property is a finding like a crash: print both sides and abort.
[[noreturn]] inline void property_failed(const char* what, const std::string& a, const std::string& b) {
    std::fprintf(stderr, "PROPERTY FAILED: %s\n--- first:\n%s\n--- second:\n%s\n", what, a.c_str(), b.c_str());
    std::abort();
}

inline void expect_equal(const char* what, const std::string& a, const std::string& b) {
    if (a != b) property_failed(what, a, b);
}

inline void expect(bool ok, const char* what, const std::string& detail = "") {
    if (!ok) property_failed(what, detail, "");
}

// The input as a file (memfd: no disk), for readers that open a path. One per process,
// rewritten for each input.
class MemFile {
  public:
    MemFile() : fd_(::memfd_create("fuzz-input", 0)) {
        if (fd_ < 0) std::abort();
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    const std::string& write(std::string_view data) {
        if (::ftruncate(fd_, 0) != 0) std::abort();
        std::size_t done = 0;
        while (done < data.size()) {
            ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(done));
            if (n <= 0) std::abort();
            done += static_cast<std::size_t>(n);
        }
        return path_;
    }

  private:
    int fd_;
    std::string path_;
};

// A ByteSource over a string that returns at most `step` bytes per read (varying with
// the position when `step` is 0), so readers see short reads as they do from pipes.
class PieceSource final : public hostsync::ByteSource {
  public:
    PieceSource(std::string_view data, std::size_t step) : data_(data), step_(step) {}
    ssize_t read(char* buf, std::size_t n, std::string&) override {
        std::size_t want = step_ ? step_ : 1 + (pos_ * 7919) % 4093;
        std::size_t k = std::min({n, want, data_.size() - pos_});
        std::memcpy(buf, data_.data() + pos_, k);
        pos_ += k;
        return static_cast<ssize_t>(k);
    }

  private:
    std::string_view data_;
    std::size_t step_;
    std::size_t pos_ = 0;
};

// Printable form of bytes for messages: escapes everything outside printable ASCII.
inline std::string show(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        }
    }
    return out;
}

}  // namespace fuzz
