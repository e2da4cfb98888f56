#include "commands.hpp"

#include <archive.h>
#include <openssl/crypto.h>

#include <cstdio>
#include <cstring>

#include "lua_runtime.hpp"
#include "search_paths.hpp"

namespace hostsync {
namespace {

const char kRunHelp[] =
    "Usage: hostsync run [options] SCRIPT [ARGS...]\n"
    "\n"
    "Runs a Lua script with the host modules (require \"hostsync.<mod>\").\n"
    "SCRIPT is a path, or a bare name looked up in $HOSTSYNC_PATH, the project's\n"
    "scripts/ and policies/ (from a build tree) or the installed share directory.\n"
    "Everything after SCRIPT is passed to it in `arg`, as the `lua` interpreter does.\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: the script's own (os.exit), 0 when it returns, 1 on an uncaught\n"
    "error (message and traceback on stderr), 2 on a usage error.\n";

const char kTestHelp[] =
    "Usage: hostsync test [options] FILE...\n"
    "\n"
    "Runs Lua test files written with require \"hostsync.testing\" and prints one line\n"
    "per failure and a final 'N passed, N failed' line. Exit status 1 if any failed.\n"
    "\n"
    "Options:\n"
    "  -v, --verbose  print every test's name as it runs\n"
    "  -h, --help     show this help\n";

bool wants_help(const Args& args) {
    return !args.empty() && (args[0] == "--help" || args[0] == "-h");
}

// Reports a failed pcall: structured errors ({message=, exit_code=}) raised by scripts
// for expected failures print only their message; anything else prints the traceback.
int report_failure(LuaRuntime& rt, const std::string& error) {
    lua_State* L = rt.state();
    if (error.empty() && lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "message");
        const char* msg = lua_tostring(L, -1);
        std::fprintf(stderr, "%s\n", msg ? msg : "error");
        lua_pop(L, 1);
        lua_getfield(L, -1, "exit_code");
        int code = lua_isnumber(L, -1) ? static_cast<int>(lua_tointeger(L, -1)) : 1;
        lua_pop(L, 2);
        return code;
    }
    std::fprintf(stderr, "hostsync: %s\n", error.c_str());
    return 1;
}

}  // namespace

int command_run(const Args& args) {
    if (args.empty()) {
        std::fputs(kRunHelp, stderr);
        return 2;
    }
    if (wants_help(args)) {
        std::fputs(kRunHelp, stdout);
        return 0;
    }
    if (args[0].size() > 1 && args[0][0] == '-') {
        std::fprintf(stderr, "hostsync run: unknown option '%s'\n\n%s", args[0].c_str(), kRunHelp);
        return 2;
    }
    SearchPaths paths = SearchPaths::discover();
    auto script = paths.resolve_script(args[0]);
    if (!script) {
        std::fprintf(stderr, "hostsync run: script '%s' not found", args[0].c_str());
        if (args[0].find('/') == std::string::npos) {
            std::fputs(" (looked in the current directory", stderr);
            for (const auto& d : paths.script_dirs) std::fprintf(stderr, ", %s", d.c_str());
            std::fputs(")", stderr);
        }
        std::fputs("\n", stderr);
        return 2;
    }
    LuaRuntime rt(paths);
    rt.add_module_dir(dirname_of(*script));
    Args script_args(args.begin() + 1, args.end());
    rt.set_args(executable_path(), *script, script_args);
    std::string error;
    if (!rt.run_file(*script, static_cast<int>(script_args.size()), error))
        return report_failure(rt, error);
    return 0;
}

int command_test(const Args& args) {
    if (args.empty() || wants_help(args)) {
        std::fputs(kTestHelp, args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    SearchPaths paths = SearchPaths::discover();
    LuaRuntime rt(paths);
    rt.set_args(executable_path(), "", {});  // arg[-1]: tests start child hostsync processes
    lua_State* L = rt.state();
    lua_getglobal(L, "require");
    lua_pushstring(L, "hostsync.testing");
    std::string error;
    if (!rt.pcall(1, 1, error)) return report_failure(rt, error);
    lua_getfield(L, -1, "main");
    lua_createtable(L, static_cast<int>(args.size()), 0);
    for (std::size_t i = 0; i < args.size(); ++i) {
        lua_pushstring(L, args[i].c_str());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    if (!rt.pcall(1, 1, error)) return report_failure(rt, error);
    return static_cast<int>(lua_tointeger(L, -1));
}

int command_version(const Args& args) {
    if (wants_help(args)) {
        std::puts("Usage: hostsync version\n\nPrints the versions of hostsync and its libraries.");
        return 0;
    }
    std::printf("hostsync %s\n", HOSTSYNC_VERSION);
    std::printf("%s\n", LUAJIT_VERSION);
    std::printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
    std::printf("%s\n", archive_version_string());
    return 0;
}

}  // namespace hostsync
