#include "lua_sandbox.hpp"

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "lua_copy.hpp"

namespace hostsync {
namespace {

const char kPolicyKey[] = "hostsync.sandbox.policy";
const char kResultKey[] = "hostsync.sandbox.result";

// What a policy may use: an allow-list, so that whatever a newer LuaJIT adds to a library
// (or a library opened by mistake) is absent until someone decides it is safe. Modelled
// on Redis's scripting sandbox (script_lua.c), which also names what stays rather than
// what goes. Everything else is removed after the libraries are opened: loaders
// (load, loadstring, loadfile, dofile, require, module, package), environments
// (getfenv, setfenv), the collector (collectgarbage, gcinfo), newproxy (a userdata whose
// __gc would run outside any call's budget), print, io, debug, jit, ffi, coroutine,
// string.dump, and os beyond its clocks. docs/policies.md lists the same names.
struct AllowedNames {
    const char* table;  // a global table, or nullptr for the globals themselves
    std::initializer_list<const char*> names;
};

const AllowedNames kAllowed[] = {
    {nullptr, {"_G", "_VERSION", "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
               "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall",
               "string", "table", "math", "bit", "os"}},
    {"string", {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep", "reverse", "sub",
                "upper"}},
    {"table", {"concat", "insert", "maxn", "remove", "sort"}},
    {"math", {"abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg", "exp", "floor", "fmod", "frexp",
              "huge", "ldexp", "log", "log10", "max", "min", "modf", "pi", "pow", "rad", "random", "randomseed", "sin",
              "sinh", "sqrt", "tan", "tanh"}},
    {"bit", {"arshift", "band", "bnot", "bor", "bswap", "bxor", "lshift", "rol", "ror", "rshift", "tobit", "tohex"}},
    {"os", {"clock", "difftime", "time"}},
};

void open_lib(lua_State* L, const char* name, lua_CFunction open) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

// Removes every key of the table on top of the stack that `names` does not list (clearing
// a field during lua_next is allowed).
void keep_only(lua_State* L, std::initializer_list<const char*> names) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        bool keep = false;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char* key = lua_tostring(L, -1);
            for (const char* n : names) keep = keep || std::strcmp(key, n) == 0;
        }
        if (!keep) {
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, -4);
        }
    }
}

// Runs inside lua_cpcall: any allocation failure here is a Lua error, never a panic. The
// libraries' tables are filtered in place, so the string metatable's __index (the string
// table itself) loses string.dump with everything else.
int open_safe_libs(lua_State* L) {
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_BITLIBNAME, luaopen_bit);
    open_lib(L, LUA_OSLIBNAME, luaopen_os);
    for (const AllowedNames& a : kAllowed) {
        if (a.table == nullptr) {
            lua_pushvalue(L, LUA_GLOBALSINDEX);
        } else {
            lua_getglobal(L, a.table);
            if (!lua_istable(L, -1)) return luaL_error(L, "sandbox: library %s did not open", a.table);
        }
        keep_only(L, a.names);
        lua_pop(L, 1);
    }
    // The registry's _LOADED still holds the libraries opened above (the same, filtered,
    // tables); a policy has no way to reach the registry (no debug library).
    return 0;
}

struct CallArgs {
    const std::string* name;
    lua_State* from;
    int first;  // index in `from` of the first argument
    int nargs;
    std::string* error;
};

// Runs inside lua_cpcall on the sandbox: copies the arguments in (under the memory
// budget), calls policy[name] and parks its first result in the registry.
int call_policy(lua_State* L) {
    auto* a = static_cast<CallArgs*>(lua_touserdata(L, 1));
    lua_getfield(L, LUA_REGISTRYINDEX, kPolicyKey);
    lua_getfield(L, -1, a->name->c_str());
    if (!lua_isfunction(L, -1)) return luaL_error(L, "the policy has no function '%s'", a->name->c_str());
    for (int i = 0; i < a->nargs; ++i) {
        if (!lua_copy::copy(a->from, a->first + i, L, *a->error))
            return luaL_error(L, "argument %d: %s", i + 1, a->error->c_str());
    }
    lua_call(L, a->nargs, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, kResultKey);
    return 0;
}

struct LoadArgs {
    const std::string* source;
    const std::string* chunkname;
};

int load_policy(lua_State* L) {
    auto* a = static_cast<LoadArgs*>(lua_touserdata(L, 1));
    // Mode "t": a precompiled chunk (string.dump output, luajit -b) is refused here.
    // LuaJIT's own message ("wrong mode") does not say why, so name it first.
    if (!a->source->empty() && (*a->source)[0] == '\x1b')
        return luaL_error(L, "bytecode is refused: a policy is loaded as text only");
    if (luaL_loadbufferx(L, a->source->data(), a->source->size(), a->chunkname->c_str(), "t") != 0)
        return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1)) return luaL_error(L, "a policy file must return a table of functions");
    lua_setfield(L, LUA_REGISTRYINDEX, kPolicyKey);
    return 0;
}

// The error value of a failed call as text, without running any of its metamethods.
std::string error_text(lua_State* L) {
    if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushstring(L, "message");
        lua_rawget(L, -2);
        std::string text = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error table without message)";
        lua_pop(L, 1);
        return text;
    }
    return std::string("(error object is a ") + luaL_typename(L, -1) + " value)";
}

}  // namespace

Sandbox::Sandbox(const SandboxLimits& limits) : limits_(limits) {
    L_ = lua_newstate(&Sandbox::alloc, this);
    if (L_ == nullptr) throw std::runtime_error("sandbox: cannot create a Lua state (custom allocator refused)");
    // Count hooks do not fire inside JIT-compiled traces, so a hot loop could escape the
    // instruction budget; the interpreter alone always runs the hook. (With the hook set
    // before any policy code runs, LuaJIT 2.1 happened to stop the hot-loop test even with
    // the JIT on, but that is not documented behaviour, so the JIT is off here.)
    luaJIT_setmode(L_, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    if (lua_cpcall(L_, open_safe_libs, nullptr) != 0) {
        lua_close(L_);
        throw std::runtime_error("sandbox: cannot open the libraries");
    }
}

Sandbox::~Sandbox() { lua_close(L_); }

void* Sandbox::alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
    auto* self = static_cast<Sandbox*>(ud);
    if (nsize == 0) {
        std::free(ptr);
        self->used_ -= osize;
        return nullptr;
    }
    // LuaJIT passes osize = 0 for a new block (not a type tag as Lua 5.4 does).
    std::size_t old = ptr ? osize : 0;
    if (nsize > old && self->limits_on_ && self->used_ - old + nsize > self->limits_.max_memory) {
        self->out_of_memory_ = true;
        return nullptr;
    }
    void* p = std::realloc(ptr, nsize);
    if (p != nullptr) self->used_ = self->used_ - old + nsize;
    return p;
}

void Sandbox::count_hook(lua_State* L, lua_Debug*) {
    void* ud = nullptr;
    lua_getallocf(L, &ud);
    auto* self = static_cast<Sandbox*>(ud);
    if (!self->out_of_instructions_) {
        self->out_of_instructions_ = true;
        // From now on every instruction raises: a pcall inside the policy can catch the
        // error, but the very next instruction raises again, up to our own pcall.
        lua_sethook(L, &Sandbox::count_hook, LUA_MASKCOUNT, 1);
    }
    luaL_error(L, "instruction budget exceeded");
}

void Sandbox::arm() {
    out_of_memory_ = false;
    out_of_instructions_ = false;
    int count = limits_.max_instructions > 0x7fffffff ? 0x7fffffff : static_cast<int>(limits_.max_instructions);
    lua_sethook(L_, &Sandbox::count_hook, LUA_MASKCOUNT, count < 1 ? 1 : count);
    limits_on_ = true;
}

// Finishes a cpcall started after arm(): disarms, turns the status into `error`.
bool Sandbox::finish(int status, std::string& error) {
    lua_sethook(L_, nullptr, 0, 0);
    limits_on_ = false;
    if (status == 0) return true;
    if (out_of_instructions_) {
        error = "instruction budget exceeded (" + std::to_string(limits_.max_instructions) + " instructions)";
    } else if (out_of_memory_ || status == LUA_ERRMEM) {
        error = "memory budget exceeded (" + std::to_string(limits_.max_memory) + " bytes)";
    } else {
        error = error_text(L_);
    }
    lua_settop(L_, 0);
    // Free what the failed call left behind, so the next call starts within budget.
    lua_gc(L_, LUA_GCCOLLECT, 0);
    return false;
}

bool Sandbox::load(const std::string& source, const std::string& chunkname, std::string& error) {
    LoadArgs args{&source, &chunkname};
    arm();
    int status = lua_cpcall(L_, load_policy, &args);
    return finish(status, error);
}

bool Sandbox::get(const std::string& name, lua_State* from, std::string& error) {
    lua_getfield(L_, LUA_REGISTRYINDEX, kPolicyKey);
    lua_pushlstring(L_, name.data(), name.size());
    lua_rawget(L_, -2);
    bool ok;
    if (lua_isfunction(L_, -1)) {
        error = "'" + name + "' is a function: call it";
        ok = false;
    } else {
        ok = lua_copy::copy(L_, -1, from, error);
    }
    lua_settop(L_, 0);
    return ok;
}

bool Sandbox::call(const std::string& name, lua_State* from, int nargs, std::string& error) {
    std::string copy_error;
    CallArgs args{&name, from, lua_gettop(from) - nargs + 1, nargs, &copy_error};
    arm();
    int status = lua_cpcall(L_, call_policy, &args);
    if (!finish(status, error)) return false;
    lua_getfield(L_, LUA_REGISTRYINDEX, kResultKey);
    bool ok = lua_copy::copy(L_, -1, from, error);
    if (!ok) error = "result: " + error;
    lua_pushnil(L_);
    lua_setfield(L_, LUA_REGISTRYINDEX, kResultKey);
    lua_settop(L_, 0);
    return ok;
}

}  // namespace hostsync
