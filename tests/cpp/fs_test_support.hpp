#pragma once
// Helpers for the fs_* doctests: a temp directory removed at the end of the test, and
// plain-POSIX file reads/writes that do not go through the code under test.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace fs_test {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/hostsync-fs-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void spit(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Runs fn in a forked child; returns its pid (fn's return value is the exit status).
// The child first closes every inherited descriptor above stderr, as exec would with
// O_CLOEXEC: an inherited copy of the parent's lock descriptor would keep the parent's
// flock alive in the child.
template <typename Fn>
pid_t spawn(Fn fn) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close_range(3, ~0U, 0);
        ::_exit(fn());
    }
    return pid;
}

inline int wait_exit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace fs_test
