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
    // The tree the binary's own scripts/ and policies/ come from: the source tree (from the
    // build tree) or <prefix>/share/hostsync; "" if it does not exist. Its web/ is the
    // brain's web view (`hostsync serve`), never one from HOSTSYNC_PATH.
    std::string data_dir;

    static SearchPaths discover();

    // A path that exists is used as is; a bare name is looked up in script_dirs.
    std::optional<std::string> resolve_script(const std::string& name) const;
};

std::string executable_path();
std::string dirname_of(const std::string& path);

// Why code must not be loaded from `dir`, or "" if it may: `dir` and every directory above
// it must belong to root or to this process's user and not be writable by others. An
// ancestor writable by others is accepted only with the sticky bit (like /tmp: others
// cannot rename or replace what they do not own in it); `dir` itself never. A directory
// that does not exist is judged by its nearest existing ancestor, which anyone allowed
// to write there could create it in.
std::string unsafe_code_dir(const std::string& dir);

// A Lua search path ("a/?.lua;b/?/init.lua;./?.lua") for a process that must load code
// only from trusted places: relative entries (the working directory) are dropped, and
// `error` names the first entry whose directory is unsafe_code_dir. -> false on error.
bool confine_search_path(const std::string& path, std::string& out, std::string& error);

}  // namespace hostsync
