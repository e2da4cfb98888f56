#pragma once
// Writes confined to a directory tree, without trusting what is in it: every path is
// relative to a root and walked one component at a time with openat(O_NOFOLLOW), so a
// symlink anywhere below the root (even one pointing back inside) is refused rather than
// followed, and swapping a directory for a symlink between a check and a use changes
// nothing. Absolute paths, ".." components, NUL bytes and empty paths are refused; "."
// and empty components are dropped. The root itself is trusted (it may be a symlink).
//
// fs_confine.hpp is the lexical/lstat check for callers that need a path string; the
// functions here are for creating things.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "byte_sink.hpp"
#include "fs_sys.hpp"

namespace hostsync::fs {

// Components of a relative path; err names the path and the reason.
bool split_relpath(std::string_view rel, std::vector<std::string>& parts, std::string& err);

// True if `parts` starts with `prefix`, component by component.
bool has_prefix(const std::vector<std::string>& parts, const std::vector<std::string>& prefix);

// Opens `root` (a directory; may itself be a symlink) for the *at() calls below.
Fd open_root_dir(const std::string& root, std::string& err);

// Walks parts[0..n) from dirfd, each component opened with O_DIRECTORY|O_NOFOLLOW. With
// create, a missing component is made with mkdirat(mode) (then chmod'ed to exactly mode
// if exact_mode, so the umask does not matter). `shown` prefixes paths in errors.
Fd walk_dirs(int dirfd, const std::vector<std::string>& parts, std::size_t n, bool create, mode_t mode,
             bool exact_mode, const std::string& shown, std::string& err);

// "a/b/c" from parts[0..n).
std::string join_parts(const std::vector<std::string>& parts, std::size_t n);

// A file created under a temporary name inside an open directory, filled, then linked to
// its final name with renameat2(RENAME_NOREPLACE) (never replacing anything). Until then
// the final name does not exist; if the object is destroyed first, the temp file is
// unlinked, so a failure never leaves a partial file under the final name.
class TempFile {
public:
    TempFile() = default;
    ~TempFile() { discard(); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    // dirfd must outlive this object. `final_name` is one component; `shown` is the final
    // path as errors show it.
    bool create(int dirfd, const std::string& final_name, const std::string& shown, std::string& err);
    bool write(std::string_view data, std::string& err);
    // fchmod(mode) [+ futimens(mtime) if set_mtime] [+ fsync] + rename no-replace
    // [+ fsync dir]. EEXIST reads "<shown>: File exists".
    bool commit(mode_t mode, bool set_mtime, std::int64_t mtime, bool durable, std::string& err);
    void discard();
    int fd() const { return fd_.get(); }

private:
    int dirfd_ = -1;
    std::string tmp_name_;
    std::string final_name_;
    std::string shown_;
    Fd fd_;
};

// A ByteSink writing a new file under root: fs.safe_writer. write() buffers 1 MiB;
// finish() commits (mode, fsync, rename no-replace, fsync dir). Destroyed unfinished,
// it removes its temp file.
class BeneathWriter final : public ByteSink {
public:
    struct Options {
        std::string within;  // relpath must lie under this relative directory ("" = anywhere)
        bool mkdirs = false;  // create missing parent directories (mode 0777 & ~umask)
        mode_t mode = 0644;   // exact mode of the file (not subject to the umask)
        bool durable = true;  // fsync the file and its directory
    };
    bool open(const std::string& root, std::string_view rel, const Options& opts, std::string& err);
    bool write(std::string_view data, std::string& err) override;
    bool finish(std::string& err) override;
    void abort();
    bool is_open() const { return open_ && !done_; }
    bool committed() const { return committed_; }
    std::uint64_t bytes() const { return bytes_; }
    const std::string& shown() const { return shown_; }

private:
    bool fail(std::string& err);
    Fd dir_;
    TempFile tmp_;
    std::string buf_;
    std::string shown_;
    std::string failed_;
    std::uint64_t bytes_ = 0;
    mode_t mode_ = 0644;
    bool durable_ = true;
    bool open_ = false, done_ = false, committed_ = false;
};

// fs.safe_create: root/rel with data, exclusively (BeneathWriter in one call).
bool create_beneath(const std::string& root, std::string_view rel, std::string_view data,
                    const BeneathWriter::Options& opts, std::string& err);

// fs.safe_mkdir: creates root/rel (and its parents if `parents`); with `exclusive`, fails
// with "File exists" if rel already exists. The new directory's parent is fsynced.
struct MkdirOptions {
    std::string within;
    bool parents = false;
    bool exclusive = false;
    mode_t mode = 0777;  // subject to the umask, like mkdir(2)
};
bool mkdir_beneath(const std::string& root, std::string_view rel, const MkdirOptions& opts, std::string& err);

}  // namespace hostsync::fs
