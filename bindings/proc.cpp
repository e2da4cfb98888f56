// Raw table of hostsync.proc: thin lua_CFunctions over host/proc_run and proc_path.
// Argument checks and the public API are in proc.lua.
#include <lua.hpp>

#include "host/lua_guard.hpp"
#include "host/proc_path.hpp"
#include "host/proc_run.hpp"

namespace {

using hostsync::guarded;
namespace proc = hostsync::proc;

std::string to_string(lua_State* L, int idx) {
    size_t n = 0;
    const char* s = lua_tolstring(L, idx, &n);
    return std::string(s, n);
}

// (argv, cwd|nil, env|nil, env_clear, stdin|nil, timeout, grace, capture)
// -> {status=, signal=, stdout=, stderr=, timed_out=} | nil, err
// proc.lua has checked every type; env maps names to strings or false (unset).
int l_run(lua_State* L) {
    proc::RunOptions o;
    int n = static_cast<int>(lua_objlen(L, 1));
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, 1, i);
        o.argv.push_back(to_string(L, -1));
        lua_pop(L, 1);
    }
    if (!lua_isnil(L, 2)) o.cwd = to_string(L, 2);
    if (lua_istable(L, 3)) {
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            std::string key = to_string(L, -2);
            if (lua_type(L, -1) == LUA_TSTRING) o.env.emplace_back(key, to_string(L, -1));
            else o.env.emplace_back(key, std::nullopt);
            lua_pop(L, 1);
        }
    }
    o.env_clear = lua_toboolean(L, 4);
    if (!lua_isnil(L, 5)) o.stdin_data = to_string(L, 5);
    o.timeout = luaL_optnumber(L, 6, 0);
    o.grace = luaL_optnumber(L, 7, o.grace);
    o.capture = lua_toboolean(L, 8);

    proc::RunResult r;
    std::string err;
    if (!proc::run(o, r, err)) return hostsync::push_fail(L, err);
    lua_createtable(L, 0, 6);
    if (r.exited) {
        lua_pushinteger(L, r.status);
        lua_setfield(L, -2, "status");
    }
    if (r.signal) {
        lua_pushinteger(L, r.signal);
        lua_setfield(L, -2, "signal");
    }
    lua_pushboolean(L, r.exited && r.status == 0);
    lua_setfield(L, -2, "ok");
    lua_pushboolean(L, r.timed_out);
    lua_setfield(L, -2, "timed_out");
    if (o.capture) {
        lua_pushlstring(L, r.out.data(), r.out.size());
        lua_setfield(L, -2, "stdout");
        lua_pushlstring(L, r.err.data(), r.err.size());
        lua_setfield(L, -2, "stderr");
    }
    return 1;
}

// (name, path|nil) -> path | nil, err; without a PATH argument, ours.
int l_which(lua_State* L) {
    std::string name(hostsync::check_view(L, 1));
    std::string path;
    if (lua_isstring(L, 2)) {
        path = to_string(L, 2);
    } else {
        const char* p = std::getenv("PATH");
        path = p ? p : "/usr/local/bin:/usr/bin:/bin";
    }
    std::string err;
    std::string found = proc::find_program(name, path, err);
    if (found.empty()) return hostsync::push_fail(L, err);
    lua_pushlstring(L, found.data(), found.size());
    return 1;
}

}  // namespace

int hostsync_raw_proc(lua_State* L) {
    const luaL_Reg fns[] = {
        {"run", guarded<l_run>},
        {"which", guarded<l_which>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    return 1;
}
