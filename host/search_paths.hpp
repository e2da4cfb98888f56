#pragma once
// Where `hostsync run NAME` finds scripts and where `require` finds Lua modules.
#include <optional>
#include <string>
#include <vector>

namespace hostsync {

struct SearchPaths {
    // In lookup order: HOSTSYNC_PATH entries, then the source tree's scripts/ and
    // policies/ (when the binary runs from its build tree), then the installed share dir.
    std::vector<std::string> script_dirs;

    static SearchPaths discover();

    // A path that exists is used as is; a bare name is looked up in script_dirs.
    std::optional<std::string> resolve_script(const std::string& name) const;
};

std::string executable_path();
std::string dirname_of(const std::string& path);

}  // namespace hostsync
