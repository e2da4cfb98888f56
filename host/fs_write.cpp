#include "fs_write.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "fs_sys.hpp"

namespace hostsync::fs {
namespace {

// Creates an exclusive temp file "<dir>/.<name>.tmp-<pid>-<n>" next to `path`: the same
// directory, so the final rename stays within one filesystem and is atomic. Hidden so
// that listings of the directory skip leftovers of a crash.
int open_temp_beside(const std::string& path, std::string& tmp_path) {
    static std::atomic<unsigned> counter{0};
    std::string prefix = parent_dir(path) + "/." + base_name(path) + ".tmp-" + std::to_string(::getpid()) + "-";
    for (int attempt = 0; attempt < 100; ++attempt) {
        tmp_path = prefix + std::to_string(counter.fetch_add(1));
        int fd = open_cloexec(tmp_path, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

// Writes data to a fresh temp file beside `path` and makes it durable. On failure the
// temp file is removed and err is set.
bool write_temp(const std::string& path, std::string_view data, const struct stat* keep_mode, std::string& tmp,
                std::string& err) {
    Fd fd(open_temp_beside(path, tmp));
    if (!fd) return (err = sys_error("create temp file for", path, errno), false);
    int e = 0;
    const char* step = "write";
    if (keep_mode != nullptr && ::fchmod(fd.get(), keep_mode->st_mode & 07777) != 0) {
        e = errno;
        step = "chmod";
    }
    if (e == 0 && (e = write_all(fd.get(), data)) != 0) step = "write";
    if (e == 0 && (e = fsync_fd(fd.get())) != 0) step = "fsync";
    if (e == 0 && (e = fd.close()) != 0) step = "close";
    if (e != 0) {
        ::unlink(tmp.c_str());
        err = sys_error(step, path, e);
        return false;
    }
    return true;
}

bool sync_parent(const std::string& path, std::string& err) {
    std::string dir = parent_dir(path);
    if (int e = fsync_dir_raw(dir); e != 0) return (err = sys_error("fsync directory", dir, e), false);
    return true;
}

}  // namespace

bool write_atomic(const std::string& path, std::string_view data, std::string& err) {
    struct stat st;
    bool exists = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    std::string tmp;
    if (!write_temp(path, data, exists ? &st : nullptr, tmp, err)) return false;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return (err = sys_error("rename onto", path, e), false);
    }
    return sync_parent(path, err);
}

bool create_exclusive(const std::string& path, std::string_view data, std::string& err) {
    // Cheap early answer before writing possibly large data; the rename below is the
    // check that counts.
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) return (err = sys_error("create", path, EEXIST), false);
    std::string tmp;
    if (!write_temp(path, data, nullptr, tmp, err)) return false;
    if (int e = rename_no_replace(tmp, path); e != 0) {
        ::unlink(tmp.c_str());
        return (err = sys_error("create", path, e), false);
    }
    return sync_parent(path, err);
}

int open_append(const std::string& path, bool& created) {
    created = false;
    // Try the existing file first so that `created` is exact; O_EXCL settles races.
    for (int attempt = 0; attempt < 10; ++attempt) {
        int fd = open_cloexec(path, O_WRONLY | O_APPEND);
        if (fd >= 0 || errno != ENOENT) return fd;
        fd = open_cloexec(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0666);
        if (fd >= 0) {
            created = true;
            return fd;
        }
        if (errno != EEXIST) return -1;
    }
    return -1;
}

bool append(const std::string& path, std::string_view data, std::string& err) {
    bool created = false;
    Fd fd(open_append(path, created));
    if (!fd) return (err = sys_error("open", path, errno), false);
    while (::flock(fd.get(), LOCK_EX) != 0)
        if (errno != EINTR) return (err = sys_error("lock", path, errno), false);
    if (int e = write_all(fd.get(), data); e != 0) return (err = sys_error("write", path, e), false);
    if (int e = fdatasync_fd(fd.get()); e != 0) return (err = sys_error("fdatasync", path, e), false);
    if (int e = fd.close(); e != 0) return (err = sys_error("close", path, e), false);
    return !created || sync_parent(path, err);
}

}  // namespace hostsync::fs
