#pragma once
// Crash injection for the crash tests: the process kills itself at a named point, exactly
// as an outside `kill -9` would, so a test decides *where* a crash happens, never *when*.
//
// HOSTSYNC_FAILPOINT holds a comma-separated list of specs:
//   name        SIGKILL at the first hit of `name`
//   name@N      SIGKILL at the N-th hit (N >= 1): "stop after N blocks/records"
//   name:stop   SIGSTOP instead (a test changes the world, then sends SIGCONT)
//   name@N:stop both
// Points in the host: fs_block (an appender hands a ~1 MiB block to its file),
// csv_record (csv write_lines rendered a record), age_chunk (a 64 KiB age chunk was sealed),
// tar_file (a regular file's data is in the archive), db_backup (h:backup's copy is durable,
// not yet renamed into place). Scripts add their own through
// hostsync.failpoint.hit(name). Without the variable, hit() costs one load and a branch.
#include <string_view>

namespace hostsync::failpoint {

// True when HOSTSYNC_FAILPOINT was set (read once, at the first call).
bool armed() noexcept;

// Counts a hit of `name`; at the armed hit, flushes stdio and kills or stops the process.
void hit(std::string_view name) noexcept;

// A spec that does not parse: empty string when the variable is fine. Checked at start
// so that a typo fails loudly instead of never firing.
std::string_view config_error() noexcept;

}  // namespace hostsync::failpoint
