#include "tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "failpoint.hpp"
#include "fs_safe.hpp"
#include "fs_sys.hpp"
#include "tar_locale.hpp"
#include "utf8.hpp"

namespace hostsync::tar {
namespace {

constexpr std::size_t kReadBuffer = 1 << 20;

std::string shown(const std::string& p) {
    std::string out(p.substr(0, 300));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

struct Client {
    ByteSink* sink;
    std::string sink_err;
    std::uint64_t bytes = 0;
};

la_ssize_t write_cb(struct archive* a, void* cd, const void* buf, size_t n) {
    auto* c = static_cast<Client*>(cd);
    if (!c->sink->write(std::string_view(static_cast<const char*>(buf), n), c->sink_err)) {
        archive_set_error(a, EIO, "sink: %s", c->sink_err.c_str());
        return -1;
    }
    c->bytes += n;
    return static_cast<la_ssize_t>(n);
}

struct ArchiveDeleter {
    void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

bool same_times(const struct stat& a, const struct stat& b) {
    return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

class Writer {
public:
    Writer(ByteSink& sink, const std::string& root, const WriteOptions& opts) : root_(root), opts_(opts) {
        client_.sink = &sink;
    }

    bool run(const std::vector<std::string>& paths, WriteResult& result, std::string& err) {
        Utf8LocaleScope locale;
        if (!locale.ok(err)) return false;
        std::vector<std::string> sorted;
        if (!normalize_paths(paths, sorted, err)) return false;
        rootfd_ = fs::open_root_dir(root_, err);
        if (!rootfd_) return false;

        a_.reset(archive_write_new());
        if (!a_) return (err = "tar: archive_write_new failed", false);
        if (archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
            archive_write_set_bytes_per_block(a_.get(), 10240) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a_.get(), 10240) != ARCHIVE_OK)
            return lib_error("set up", err);
        if (archive_write_open2(a_.get(), &client_, nullptr, write_cb, nullptr, nullptr) != ARCHIVE_OK)
            return lib_error("open", err);
        buf_.reset(new char[kReadBuffer]);
        entry_.reset(archive_entry_new());

        for (const std::string& rel : sorted) {
            if (!add(rel, err) || !report(0, err)) {
                archive_write_fail(a_.get());  // no end-of-archive marker, no flush of the block
                return false;
            }
        }
        if (archive_write_close(a_.get()) != ARCHIVE_OK) {
            archive_write_fail(a_.get());
            return lib_error("close", err);
        }
        if (opts_.finish && !client_.sink->finish(err)) return false;
        result.entries = entries_;
        result.data_bytes = data_bytes_;
        result.archive_bytes = client_.bytes;
        return true;
    }

private:
    bool lib_error(const std::string& what, std::string& err) {
        if (!client_.sink_err.empty()) {
            err = client_.sink_err;
        } else {
            const char* s = a_ ? archive_error_string(a_.get()) : nullptr;
            err = "tar: " + what + ": " + (s ? s : "libarchive error");
        }
        return false;
    }

    bool entry_error(const std::string& rel, std::string& err) {
        if (!client_.sink_err.empty()) return (err = client_.sink_err, false);
        const char* s = archive_error_string(a_.get());
        err = "tar: " + shown(rel) + ": " + (s ? s : "libarchive error");
        return false;
    }

    // The directory holding rel's last component, reusing the previous entry's.
    int parent_of(const std::vector<std::string>& parts, std::string& err) {
        std::string parent = fs::join_parts(parts, parts.size() - 1);
        if (parent_fd_ && parent == parent_path_) return parent_fd_.get();
        parent_fd_ = fs::walk_dirs(rootfd_.get(), parts, parts.size() - 1, false, 0, false, root_, err);
        parent_path_ = parent_fd_ ? parent : std::string();
        return parent_fd_ ? parent_fd_.get() : -1;
    }

    void base_entry(const std::string& name, const struct stat& st, mode_t type, mode_t perm) {
        archive_entry_clear(entry_.get());
        archive_entry_copy_pathname(entry_.get(), name.c_str());
        archive_entry_set_filetype(entry_.get(), type);
        archive_entry_set_perm(entry_.get(), perm);
        archive_entry_set_uid(entry_.get(), 0);
        archive_entry_set_gid(entry_.get(), 0);
        archive_entry_set_mtime(entry_.get(), opts_.mtime_from_file ? st.st_mtim.tv_sec : opts_.mtime, 0);
    }

    bool add(const std::string& rel, std::string& err) {
        std::vector<std::string> parts;
        if (!fs::split_relpath(rel, parts, err)) return false;
        int dirfd = parent_of(parts, err);
        if (dirfd < 0) return false;
        const std::string& name = parts.back();
        const std::string full = root_ + "/" + rel;
        // O_NONBLOCK: opening a FIFO must not hang; O_NOFOLLOW: never follow a link.
        fs::Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        struct stat st;
        if (!fd) {
            int e = errno;
            if (e == ELOOP && ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                if (!opts_.store_symlinks)
                    return (err = "tar: " + shown(full) + " is a symlink (refused; store_symlinks stores links, never following them)", false);
                return add_symlink(rel, dirfd, name, st, err);
            }
            return (err = fs::sys_error("open", shown(full), e), false);
        }
        if (::fstat(fd.get(), &st) != 0) return (err = fs::sys_error("stat", shown(full), errno), false);
        if (S_ISDIR(st.st_mode)) {
            base_entry(rel + "/", st, AE_IFDIR, 0755);
            if (archive_write_header(a_.get(), entry_.get()) != ARCHIVE_OK) return entry_error(rel, err);
            ++entries_;
            return true;
        }
        if (!S_ISREG(st.st_mode))
            return (err = "tar: " + shown(full) + " is not a regular file or directory (refused)", false);
        return add_file(rel, full, fd.get(), st, err);
    }

    bool add_symlink(const std::string& rel, int dirfd, const std::string& name, const struct stat& st, std::string& err) {
        std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (n < 0) return (err = fs::sys_error("readlink", shown(root_ + "/" + rel), errno), false);
        if (static_cast<std::size_t>(n) >= target.size())
            return (err = "tar: " + shown(root_ + "/" + rel) + ": symlink changed while being read", false);
        target.resize(static_cast<std::size_t>(n));
        if (!utf8::valid(target)) return (err = "tar: " + shown(rel) + ": symlink target is not valid UTF-8 (refused)", false);
        base_entry(rel, st, AE_IFLNK, 0777);
        archive_entry_copy_symlink(entry_.get(), target.c_str());
        if (archive_write_header(a_.get(), entry_.get()) != ARCHIVE_OK) return entry_error(rel, err);
        ++entries_;
        return true;
    }

    bool add_file(const std::string& rel, const std::string& full, int fd, const struct stat& st, std::string& err) {
        // Back to blocking reads (O_NONBLOCK was only for the open).
        int fl = ::fcntl(fd, F_GETFL);
        if (fl >= 0) ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        const auto prefix = opts_.prefixes.find(rel);
        const bool is_prefix = prefix != opts_.prefixes.end();
        const std::uint64_t size = is_prefix ? prefix->second : static_cast<std::uint64_t>(st.st_size);
        if (is_prefix && size > static_cast<std::uint64_t>(st.st_size))
            return (err = "tar: " + shown(full) + ": has " + std::to_string(st.st_size) + " bytes, fewer than the " +
                          std::to_string(size) + " to store (an append-only file shrank?)",
                    false);
        reported_in_file_ = 0;
        base_entry(rel, st, AE_IFREG, (st.st_mode & 0111) ? 0755 : 0644);
        archive_entry_set_size(entry_.get(), static_cast<la_int64_t>(size));
        if (archive_write_header(a_.get(), entry_.get()) != ARCHIVE_OK) return entry_error(rel, err);
        std::uint64_t done = 0;
        while (done < size) {
            std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kReadBuffer, size - done));
            ssize_t n = ::read(fd, buf_.get(), want);
            if (n < 0) {
                if (errno == EINTR) continue;
                return (err = fs::sys_error("read", shown(full), errno), false);
            }
            if (n == 0)
                return (err = "tar: " + shown(full) + ": file shrank while being read (" + std::to_string(done) +
                              " of " + std::to_string(size) + " bytes); archive aborted",
                        false);
            la_ssize_t w = archive_write_data(a_.get(), buf_.get(), static_cast<size_t>(n));
            if (w != n) return entry_error(rel, err);
            done += static_cast<std::uint64_t>(n);
            if (opts_.progress && done - reported_in_file_ >= opts_.progress_bytes) {
                reported_in_file_ = done;
                if (!report(done, err)) return false;
            }
        }
        if (is_prefix) return finish_prefix(rel, full, fd, size, err);
        char extra;
        ssize_t more;
        do more = ::read(fd, &extra, 1);
        while (more < 0 && errno == EINTR);
        if (more < 0) return (err = fs::sys_error("read", shown(full), errno), false);
        if (more > 0)
            return (err = "tar: " + shown(full) + ": file grew while being read (more than " + std::to_string(size) +
                          " bytes); archive aborted",
                    false);
        struct stat after;
        if (::fstat(fd, &after) != 0) return (err = fs::sys_error("stat", shown(full), errno), false);
        if (!same_times(st, after))
            return (err = "tar: " + shown(full) + ": file changed while being read (size, mtime or ctime); archive aborted", false);
        if (archive_write_finish_entry(a_.get()) != ARCHIVE_OK) return entry_error(rel, err);
        ++entries_;
        data_bytes_ += size;
        failpoint::hit("tar_file");
        return true;
    }

    // The end of a prefix entry: the rest of the file may grow (appends), never shrink.
    bool finish_prefix(const std::string& rel, const std::string& full, int fd, std::uint64_t size, std::string& err) {
        struct stat after;
        if (::fstat(fd, &after) != 0) return (err = fs::sys_error("stat", shown(full), errno), false);
        if (static_cast<std::uint64_t>(after.st_size) < size)
            return (err = "tar: " + shown(full) + ": shrank while being read; archive aborted", false);
        if (archive_write_finish_entry(a_.get()) != ARCHIVE_OK) return entry_error(rel, err);
        ++entries_;
        data_bytes_ += size;
        return true;
    }

    std::string root_;
    WriteOptions opts_;
    Client client_;
    fs::Fd rootfd_;
    fs::Fd parent_fd_;
    std::string parent_path_;
    std::unique_ptr<struct archive, ArchiveDeleter> a_;
    std::unique_ptr<archive_entry, EntryDeleter> entry_;
    std::unique_ptr<char[]> buf_;
    std::uint64_t entries_ = 0;
    std::uint64_t data_bytes_ = 0;
    std::uint64_t reported_in_file_ = 0;  // bytes of the current file at the last progress call

    // The progress callback, if any: `in_file` bytes of the current file are not yet in data_bytes_.
    bool report(std::uint64_t in_file, std::string& err) {
        return !opts_.progress || opts_.progress(entries_, data_bytes_ + in_file, err);
    }
};

bool collect_dir(int dirfd, const std::string& rel, const std::string& root, bool include_symlinks,
                 std::vector<std::string>& out, std::string& err) {
    int dupfd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) return (err = fs::sys_error("dup", shown(root + "/" + rel), errno), false);
    DIR* d = ::fdopendir(dupfd);
    if (d == nullptr) {
        ::close(dupfd);
        return (err = fs::sys_error("opendir", shown(root + "/" + rel), errno), false);
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* de = ::readdir(d)) {
        if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
        names.emplace_back(de->d_name);
    }
    int e = errno;
    ::closedir(d);
    if (e != 0) return (err = fs::sys_error("readdir", shown(root + "/" + rel), e), false);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
        std::string child = rel.empty() ? name : rel + "/" + name;
        struct stat st;
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return (err = fs::sys_error("stat", shown(root + "/" + child), errno), false);
        if (S_ISLNK(st.st_mode)) {
            if (!include_symlinks) return (err = "tar: " + shown(root + "/" + child) + " is a symlink (refused)", false);
            out.push_back(child);
        } else if (S_ISREG(st.st_mode)) {
            out.push_back(child);
        } else if (S_ISDIR(st.st_mode)) {
            out.push_back(child);
            fs::Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) return (err = fs::sys_error("open", shown(root + "/" + child), errno), false);
            if (!collect_dir(sub.get(), child, root, include_symlinks, out, err)) return false;
        } else {
            return (err = "tar: " + shown(root + "/" + child) + " is not a regular file or directory (refused)", false);
        }
    }
    return true;
}

}  // namespace

bool normalize_paths(const std::vector<std::string>& paths, std::vector<std::string>& out, std::string& err) {
    out.clear();
    out.reserve(paths.size());
    std::vector<std::string> parts;
    for (const std::string& p : paths) {
        if (!fs::split_relpath(p, parts, err)) return (err = "tar: " + err, false);
        if (!utf8::valid(p)) return (err = "tar: path \"" + shown(p) + "\" is not valid UTF-8 (refused)", false);
        out.push_back(fs::join_parts(parts, parts.size()));
    }
    std::sort(out.begin(), out.end());  // std::string compares as unsigned bytes
    auto dup = std::adjacent_find(out.begin(), out.end());
    if (dup != out.end()) return (err = "tar: path \"" + shown(*dup) + "\" is listed twice", false);
    return true;
}

bool write(ByteSink& sink, const std::string& root, const std::vector<std::string>& paths, const WriteOptions& opts,
           WriteResult& result, std::string& err) {
    Writer w(sink, root, opts);
    return w.run(paths, result, err);
}

bool collect(const std::string& root, bool include_symlinks, std::vector<std::string>& out, std::string& err) {
    out.clear();
    fs::Fd rootfd = fs::open_root_dir(root, err);
    if (!rootfd) return false;
    if (!collect_dir(rootfd.get(), "", root, include_symlinks, out, err)) return false;
    std::sort(out.begin(), out.end());
    return true;
}

}  // namespace hostsync::tar
