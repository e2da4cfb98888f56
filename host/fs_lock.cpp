#include "fs_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "clock.hpp"

namespace hostsync::fs {
namespace {

// "held by pid 1234", or "held by another process" while the holder has not written
// its pid yet (the moment between its flock and its write), or while shared holders,
// which write none, keep an exclusive request out.
std::string holder_of(int fd) {
    char buf[32];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid.push_back(buf[i]);
    return pid.empty() ? "another process" : "pid " + pid;
}

}  // namespace

bool FileLock::acquire(const std::string& path, double wait_seconds, std::string& err, bool shared) {
    release();
    bool writable = true;
    Fd fd(open_cloexec(path, O_RDWR | O_CREAT, 0666));
    if (!fd && errno == EACCES) {  // a lock file we may not write can still be locked
        writable = false;
        fd.reset(open_cloexec(path, O_RDONLY));
    }
    if (!fd) return (err = sys_error("lock", path, errno), false);

    double deadline = clock::monotonic() + std::max(0.0, wait_seconds);
    double pause = 0.005;
    while (::flock(fd.get(), (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) return (err = sys_error("lock", path, errno), false);
        double left = deadline - clock::monotonic();
        if (left <= 0) {
            err = "lock " + path + " is held by " + holder_of(fd.get());
            if (wait_seconds > 0) {
                char waited[48];
                std::snprintf(waited, sizeof waited, " (waited %g s)", wait_seconds);
                err += waited;
            }
            return false;
        }
        clock::sleep(std::min(pause, left));
        pause = std::min(pause * 2, 0.1);
    }
    if (writable && !shared) {
        std::string pid = std::to_string(::getpid()) + "\n";
        // Informational only, so no fsync; errors (a full disk) do not cost the lock.
        if (::ftruncate(fd.get(), 0) == 0) (void)::pwrite(fd.get(), pid.data(), pid.size(), 0);
    }
    fd_ = std::move(fd);
    path_ = path;
    shared_ = shared;
    return true;
}

void FileLock::release() {
    if (!fd_) return;
    // Clear the pid first so that nobody reads ours after we let go. A shared holder
    // wrote none, and must not erase an exclusive holder's that follows it.
    if (!shared_) (void)::ftruncate(fd_.get(), 0);
    fd_.reset();  // closing the only descriptor drops the flock
}

}  // namespace hostsync::fs
