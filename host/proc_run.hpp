#pragma once
// Running a program from an argument vector: never through a shell, in its own process
// group (so a timeout can stop everything it started), with its output captured without
// deadlock however large.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hostsync::proc {

struct RunOptions {
    std::vector<std::string> argv;  // argv[0] is looked up in the child's PATH
    std::optional<std::string> cwd;
    bool env_clear = false;  // start from an empty environment instead of ours
    // Applied in order over the starting environment: a value sets, nullopt unsets.
    std::vector<std::pair<std::string, std::optional<std::string>>> env;
    std::optional<std::string> stdin_data;  // nothing: the child reads /dev/null
    double timeout = 0;  // seconds; 0 = none
    double grace = 2;    // seconds between SIGTERM and SIGKILL on timeout
    bool capture = true;  // false: the child writes to our stdout/stderr
};

struct RunResult {
    bool exited = false;  // normal exit: `status` holds the exit code
    int status = 0;
    int signal = 0;  // the signal that ended it, if any
    bool timed_out = false;
    std::string out, err;
};

// false (with `error` naming the program or directory) if it could not be started.
bool run(const RunOptions& opts, RunResult& result, std::string& error);

// Our environment, plus `opts.env`, as the child would see it (for PATH lookup).
std::vector<std::string> child_environment(const RunOptions& opts);

}  // namespace hostsync::proc
