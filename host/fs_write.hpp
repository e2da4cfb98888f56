#pragma once
// The three ways hostsync writes a file, one per durability rule of docs/architecture.md:
//   write_atomic      state files (cursors, checkpoints): replaced whole, never torn
//   create_exclusive  new artifacts: appear complete, never overwrite anything
//   append            append-only logs: O_APPEND, never O_TRUNC, fdatasync'ed batches
// Errors read "<step> <path>: <OS error>", e.g. "create /x/y: File exists".
#include <cstdint>
#include <string>
#include <string_view>

namespace hostsync::fs {

// Writes a temp file next to `path` (O_EXCL, unique name), fsyncs it, renames it over
// `path` and fsyncs the directory. A reader (or a crash) sees the old content or the new,
// never a mix. An existing file's permission bits are kept.
bool write_atomic(const std::string& path, std::string_view data, std::string& err);

// Creates `path` with `data`, failing with EEXIST ("create /x/y: File exists") if
// anything exists there. The data goes to a temp file first, which is fsynced and then
// renamed into place without replacing (renameat2 RENAME_NOREPLACE, or link()), so after
// a crash `path` is either absent or complete, and a rerun can simply try again.
bool create_exclusive(const std::string& path, std::string_view data, std::string& err);

// Appends `data` under flock(LOCK_EX) (so concurrent appenders never interleave inside
// one call), writing fully, then fdatasync. Creates the file if missing and then fsyncs
// its directory. Never truncates.
bool append(const std::string& path, std::string_view data, std::string& err);

// Opens `path` for appending (O_WRONLY|O_APPEND), creating it if missing; `created`
// tells whether this call created it (its directory then needs an fsync). Returns the
// descriptor or -1 with errno. Shared with the streaming appender.
int open_append(const std::string& path, bool& created);

}  // namespace hostsync::fs
