#include "search_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace hostsync {
namespace {

bool is_regular_file(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::string executable_path() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    return std::string(buf, static_cast<size_t>(n));
}

std::string dirname_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

SearchPaths SearchPaths::discover() {
    SearchPaths p;
    if (const char* env = std::getenv("HOSTSYNC_PATH")) {
        std::stringstream ss(env);
        std::string dir;
        while (std::getline(ss, dir, ':'))
            if (!dir.empty()) p.script_dirs.push_back(dir);
    }
    const std::string exe = executable_path();
    const std::string build_dir = HOSTSYNC_BINARY_DIR;
    if (!exe.empty() && starts_with(exe, build_dir + "/")) {
        // Running from the build tree: use the sources, so an edited script is live.
        p.data_dir = HOSTSYNC_SOURCE_DIR;
    } else if (!exe.empty()) {
        // Installed: <prefix>/bin/hostsync -> <prefix>/share/hostsync (relocatable).
        p.data_dir = dirname_of(dirname_of(exe)) + "/" + HOSTSYNC_INSTALL_DATADIR;
    }
    if (!p.data_dir.empty()) {
        p.script_dirs.push_back(p.data_dir + "/scripts");
        p.script_dirs.push_back(p.data_dir + "/policies");
        if (!is_dir(p.data_dir)) p.data_dir.clear();
    }
    std::vector<std::string> existing;
    for (auto& d : p.script_dirs)
        if (is_dir(d)) existing.push_back(d);
    p.script_dirs = std::move(existing);
    return p;
}

std::string unsafe_code_dir(const std::string& dir) {
    if (dir.empty() || dir[0] != '/') return dir + ": not an absolute path";
    // The components of dir, from / down; the last existing one is judged as dir itself.
    std::vector<std::string> chain{"/"};
    std::string cur;
    std::stringstream ss(dir);
    std::string part;
    while (std::getline(ss, part, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") return dir + ": contains '..'";
        cur += "/" + part;
        chain.push_back(cur);
    }
    std::vector<struct stat> found;
    for (const auto& p : chain) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) break;
        found.push_back(st);
    }
    const uid_t me = ::geteuid();
    for (std::size_t i = 0; i < found.size(); ++i) {
        const struct stat& st = found[i];
        const std::string& p = chain[i];
        bool last = i + 1 == found.size();
        if (st.st_uid != 0 && st.st_uid != me)
            return p + " belongs to another user (uid " + std::to_string(st.st_uid) + ")";
        if ((st.st_mode & S_IWOTH) && (last || !(st.st_mode & S_ISVTX)))
            return p + " is writable by every user";
    }
    return "";
}

bool confine_search_path(const std::string& path, std::string& out, std::string& error) {
    out.clear();
    std::stringstream ss(path);
    std::string entry;
    while (std::getline(ss, entry, ';')) {
        if (entry.empty() || entry[0] != '/') continue;  // ./?.lua: the working directory
        std::string dir = dirname_of(entry.substr(0, entry.find('?')) + "x");
        std::string why = unsafe_code_dir(dir);
        if (!why.empty()) {
            error = "refusing to load code from " + entry + ": " + why;
            return false;
        }
        if (!out.empty()) out += ';';
        out += entry;
    }
    return true;
}

std::optional<std::string> SearchPaths::resolve_script(const std::string& name) const {
    if (is_regular_file(name)) return name;
    if (name.find('/') != std::string::npos) return std::nullopt;
    for (const auto& dir : script_dirs) {
        std::string candidate = dir + "/" + name;
        if (is_regular_file(candidate)) return candidate;
        if (is_regular_file(candidate + ".lua")) return candidate + ".lua";
    }
    return std::nullopt;
}

}  // namespace hostsync
