#include "lua_copy.hpp"

namespace hostsync::lua_copy {
namespace {

bool is_plain_key(int type) {
    return type == LUA_TSTRING || type == LUA_TNUMBER || type == LUA_TBOOLEAN;
}

bool copy_rec(lua_State* from, int idx, lua_State* to, int depth, std::string& error) {
    if (!lua_checkstack(to, 4) || !lua_checkstack(from, 4)) {
        error = "value too large to copy (stack)";
        return false;
    }
    switch (lua_type(from, idx)) {
        case LUA_TNIL: lua_pushnil(to); return true;
        case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); return true;
        case LUA_TNUMBER: lua_pushnumber(to, lua_tonumber(from, idx)); return true;
        case LUA_TSTRING: {
            size_t n = 0;
            const char* s = lua_tolstring(from, idx, &n);
            lua_pushlstring(to, s, n);
            return true;
        }
        case LUA_TTABLE: break;
        default:
            error = std::string("cannot pass a ") + luaL_typename(from, idx) +
                    " (only nil, booleans, numbers, strings and tables)";
            return false;
    }
    if (depth >= kMaxDepth) {
        error = "table nested too deeply (or cyclic)";
        return false;
    }
    if (idx < 0) idx = lua_gettop(from) + idx + 1;
    lua_newtable(to);
    lua_pushnil(from);
    while (lua_next(from, idx) != 0) {
        int key = lua_gettop(from) - 1;
        if (!is_plain_key(lua_type(from, key))) {
            error = std::string("cannot pass a table key of type ") + luaL_typename(from, key);
            lua_pop(from, 2);
            return false;
        }
        if (!copy_rec(from, key, to, depth + 1, error)) {
            lua_pop(from, 2);
            return false;
        }
        if (!copy_rec(from, key + 1, to, depth + 1, error)) {
            lua_pop(to, 1);
            lua_pop(from, 2);
            return false;
        }
        lua_rawset(to, -3);
        lua_pop(from, 1);
    }
    return true;
}

}  // namespace

bool copy(lua_State* from, int idx, lua_State* to, std::string& error) {
    int top = lua_gettop(to);
    if (copy_rec(from, idx, to, 0, error)) return true;
    lua_settop(to, top);
    return false;
}

}  // namespace hostsync::lua_copy
