#pragma once
// C++ objects owned by Lua userdata, the way every binding does it: the userdata holds a
// pointer, so it exists (with its metatable and __gc) before the object is built; a
// constructor that throws leaves nullptr, never a half-built object for __gc, and an
// object freed early (close) is reported as a usage error instead of a crash.
#include <lua.hpp>

#include <string>

#include "lua_guard.hpp"

namespace hostsync::lua_object {

// Pushes a new userdata slot with metatable `meta` (registered with luaL_newmetatable).
template <typename T>
T** new_slot(lua_State* L, const char* meta) {
    auto* slot = static_cast<T**>(lua_newuserdata(L, sizeof(T*)));
    *slot = nullptr;
    luaL_getmetatable(L, meta);
    lua_setmetatable(L, -2);
    return slot;
}

template <typename T>
T* new_object(lua_State* L, const char* meta) {
    T** slot = new_slot<T>(L, meta);
    *slot = new T();
    return *slot;
}

template <typename T>
T* check_slot(lua_State* L, int idx, const char* meta) {
    auto* slot = static_cast<T**>(luaL_checkudata(L, idx, meta));
    if (*slot == nullptr) throw UsageError(std::string("Usage: ") + meta + " used after it was freed");
    return *slot;
}

template <typename T>
T* check_object(lua_State* L, const char* meta) {
    return check_slot<T>(L, 1, meta);
}

// The __gc of such a userdata: destructors close and release, and never throw.
template <typename T>
int gc_slot(lua_State* L, const char* meta) {
    auto* slot = static_cast<T**>(luaL_checkudata(L, 1, meta));
    delete *slot;
    *slot = nullptr;
    return 0;
}

template <typename T>
int gc_object(lua_State* L, const char* meta) {
    return gc_slot<T>(L, meta);
}

}  // namespace hostsync::lua_object
