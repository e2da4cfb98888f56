#include "fs_block_pipeline.hpp"

#include <fcntl.h>

#include "fs_sys.hpp"

namespace hostsync::fs {

BlockPipeline::BlockPipeline(int fd, sha256::Hasher* hash)
    : fd_(fd), hash_(hash), worker_([this] { run(); }) {}

BlockPipeline::~BlockPipeline() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_one();
    worker_.join();
}

int BlockPipeline::submit(std::string& block) {
    std::unique_lock<std::mutex> lock(mutex_);
    space_or_idle_.wait(lock, [&] { return queue_.size() < kMaxQueued || error_ != 0; });
    if (error_ != 0) return error_;
    queue_.push_back(std::move(block));
    if (!spare_.empty()) {
        block = std::move(spare_.back());
        spare_.pop_back();
    } else {
        block = std::string();
    }
    block.clear();
    lock.unlock();
    work_ready_.notify_one();
    return 0;
}

int BlockPipeline::drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    space_or_idle_.wait(lock, [&] { return (queue_.empty() && !busy_) || error_ != 0; });
    return error_;
}

void BlockPipeline::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        work_ready_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping, and nothing left to write
        std::string block = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        bool failed = error_ != 0;
        lock.unlock();
        space_or_idle_.notify_all();

        int err = 0;
        if (!failed) {  // after a failure nothing more is written: no data after a gap
            if (hash_) hash_->update(block);
            err = fd_ >= 0 ? write_all(fd_, block) : 0;  // fd -1: a hash-only pipeline
            if (err == 0 && fd_ >= 0) {
                written_ += block.size();
                if (written_ - writeback_started_ >= kWritebackEvery) {
                    // Start (not wait for) writeback of the whole file; pages already
                    // clean or under writeback cost nothing. A hint: errors show at fdatasync.
                    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
                    writeback_started_ = written_;
                }
            }
        }

        lock.lock();
        if (err != 0 && error_ == 0) error_ = err;
        block.clear();
        if (spare_.size() < kMaxQueued) spare_.push_back(std::move(block));
        busy_ = false;
        space_or_idle_.notify_all();
    }
}

}  // namespace hostsync::fs
