// Raw table of hostsync.tar: thin lua_CFunctions over host/tar_* and host/byte_sinks.
// Argument checks and the public API are in tar.lua.
#include <fcntl.h>
#include <lua.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "host/byte_sinks.hpp"
#include "host/fs_sys.hpp"
#include "host/lua_guard.hpp"
#include "host/lua_runtime.hpp"
#include "host/lua_object.hpp"
#include "host/lua_stream.hpp"
#include "host/tar_reader.hpp"
#include "host/tar_writer.hpp"

namespace {

using hostsync::lua_object::check_slot;
using hostsync::lua_object::gc_slot;
using hostsync::lua_object::new_slot;

using hostsync::guarded;
using hostsync::push_fail;

const char kHashSinkMeta[] = "hostsync.tar.hash_sink";
const char kTeeMeta[] = "hostsync.tar.tee";

hostsync::ByteSink* check_sink(lua_State* L, int idx) {
    hostsync::ByteSink* s = hostsync::to_byte_sink(L, idx);
    if (s == nullptr)
        throw hostsync::UsageError(std::string("Usage: argument ") + std::to_string(idx) +
                                   " must be a sink (tar.hash_sink(), tar.tee(...), fs.appender, fs.safe_writer, ...), got " +
                                   luaL_typename(L, idx));
    return s;
}

// --- sinks -------------------------------------------------------------------

int l_hash_sink(lua_State* L) {
    auto** slot = new_slot<hostsync::HashSink>(L, kHashSinkMeta);
    *slot = new hostsync::HashSink();
    return 1;
}

int l_hash_sink_ptr(lua_State* L) {
    lua_pushlightuserdata(L, static_cast<hostsync::ByteSink*>(check_slot<hostsync::HashSink>(L, 1, kHashSinkMeta)));
    return 1;
}

int l_hash_hex(lua_State* L) {
    std::string hex = check_slot<hostsync::HashSink>(L, 1, kHashSinkMeta)->hex();
    lua_pushlstring(L, hex.data(), hex.size());
    return 1;
}

int l_hash_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_slot<hostsync::HashSink>(L, 1, kHashSinkMeta)->bytes()));
    return 1;
}

int l_hash_gc(lua_State* L) { return gc_slot<hostsync::HashSink>(L, kHashSinkMeta); }

// tee(sink, sink, ...): the children are kept alive in the tee's environment table.
int l_tee(lua_State* L) {
    const int n = lua_gettop(L);
    std::vector<hostsync::ByteSink*> sinks;
    for (int i = 1; i <= n; ++i) sinks.push_back(check_sink(L, i));
    auto** slot = new_slot<hostsync::TeeSink>(L, kTeeMeta);
    lua_createtable(L, n, 0);
    for (int i = 1; i <= n; ++i) {
        lua_pushvalue(L, i);
        lua_rawseti(L, -2, i);
    }
    lua_setfenv(L, -2);
    *slot = new hostsync::TeeSink(std::move(sinks));
    return 1;
}

int l_tee_ptr(lua_State* L) {
    lua_pushlightuserdata(L, static_cast<hostsync::ByteSink*>(check_slot<hostsync::TeeSink>(L, 1, kTeeMeta)));
    return 1;
}

int l_tee_gc(lua_State* L) { return gc_slot<hostsync::TeeSink>(L, kTeeMeta); }

// sink_write(sink, data) / sink_finish(sink): any sink, from Lua.
int l_sink_write(lua_State* L) {
    hostsync::ByteSink* s = check_sink(L, 1);
    auto data = hostsync::check_view(L, 2);
    std::string err;
    if (!s->write(data, err)) return push_fail(L, err);
    lua_settop(L, 1);
    return 1;
}

int l_sink_finish(lua_State* L) {
    hostsync::ByteSink* s = check_sink(L, 1);
    std::string err;
    if (!s->finish(err)) return push_fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

// --- writer ------------------------------------------------------------------

std::vector<std::string> check_string_list(lua_State* L, int idx, const char* what) {
    luaL_checktype(L, idx, LUA_TTABLE);
    std::vector<std::string> out;
    const int n = static_cast<int>(lua_objlen(L, idx));
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, idx, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            throw hostsync::UsageError(std::string("Usage: ") + what + "[" + std::to_string(i) + "] must be a string, got " +
                                       luaL_typename(L, -1));
        size_t len = 0;
        const char* s = lua_tolstring(L, -1, &len);
        out.emplace_back(s, len);
        lua_pop(L, 1);
    }
    return out;
}

void set_number(lua_State* L, const char* k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

// write(sink, root, paths, mtime_from_file, mtime, store_symlinks, finish, prefixes, progress)
int l_write(lua_State* L) {
    hostsync::ByteSink* sink = check_sink(L, 1);
    std::string root(hostsync::check_view(L, 2));
    std::vector<std::string> paths = check_string_list(L, 3, "paths");
    hostsync::tar::WriteOptions opts;
    opts.mtime_from_file = lua_toboolean(L, 4) != 0;
    opts.mtime = static_cast<std::int64_t>(luaL_optnumber(L, 5, 0));
    opts.store_symlinks = lua_toboolean(L, 6) != 0;
    opts.finish = lua_toboolean(L, 7) != 0;
    std::string err;
    if (lua_istable(L, 8)) {  // prefixes: {relpath = bytes}, checked by bindings/tar.lua
        lua_pushnil(L);
        while (lua_next(L, 8) != 0) {
            std::vector<std::string> key;
            if (!hostsync::tar::normalize_paths({std::string(hostsync::check_view(L, -2))}, key, err))
                return push_fail(L, err);
            opts.prefixes[key[0]] = static_cast<std::uint64_t>(lua_tonumber(L, -1));
            lua_pop(L, 1);
        }
    }
    if (lua_isfunction(L, 9)) {  // progress(entries, data_bytes), called in protected mode
        opts.progress = [L](std::uint64_t entries, std::uint64_t bytes, std::string& perr) {
            lua_pushvalue(L, 9);
            lua_pushnumber(L, static_cast<lua_Number>(entries));
            lua_pushnumber(L, static_cast<lua_Number>(bytes));
            if (!hostsync::pcall_traceback_message(L, 2, 0, perr)) {
                perr = "tar: progress function raised: " + perr;
                return false;
            }
            return true;
        };
    }
    hostsync::tar::WriteResult res;
    if (!hostsync::tar::write(*sink, root, paths, opts, res, err)) return push_fail(L, err);
    lua_createtable(L, 0, 3);
    set_number(L, "entries", static_cast<double>(res.entries));
    set_number(L, "data_bytes", static_cast<double>(res.data_bytes));
    set_number(L, "bytes", static_cast<double>(res.archive_bytes));
    return 1;
}

int l_collect(lua_State* L) {
    std::string root(hostsync::check_view(L, 1));
    std::vector<std::string> out;
    std::string err;
    if (!hostsync::tar::collect(root, lua_toboolean(L, 2) != 0, out, err)) return push_fail(L, err);
    lua_createtable(L, static_cast<int>(out.size()), 0);
    for (std::size_t i = 0; i < out.size(); ++i) {
        lua_pushlstring(L, out[i].data(), out[i].size());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    return 1;
}

// --- sources -----------------------------------------------------------------

// A Lua function returning the next chunk (a string), or nil at the end, or nil, err.
// Called in protected mode (pcall_traceback) from inside libarchive's read callback, so a Lua error never
// unwinds through libarchive's C frames.
class LuaFunctionSource final : public hostsync::ByteSource {
public:
    LuaFunctionSource(lua_State* L, int idx) : L_(L), idx_(idx) {}
    ssize_t read(char* buf, std::size_t n, std::string& err) override {
        while (pos_ >= chunk_.size()) {
            if (ended_) return 0;
            lua_pushvalue(L_, idx_);
            if (!hostsync::pcall_traceback_message(L_, 0, 2, err)) {
                err = "source function raised: " + err;
                return -1;
            }
            if (lua_isnil(L_, -2)) {
                if (lua_type(L_, -1) == LUA_TSTRING) {
                    err = lua_tostring(L_, -1);
                    lua_pop(L_, 2);
                    return -1;
                }
                lua_pop(L_, 2);
                ended_ = true;
                return 0;
            }
            if (lua_type(L_, -2) != LUA_TSTRING) {
                err = std::string("source function returned a ") + luaL_typename(L_, -2) + ", expected a string or nil";
                lua_pop(L_, 2);
                return -1;
            }
            size_t len = 0;
            const char* s = lua_tolstring(L_, -2, &len);
            chunk_.assign(s, len);
            pos_ = 0;
            lua_pop(L_, 2);
        }
        std::size_t k = std::min(n, chunk_.size() - pos_);
        std::memcpy(buf, chunk_.data() + pos_, k);
        pos_ += k;
        return static_cast<ssize_t>(k);
    }

private:
    lua_State* L_;
    int idx_;
    std::string chunk_;
    std::size_t pos_ = 0;
    bool ended_ = false;
};

// The source at idx: a path, a function or a userdata speaking __hostsync_source. Holds
// whatever it opened.
struct SourceArg {
    hostsync::fs::Fd fd;
    std::unique_ptr<hostsync::ByteSource> owned;
    hostsync::ByteSource* src = nullptr;
    std::string name;
    std::string err;
};

bool open_source(lua_State* L, int idx, SourceArg& s) {
    switch (lua_type(L, idx)) {
        case LUA_TSTRING: {
            s.name = lua_tostring(L, idx);
            s.fd.reset(hostsync::fs::open_cloexec(s.name, O_RDONLY));
            if (!s.fd) return (s.err = hostsync::fs::sys_error("open", s.name, errno), false);
            s.owned.reset(new hostsync::FdSource(s.fd.get(), s.name));
            s.src = s.owned.get();
            return true;
        }
        case LUA_TFUNCTION:
            s.name = "<source function>";
            s.owned.reset(new LuaFunctionSource(L, idx));
            s.src = s.owned.get();
            return true;
        default:
            s.src = hostsync::to_byte_source(L, idx);
            if (s.src == nullptr)
                throw hostsync::UsageError(std::string("Usage: the archive must be a path, a function or a byte source, got ") +
                                           luaL_typename(L, idx));
            s.name = "<byte source>";
            return true;
    }
}

hostsync::tar::Limits get_limits(lua_State* L, int idx) {
    hostsync::tar::Limits lim;
    if (!lua_isnoneornil(L, idx)) lim.max_entries = static_cast<std::uint64_t>(luaL_checknumber(L, idx));
    if (!lua_isnoneornil(L, idx + 1)) lim.max_bytes = static_cast<std::uint64_t>(luaL_checknumber(L, idx + 1));
    return lim;
}

void set_string(lua_State* L, const char* k, const std::string& v) {
    lua_pushlstring(L, v.data(), v.size());
    lua_setfield(L, -2, k);
}

// list(source, max_entries, max_bytes)
int l_list(lua_State* L) {
    SourceArg s;
    if (!open_source(L, 1, s)) return push_fail(L, s.err);
    std::vector<hostsync::tar::EntryInfo> entries;
    std::string err;
    if (!hostsync::tar::list(*s.src, s.name, get_limits(L, 2), entries, err)) return push_fail(L, err);
    lua_createtable(L, static_cast<int>(entries.size()), 0);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        lua_createtable(L, 0, 10);
        set_string(L, "path", e.path);
        lua_pushstring(L, e.type);
        lua_setfield(L, -2, "type");
        set_number(L, "size", static_cast<double>(e.size));
        set_number(L, "mode", e.mode);
        set_number(L, "mtime", static_cast<double>(e.mtime));
        set_number(L, "uid", static_cast<double>(e.uid));
        set_number(L, "gid", static_cast<double>(e.gid));
        set_string(L, "uname", e.uname);
        set_string(L, "gname", e.gname);
        if (!e.link.empty()) set_string(L, "link", e.link);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    return 1;
}

// extract(source, dest, max_entries, max_bytes, durable)
int l_extract(lua_State* L) {
    std::string dest(hostsync::check_view(L, 2));
    hostsync::tar::ExtractOptions opts;
    opts.limits = get_limits(L, 3);
    opts.durable = lua_isnoneornil(L, 5) || lua_toboolean(L, 5) != 0;
    SourceArg s;
    if (!open_source(L, 1, s)) return push_fail(L, s.err);
    hostsync::tar::ExtractResult res;
    std::string err;
    if (!hostsync::tar::extract(*s.src, s.name, dest, opts, res, err)) return push_fail(L, err);
    lua_createtable(L, 0, 2);
    set_number(L, "entries", static_cast<double>(res.entries));
    set_number(L, "bytes", static_cast<double>(res.bytes));
    return 1;
}

}  // namespace

int hostsync_raw_tar(lua_State* L) {
    const luaL_Reg fns[] = {
        {"write", guarded<l_write>},
        {"collect", guarded<l_collect>},
        {"list", guarded<l_list>},
        {"extract", guarded<l_extract>},
        {"hash_sink", guarded<l_hash_sink>},
        {"hash_hex", guarded<l_hash_hex>},
        {"hash_bytes", guarded<l_hash_bytes>},
        {"tee", guarded<l_tee>},
        {"sink_write", guarded<l_sink_write>},
        {"sink_finish", guarded<l_sink_finish>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    // raw.<kind>_mt = the metatable; tar.lua sets __index.
    hostsync::lua_object::new_meta(L, kHashSinkMeta, guarded<l_hash_gc>, {{hostsync::kSinkMetafield, guarded<l_hash_sink_ptr>}});
    lua_setfield(L, -2, "hash_sink_mt");
    hostsync::lua_object::new_meta(L, kTeeMeta, guarded<l_tee_gc>, {{hostsync::kSinkMetafield, guarded<l_tee_ptr>}});
    lua_setfield(L, -2, "tee_mt");
    return 1;
}
