// Raw table of hostsync.watch: inotify over host/fs_watch. Argument checks, the kind
// names and the public API are in watch.lua.
#include <lua.hpp>

#include <string>
#include <vector>

#include "host/fs_watch.hpp"
#include "host/lua_guard.hpp"
#include "host/lua_object.hpp"
#include "host/lua_pieces.hpp"

namespace {

using hostsync::guarded;
using hostsync::push_fail;
using hostsync::lua_object::check_object;
using hostsync::lua_object::gc_object;
using hostsync::lua_object::new_object;
namespace fs = hostsync::fs;

const char kWatcherMeta[] = "hostsync.watch.watcher";

fs::Watcher* open_watcher(lua_State* L) {
    auto* w = check_object<fs::Watcher>(L, kWatcherMeta);
    if (!w->is_open()) throw hostsync::UsageError("Usage: a closed watcher");
    return w;
}

int l_open(lua_State* L) {
    auto* w = new_object<fs::Watcher>(L, kWatcherMeta);
    std::string err;
    if (!w->open(err)) return push_fail(L, err);
    return 1;
}

// (w, path, mask) -> id | nil, err
int l_add(lua_State* L) {
    auto* w = open_watcher(L);
    std::string path = luaL_checkstring(L, 2);
    auto mask = static_cast<std::uint32_t>(luaL_checknumber(L, 3));
    std::string err;
    int id = w->add(path, mask, err);
    if (id < 0) return push_fail(L, err);
    lua_pushinteger(L, id);
    return 1;
}

int l_remove(lua_State* L) {
    lua_pushboolean(L, open_watcher(L)->remove(static_cast<int>(luaL_checkinteger(L, 2))));
    return 1;
}

// (w, timeout | -1) -> { {id, mask, name|nil}, ... } | nil, err
int l_read(lua_State* L) {
    auto* w = open_watcher(L);
    std::vector<fs::WatchEvent> events;
    std::string err;
    if (!w->read(luaL_checknumber(L, 2), events, err)) return push_fail(L, err);
    lua_createtable(L, static_cast<int>(events.size()), 0);
    for (std::size_t i = 0; i < events.size(); ++i) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, events[i].id);
        lua_setfield(L, -2, "id");
        lua_pushnumber(L, events[i].mask);
        lua_setfield(L, -2, "mask");
        if (!events[i].name.empty()) {
            lua_pushlstring(L, events[i].name.data(), events[i].name.size());
            lua_setfield(L, -2, "name");
        }
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    return 1;
}

int l_close(lua_State* L) {
    check_object<fs::Watcher>(L, kWatcherMeta)->close();
    lua_pushboolean(L, 1);
    return 1;
}

int l_gc(lua_State* L) { return gc_object<fs::Watcher>(L, kWatcherMeta); }

}  // namespace

int hostsync_raw_watch(lua_State* L) {
    const luaL_Reg fns[] = {
        {"open", guarded<l_open>}, {"add", guarded<l_add>},     {"remove", guarded<l_remove>},
        {"read", guarded<l_read>}, {"close", guarded<l_close>}, {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    // The kind names and their bits, for watch.lua.
    lua_newtable(L);
    for (const auto& k : fs::watch_kinds()) {
        lua_pushnumber(L, k.bit);
        lua_setfield(L, -2, k.name);
    }
    lua_setfield(L, -2, "kinds");
    hostsync::lua_object::new_meta(L, kWatcherMeta, guarded<l_gc>);
    lua_setfield(L, -2, "watcher_mt");
    return 1;
}
