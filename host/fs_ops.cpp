#include "fs_ops.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "fs_sys.hpp"

namespace hostsync::fs {
namespace {

bool fail(std::string& err, const char* op, const std::string& path, int e) {
    err = sys_error(op, path, e);
    return false;
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Reads the entries of an open directory (without "." and ".."). Returns 0 or errno.
int read_names(DIR* d, std::vector<std::string>& names) {
    while (true) {
        errno = 0;
        struct dirent* e = ::readdir(d);
        if (e == nullptr) return errno;
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
            continue;
        names.emplace_back(e->d_name);
    }
}

// Empties the directory open as `dfd` (named `path` for messages), depth first, then
// closes it. Uses *at() calls relative to the directory, with O_NOFOLLOW, so a symlink
// swapped in meanwhile is unlinked rather than followed out of the tree.
bool empty_dir(int dfd, const std::string& path, std::string& err) {
    DirPtr d(::fdopendir(dfd));
    if (!d) {
        int e = errno;
        ::close(dfd);
        return fail(err, "remove_tree", path, e);
    }
    std::vector<std::string> names;
    if (int e = read_names(d.get(), names); e != 0) return fail(err, "remove_tree", path, e);
    for (const std::string& name : names) {
        std::string child = path + "/" + name;
        if (::unlinkat(dirfd(d.get()), name.c_str(), 0) == 0) continue;
        if (errno != EISDIR && errno != EPERM) return fail(err, "remove_tree", child, errno);
        int unlink_errno = errno;
        int cfd = ::openat(dirfd(d.get()), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) return fail(err, "remove_tree", child, errno == ENOTDIR ? unlink_errno : errno);
        if (!empty_dir(cfd, child, err)) return false;
        if (::unlinkat(dirfd(d.get()), name.c_str(), AT_REMOVEDIR) != 0) return fail(err, "remove_tree", child, errno);
    }
    return true;
}

}  // namespace

bool stat(const std::string& path, bool follow, StatInfo& out, std::string& err) {
    struct stat st;
    if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) return fail(err, "stat", path, errno);
    out.type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other";
    out.size = static_cast<std::uint64_t>(st.st_size);
    out.mtime = static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) * 1e-9;
    out.ino = static_cast<std::uint64_t>(st.st_ino);
    out.dev = static_cast<std::uint64_t>(st.st_dev);
    out.mode = static_cast<unsigned>(st.st_mode & 07777);
    return true;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

bool mkdir_p(const std::string& path, mode_t mode, std::string& err) {
    if (path.empty()) return fail(err, "mkdir", path, ENOENT);
    // Walk the prefixes "a", "a/b", "a/b/c"; existing ones are skipped.
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        std::string prefix = path.substr(0, pos);
        if (prefix.empty() || prefix.back() == '/') continue;  // "/" or "a//b"
        if (::mkdir(prefix.c_str(), mode) == 0) {
            std::string parent = parent_dir(prefix);
            if (int e = fsync_dir_raw(parent); e != 0) return fail(err, "fsync directory", parent, e);
            continue;
        }
        int e = errno;
        struct stat st;
        if (e == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
        return fail(err, "mkdir", prefix, e == EEXIST ? ENOTDIR : e);
    }
    return true;
}

bool listdir(const std::string& path, std::vector<std::string>& names, std::string& err) {
    DirPtr d(::opendir(path.c_str()));
    if (!d) return fail(err, "listdir", path, errno);
    names.clear();
    if (int e = read_names(d.get(), names); e != 0) return fail(err, "listdir", path, e);
    std::sort(names.begin(), names.end());
    return true;
}

bool remove(const std::string& path, std::string& err) {
    if (::unlink(path.c_str()) == 0) return true;
    int unlink_errno = errno;
    if (unlink_errno != EISDIR && unlink_errno != EPERM) return fail(err, "remove", path, unlink_errno);
    // EISDIR (Linux) or EPERM (POSIX) for a directory; EPERM can also be a real refusal.
    if (::rmdir(path.c_str()) != 0) return fail(err, "remove", path, errno == ENOTDIR ? unlink_errno : errno);
    return true;
}

bool remove_tree(const std::string& path, std::string& err) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return fail(err, "remove_tree", path, errno);
    if (!S_ISDIR(st.st_mode)) {
        if (::unlink(path.c_str()) != 0) return fail(err, "remove_tree", path, errno);
        return true;
    }
    int dfd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) return fail(err, "remove_tree", path, errno);
    if (!empty_dir(dfd, path, err)) return false;
    if (::rmdir(path.c_str()) != 0) return fail(err, "remove_tree", path, errno);
    return true;
}

bool rename(const std::string& from, const std::string& to, bool no_replace, std::string& err) {
    int e = 0;
    if (no_replace) e = rename_no_replace(from, to);
    else if (::rename(from.c_str(), to.c_str()) != 0) e = errno;
    if (e != 0) {
        err = sys_error("rename " + from + " to", to, e);
        return false;
    }
    std::string to_dir = parent_dir(to), from_dir = parent_dir(from);
    if ((e = fsync_dir_raw(to_dir)) != 0) return fail(err, "fsync directory", to_dir, e);
    if (from_dir != to_dir && (e = fsync_dir_raw(from_dir)) != 0) return fail(err, "fsync directory", from_dir, e);
    return true;
}

bool fsync_dir(const std::string& path, std::string& err) {
    if (int e = fsync_dir_raw(path); e != 0) return fail(err, "fsync_dir", path, e);
    return true;
}

bool mkdtemp(const std::string& prefix, std::string& out, std::string& err) {
    std::string tmpl = prefix + "XXXXXX";
    // Report the template as given: glibc may have filled in the X's before failing.
    if (::mkdtemp(tmpl.data()) == nullptr) return fail(err, "mkdtemp", prefix + "XXXXXX", errno);
    out = tmpl;
    return true;
}

bool realpath(const std::string& path, std::string& out, std::string& err) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) return fail(err, "realpath", path, errno);
    out = resolved;
    std::free(resolved);
    return true;
}

bool isatty(int fd) { return ::isatty(fd) == 1; }

}  // namespace hostsync::fs
