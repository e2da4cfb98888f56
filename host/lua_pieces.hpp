#pragma once
// The arguments of a file:write-like method (`w:write(...)`): strings and numbers, all
// checked before any is written (all or nothing), numbers in one format for every writer
// (integral values as integers, others with 17 significant digits, so they read back
// exactly).
#include <lua.hpp>

#include <cstdio>
#include <string>
#include <string_view>

#include "lua_guard.hpp"

namespace hostsync::lua_pieces {

inline void check(lua_State* L, int first, const char* method) {
    for (int i = first, top = lua_gettop(L); i <= top; ++i) {
        int type = lua_type(L, i);
        if (type != LUA_TSTRING && type != LUA_TNUMBER)
            throw UsageError(std::string("Usage: ") + method + "(...): argument " + std::to_string(i - first + 1) +
                             " must be a string or a number, got " + luaL_typename(L, i));
    }
}

// The bytes of argument idx (checked by check()); `digits` holds a formatted number.
inline std::string_view at(lua_State* L, int idx, char (&digits)[32]) {
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t n = 0;
        const char* s = lua_tolstring(L, idx, &n);
        return {s, n};
    }
    lua_Number x = lua_tonumber(L, idx);
    int n = (x == static_cast<lua_Number>(static_cast<long long>(x)) && x > -9.2e18 && x < 9.2e18)
                ? std::snprintf(digits, sizeof digits, "%lld", static_cast<long long>(x))
                : std::snprintf(digits, sizeof digits, "%.17g", x);
    return {digits, static_cast<size_t>(n)};
}

}  // namespace hostsync::lua_pieces
