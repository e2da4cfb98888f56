#pragma once
// Reading tar archives (libarchive; ustar, pax and GNU tar formats, uncompressed) from a
// ByteSource: listing, and a safe extractor into an empty directory.
//
// The extractor's rules (docs/api/tar.md, "Safety"): only regular files and directories;
// symlinks, hardlinks, devices, FIFOs and sparse files are refused, as are absolute
// paths, ".." components, names that are not valid UTF-8, and anything beyond the
// limits. Every file and directory is created by walking from the destination with
// openat(O_NOFOLLOW), so nothing is ever written through a link. A file is written under
// a temporary name and renamed (no-replace) to its name only once complete: after a
// failure no partial file carries a final name. A duplicate entry is an error.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "byte_source.hpp"

namespace hostsync::tar {

struct Limits {
    std::uint64_t max_entries = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();  // sum of file sizes
};

struct EntryInfo {
    std::string path;
    const char* type;  // "file", "dir", "symlink", "hardlink", "other"
    std::uint64_t size = 0;
    unsigned mode = 0;  // permission bits as stored
    std::int64_t mtime = 0;
    std::int64_t uid = 0, gid = 0;
    std::string uname, gname;
    std::string link;  // symlink or hardlink target
};

// `name` is how errors show the archive (a path, "<source>").
bool list(ByteSource& src, const std::string& name, const Limits& limits, std::vector<EntryInfo>& out,
          std::string& err);

struct ExtractOptions {
    Limits limits;
    bool durable = true;  // fsync each file and directory
};

struct ExtractResult {
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
};

bool extract(ByteSource& src, const std::string& name, const std::string& dest, const ExtractOptions& opts,
             ExtractResult& result, std::string& err);

}  // namespace hostsync::tar
