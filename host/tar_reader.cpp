#include "tar_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "fs_safe.hpp"
#include "fs_sys.hpp"
#include "tar_locale.hpp"
#include "utf8.hpp"

namespace hostsync::tar {
namespace {

constexpr std::size_t kSourceBuffer = 256 * 1024;

std::string shown(std::string_view p) {
    std::string out(p.substr(0, 300));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    if (p.size() > 300) out += "...";
    return out;
}

struct Client {
    ByteSource* src;
    std::string src_err;
    std::unique_ptr<char[]> buf{new char[kSourceBuffer]};
};

la_ssize_t read_cb(struct archive* a, void* cd, const void** out) {
    auto* c = static_cast<Client*>(cd);
    *out = c->buf.get();
    ssize_t n = c->src->read(c->buf.get(), kSourceBuffer, c->src_err);
    if (n < 0) {
        archive_set_error(a, EIO, "%s", c->src_err.c_str());
        return -1;
    }
    return n;
}

struct ReadDeleter {
    void operator()(struct archive* a) const { archive_read_free(a); }
};

const char* type_name(archive_entry* e) {
    if (archive_entry_hardlink(e) != nullptr) return "hardlink";
    switch (archive_entry_filetype(e)) {
        case AE_IFREG: return "file";
        case AE_IFDIR: return "dir";
        case AE_IFLNK: return "symlink";
        default: return "other";
    }
}

class Reader {
public:
    Reader(ByteSource& src, const std::string& name, const Limits& limits) : name_(name), limits_(limits) {
        client_.src = &src;
    }

    bool open(std::string& err) {
        a_.reset(archive_read_new());
        if (!a_) return (err = name_ + ": archive_read_new failed", false);
        // Tar only (ustar, pax, GNU, v7), no decompression filter: input size bounds output.
        if (archive_read_support_format_tar(a_.get()) != ARCHIVE_OK) return lib_error(err);
        if (archive_read_open(a_.get(), &client_, nullptr, read_cb, nullptr) != ARCHIVE_OK) return lib_error(err);
        return true;
    }

    // 1: an entry, 0: end of archive, -1: error.
    int next(archive_entry*& e, std::string& err) {
        int r = archive_read_next_header(a_.get(), &e);
        if (r == ARCHIVE_EOF) return 0;
        if (r != ARCHIVE_OK) {
            lib_error(err);
            return -1;
        }
        if (++entries_ > limits_.max_entries) {
            err = name_ + ": more than " + std::to_string(limits_.max_entries) + " entries (max_entries)";
            return -1;
        }
        if (archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == nullptr) {
            la_int64_t size = archive_entry_size(e);
            if (size < 0) {
                err = entry_prefix(e) + "negative size";
                return -1;
            }
            bytes_ += static_cast<std::uint64_t>(size);
            if (bytes_ > limits_.max_bytes) {
                err = entry_prefix(e) + "total size would exceed " + std::to_string(limits_.max_bytes) + " bytes (max_bytes)";
                return -1;
            }
        }
        return 1;
    }

    bool lib_error(std::string& err) {
        if (!client_.src_err.empty()) return (err = name_ + ": " + client_.src_err, false);
        const char* s = archive_error_string(a_.get());
        err = name_ + ": " + (s ? s : "libarchive error");
        return false;
    }

    std::string entry_prefix(archive_entry* e) {
        const char* p = archive_entry_pathname(e);
        return name_ + ": entry \"" + shown(p ? p : "") + "\": ";
    }

    struct archive* get() { return a_.get(); }
    std::uint64_t entries() const { return entries_; }

private:
    std::string name_;
    Limits limits_;
    Client client_;
    std::unique_ptr<struct archive, ReadDeleter> a_;
    std::uint64_t entries_ = 0;
    std::uint64_t bytes_ = 0;
};

bool dir_is_empty(int dirfd, const std::string& dest, std::string& err) {
    int dupfd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) return (err = fs::sys_error("dup", dest, errno), false);
    DIR* d = ::fdopendir(dupfd);
    if (d == nullptr) {
        ::close(dupfd);
        return (err = fs::sys_error("opendir", dest, errno), false);
    }
    bool empty = true;
    while (struct dirent* de = ::readdir(d)) {
        if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    ::closedir(d);
    if (!empty) err = "extract into " + dest + ": destination is not empty (refused)";
    return empty;
}

}  // namespace

bool list(ByteSource& src, const std::string& name, const Limits& limits, std::vector<EntryInfo>& out,
          std::string& err) {
    Utf8LocaleScope locale;
    if (!locale.ok(err)) return false;
    Reader r(src, name, limits);
    if (!r.open(err)) return false;
    out.clear();
    for (;;) {
        archive_entry* e = nullptr;
        int got = r.next(e, err);
        if (got < 0) return false;
        if (got == 0) break;
        EntryInfo info;
        const char* p = archive_entry_pathname(e);
        info.path = p ? p : "";
        info.type = type_name(e);
        info.size = archive_entry_size_is_set(e) ? static_cast<std::uint64_t>(archive_entry_size(e)) : 0;
        info.mode = archive_entry_perm(e);
        info.mtime = archive_entry_mtime(e);
        info.uid = archive_entry_uid(e);
        info.gid = archive_entry_gid(e);
        if (const char* u = archive_entry_uname(e)) info.uname = u;
        if (const char* g = archive_entry_gname(e)) info.gname = g;
        if (const char* l = archive_entry_hardlink(e)) info.link = l;
        else if (const char* s = archive_entry_symlink(e)) info.link = s;
        out.push_back(std::move(info));
        // Reads (and so checks) the data: a truncated archive fails here, not silently.
        if (archive_read_data_skip(r.get()) != ARCHIVE_OK) return r.lib_error(err);
    }
    return true;
}

bool extract(ByteSource& src, const std::string& name, const std::string& dest, const ExtractOptions& opts,
             ExtractResult& result, std::string& err) {
    Utf8LocaleScope locale;
    if (!locale.ok(err)) return false;
    // The destination itself may not be a symlink (its parents are the caller's).
    fs::Fd destfd(fs::open_cloexec(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (!destfd) {
        int e = errno;
        struct stat st;
        if (e == ELOOP || (e == ENOTDIR && ::lstat(dest.c_str(), &st) == 0 && S_ISLNK(st.st_mode)))
            return (err = "extract into " + dest + ": destination is a symlink (refused)", false);
        return (err = fs::sys_error("open", dest, e), false);
    }
    if (!dir_is_empty(destfd.get(), dest, err)) return false;

    Reader r(src, name, opts.limits);
    if (!r.open(err)) return false;
    std::vector<std::string> parts;
    std::uint64_t bytes = 0, created = 0;
    for (;;) {
        archive_entry* e = nullptr;
        int got = r.next(e, err);
        if (got < 0) return false;
        if (got == 0) break;
        const char* p = archive_entry_pathname(e);
        std::string path = p ? p : "";
        auto refuse = [&](const std::string& why) {
            err = name + ": entry \"" + shown(path) + "\": " + why;
            return false;
        };
        const char* type = type_name(e);
        if (std::strcmp(type, "hardlink") == 0) return refuse("hardlink refused");
        if (std::strcmp(type, "symlink") == 0) return refuse("symlink refused");
        if (std::strcmp(type, "other") == 0) return refuse("not a regular file or directory (refused)");
        if (archive_entry_sparse_count(e) > 0) return refuse("sparse file refused");
        if (!utf8::valid(path)) return refuse("name is not valid UTF-8 (refused)");
        if (!path.empty() && path[0] == '/') return refuse("absolute path refused");
        std::string why;
        if (!fs::split_relpath(path, parts, why)) {
            bool root_dir = std::strcmp(type, "dir") == 0 && why.find("empty path") != std::string::npos;
            if (root_dir) continue;  // "./": the destination itself
            return refuse(why);
        }
        const std::string rel = fs::join_parts(parts, parts.size());
        const std::string full = dest + "/" + rel;
        if (std::strcmp(type, "dir") == 0) {
            fs::Fd d = fs::walk_dirs(destfd.get(), parts, parts.size(), true, 0755, true, dest, err);
            if (!d) return (err = name + ": entry \"" + shown(path) + "\": " + err, false);
            ++created;
            continue;
        }
        fs::Fd parent = fs::walk_dirs(destfd.get(), parts, parts.size() - 1, true, 0755, true, dest, err);
        if (!parent) return (err = name + ": entry \"" + shown(path) + "\": " + err, false);
        fs::TempFile tmp;
        if (!tmp.create(parent.get(), parts.back(), full, err)) return false;
        const std::uint64_t size = static_cast<std::uint64_t>(archive_entry_size(e));
        std::uint64_t written = 0;
        for (;;) {
            const void* buf = nullptr;
            size_t n = 0;
            la_int64_t offset = 0;
            int rr = archive_read_data_block(r.get(), &buf, &n, &offset);
            if (rr == ARCHIVE_EOF) break;
            if (rr != ARCHIVE_OK) return r.lib_error(err);
            if (static_cast<std::uint64_t>(offset) != written) return refuse("data with holes refused");
            if (written + n > size) return refuse("more data than its declared size");
            if (!tmp.write(std::string_view(static_cast<const char*>(buf), n), err)) return false;
            written += n;
        }
        if (written != size) return refuse("truncated data (" + std::to_string(written) + " of " + std::to_string(size) + " bytes)");
        mode_t mode = (archive_entry_perm(e) & 0111) ? 0755 : 0644;
        if (!tmp.commit(mode, archive_entry_mtime_is_set(e), archive_entry_mtime(e), opts.durable, err)) {
            if (err.find("File exists") != std::string::npos) return refuse("duplicate entry (refused: never overwrites)");
            return false;
        }
        bytes += size;
        ++created;
    }
    if (opts.durable) {
        int e = fs::fsync_fd(destfd.get());
        if (e != 0) return (err = fs::sys_error("fsync", dest, e), false);
    }
    result.entries = created;
    result.bytes = bytes;
    return true;
}

}  // namespace hostsync::tar
