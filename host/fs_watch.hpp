#pragma once
// File system change notification (Linux inotify), as a general primitive: watch paths
// for kinds of events and wait for them with a timeout. What the events mean (a file
// grew, a file was rotated away) is the caller's business.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fs_sys.hpp"

namespace hostsync::fs {

struct WatchEvent {
    int id = 0;              // the watch it belongs to (add()'s result); -1 for an overflow
    std::uint32_t mask = 0;  // IN_* bits
    std::string name;        // for a watched directory: the entry's name; empty otherwise
};

// One event kind: its name in the API and its IN_* bit.
struct WatchKind {
    const char* name;
    std::uint32_t bit;
};
// Every kind add() accepts and events report, plus the ones only events report
// ("ignored": the watch is gone; "overflow": events were lost; "isdir"; "unmount").
const std::vector<WatchKind>& watch_kinds();

class Watcher {
public:
    bool open(std::string& err);
    bool is_open() const { return static_cast<bool>(fd_); }
    void close() { fd_.reset(); }

    // Watches `path` (not following a final symlink) for the IN_* bits in `mask`.
    // Returns the watch id, or -1 with err ("watch /x: No such file or directory").
    int add(const std::string& path, std::uint32_t mask, std::string& err);
    // Stops a watch; false if it is already gone (the kernel drops the watch of a
    // deleted file by itself, with an "ignored" event).
    bool remove(int id);

    // Waits up to `timeout` seconds (negative: without limit) for events and appends
    // every one that is pending to `out` (none on a timeout, or when a signal
    // interrupted the wait). False with err on a failed read.
    bool read(double timeout, std::vector<WatchEvent>& out, std::string& err);

private:
    Fd fd_;
};

}  // namespace hostsync::fs
