#pragma once
// Directory-level operations: stat, listing, creating and removing, renaming. Every
// operation that changes a directory and must survive a crash fsyncs that directory.
// Errors read "<op> <path>: <OS error>".
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hostsync::fs {

struct StatInfo {
    const char* type;  // "file", "dir", "link" or "other"
    std::uint64_t size;
    double mtime;  // epoch seconds with nanoseconds
    std::uint64_t ino;
    std::uint64_t dev;
    unsigned mode;  // permission bits (st_mode & 07777)
};

// lstat, or stat when follow is true.
bool stat(const std::string& path, bool follow, StatInfo& out, std::string& err);

// True if anything is at path, a dangling symlink included (lstat succeeds).
bool exists(const std::string& path);

// mkdir -p: creates missing directories (fsyncing each new one's parent); fine if the
// path is already a directory, an error if it is something else.
bool mkdir_p(const std::string& path, mode_t mode, std::string& err);

// Names in a directory, without "." and "..", sorted bytewise.
bool listdir(const std::string& path, std::vector<std::string>& names, std::string& err);

// A file, a symlink or an empty directory.
bool remove(const std::string& path, std::string& err);

// A whole tree; symlinks are removed, never followed.
bool remove_tree(const std::string& path, std::string& err);

// Renames and fsyncs the directories involved. With no_replace, fails with
// "rename a to b: File exists" instead of replacing b.
bool rename(const std::string& from, const std::string& to, bool no_replace, std::string& err);

bool fsync_dir(const std::string& path, std::string& err);

// mkdtemp(prefix + "XXXXXX"); out is the new directory's path.
bool mkdtemp(const std::string& prefix, std::string& out, std::string& err);

// realpath(3): the absolute path with every symlink, "." and ".." resolved; the path
// must exist.
bool realpath(const std::string& path, std::string& out, std::string& err);

bool isatty(int fd);

}  // namespace hostsync::fs
