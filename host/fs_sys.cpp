#include "fs_sys.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hostsync::fs {

std::string sys_error(std::string_view op, std::string_view path, int errnum) {
    std::string s;
    s.reserve(op.size() + path.size() + 40);
    s.append(op).append(" ").append(path).append(": ").append(std::strerror(errnum));
    return s;
}

void Fd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

int Fd::close() {
    if (fd_ < 0) return 0;
    int rc = ::close(fd_);
    fd_ = -1;
    // EINTR from close: the descriptor is gone on Linux either way; do not retry.
    return rc == 0 || errno == EINTR ? 0 : errno;
}

int open_cloexec(const std::string& path, int flags, mode_t mode) {
    int fd;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int write_all(int fd, std::string_view data) {
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;  // cannot happen for regular files; never spin
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return 0;
}

ssize_t pread_full(int fd, char* buf, std::size_t n, std::uint64_t offset) {
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    return static_cast<ssize_t>(got);
}

int fsync_fd(int fd) {
    while (::fsync(fd) != 0)
        if (errno != EINTR) return errno;
    return 0;
}

int fdatasync_fd(int fd) {
    while (::fdatasync(fd) != 0)
        if (errno != EINTR) return errno;
    return 0;
}

std::string parent_dir(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return ".";
    while (slash > 0 && path[slash - 1] == '/') --slash;
    if (slash == 0) return "/";
    return std::string(path.substr(0, slash));
}

std::string base_name(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

int fsync_dir_raw(const std::string& dir) {
    int fd = open_cloexec(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return errno;
    int rc = fsync_fd(fd);
    ::close(fd);
    return rc;
}

int rename_no_replace(const std::string& from, const std::string& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    int e = errno;
    // EINVAL: the filesystem has no RENAME_NOREPLACE; ENOSYS: the kernel has no renameat2.
    if (e != EINVAL && e != ENOSYS) return e;
    if (::link(from.c_str(), to.c_str()) != 0) return errno;
    if (::unlink(from.c_str()) != 0) return errno;
    return 0;
}

}  // namespace hostsync::fs
