// Raw table of hostsync.codec: thin lua_CFunctions over host/codec. Argument checks
// and the public API are in codec.lua.
#include <lua.hpp>

#include "host/codec.hpp"
#include "host/lua_guard.hpp"

namespace {

using hostsync::guarded;

int push_string(lua_State* L, const std::string& s) {
    lua_pushlstring(L, s.data(), s.size());
    return 1;
}

int l_hex_encode(lua_State* L) { return push_string(L, hostsync::codec::hex_encode(hostsync::check_view(L, 1))); }

int l_hex_decode(lua_State* L) {
    std::string out, err;
    if (!hostsync::codec::hex_decode(hostsync::check_view(L, 1), out, err)) return hostsync::push_fail(L, err);
    return push_string(L, out);
}

int l_base64_encode(lua_State* L) { return push_string(L, hostsync::codec::base64_encode(hostsync::check_view(L, 1))); }

int l_base64_decode(lua_State* L) {
    std::string out, err;
    if (!hostsync::codec::base64_decode(hostsync::check_view(L, 1), out, err)) return hostsync::push_fail(L, err);
    return push_string(L, out);
}

}  // namespace

int hostsync_raw_codec(lua_State* L) {
    const luaL_Reg fns[] = {
        {"hex_encode", guarded<l_hex_encode>},
        {"hex_decode", guarded<l_hex_decode>},
        {"base64_encode", guarded<l_base64_encode>},
        {"base64_decode", guarded<l_base64_decode>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    return 1;
}
