#pragma once
// Finding a program the way execvp would, but in an explicit PATH, so the child's own
// environment (not ours) decides which `git` runs.
#include <string>

namespace hostsync::proc {

// The executable for `name` (returned as is if it contains '/'), searched in `path`
// (colon-separated). Returns "" and sets err ("git: No such file or directory", or
// "Permission denied" if only non-executable matches exist) if there is none.
std::string find_program(const std::string& name, const std::string& path, std::string& err);

}  // namespace hostsync::proc
