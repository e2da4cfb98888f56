// PATH lookup for proc::run and proc.which; see proc_path.hpp.
#include "proc_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hostsync::proc {

std::string find_program(const std::string& name, const std::string& path, std::string& err) {
    if (name.empty()) {
        err = "empty program name";
        return "";
    }
    if (name.find('/') != std::string::npos) return name;  // exec reports its own errors
    bool denied = false;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
        std::string candidate = dir + "/" + name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
            denied = true;
        }
        start = end + 1;
    }
    err = name + ": " + std::strerror(denied ? EACCES : ENOENT);
    return "";
}

}  // namespace hostsync::proc
