// Raw table of hostsync.failpoint: crash injection (host/failpoint.hpp). The checks are
// in failpoint.lua.
#include <lua.hpp>

#include "host/failpoint.hpp"
#include "host/lua_guard.hpp"

namespace {

using hostsync::guarded;

int l_hit(lua_State* L) {
    hostsync::failpoint::hit(hostsync::check_view(L, 1));
    return 0;
}

int l_armed(lua_State* L) {
    lua_pushboolean(L, hostsync::failpoint::armed());
    return 1;
}

}  // namespace

int hostsync_raw_failpoint(lua_State* L) {
    const luaL_Reg fns[] = {
        {"hit", guarded<l_hit>},
        {"armed", guarded<l_armed>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    return 1;
}
