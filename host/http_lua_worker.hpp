#pragma once
// A server Worker backed by its own LuaRuntime: the app (a script or a module) is loaded
// once per worker thread and the Lua side (hostsync.http's _worker) routes each request.
#include <memory>
#include <string>

#include "http_server.hpp"

struct lua_State;

namespace hostsync::http {

struct LuaAppSpec {
    std::string script;          // a file run in each worker state, or
    std::string module;          // a module name required in each worker state
    std::string config_json;     // if set: the app is a function, called with this decoded
    std::string package_path;    // the caller's package.path/cpath, so the app finds
    std::string package_cpath;   // the same modules the calling script does (and no others)
};

// nullptr with `error` (the Lua message with traceback) if the app fails to load.
// Pushes headers as a Lua table: names lower-cased, repeated fields joined with ", " (as
// RFC 9110 allows for list-valued fields). Used for requests here and responses in
// bindings/http.cpp.
void push_header_table(lua_State* L, const HeaderList& headers);

// Event-topic values from Lua (already checked by bindings/http.lua): an event table
// {id=, event=, data=, attrs=} at `idx`, and a subscription {topic=, after=, replay=,
// filter=, labels=}. Used by the worker and by bindings/http.cpp's publish.
events::Event event_from_lua(lua_State* L, int idx);
events::Subscription subscription_from_lua(lua_State* L, int idx);

std::unique_ptr<Worker> make_lua_worker(const LuaAppSpec& spec, int index, std::string& error);

}  // namespace hostsync::http
