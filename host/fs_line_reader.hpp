#pragma once
// Reads complete lines of an append-only file, with buffered preads (constant memory
// except for one line longer than the buffer). A last line without "\n" is a torn tail
// of a writer that crashed or is still writing: it is not returned, only measured
// (partial_bytes), and a later next() will see it once its newline has been appended.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "byte_sinks.hpp"
#include "fs_sys.hpp"

namespace hostsync::fs {

class LineReader {
public:
    // `line_no`: how many lines come before `offset` (for callers that number lines).
    bool open(const std::string& path, std::uint64_t offset, std::string& err, std::uint64_t line_no = 0);

    enum Result { kLine, kEnd, kError };
    // kLine: `line` (without "\n" and a trailing "\r", valid until the next call) and
    // the file offset where it starts. kEnd: no complete line left. kError: err is set.
    Result next(std::string_view& line, std::uint64_t& start, std::string& err);

    std::uint64_t offset() const { return base_ + begin_; }  // just after the last line returned
    std::uint64_t line_no() const { return line_no_; }        // lines before offset()

    // From now on every byte read from the file (all of it from the open offset, once
    // the end is reached, a torn tail included) goes into a SHA-256, computed on a
    // second thread: a verifier gets the file's hash from the same pass that reads its
    // lines, and on two cores at no cost to it.
    void hash_reads() { hasher_ = std::make_unique<HashSink>(); }
    // Lowercase hex SHA-256 of the bytes read so far; empty without hash_reads().
    std::string sha256_hex() { return hasher_ ? hasher_->hex() : std::string(); }
    std::uint64_t partial_bytes() const { return partial_; }   // the torn tail, once at the end
    bool is_open() const { return static_cast<bool>(fd_); }
    void close();

private:
    static constexpr std::size_t kChunk = 64 * 1024;
    Fd fd_;
    std::string path_;
    std::vector<char> buf_;
    std::size_t begin_ = 0;    // first byte not yet returned
    std::size_t scanned_ = 0;  // bytes before this are known to hold no '\n'
    std::size_t end_ = 0;      // end of valid data in buf_
    std::uint64_t base_ = 0;   // file offset of buf_[0]
    std::uint64_t partial_ = 0;
    std::uint64_t line_no_ = 0;
    std::unique_ptr<HashSink> hasher_;
};

}  // namespace hostsync::fs
