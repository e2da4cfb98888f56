#pragma once
// A deterministic tar writer (libarchive, pax restricted format) that streams a list of
// files under a root into a ByteSink: no temporary file, constant memory (one 1 MiB read
// buffer plus libarchive's 10 KiB block), whatever the file sizes.
//
// The same inputs give the same bytes (docs/api/tar.md, "Determinism"): entries sorted
// by the byte order of their normalised relative path; uid/gid 0, empty uname/gname;
// mode 0644 for files, 0755 for directories and files with any execute bit; mtime from
// the policy (a fixed epoch, default 0, or the file's own mtime in whole seconds); no
// atime/ctime; a pax `path=` record for names that do not fit ustar (the same for every
// name, whatever its length); 10240-byte records. Nothing depends on the umask, the
// locale (tar_locale.hpp), TZ or readdir order.
//
// Files are opened by walking from the root with O_NOFOLLOW: a symlink anywhere in a path
// is refused (or, with store_symlinks, a final-component link is stored as a link and
// never followed). A file whose size, mtime or ctime changes while it is read fails the
// whole stream: the sink is then not finished and must be discarded.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "byte_sink.hpp"

namespace hostsync::tar {

struct WriteOptions {
    bool mtime_from_file = false;  // false: every entry gets `mtime`
    std::int64_t mtime = 0;
    bool store_symlinks = false;   // store symlinks as links (never followed) instead of refusing
    bool finish = true;            // call sink.finish() after the end-of-archive marker
    // Files of which only the first N bytes are stored (relative path -> N): for an
    // append-only log, a prefix is immutable, so a snapshot of "the log as it was" stays
    // reproducible while writers keep appending. Growth past N is fine; a file shorter
    // than N fails the stream.
    std::map<std::string, std::uint64_t> prefixes;
    // Called after each entry and every progress_bytes of file data, with the entries
    // written so far and the file bytes read so far; returning false stops the stream
    // (err set by the callback), as a failing file would.
    std::function<bool(std::uint64_t entries, std::uint64_t data_bytes, std::string& err)> progress;
    std::uint64_t progress_bytes = std::uint64_t{4} << 20;
};

struct WriteResult {
    std::uint64_t entries = 0;
    std::uint64_t data_bytes = 0;     // file contents
    std::uint64_t archive_bytes = 0;  // bytes given to the sink
};

// Normalises (drops "." and empty components), validates (relative, no "..", UTF-8) and
// sorts `paths`; a duplicate after normalisation is an error.
bool normalize_paths(const std::vector<std::string>& paths, std::vector<std::string>& out, std::string& err);

bool write(ByteSink& sink, const std::string& root, const std::vector<std::string>& paths, const WriteOptions& opts,
           WriteResult& result, std::string& err);

// Every directory and regular file below root (recursively, root itself excluded), as
// sorted relative paths. Symlinks are an error unless include_symlinks (then listed, not
// followed); other file types are an error.
bool collect(const std::string& root, bool include_symlinks, std::vector<std::string>& out, std::string& err);

}  // namespace hostsync::tar
