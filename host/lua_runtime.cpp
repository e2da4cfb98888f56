#include "lua_runtime.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "module_table.hpp"
#include "search_paths.hpp"

namespace hostsync {
namespace {

const char kErrorHookKey[] = "hostsync.error_hook";

// Message handler for every pcall: the message plus a traceback with file:line.
// Structured errors (tables) pass through untouched so the caller can read their fields.
int traceback_handler(lua_State* L) {
    if (lua_type(L, 1) == LUA_TTABLE) return 1;
    const char* msg = lua_tostring(L, 1);
    if (msg == nullptr) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            msg = lua_tostring(L, -1);
        } else {
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        }
    }
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_pushstring(L, msg);
    lua_pushinteger(L, 2);
    lua_call(L, 2, 1);
    // The error hook (`hostsync run --debug`) runs here, while the failing frames are
    // still on the stack; whatever it returns becomes the error. If it fails itself,
    // the plain traceback stands.
    lua_getfield(L, LUA_REGISTRYINDEX, kErrorHookKey);
    if (lua_isfunction(L, -1)) {
        lua_pushvalue(L, -2);
        if (lua_pcall(L, 1, 1, 0) == 0) return 1;
    }
    lua_pop(L, 1);
    return 1;
}

// package.preload loader for one embedded module: runs bindings/<mod>.lua with the
// module name and its raw C table (or nil) as arguments.
int load_embedded(lua_State* L) {
    auto* mod = static_cast<const EmbeddedModule*>(lua_touserdata(L, lua_upvalueindex(1)));
    if (luaL_loadbuffer(L, mod->source, mod->size, mod->chunkname) != 0) return lua_error(L);
    lua_pushfstring(L, "hostsync.%s", mod->name);
    if (mod->open_raw != nullptr) {
        lua_pushcfunction(L, mod->open_raw);
        lua_call(L, 0, 1);
    } else {
        lua_pushnil(L);
    }
    lua_call(L, 2, 1);
    return 1;
}

void register_preloads(lua_State* L) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    for (std::size_t i = 0; i < kEmbeddedModuleCount; ++i) {
        const EmbeddedModule& mod = kEmbeddedModules[i];
        lua_pushlightuserdata(L, const_cast<EmbeddedModule*>(&mod));
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, (std::string("hostsync.") + mod.name).c_str());
    }
    lua_pop(L, 2);
}

// The global `hostsync` table loads modules on first use: hostsync.hash == require "hostsync.hash".
// A name that is no module is nil (so `hostsync.x or fallback` works); a module that
// exists but fails to load raises its own error, at the caller's line: swallowing it
// turned a syntax error into "attempt to index a nil value" somewhere else.
const char kLazyNamespace[] = R"lua(
local pcall, require, rawset, type, error = pcall, require, rawset, type, error
local modules = setmetatable({}, { __index = function(t, name)
  if type(name) ~= "string" then return nil end
  local full = "hostsync." .. name
  local ok, mod = pcall(require, full)
  if not ok then
    if type(mod) == "string" and mod:find("module '" .. full .. "' not found:", 1, true) == 1 then return nil end
    error(mod, 2)
  end
  rawset(t, name, mod)
  return mod
end })
hostsync = modules
)lua";

// The C library's allocator instead of LuaJIT's built-in one, which maps every block of
// 128 KiB or more on its own and unmaps it when collected: a script that makes large
// strings in a loop (request bodies, batches of lines) then pays page faults for every
// byte, several times the work itself. malloc reuses freed memory (see main.cpp).
void* system_alloc(void*, void* ptr, std::size_t, std::size_t nsize) {
    if (nsize == 0) {
        std::free(ptr);
        return nullptr;
    }
    return std::realloc(ptr, nsize);
}

}  // namespace

LuaRuntime::LuaRuntime(const SearchPaths& paths) : L_(lua_newstate(&system_alloc, nullptr)) {
    if (L_ == nullptr) throw std::runtime_error("cannot create a Lua state");
    luaL_openlibs(L_);
    register_preloads(L_);
    for (auto it = paths.script_dirs.rbegin(); it != paths.script_dirs.rend(); ++it)
        add_module_dir(*it);
    if (luaL_dostring(L_, kLazyNamespace) != 0) lua_pop(L_, 1);
    // hostsync.version: what `hostsync version` prints first (a plain field, not a module).
    lua_getglobal(L_, "hostsync");
    lua_pushstring(L_, HOSTSYNC_VERSION);
    lua_setfield(L_, -2, "version");
    lua_pop(L_, 1);
}

LuaRuntime::~LuaRuntime() { lua_close(L_); }

void LuaRuntime::add_module_dir(const std::string& dir) {
    lua_getglobal(L_, "package");
    lua_getfield(L_, -1, "path");
    std::string current = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "";
    lua_pop(L_, 1);
    std::string entry = dir + "/?.lua;" + dir + "/?/init.lua;";
    lua_pushstring(L_, (entry + current).c_str());
    lua_setfield(L_, -2, "path");
    lua_pop(L_, 1);
}

bool LuaRuntime::confine_package_paths(std::string& error) {
    lua_getglobal(L_, "package");
    std::string confined[2];
    const char* fields[2] = {"path", "cpath"};
    for (int i = 0; i < 2; ++i) {
        lua_getfield(L_, -1, fields[i]);
        std::string current = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "";
        lua_pop(L_, 1);
        if (!confine_search_path(current, confined[i], error)) {
            lua_pop(L_, 1);
            return false;
        }
    }
    for (int i = 0; i < 2; ++i) {
        lua_pushstring(L_, confined[i].c_str());
        lua_setfield(L_, -2, fields[i]);
    }
    lua_pop(L_, 1);
    return true;
}

void LuaRuntime::set_args(const std::string& program, const std::string& script,
                          const std::vector<std::string>& args) {
    lua_createtable(L_, static_cast<int>(args.size()), 2);
    lua_pushstring(L_, program.c_str());
    lua_rawseti(L_, -2, -1);
    lua_pushstring(L_, script.c_str());
    lua_rawseti(L_, -2, 0);
    for (std::size_t i = 0; i < args.size(); ++i) {
        lua_pushlstring(L_, args[i].data(), args[i].size());
        lua_rawseti(L_, -2, static_cast<int>(i + 1));
    }
    lua_setglobal(L_, "arg");
}

bool pcall_traceback(lua_State* L, int nargs, int nresults, std::string& error) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    if (status == 0) return true;
    // Leave structured (table) errors on the stack for the caller; strings become `error`.
    if (lua_type(L, -1) == LUA_TTABLE) {
        error.clear();
        return false;
    }
    const char* msg = lua_tostring(L, -1);
    error = msg ? msg : "(error without message)";
    lua_pop(L, 1);
    return false;
}

bool pcall_traceback_message(lua_State* L, int nargs, int nresults, std::string& error) {
    if (pcall_traceback(L, nargs, nresults, error)) return true;
    if (error.empty()) {
        // A table error: the traceback it carries (hostsync.db's check records the
        // raiser's), else its message.
        lua_getfield(L, -1, "traceback");
        lua_getfield(L, -2, "message");
        const char* trace = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : nullptr;
        const char* msg = lua_tostring(L, -1);
        error = trace ? trace : msg ? msg : "(error object is a table)";
        lua_pop(L, 3);
    }
    return false;
}

bool LuaRuntime::pcall(int nargs, int nresults, std::string& error) {
    return pcall_traceback(L_, nargs, nresults, error);
}

void LuaRuntime::set_error_hook() {
    lua_setfield(L_, LUA_REGISTRYINDEX, kErrorHookKey);
}

bool LuaRuntime::run_file(const std::string& path, int nargs_from_arg, std::string& error) {
    if (luaL_loadfile(L_, path.c_str()) != 0) {
        error = lua_tostring(L_, -1);
        lua_pop(L_, 1);
        return false;
    }
    lua_getglobal(L_, "arg");
    for (int i = 1; i <= nargs_from_arg; ++i) lua_rawgeti(L_, -i, i);
    lua_remove(L_, -(nargs_from_arg + 1));
    return pcall(nargs_from_arg, 0, error);
}

}  // namespace hostsync
