// Raw table of hostsync.time: thin lua_CFunctions over host/clock. Argument checks and
// defaults (t = now) are in time.lua.
#include <lua.hpp>

#include "host/clock.hpp"
#include "host/lua_guard.hpp"

namespace {

using hostsync::guarded;
namespace clk = hostsync::clock;

int l_now(lua_State* L) {
    lua_pushnumber(L, clk::now());
    return 1;
}

int l_monotonic(lua_State* L) {
    lua_pushnumber(L, clk::monotonic());
    return 1;
}

int l_sleep(lua_State* L) {
    clk::sleep(luaL_checknumber(L, 1));
    return 0;
}

template <std::size_t (*Fn)(double, bool, char*)>
int l_iso(lua_State* L) {
    double t = luaL_checknumber(L, 1);
    char buf[clk::kIsoMax];
    std::size_t n = Fn(t, lua_toboolean(L, 2) != 0, buf);
    if (n == 0) throw hostsync::UsageError("Usage: time out of range (years 0000..9999)");
    lua_pushlstring(L, buf, n);
    return 1;
}

template <bool Local>
int l_format(lua_State* L) {
    std::string fmt(hostsync::check_view(L, 1));
    std::string out;
    if (!clk::format(fmt, luaL_checknumber(L, 2), Local, out))
        throw hostsync::UsageError("Usage: format result too long or time out of range");
    lua_pushlstring(L, out.data(), out.size());
    return 1;
}

int l_parse_iso(lua_State* L) {
    double t;
    std::string err;
    if (!clk::parse_iso(hostsync::check_view(L, 1), t, err)) return hostsync::push_fail(L, err);
    lua_pushnumber(L, t);
    return 1;
}

}  // namespace

int hostsync_raw_time(lua_State* L) {
    const luaL_Reg fns[] = {
        {"now", guarded<l_now>},
        {"monotonic", guarded<l_monotonic>},
        {"sleep", guarded<l_sleep>},
        {"utc_iso", guarded<l_iso<clk::utc_iso>>},
        {"local_iso", guarded<l_iso<clk::local_iso>>},
        {"format_utc", guarded<l_format<false>>},
        {"format_local", guarded<l_format<true>>},
        {"parse_iso", guarded<l_parse_iso>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    lua_pushnumber(L, clk::kMinTime);
    lua_setfield(L, -2, "min_time");
    lua_pushnumber(L, clk::kMaxTime);
    lua_setfield(L, -2, "max_time");
    return 1;
}
