#pragma once
// A ByteSink that writes a new file through fs::Appender (1 MiB blocks, written and
// optionally hashed on a second thread, fdatasync + directory fsync on finish).
//
// The file is always new: it is never overwritten and never truncated.
//   atomic = false  `path` is created at open() with O_EXCL ("create x: File exists").
//   atomic = true   bytes go to a hidden temp file next to `path`, which finish() fsyncs
//                   and renames into place without replacing; `path` then appears only
//                   complete (after a crash it is absent, never partial). If `path`
//                   exists by then, finish() fails with EEXIST and removes the temp file.
// abort() (or destroying an unfinished sink) closes and removes what open() created.
#include <cstdint>
#include <string>
#include <string_view>

#include "byte_sink.hpp"
#include "fs_appender.hpp"

namespace hostsync {

class FileSink final : public ByteSink {
public:
    struct Options {
        bool atomic = false;
        bool sha256 = false;  // SHA-256 of every byte written (ciphertext, for an encryptor)
    };

    FileSink() = default;
    ~FileSink() override;  // an unfinished sink is aborted
    FileSink(const FileSink&) = delete;
    FileSink& operator=(const FileSink&) = delete;

    bool open(const std::string& path, const Options& opts, std::string& err);
    bool write(std::string_view data, std::string& err) override;
    bool finish(std::string& err) override;
    void abort();

    bool is_open() const { return out_.is_open(); }
    bool finished() const { return finished_; }
    std::uint64_t bytes() const { return out_.bytes(); }
    std::string sha256_hex() { return out_.sha256_hex(); }  // "" unless Options::sha256
    const std::string& path() const { return path_; }

private:
    fs::Appender out_;
    std::string path_;       // the final name
    std::string temp_path_;  // atomic mode: where the bytes go until finish()
    bool finished_ = false;
    bool opened_ = false;
    bool aborted_ = false;
    std::string failed_;
};

}  // namespace hostsync
