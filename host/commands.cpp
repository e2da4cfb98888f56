#include "commands.hpp"

#include <archive.h>
#include <openssl/crypto.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

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
    "  --debug        on an uncaught error, open a debugging REPL in the failing frame\n"
    "                 (locals by name, .where, .up, .down, .quit); see docs/repl.md\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: the script's own (os.exit), 0 when it returns, 1 on an uncaught\n"
    "error (message and traceback on stderr), 2 on a usage error.\n";

const char kReplHelp[] =
    "Usage: hostsync repl [options] [SCRIPT [ARGS...]]\n"
    "\n"
    "An interactive Lua session with the host modules. An expression prints its value,\n"
    "`local x = 1` persists, an incomplete chunk continues on the next line, Tab\n"
    "completes names, fields and methods, .help lists the commands (.load FILE,\n"
    ".reload MODULE, .quit). Ctrl-C cancels the line or interrupts a running statement,\n"
    "Ctrl-D leaves. History: $HOSTSYNC_HISTORY, else ~/.hostsync_history.\n"
    "Not on a terminal (a pipe), it reads statements from stdin with no prompt.\n"
    "\n"
    "Options (run in order before the session, as with `lua -i`):\n"
    "  --root DIR     work in DIR; DIR, DIR/scripts and DIR/policies are on package.path\n"
    "  -l MODULE      MODULE = require \"MODULE\" (hostsync.csv sets `csv`; -l g=MODULE)\n"
    "  -e CODE        run CODE in the session\n"
    "  SCRIPT ARGS    run SCRIPT with arg[1..n] = ARGS, then start the session\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: 0; 1 if -e, -l or SCRIPT failed, or (on a pipe) if any statement\n"
    "failed; 2 on a usage error. Docs: docs/repl.md.\n";

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
// for expected failures print only their message; anything else prints the traceback
// (an error value that carries its own, such as a db error, prints that one).
int report_failure(LuaRuntime& rt, const std::string& error) {
    lua_State* L = rt.state();
    if (error.empty() && lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "exit_code");
        lua_getfield(L, -2, "traceback");
        const bool expected = lua_isnumber(L, -2);
        const char* trace = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : nullptr;
        if (!expected && trace != nullptr) {
            std::fprintf(stderr, "hostsync: %s\n", trace);
            lua_pop(L, 3);
            return 1;
        }
        lua_pop(L, 2);
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

// Runs a server script (scripts/<relpath>), looked up as `run` looks up a script, with
// the directory it was found in first on package.path. A server's code comes only from
// safe directories, never from the working directory; `serve`'s workers inherit exactly
// this path (http.serve).
int run_server_script(const char* command, const std::string& relpath, const Args& args) {
    SearchPaths paths = SearchPaths::discover();
    for (const auto& dir : paths.script_dirs) {
        std::string script = dir + "/" + relpath;
        if (std::FILE* f = std::fopen(script.c_str(), "rb")) {
            std::fclose(f);
            LuaRuntime rt(paths);
            rt.add_module_dir(dir);
            std::string error;
            if (!rt.confine_package_paths(error)) {
                std::fprintf(stderr, "hostsync %s: %s\n", command, error.c_str());
                return 1;
            }
            rt.set_args(executable_path(), script, args);
            // arg.web_dir: the default web view, the web/ of the binary's own tree (the
            // same version as its scripts); nil when there is none.
            if (!paths.data_dir.empty()) {
                lua_State* L = rt.state();
                lua_getglobal(L, "arg");
                lua_pushstring(L, (paths.data_dir + "/web").c_str());
                lua_setfield(L, -2, "web_dir");
                lua_pop(L, 1);
            }
            if (!rt.run_file(script, static_cast<int>(args.size()), error)) return report_failure(rt, error);
            return 0;
        }
    }
    std::fprintf(stderr, "hostsync %s: scripts/%s not found (is the share directory installed?)\n", command,
                 relpath.c_str());
    return 1;
}

// The brain server and the MCP server are Lua scripts (policy in Lua); the host only
// finds and runs them.
int command_serve(const Args& args) { return run_server_script("serve", "brain/serve.lua", args); }

int command_mcp(const Args& args) { return run_server_script("mcp", "mcp/server.lua", args); }

int command_run(const Args& args) {
    if (args.empty()) {
        std::fputs(kRunHelp, stderr);
        return 2;
    }
    if (wants_help(args)) {
        std::fputs(kRunHelp, stdout);
        return 0;
    }
    std::size_t first = 0;
    bool debug = false;
    if (args[0] == "--debug") {
        debug = true;
        first = 1;
    }
    if (first >= args.size()) {
        std::fputs(kRunHelp, stderr);
        return 2;
    }
    const std::string& name = args[first];
    if (name.size() > 1 && name[0] == '-') {
        std::fprintf(stderr, "hostsync run: unknown option '%s'\n\n%s", name.c_str(), kRunHelp);
        return 2;
    }
    SearchPaths paths = SearchPaths::discover();
    auto script = paths.resolve_script(name);
    if (!script) {
        std::fprintf(stderr, "hostsync run: script '%s' not found", name.c_str());
        if (name.find('/') == std::string::npos) {
            std::fputs(" (looked in the current directory", stderr);
            for (const auto& d : paths.script_dirs) std::fprintf(stderr, ", %s", d.c_str());
            std::fputs(")", stderr);
        }
        std::fputs("\n", stderr);
        return 2;
    }
    LuaRuntime rt(paths);
    rt.add_module_dir(dirname_of(*script));
    Args script_args(args.begin() + static_cast<std::ptrdiff_t>(first) + 1, args.end());
    rt.set_args(executable_path(), *script, script_args);
    std::string error;
    if (debug) {
        // The post-mortem session is Lua (hostsync.debug); the host only lets it run
        // from the message handler, where the failing frames still exist.
        lua_State* L = rt.state();
        lua_getglobal(L, "require");
        lua_pushstring(L, "hostsync.debug");
        if (!rt.pcall(1, 1, error)) return report_failure(rt, error);
        lua_getfield(L, -1, "post_mortem");
        rt.set_error_hook();
        lua_pop(L, 1);
    }
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

int command_repl(const Args& args) {
    if (wants_help(args)) {
        std::fputs(kReplHelp, stdout);
        return 0;
    }
    // Options are parsed here (they need the script lookup); their meaning, in order,
    // is applied by hostsync.repl.main.
    SearchPaths paths = SearchPaths::discover();
    std::string root;
    std::vector<std::pair<std::string, std::string>> actions;
    std::optional<std::string> script;
    Args script_args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        bool takes_value = a == "--root" || a == "-l" || a == "-e";
        if (takes_value && i + 1 >= args.size()) {
            std::fprintf(stderr, "hostsync repl: option %s needs a value\n\n%s", a.c_str(), kReplHelp);
            return 2;
        }
        if (a == "--root") {
            root = args[++i];
        } else if (a == "-l" || a == "-e") {
            actions.emplace_back(a.substr(1), args[++i]);
        } else if (a == "--") {
            if (i + 1 < args.size()) script = args[i + 1], i = i + 1;
            script_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        } else if (a.size() > 1 && a[0] == '-') {
            std::fprintf(stderr, "hostsync repl: unknown option '%s'\n\n%s", a.c_str(), kReplHelp);
            return 2;
        } else {
            script = a;
            script_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
    }
    if (script) {
        auto found = paths.resolve_script(*script);
        if (!found) {
            std::fprintf(stderr, "hostsync repl: script '%s' not found\n", script->c_str());
            return 2;
        }
        script = *found;
    }
    LuaRuntime rt(paths);
    rt.set_args(executable_path(), script.value_or(""), script_args);
    lua_State* L = rt.state();
    std::string error;
    lua_getglobal(L, "require");
    lua_pushstring(L, "hostsync.repl");
    if (!rt.pcall(1, 1, error)) return report_failure(rt, error);
    lua_getfield(L, -1, "main");
    lua_newtable(L);
    if (!root.empty()) {
        lua_pushstring(L, root.c_str());
        lua_setfield(L, -2, "root");
    }
    lua_createtable(L, static_cast<int>(actions.size()), 0);
    for (std::size_t i = 0; i < actions.size(); ++i) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, actions[i].first.c_str());
        lua_rawseti(L, -2, 1);
        lua_pushlstring(L, actions[i].second.data(), actions[i].second.size());
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    lua_setfield(L, -2, "actions");
    if (script) {
        lua_pushstring(L, script->c_str());
        lua_setfield(L, -2, "script");
        lua_getglobal(L, "arg");
        lua_setfield(L, -2, "args");
    }
    lua_pushstring(L, HOSTSYNC_VERSION);
    lua_setfield(L, -2, "version");
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
