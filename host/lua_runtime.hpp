#pragma once
// A Lua state with the host modules installed, and the single way the host calls Lua.
#include <lua.hpp>

#include <string>
#include <vector>

namespace hostsync {

struct SearchPaths;

// Calls the function below `nargs` arguments on the stack of L with the traceback message
// handler (the message plus debug.traceback, and the --debug error hook): the one way C++
// enters the host's Lua, from LuaRuntime and from bindings that call back into Lua (an
// SSE callback, a tar progress or source function, the REPL's completer). Returns true
// with the results on the stack; on failure a string error becomes `error` (popped), a
// structured (table) error stays on the stack with `error` empty.
bool pcall_traceback(lua_State* L, int nargs, int nresults, std::string& error);

// The same, for a caller that only reports the failure: a table error is popped too, and
// `error` is the traceback it carries (hostsync.db's check), else its `message` field, else
// says it was a table.
bool pcall_traceback_message(lua_State* L, int nargs, int nresults, std::string& error);

class LuaRuntime {
public:
    // Opens LuaJIT with the standard libraries, registers every embedded module in
    // package.preload and puts the script/policy directories on package.path.
    explicit LuaRuntime(const SearchPaths& paths);
    ~LuaRuntime();
    LuaRuntime(const LuaRuntime&) = delete;
    LuaRuntime& operator=(const LuaRuntime&) = delete;

    lua_State* state() const { return L_; }

    // Prepends a directory (a script's own) to package.path.
    void add_module_dir(const std::string& dir);

    // For a server: package.path and package.cpath lose their relative entries (the
    // working directory), and any other directory that is not a safe place for code
    // (confine_search_path) is an error. -> false with `error`, paths unchanged.
    bool confine_package_paths(std::string& error);

    // Sets the global `arg` table as the `lua` interpreter does: arg[0] = script,
    // arg[1..n] = arguments, arg[-1] = the host binary.
    void set_args(const std::string& program, const std::string& script,
                  const std::vector<std::string>& args);

    // Loads and runs a file with debug.traceback as the message handler. Returns true on
    // success; on failure `error` holds the message with its traceback.
    bool run_file(const std::string& path, int nargs_from_arg, std::string& error);

    // pcall_traceback on this state (the way the host enters Lua).
    bool pcall(int nargs, int nresults, std::string& error);

    // Pops a function and makes it the error hook: for an uncaught error that is not a
    // structured one, the message handler calls hook(message_with_traceback) while the
    // failing stack is alive, and its result becomes the error (used by run --debug).
    void set_error_hook();

private:
    lua_State* L_;
};

}  // namespace hostsync
