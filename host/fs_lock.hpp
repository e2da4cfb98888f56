#pragma once
// An exclusive lock between processes: flock(LOCK_EX) on a lock file. The kernel drops
// it when the holder dies (even by kill -9), so there is no stale lock to clean up; the
// file itself is never deleted (deleting it would let two processes lock two different
// inodes under one name). The holder writes its pid into the file, only so that the
// refusal can say who holds it: "lock /x/run.lock is held by pid 1234".
#include <string>

#include "fs_sys.hpp"

namespace hostsync::fs {

class FileLock {
public:
    FileLock() = default;
    ~FileLock() { release(); }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

    // Takes the lock, retrying until wait_seconds have passed (0: one attempt).
    bool acquire(const std::string& path, double wait_seconds, std::string& err);
    // Clears the pid and drops the lock; a no-op if not held.
    void release();
    bool held() const { return static_cast<bool>(fd_); }
    const std::string& path() const { return path_; }

private:
    Fd fd_;
    std::string path_;
};

}  // namespace hostsync::fs
