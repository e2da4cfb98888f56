#include "fs_watch.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>

namespace hostsync::fs {

const std::vector<WatchKind>& watch_kinds() {
    static const std::vector<WatchKind> kinds = {
        {"access", IN_ACCESS},           {"modify", IN_MODIFY},
        {"attrib", IN_ATTRIB},           {"close_write", IN_CLOSE_WRITE},
        {"close_nowrite", IN_CLOSE_NOWRITE}, {"open", IN_OPEN},
        {"moved_from", IN_MOVED_FROM},   {"moved_to", IN_MOVED_TO},
        {"create", IN_CREATE},           {"delete", IN_DELETE},
        {"delete_self", IN_DELETE_SELF}, {"move_self", IN_MOVE_SELF},
        {"unmount", IN_UNMOUNT},         {"overflow", IN_Q_OVERFLOW},
        {"ignored", IN_IGNORED},         {"isdir", IN_ISDIR},
    };
    return kinds;
}

bool Watcher::open(std::string& err) {
    fd_.reset(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!fd_) return (err = sys_error("inotify_init1", "", errno), false);
    return true;
}

int Watcher::add(const std::string& path, std::uint32_t mask, std::string& err) {
    int wd = inotify_add_watch(fd_.get(), path.c_str(), mask | IN_DONT_FOLLOW);
    if (wd < 0) err = sys_error("watch", path, errno);
    return wd;
}

bool Watcher::remove(int id) { return inotify_rm_watch(fd_.get(), id) == 0; }

bool Watcher::read(double timeout, std::vector<WatchEvent>& out, std::string& err) {
    pollfd p{fd_.get(), POLLIN, 0};
    int ms = timeout < 0 ? -1 : static_cast<int>(std::min(std::ceil(timeout * 1000), double{INT_MAX}));
    int n = ::poll(&p, 1, ms);
    if (n < 0) {
        if (errno == EINTR) return true;
        return (err = sys_error("poll", "inotify", errno), false);
    }
    if (n == 0) return true;
    alignas(inotify_event) char buf[64 * 1024];
    for (;;) {
        ssize_t got = ::read(fd_.get(), buf, sizeof buf);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return true;  // everything pending has been read
            return (err = sys_error("read", "inotify", errno), false);
        }
        for (ssize_t off = 0; off < got;) {
            const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
            WatchEvent e;
            e.id = ev->wd;
            e.mask = ev->mask;
            if (ev->len > 0) e.name.assign(ev->name, strnlen(ev->name, ev->len));
            out.push_back(std::move(e));
            off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
    }
}

}  // namespace hostsync::fs
