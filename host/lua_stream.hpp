#pragma once
// The Lua side of ByteSink/ByteSource (byte_sink.hpp, byte_source.hpp): a userdata is a
// sink if its metatable has a `__hostsync_sink` C function that, called with the
// userdata, returns a lightuserdata ByteSink* valid for as long as the userdata lives
// (likewise `__hostsync_source` and ByteSource*). A C function taking a sink keeps the
// userdata on its stack while it uses the pointer. See docs/architecture.md.
#include <lua.hpp>

#include "byte_sink.hpp"
#include "byte_source.hpp"

namespace hostsync {

inline constexpr const char* kSinkMetafield = "__hostsync_sink";
inline constexpr const char* kSourceMetafield = "__hostsync_source";

// The object behind the userdata at idx via `field`, or nullptr if it does not speak the
// protocol. The metafield's own errors (a freed object) propagate as Lua errors.
inline void* stream_object(lua_State* L, int idx, const char* field) {
    if (lua_type(L, idx) != LUA_TUSERDATA) return nullptr;
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    if (!luaL_getmetafield(L, idx, field)) return nullptr;
    if (lua_type(L, -1) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return nullptr;
    }
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    void* p = lua_type(L, -1) == LUA_TLIGHTUSERDATA ? lua_touserdata(L, -1) : nullptr;
    lua_pop(L, 1);
    return p;
}

inline ByteSink* to_byte_sink(lua_State* L, int idx) {
    return static_cast<ByteSink*>(stream_object(L, idx, kSinkMetafield));
}

inline ByteSource* to_byte_source(lua_State* L, int idx) {
    return static_cast<ByteSource*>(stream_object(L, idx, kSourceMetafield));
}

}  // namespace hostsync
