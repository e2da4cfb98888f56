#pragma once
// A separate, restricted Lua state for running untrusted decision scripts (policies).
//
// Why a separate lua_State and not a restricted _ENV in the host's state: a policy then
// shares nothing with the host - no package.loaded, no string metatable, no registry, no
// FFI - so no setmetatable or getfenv trick can reach a host module. Values cross only
// by deep copy (host/lua_copy.hpp).
//
// Limits, per load and per call:
//  - instructions: a count hook raises an error after `max_instructions` VM instructions;
//    once the budget is spent the hook fires on every instruction, so a policy that
//    catches the error with pcall cannot keep running. The JIT is switched off in this
//    state because compiled traces do not run count hooks.
//  - memory: the state has its own lua_Alloc with a byte budget (LuaJIT is built with
//    GC64 here, so lua_newstate accepts a custom allocator); growth past the budget fails
//    and Lua raises "not enough memory", which we report as the budget.
//  - text only: chunks are loaded with mode "t"; bytecode is refused.
// Not bounded: time spent inside one C function (a pathological string.find pattern
// runs in C, where no hook fires). docs/policies.md says so.
#include <lua.hpp>

#include <cstddef>
#include <string>

namespace hostsync {

struct SandboxLimits {
    long max_instructions = 10'000'000;
    std::size_t max_memory = 16u << 20;
};

class Sandbox {
public:
    explicit Sandbox(const SandboxLimits& limits);
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    // Loads `source` (text only) under `chunkname`, runs it under the limits and keeps
    // the table it returns as the policy. False with `error` set on any failure.
    bool load(const std::string& source, const std::string& chunkname, std::string& error);

    // Calls policy[name] with the `nargs` values on top of `from` (deep-copied; they
    // stay on `from`'s stack), and pushes its first result (deep-copied) onto `from`.
    // False with `error` set (nothing pushed) on a policy error, a budget or a bad value.
    bool call(const std::string& name, lua_State* from, int nargs, std::string& error);

    // Pushes a deep copy of the policy's field `name` (read raw: no metamethod runs) onto
    // `from`; nil when absent. False with `error` set (nothing pushed) for a function
    // (call it instead) or a value that cannot cross.
    bool get(const std::string& name, lua_State* from, std::string& error);

    std::size_t memory_used() const { return used_; }
    const SandboxLimits& limits() const { return limits_; }

private:
    static void* alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize);
    static void count_hook(lua_State* L, lua_Debug* ar);
    void arm();
    bool finish(int status, std::string& error);

    SandboxLimits limits_;
    std::size_t used_ = 0;
    bool out_of_memory_ = false;
    bool out_of_instructions_ = false;
    bool limits_on_ = false;  // the memory budget applies only while policy code runs
    lua_State* L_ = nullptr;
};

}  // namespace hostsync
