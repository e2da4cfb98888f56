#pragma once
// The one place where C++ exceptions become Lua errors.
//
// Every lua_CFunction in bindings/ is wrapped as `hostsync::guarded<fn>`: the body runs
// inside try/catch, RAII cleanup happens while the exception unwinds, and only after the
// catch block has ended do we call lua_error, so no C++ object is skipped by longjmp.
#include <lua.hpp>

#include <cstring>
#include <exception>
#include <string>

namespace hostsync {

// Thrown by bindings for a caller's mistake (becomes "Usage: ..." at level 1).
struct UsageError : std::exception {
    std::string msg;
    explicit UsageError(std::string m) : msg(std::move(m)) {}
    const char* what() const noexcept override { return msg.c_str(); }
};

template <lua_CFunction F>
int guarded(lua_State* L) {
    char message[512];
    message[0] = '\0';
    try {
        return F(L);
    } catch (const std::exception& e) {
        std::strncpy(message, e.what(), sizeof message - 1);
        message[sizeof message - 1] = '\0';
    }
    // No catch (...): on x64 LuaJIT raises Lua errors (luaL_check*, lua_error) as foreign
    // C++ exceptions, and they must unwind through us untouched to reach their pcall.
    lua_pushstring(L, message);
    return lua_error(L);
}

// Pushes nil, message and returns 2: the convention for failures of the world.
inline int push_fail(lua_State* L, const std::string& message) {
    lua_pushnil(L);
    lua_pushlstring(L, message.data(), message.size());
    return 2;
}

inline std::string_view check_view(lua_State* L, int idx) {
    size_t n = 0;
    const char* s = luaL_checklstring(L, idx, &n);
    return {s, n};
}

}  // namespace hostsync
