#pragma once
// An exclusive lock between processes: flock(LOCK_EX) on a lock file. The kernel drops
// it when the holder dies (even by kill -9), so there is no stale lock to clean up; the
// file itself is never deleted (deleting it would let two processes lock two different
// inodes under one name). The holder writes its pid into the file, only so that the
// refusal can say who holds it: "lock /x/run.lock is held by pid 1234".
//
// A shared lock (flock(LOCK_SH)) excludes only exclusive holders: readers that must not
// see a writer's work half-done (a verifier) take it, many at a time. A shared holder
// never writes the file, so the pid in it is always the exclusive holder's.
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
    bool acquire(const std::string& path, double wait_seconds, std::string& err, bool shared = false);
    // Clears the pid and drops the lock; a no-op if not held.
    void release();
    bool held() const { return static_cast<bool>(fd_); }
    const std::string& path() const { return path_; }

private:
    Fd fd_;
    std::string path_;
    bool shared_ = false;
};

}  // namespace hostsync::fs
