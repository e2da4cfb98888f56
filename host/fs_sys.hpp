#pragma once
// System-call helpers shared by the fs_* files: an owning descriptor, full reads and
// writes that survive EINTR and short transfers, directory fsync, and error text in the
// one form every fs function uses: "open /x/y.csv: No such file or directory".
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace hostsync::fs {

// "<op> <path>: <strerror(errnum)>"
std::string sys_error(std::string_view op, std::string_view path, int errnum);

// Owns a file descriptor; closes it on destruction (ignoring errors: call close() where
// an error at close matters, e.g. after writing).
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    void reset(int fd = -1);
    // Closes now; returns 0 or the errno of close().
    int close();

private:
    int fd_ = -1;
};

// open(2) that always adds O_CLOEXEC: a descriptor leaked into an io.popen child would,
// for a lock file, keep the flock held by the child after we release it. Retries EINTR.
int open_cloexec(const std::string& path, int flags, mode_t mode = 0666);

// Writes all of data (loops on short writes and EINTR). Returns 0 or errno.
int write_all(int fd, std::string_view data);

// Reads up to n bytes at offset, looping until n or end of file. Returns the count, or
// -1 with errno set.
ssize_t pread_full(int fd, char* buf, std::size_t n, std::uint64_t offset);

// fsync and fdatasync retried on EINTR. Return 0 or errno.
int fsync_fd(int fd);
int fdatasync_fd(int fd);

// The directory a path's last component lives in: "a/b" -> "a", "b" -> ".", "/b" -> "/".
std::string parent_dir(std::string_view path);
std::string base_name(std::string_view path);

// Makes a create, rename or unlink inside `dir` durable. Returns 0 or errno.
int fsync_dir_raw(const std::string& dir);

// rename(2) that refuses to replace an existing `to` (renameat2 RENAME_NOREPLACE; where
// the filesystem does not support it, link()+unlink(), which also cannot replace).
// Returns 0 or errno (EEXIST if `to` exists).
int rename_no_replace(const std::string& from, const std::string& to);

}  // namespace hostsync::fs
