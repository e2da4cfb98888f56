// Raw table of hostsync.sandbox: a policy file loaded into its own restricted Lua state
// (host/lua_sandbox.hpp). Argument checks and defaults are in sandbox.lua.
#include <lua.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "host/lua_guard.hpp"
#include "host/lua_object.hpp"
#include "host/lua_sandbox.hpp"

namespace {

using hostsync::guarded;
namespace lo = hostsync::lua_object;

const char kPolicyMeta[] = "hostsync.sandbox.policy";

// One loaded policy: the file it came from, its limits and the state running it.
// reload() builds a whole new state and swaps it in only if the file loaded.
struct Policy {
    std::string path;
    hostsync::SandboxLimits limits;
    std::unique_ptr<hostsync::Sandbox> box;

    bool reload(std::string& error) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            error = "cannot read " + path + ": " + std::strerror(errno);
            return false;
        }
        std::ostringstream text;
        text << in.rdbuf();
        auto fresh = std::make_unique<hostsync::Sandbox>(limits);
        if (!fresh->load(text.str(), "@" + path, error)) {
            error = path + ": " + error;
            return false;
        }
        box = std::move(fresh);
        return true;
    }
};

Policy* check_policy(lua_State* L) { return lo::check_object<Policy>(L, kPolicyMeta); }

int l_load(lua_State* L) {
    std::string path(hostsync::check_view(L, 1));
    hostsync::SandboxLimits limits;
    limits.max_instructions = static_cast<long>(luaL_checknumber(L, 2));
    limits.max_memory = static_cast<std::size_t>(luaL_checknumber(L, 3));
    Policy* p = lo::new_object<Policy>(L, kPolicyMeta);
    p->path = path;
    p->limits = limits;
    std::string error;
    if (!p->reload(error)) return hostsync::push_fail(L, error);
    return 1;
}

int l_reload(lua_State* L) {
    std::string error;
    if (!check_policy(L)->reload(error)) return hostsync::push_fail(L, error);
    lua_pushboolean(L, 1);
    return 1;
}

// call(policy, name, args...): the arguments stay on this stack and are deep-copied in.
int l_call(lua_State* L) {
    Policy* p = check_policy(L);
    std::string name(hostsync::check_view(L, 2));
    int nargs = lua_gettop(L) - 2;
    std::string error;
    if (!p->box->call(name, L, nargs, error)) return hostsync::push_fail(L, name + ": " + error);
    return 1;
}

// get(policy, name): a deep copy of a plain field (a setting such as a name or a map).
int l_get(lua_State* L) {
    Policy* p = check_policy(L);
    std::string name(hostsync::check_view(L, 2));
    std::string error;
    if (!p->box->get(name, L, error)) return hostsync::push_fail(L, name + ": " + error);
    return 1;
}

int l_memory(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_policy(L)->box->memory_used()));
    return 1;
}

int l_path(lua_State* L) {
    const std::string& path = check_policy(L)->path;
    lua_pushlstring(L, path.data(), path.size());
    return 1;
}

int l_gc(lua_State* L) { return lo::gc_object<Policy>(L, kPolicyMeta); }

}  // namespace

int hostsync_raw_sandbox(lua_State* L) {
    lo::new_meta(L, kPolicyMeta, guarded<l_gc>);
    lua_pop(L, 1);

    const luaL_Reg fns[] = {
        {"load", guarded<l_load>},
        {"reload", guarded<l_reload>},
        {"call", guarded<l_call>},
        {"get", guarded<l_get>},
        {"memory", guarded<l_memory>},
        {"path", guarded<l_path>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    luaL_getmetatable(L, kPolicyMeta);
    lua_setfield(L, -2, "policy_mt");
    return 1;
}
