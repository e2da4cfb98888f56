#pragma once
// Deep copy of plain values between two separate lua_States (the host's and a sandbox's).
// Only nil, booleans, numbers, strings and tables of those cross; metatables are dropped
// and tables are read raw (lua_next), so no metamethod of one state ever runs while the
// other copies: a policy cannot hand the host a table whose __index calls back into it.
#include <lua.hpp>

#include <string>

namespace hostsync::lua_copy {

// Deeper nesting than this (or a cycle, which looks the same) is refused.
constexpr int kMaxDepth = 64;

// Pushes a copy of from[idx] onto `to`. False with `error` set on an unsupported value
// (function, userdata, thread), a bad key or too deep nesting; `to`'s stack is then
// restored to where it was.
bool copy(lua_State* from, int idx, lua_State* to, std::string& error);

}  // namespace hostsync::lua_copy
