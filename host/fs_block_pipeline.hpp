#pragma once
// Hashes and writes full buffers of an Appender on a second thread, so the thread that
// produces the data (a Lua loop formatting a million packets) never waits for SHA-256 of
// the output or for write(2). It also starts the kernel's writeback early
// (sync_file_range), so the fdatasync at close finds little left to do: on a 2-core
// machine, producing, hashing and disk I/O overlap instead of running one after another.
//
// Memory is bounded: at most kMaxQueued blocks wait; submit() blocks when they are all
// taken. Errors are sticky and returned by the next submit() or drain().
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sha256.hpp"

namespace hostsync::fs {

class BlockPipeline {
public:
    // `hash` (may be null) is updated with every block, in order, on the worker thread;
    // it must not be touched by the caller until drain() has returned. With fd -1 the
    // blocks are only hashed (a hash sink that keeps up with a producer on another core).
    BlockPipeline(int fd, sha256::Hasher* hash);
    ~BlockPipeline();  // drains and joins
    BlockPipeline(const BlockPipeline&) = delete;
    BlockPipeline& operator=(const BlockPipeline&) = delete;

    // Hands over a full block; `block` comes back as an empty buffer (recycled, with its
    // capacity) to fill next. Returns 0, or the errno of an earlier failed write.
    int submit(std::string& block);

    // Waits until every submitted block is hashed and written. Returns 0 or errno.
    int drain();

    static constexpr std::size_t kMaxQueued = 4;
    static constexpr std::uint64_t kWritebackEvery = 8u << 20;

private:
    void run();

    int fd_;
    sha256::Hasher* hash_;
    std::mutex mutex_;
    std::condition_variable work_ready_;
    std::condition_variable space_or_idle_;
    std::deque<std::string> queue_;
    std::vector<std::string> spare_;
    bool busy_ = false;
    bool stopping_ = false;
    int error_ = 0;
    std::uint64_t written_ = 0;
    std::uint64_t writeback_started_ = 0;
    std::thread worker_;
};

}  // namespace hostsync::fs
