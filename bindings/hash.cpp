// Raw table of hostsync.hash: thin lua_CFunctions over host/sha256. Argument checks and
// the public API are in hash.lua.
#include <lua.hpp>

#include "host/lua_guard.hpp"
#include "host/lua_object.hpp"
#include "host/sha256.hpp"

namespace {

using hostsync::guarded;
using hostsync::sha256::Hasher;
namespace lo = hostsync::lua_object;

const char kHasherMeta[] = "hostsync.hash.hasher";

int l_sha256(lua_State* L) {
    auto d = hostsync::sha256::digest(hostsync::check_view(L, 1));
    lua_pushlstring(L, reinterpret_cast<const char*>(d.data()), d.size());
    return 1;
}

int l_sha256_hex(lua_State* L) {
    auto d = hostsync::sha256::digest(hostsync::check_view(L, 1));
    char hex[64];
    hostsync::sha256::hex_to(d, hex);
    lua_pushlstring(L, hex, sizeof hex);
    return 1;
}

// (path, offset, length|nil) -> hex | nil, err
int l_sha256_file(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    auto offset = static_cast<std::uint64_t>(luaL_optnumber(L, 2, 0));
    std::optional<std::uint64_t> length;
    if (!lua_isnoneornil(L, 3)) length = static_cast<std::uint64_t>(luaL_checknumber(L, 3));
    std::string hex, err;
    if (!hostsync::sha256::file_hex(path, offset, length, hex, err)) return hostsync::push_fail(L, err);
    lua_pushlstring(L, hex.data(), hex.size());
    return 1;
}

Hasher* check_hasher(lua_State* L) { return lo::check_object<Hasher>(L, kHasherMeta); }

int l_new(lua_State* L) {
    lo::new_object<Hasher>(L, kHasherMeta);
    return 1;
}

int l_update(lua_State* L) {
    check_hasher(L)->update(hostsync::check_view(L, 2));
    lua_settop(L, 1);
    return 1;
}

int l_digest(lua_State* L) {
    auto d = check_hasher(L)->digest();
    lua_pushlstring(L, reinterpret_cast<const char*>(d.data()), d.size());
    return 1;
}

int l_hex(lua_State* L) {
    auto d = check_hasher(L)->digest();
    char hex[64];
    hostsync::sha256::hex_to(d, hex);
    lua_pushlstring(L, hex, sizeof hex);
    return 1;
}

int l_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_hasher(L)->bytes()));
    return 1;
}

int l_gc(lua_State* L) { return lo::gc_object<Hasher>(L, kHasherMeta); }

}  // namespace

int hostsync_raw_hash(lua_State* L) {
    // The metatable: hash.lua sets its __index to the checked methods.
    lo::new_meta(L, kHasherMeta, guarded<l_gc>);
    lua_pop(L, 1);

    const luaL_Reg fns[] = {
        {"sha256", guarded<l_sha256>},
        {"sha256_hex", guarded<l_sha256_hex>},
        {"sha256_file", guarded<l_sha256_file>},
        {"new", guarded<l_new>},
        {"update", guarded<l_update>},
        {"digest", guarded<l_digest>},
        {"hex", guarded<l_hex>},
        {"bytes", guarded<l_bytes>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    luaL_getmetatable(L, kHasherMeta);
    lua_setfield(L, -2, "hasher_mt");
    return 1;
}
