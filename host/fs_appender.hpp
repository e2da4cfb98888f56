#pragma once
// A streaming writer for large outputs (a tar, a packet of a million rows): data is
// buffered in C++ and written in ~1 MiB blocks, optionally hashed as it goes, and made
// durable on sync()/close(). Once a first block is full, hashing and writing move to a
// second thread (fs_block_pipeline.hpp) so the producer keeps going. One writer per file: blocks from two appenders on one file
// could interleave mid-record (use fs::append, or a lock, for shared logs).
//
// Errors are sticky: after a failed write the file's tail is unknown, so every later
// call reports the same error instead of writing after a gap.
//
// An Appender is a ByteSink (byte_sink.hpp), so producers (tar.write, csv write_lines)
// write into it directly; its finish() only flushes to the kernel: syncing and closing
// stay the owner's job. Writing after close() is an error, not a silent buffer.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "byte_sink.hpp"
#include "fs_block_pipeline.hpp"
#include "fs_sys.hpp"
#include "sha256.hpp"

namespace hostsync::fs {

class Appender final : public ByteSink {
public:
    struct Options {
        bool exclusive = false;  // create with O_EXCL: fail if the file exists
        bool sha256 = false;     // keep a running SHA-256 of everything written
        std::size_t buffer_size = 1 << 20;
    };

    Appender() = default;
    ~Appender();  // closes (flush + fdatasync) ignoring errors
    Appender(const Appender&) = delete;
    Appender& operator=(const Appender&) = delete;

    bool open(const std::string& path, const Options& opts, std::string& err);
    bool write(std::string_view data, std::string& err) override;
    bool finish(std::string& err) override;      // ByteSink's end: flush (the owner closes)
    bool flush(std::string& err);                // buffer -> kernel
    bool sync(std::string& err);                 // flush + fdatasync
    bool close(std::string& err);                // sync, close, fsync the directory if created

    bool is_open() const { return static_cast<bool>(fd_); }
    std::uint64_t bytes() const { return bytes_; }  // everything accepted by write()
    bool hashing() const { return hash_ != nullptr; }
    // SHA-256 of everything accepted so far; flushes first (the hash is taken where the
    // bytes go to the kernel). Empty string if not hashing or if the flush failed.
    std::string sha256_hex();
    const std::string& path() const { return path_; }

private:
    bool fail(const char* step, int errnum, std::string& err);
    int write_block(std::string& block);  // hashes and writes, on this thread or the pipeline's

    Fd fd_;
    std::string path_;
    std::string buf_;
    std::size_t cap_ = 0;
    std::uint64_t bytes_ = 0;
    std::unique_ptr<sha256::Hasher> hash_;
    // Started at the first full buffer: small outputs never pay for a thread.
    std::unique_ptr<BlockPipeline> pipeline_;
    bool created_ = false;
    std::string failed_;  // the sticky error, if any
};

}  // namespace hostsync::fs
