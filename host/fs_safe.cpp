#include "fs_safe.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hostsync::fs {
namespace {

std::string printable(std::string_view s) {
    std::string out(s.substr(0, 300));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    if (s.size() > 300) out += "...";
    return out;
}

std::string under(const std::string& shown, const std::string& rel) {
    if (shown.empty()) return rel;
    if (rel.empty()) return shown;
    return shown.back() == '/' ? shown + rel : shown + "/" + rel;
}

// Why openat(O_DIRECTORY|O_NOFOLLOW) of `name` failed, in words.
std::string walk_error(int dirfd, const std::string& name, const std::string& path, int e) {
    struct stat st;
    if ((e == ELOOP || e == ENOTDIR) && ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) return "\"" + printable(path) + "\" is a symlink (refused: paths are never followed through links)";
        if (!S_ISDIR(st.st_mode)) return sys_error("open", printable(path), ENOTDIR);
    }
    return sys_error("open", printable(path), e);
}

std::atomic<unsigned> g_counter{0};

int renameat_no_replace(int dirfd, const std::string& from, const std::string& to) {
    if (::renameat2(dirfd, from.c_str(), dirfd, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    int e = errno;
    if (e != EINVAL && e != ENOSYS) return e;
    if (::linkat(dirfd, from.c_str(), dirfd, to.c_str(), 0) != 0) return errno;
    if (::unlinkat(dirfd, from.c_str(), 0) != 0) return errno;
    return 0;
}

}  // namespace

bool split_relpath(std::string_view rel, std::vector<std::string>& parts, std::string& err) {
    parts.clear();
    auto refuse = [&](const char* why) {
        err = "path \"" + printable(rel) + "\": " + why;
        return false;
    };
    if (rel.find('\0') != std::string_view::npos) return refuse("NUL byte in path");
    if (!rel.empty() && rel[0] == '/') return refuse("absolute path refused");
    std::size_t pos = 0;
    while (pos <= rel.size()) {
        std::size_t slash = rel.find('/', pos);
        if (slash == std::string_view::npos) slash = rel.size();
        std::string_view part = rel.substr(pos, slash - pos);
        pos = slash + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") return refuse("\"..\" component refused");
        parts.emplace_back(part);
    }
    if (parts.empty()) return refuse("empty path refused");
    return true;
}

bool has_prefix(const std::vector<std::string>& parts, const std::vector<std::string>& prefix) {
    if (prefix.size() > parts.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (parts[i] != prefix[i]) return false;
    return true;
}

std::string join_parts(const std::vector<std::string>& parts, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n && i < parts.size(); ++i) {
        if (i) out += '/';
        out += parts[i];
    }
    return out;
}

Fd open_root_dir(const std::string& root, std::string& err) {
    Fd fd(open_cloexec(root, O_RDONLY | O_DIRECTORY));
    if (!fd) err = sys_error("open root", root, errno);
    return fd;
}

Fd walk_dirs(int dirfd, const std::vector<std::string>& parts, std::size_t n, bool create, mode_t mode,
             bool exact_mode, const std::string& shown, std::string& err) {
    Fd cur(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!cur) {
        err = sys_error("dup", shown, errno);
        return Fd();
    }
    for (std::size_t i = 0; i < n; ++i) {
        const std::string& name = parts[i];
        const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int fd = ::openat(cur.get(), name.c_str(), flags);
        if (fd < 0 && errno == ENOENT && create) {
            if (::mkdirat(cur.get(), name.c_str(), mode) != 0 && errno != EEXIST) {
                err = sys_error("mkdir", printable(under(shown, join_parts(parts, i + 1))), errno);
                return Fd();
            }
            fd = ::openat(cur.get(), name.c_str(), flags);
            if (fd >= 0) {
                if (exact_mode && ::fchmod(fd, mode) != 0) {
                    err = sys_error("chmod", printable(under(shown, join_parts(parts, i + 1))), errno);
                    ::close(fd);
                    return Fd();
                }
                fsync_fd(cur.get());  // the new entry in its parent
            }
        }
        if (fd < 0) {
            err = walk_error(cur.get(), name, under(shown, join_parts(parts, i + 1)), errno);
            return Fd();
        }
        cur.reset(fd);
    }
    return cur;
}

// --- TempFile ------------------------------------------------------------------

bool TempFile::create(int dirfd, const std::string& final_name, const std::string& shown, std::string& err) {
    discard();
    dirfd_ = dirfd;
    final_name_ = final_name;
    shown_ = shown;
    std::string stem = final_name.size() > 100 ? final_name.substr(0, 100) : final_name;
    for (int attempt = 0; attempt < 100; ++attempt) {
        char suffix[48];
        std::snprintf(suffix, sizeof suffix, ".tmp-%ld-%u", static_cast<long>(::getpid()), g_counter.fetch_add(1));
        std::string name = "." + stem + suffix;
        int fd = ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            fd_.reset(fd);
            tmp_name_ = name;
            return true;
        }
        if (errno != EEXIST) {
            err = sys_error("create temp file for", printable(shown), errno);
            return false;
        }
    }
    err = sys_error("create temp file for", printable(shown), EEXIST);
    return false;
}

bool TempFile::write(std::string_view data, std::string& err) {
    int e = write_all(fd_.get(), data);
    if (e != 0) return (err = sys_error("write", printable(shown_), e), false);
    return true;
}

bool TempFile::commit(mode_t mode, bool set_mtime, std::int64_t mtime, bool durable, std::string& err) {
    if (::fchmod(fd_.get(), mode) != 0) return (err = sys_error("chmod", printable(shown_), errno), false);
    if (set_mtime) {
        struct timespec ts[2];
        ts[0].tv_sec = 0;
        ts[0].tv_nsec = UTIME_OMIT;
        ts[1].tv_sec = static_cast<time_t>(mtime);
        ts[1].tv_nsec = 0;
        if (::futimens(fd_.get(), ts) != 0) return (err = sys_error("set mtime of", printable(shown_), errno), false);
    }
    if (durable) {
        int e = fsync_fd(fd_.get());
        if (e != 0) return (err = sys_error("fsync", printable(shown_), e), false);
    }
    int e = fd_.close();
    if (e != 0) return (err = sys_error("close", printable(shown_), e), false);
    e = renameat_no_replace(dirfd_, tmp_name_, final_name_);
    if (e != 0) return (err = sys_error("create", printable(shown_), e), false);
    tmp_name_.clear();
    if (durable) {
        e = fsync_fd(dirfd_);
        if (e != 0) return (err = sys_error("fsync directory of", printable(shown_), e), false);
    }
    return true;
}

void TempFile::discard() {
    fd_.reset();
    if (!tmp_name_.empty() && dirfd_ >= 0) ::unlinkat(dirfd_, tmp_name_.c_str(), 0);
    tmp_name_.clear();
}

// --- BeneathWriter -------------------------------------------------------------

namespace {

bool resolve_parent(const std::string& root, std::string_view rel, const std::string& within, bool mkdirs,
                    bool allow_within_itself, std::vector<std::string>& parts, Fd& dir, std::string& shown,
                    std::string& err) {
    if (!split_relpath(rel, parts, err)) return false;
    if (!within.empty()) {
        std::vector<std::string> prefix;
        if (!split_relpath(within, prefix, err)) return false;
        if (!has_prefix(parts, prefix) || (parts.size() == prefix.size() && !allow_within_itself)) {
            err = "path \"" + printable(rel) + "\": outside the allowed directory \"" + printable(within) + "\"";
            return false;
        }
    }
    shown = under(root, join_parts(parts, parts.size()));
    Fd rootfd = open_root_dir(root, err);
    if (!rootfd) return false;
    dir = walk_dirs(rootfd.get(), parts, parts.size() - 1, mkdirs, 0777, false, root, err);
    return static_cast<bool>(dir);
}

}  // namespace

bool BeneathWriter::open(const std::string& root, std::string_view rel, const Options& opts, std::string& err) {
    std::vector<std::string> parts;
    if (!resolve_parent(root, rel, opts.within, opts.mkdirs, false, parts, dir_, shown_, err)) return false;
    // Refuse early (the final rename would refuse anyway): a caller streaming gigabytes
    // should learn before writing them that the name is taken.
    struct stat st;
    if (::fstatat(dir_.get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        return (err = sys_error("create", printable(shown_), EEXIST), false);
    if (!tmp_.create(dir_.get(), parts.back(), shown_, err)) return false;
    mode_ = opts.mode;
    durable_ = opts.durable;
    buf_.reserve(1 << 20);
    open_ = true;
    return true;
}

bool BeneathWriter::fail(std::string& err) {
    failed_ = err;
    tmp_.discard();
    done_ = true;
    return false;
}

bool BeneathWriter::write(std::string_view data, std::string& err) {
    if (!failed_.empty()) return (err = failed_, false);
    if (!open_ || done_) return (err = "write " + printable(shown_) + ": writer is closed", false);
    bytes_ += data.size();
    if (buf_.size() + data.size() < (1u << 20)) {
        buf_.append(data);
        return true;
    }
    if (!buf_.empty()) {
        if (!tmp_.write(buf_, err)) return fail(err);
        buf_.clear();
    }
    if (data.size() >= (1u << 20)) {
        if (!tmp_.write(data, err)) return fail(err);
    } else {
        buf_.append(data);
    }
    return true;
}

bool BeneathWriter::finish(std::string& err) {
    if (!failed_.empty()) return (err = failed_, false);
    if (!open_ || done_) return (err = "commit " + printable(shown_) + ": writer is closed", false);
    if (!buf_.empty()) {
        if (!tmp_.write(buf_, err)) return fail(err);
        buf_.clear();
    }
    if (!tmp_.commit(mode_, false, 0, durable_, err)) return fail(err);
    done_ = true;
    committed_ = true;
    return true;
}

void BeneathWriter::abort() {
    tmp_.discard();
    done_ = true;
}

bool create_beneath(const std::string& root, std::string_view rel, std::string_view data,
                    const BeneathWriter::Options& opts, std::string& err) {
    BeneathWriter w;
    if (!w.open(root, rel, opts, err)) return false;
    if (!w.write(data, err)) return false;
    return w.finish(err);
}

bool mkdir_beneath(const std::string& root, std::string_view rel, const MkdirOptions& opts, std::string& err) {
    std::vector<std::string> parts;
    Fd dir;
    std::string shown;
    if (!resolve_parent(root, rel, opts.within, opts.parents, true, parts, dir, shown, err)) return false;
    const std::string& name = parts.back();
    if (::mkdirat(dir.get(), name.c_str(), opts.mode) != 0) {
        int e = errno;
        struct stat st;
        if (e == EEXIST && !opts.exclusive && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(st.st_mode))
            return true;
        if (e == EEXIST && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            return (err = "\"" + printable(shown) + "\" is a symlink (refused: paths are never followed through links)", false);
        return (err = sys_error("mkdir", printable(shown), e), false);
    }
    int e = fsync_fd(dir.get());
    if (e != 0) return (err = sys_error("fsync directory of", printable(shown), e), false);
    return true;
}

}  // namespace hostsync::fs
