#pragma once
// The table of modules compiled into the binary (generated from bindings/).
#include <cstddef>

struct lua_State;

namespace hostsync {

struct EmbeddedModule {
    const char* name;       // "fs" -> require "hostsync.fs"
    const char* chunkname;  // "@bindings/fs.lua", shown in tracebacks
    const char* source;
    std::size_t size;
    int (*open_raw)(lua_State*);  // pushes the raw C table, or nullptr for pure-Lua modules
};

extern const EmbeddedModule kEmbeddedModules[];
extern const std::size_t kEmbeddedModuleCount;

}  // namespace hostsync
