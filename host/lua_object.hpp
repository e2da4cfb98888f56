#pragma once
// C++ objects owned by Lua userdata. Every userdata of host/ and bindings/ is made here
// (tests/e2e/test_layering.py checks that no other file calls lua_newuserdata), so the
// rules hold everywhere: the userdata holds a pointer, so it exists (with its metatable
// and __gc) before the object is built; a constructor that throws leaves nullptr, never a
// half-built object for __gc, and an object freed early (close) is reported as a usage
// error instead of a crash.
//
//   new_meta(L, "hostsync.x.thing", guarded<l_gc>)      once, when the module loads
//   auto** slot = new_slot<Thing>(L, meta); *slot = new Thing(...);   or new_object<Thing>
//   check_object<Thing>(L, meta)                        in each method (argument 1)
//   int l_gc(lua_State* L) { return gc_object<Thing>(L, meta); }
#include <lua.hpp>

#include <initializer_list>
#include <string>
#include <utility>

#include "lua_guard.hpp"

namespace hostsync::lua_object {

// Registers the metatable `name` (luaL_newmetatable) with `gc` as __gc and any further
// C functions as metafields (the byte-stream protocol of lua_stream.hpp, for instance).
// Leaves the metatable on the stack: the caller stores it (raw.<name>_mt, where the Lua
// half sets __index) or pops it.
inline void new_meta(lua_State* L, const char* name, lua_CFunction gc,
                     std::initializer_list<std::pair<const char*, lua_CFunction>> metafields = {}) {
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    for (const auto& [key, fn] : metafields) {
        lua_pushcfunction(L, fn);
        lua_setfield(L, -2, key);
    }
}

// Pushes a new userdata slot (nullptr) with metatable `meta` (registered with new_meta).
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

// A slot that borrows `p` for as long as a C++ caller says (no metatable, no __gc): the
// caller clears it (*slot = nullptr) before the object goes away, so a closure that kept
// the userdata finds nullptr instead of a dangling pointer.
template <typename T>
T** new_borrowed(lua_State* L, T* p) {
    auto* slot = static_cast<T**>(lua_newuserdata(L, sizeof(T*)));
    *slot = p;
    return slot;
}

// A value that is equal only to itself and carries nothing (db.null); the caller gives it
// a metatable if it needs one.
inline void new_token(lua_State* L) { lua_newuserdata(L, 0); }

// The slot at idx, holding nullptr once the object was freed. Anything but a userdata
// with metatable `meta` is the caller's mistake: a "Usage:" error.
template <typename T>
T** slot_of(lua_State* L, int idx, const char* meta) {
    if (void* p = luaL_testudata(L, idx, meta)) return static_cast<T**>(p);
    throw UsageError(std::string("Usage: argument ") + std::to_string(idx) + " must be a " + meta + ", got " +
                     luaL_typename(L, idx));
}

template <typename T>
T* check_slot(lua_State* L, int idx, const char* meta) {
    T** slot = slot_of<T>(L, idx, meta);
    if (*slot == nullptr) throw UsageError(std::string("Usage: ") + meta + " used after it was freed");
    return *slot;
}

template <typename T>
T* check_object(lua_State* L, const char* meta) {
    return check_slot<T>(L, 1, meta);
}

// The __gc of such a userdata: destructors close and release, and never throw. Also a
// close() that frees early: later calls find nullptr.
template <typename T>
int gc_slot(lua_State* L, const char* meta) {
    T** slot = slot_of<T>(L, 1, meta);
    delete *slot;
    *slot = nullptr;
    return 0;
}

template <typename T>
int gc_object(lua_State* L, const char* meta) {
    return gc_slot<T>(L, meta);
}

}  // namespace hostsync::lua_object
