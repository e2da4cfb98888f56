// host/lua_sandbox and host/lua_copy from C++: what the bindings rely on (budgets reset
// per call, memory accounting returns to its base, values cross by copy only).
#include <doctest/doctest.h>

#include <lua.hpp>

#include <string>

#include "lua_copy.hpp"
#include "lua_sandbox.hpp"

using namespace hostsync;

namespace {

struct HostState {
    lua_State* L = luaL_newstate();
    HostState() { luaL_openlibs(L); }
    ~HostState() { lua_close(L); }
};

const char kPolicy[] = R"(
local calls = 0
return {
  echo = function(v) calls = calls + 1 return v end,
  spin = function() while true do end end,
  grow = function() local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(10000) .. i end end,
  calls = function() return calls end,
}
)";

}  // namespace

TEST_CASE("sandbox: a call returns a deep copy and the state survives failures") {
    SandboxLimits limits;
    limits.max_instructions = 100000;
    limits.max_memory = 2u << 20;
    Sandbox box(limits);
    std::string err;
    REQUIRE(box.load(kPolicy, "=policy", err));
    HostState host;
    lua_State* L = host.L;

    REQUIRE(luaL_dostring(L, "return { a = { 1, 2, 'three' }, b = true }") == 0);
    REQUIRE(box.call("echo", L, 1, err));
    lua_getfield(L, -1, "a");
    lua_rawgeti(L, -1, 3);
    CHECK(std::string(lua_tostring(L, -1)) == "three");
    CHECK(lua_rawequal(L, -4, -5) == 0);  // a new table, not the argument
    lua_settop(L, 0);

    std::size_t base = box.memory_used();
    CHECK_FALSE(box.call("spin", L, 0, err));
    CHECK(err.find("instruction budget exceeded") != std::string::npos);
    CHECK_FALSE(box.call("grow", L, 0, err));
    CHECK_MESSAGE(err.find("memory budget exceeded") != std::string::npos, err);
    CHECK(box.memory_used() < base + (64u << 10));  // the failed call's garbage is gone
    CHECK(lua_gettop(L) == 0);

    REQUIRE(box.call("calls", L, 0, err));
    CHECK(lua_tonumber(L, -1) == 1);  // the echo above; module state survived the failures
}

TEST_CASE("sandbox: text only, and a load that fails says why") {
    Sandbox box(SandboxLimits{});
    std::string err;
    CHECK_FALSE(box.load(std::string("\x1bLJ\x02garbage"), "=bc", err));
    CHECK(err.find("bytecode is refused") != std::string::npos);
    CHECK_FALSE(box.load("return 1", "=num", err));
    CHECK(err.find("must return a table") != std::string::npos);
    CHECK_FALSE(box.load("return io", "=io", err));  // io is nil: not a table either
}

TEST_CASE("lua_copy: refuses functions and cycles, leaves the target stack as it was") {
    HostState a, b;
    std::string err;
    REQUIRE(luaL_dostring(a.L, "local t = { x = { f = print } } return t") == 0);
    lua_pushinteger(b.L, 7);
    CHECK_FALSE(lua_copy::copy(a.L, -1, b.L, err));
    CHECK(err.find("function") != std::string::npos);
    CHECK(lua_gettop(b.L) == 1);
    REQUIRE(luaL_dostring(a.L, "local t = {} t.t = t return t") == 0);
    CHECK_FALSE(lua_copy::copy(a.L, -1, b.L, err));
    CHECK(err.find("cyclic") != std::string::npos);
    CHECK(lua_gettop(b.L) == 1);
}
