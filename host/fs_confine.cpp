#include "fs_confine.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <vector>

#include "fs_sys.hpp"

namespace hostsync::fs {
namespace {

bool refuse(std::string& err, std::string_view relpath, const std::string& why) {
    std::string shown(relpath.substr(0, 200));
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20) c = '?';
    err = "confine \"" + shown + "\": " + why;
    return false;
}

bool real_path(const std::string& path, std::string& out) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return false;
    out = buf;
    return true;
}

bool inside(const std::string& path, const std::string& root) {
    if (root == "/") return true;
    return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

}  // namespace

bool confine(const std::string& root, std::string_view relpath, std::string& out, std::string& err) {
    if (relpath.find('\0') != std::string_view::npos) return refuse(err, relpath, "NUL byte in path");
    if (!relpath.empty() && relpath[0] == '/') return refuse(err, relpath, "absolute path refused");
    std::vector<std::string_view> parts;
    std::size_t pos = 0;
    while (pos <= relpath.size()) {
        std::size_t slash = relpath.find('/', pos);
        if (slash == std::string_view::npos) slash = relpath.size();
        std::string_view part = relpath.substr(pos, slash - pos);
        pos = slash + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") return refuse(err, relpath, "\"..\" component refused");
        parts.push_back(part);
    }
    if (parts.empty()) return refuse(err, relpath, "empty path refused");

    std::string real_root;
    if (!real_path(root, real_root)) return (err = sys_error("confine: root", root, errno), false);
    struct stat st;
    if (::stat(real_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return (err = sys_error("confine: root", root, ENOTDIR), false);

    std::string path = real_root == "/" ? "" : real_root;
    bool checking = true;  // components below a missing one cannot exist
    for (std::string_view part : parts) {
        path.append("/").append(part);
        if (!checking) continue;
        if (::lstat(path.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                checking = false;
                continue;
            }
            return (err = sys_error("confine: lstat", path, errno), false);
        }
        if (!S_ISLNK(st.st_mode)) continue;
        std::string rel_so_far = path.substr(real_root == "/" ? 1 : real_root.size() + 1);
        std::string target;
        if (!real_path(path, target))
            return refuse(err, relpath, "\"" + rel_so_far + "\" is a symlink that does not resolve (" + std::strerror(errno) + ")");
        if (!inside(target, real_root))
            return refuse(err, relpath, "\"" + rel_so_far + "\" is a symlink to \"" + target + "\", outside the root \"" + real_root + "\"");
    }
    out = std::move(path);
    return true;
}

}  // namespace hostsync::fs
