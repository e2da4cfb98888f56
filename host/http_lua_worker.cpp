#include "http_lua_worker.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "lua_guard.hpp"
#include "lua_object.hpp"
#include "lua_runtime.hpp"
#include "search_paths.hpp"
#include "sse.hpp"

namespace hostsync::http {
namespace {

// The stream a send/wait closure talks to: its upvalue is a borrowed slot (lua_object.hpp)
// nulled when the stream ends, so a send kept by Lua code past its stream returns false
// instead of touching a dead connection.
Stream* stream_of(lua_State* L) { return *static_cast<Stream**>(lua_touserdata(L, lua_upvalueindex(1))); }

// raw_send(id, event, data, retry) -> bool
int l_send(lua_State* L) {
    Stream* stream = stream_of(L);
    if (stream == nullptr) {
        lua_pushboolean(L, 0);
        return 1;
    }
    std::string frame = sse::format_event(luaL_optstring(L, 1, ""), luaL_optstring(L, 2, ""),
                                          check_view(L, 3), static_cast<long>(luaL_optnumber(L, 4, -1)));
    lua_pushboolean(L, stream->write(frame));
    return 1;
}

// raw_wait(seconds) -> bool (false: the server is stopping)
int l_wait(lua_State* L) {
    Stream* stream = stream_of(L);
    double s = luaL_checknumber(L, 1);
    lua_pushboolean(L, stream != nullptr && stream->wait(s));
    return 1;
}

// The background task's wait(seconds) -> bool (false: the server is stopping).
int l_background_wait(lua_State* L) {
    auto* life = static_cast<Waiter*>(lua_touserdata(L, lua_upvalueindex(1)));
    double s = luaL_checknumber(L, 1);
    if (s < 0) luaL_argerror(L, 1, "seconds must be >= 0");
    lua_pushboolean(L, life->wait(s));
    return 1;
}

std::string string_field(lua_State* L, int idx, const char* name) {
    lua_getfield(L, idx, name);
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    std::string out = s != nullptr ? std::string(s, n) : std::string();
    lua_pop(L, 1);
    return out;
}

std::int64_t id_field(lua_State* L, int idx, const char* name) {
    lua_getfield(L, idx, name);
    auto v = static_cast<std::int64_t>(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return v;
}

// {name = "value", ...} at `idx` -> pairs (sorted, so filters and frames do not depend on
// table order).
events::Attrs attrs_from_lua(lua_State* L, int idx) {
    events::Attrs out;
    if (!lua_istable(L, idx)) return out;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) out.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    std::sort(out.begin(), out.end());
    return out;
}

class LuaWorker : public Worker {
public:
    LuaWorker(const LuaAppSpec& spec, int index) : rt_(SearchPaths::discover()), index_(index) {
        lua_State* L = rt_.state();
        lua_getglobal(L, "package");
        if (!spec.package_path.empty()) {
            lua_pushstring(L, spec.package_path.c_str());
            lua_setfield(L, -2, "path");
        }
        if (!spec.package_cpath.empty()) {
            lua_pushstring(L, spec.package_cpath.c_str());
            lua_setfield(L, -2, "cpath");
        }
        lua_pop(L, 1);
        if (!spec.script.empty()) rt_.add_module_dir(dirname_of(spec.script));
        spec_ = spec;
    }

    bool load(std::string& error) {
        lua_State* L = rt_.state();
        lua_getglobal(L, "require");
        lua_pushstring(L, "hostsync.http");
        if (!pcall_traceback_message(rt_.state(), 1, 1, error)) return fail();
        lua_getfield(L, -1, "_run_stream");
        run_stream_ = luaL_ref(L, LUA_REGISTRYINDEX);
        lua_getfield(L, -1, "_worker");
        lua_remove(L, -2);
        lua_createtable(L, 0, 4);
        auto set = [L](const char* k, const std::string& v) {
            if (v.empty()) return;
            lua_pushlstring(L, v.data(), v.size());
            lua_setfield(L, -2, k);
        };
        set("script", spec_.script);
        set("module", spec_.module);
        set("config", spec_.config_json);
        lua_pushinteger(L, index_ + 1);
        lua_setfield(L, -2, "worker");
        // -> dispatch(req), admit(req) | nil, background(wait) | nil
        if (!pcall_traceback_message(rt_.state(), 1, 3, error)) return fail();
        background_ = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
        admit_ = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
        dispatch_ = luaL_ref(L, LUA_REGISTRYINDEX);
        return true;
    }

    Background run_background(Waiter& life) override {
        if (background_ == LUA_NOREF) return Background::none;
        lua_State* L = rt_.state();
        int top = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, background_);
        lua_pushlightuserdata(L, &life);
        lua_pushcclosure(L, guarded<l_background_wait>, 1);
        std::string error;
        bool ok = pcall_traceback_message(rt_.state(), 1, 0, error);
        lua_settop(L, top);
        if (ok) return Background::done;
        std::fprintf(stderr, "hostsync http: background task: %s\n", error.c_str());
        return Background::failed;
    }

    // The app's admit(req) on the head; the same req table, body added, goes to handle(),
    // so what admit learnt (who is asking) reaches the handler without a second lookup.
    bool admit(const ServerRequest& head, ServerResponse& res) override {
        lua_State* L = rt_.state();
        drop_pending();
        if (admit_ == LUA_NOREF) return true;
        int top = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, admit_);
        push_request(L, head, false);
        lua_pushvalue(L, -1);
        pending_ = luaL_ref(L, LUA_REGISTRYINDEX);
        if (!call(L, top, head, 1, res)) {
            drop_pending();
            return false;
        }
        if (lua_isnil(L, top + 1)) {
            lua_settop(L, top);
            return true;
        }
        read_response(L, top, head, res);
        drop_pending();
        return false;
    }

    void handle(const ServerRequest& req, ServerResponse& res) override {
        lua_State* L = rt_.state();
        int top = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, dispatch_);
        if (pending_ != LUA_NOREF) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, pending_);
            lua_pushlstring(L, req.body.data(), req.body.size());
            lua_setfield(L, -2, "body");
            drop_pending();
        } else {
            push_request(L, req, true);
        }
        if (call(L, top, req, 1, res)) read_response(L, top, req, res);
    }

    ~LuaWorker() override = default;

private:
    // Calls the function below `nargs` arguments on the stack with a message handler ->
    // true with 3 results at top+1..top+3; false with a 500 in `res` (the error goes to
    // stderr; the client learns that it failed, never how: tracebacks name files and lines).
    bool call(lua_State* L, int top, const ServerRequest& req, int nargs, ServerResponse& res) {
        std::string error;
        if (pcall_traceback_message(rt_.state(), nargs, 3, error)) return true;
        std::fprintf(stderr, "hostsync http: %s %s: %s\n", req.method.c_str(), req.path.c_str(), error.c_str());
        lua_settop(L, top);
        res.status = 500;
        res.headers = {{"Content-Type", "application/json"}};
        res.body = R"({"error":"internal server error"})";
        return false;
    }

    // status, headers, body|stream function at top+1..top+3 -> res; pops them.
    void read_response(lua_State* L, int top, const ServerRequest& req, ServerResponse& res) {
        res.status = static_cast<int>(lua_tointeger(L, top + 1));
        if (lua_istable(L, top + 2)) {
            lua_pushnil(L);
            while (lua_next(L, top + 2) != 0) {
                if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1))
                    res.headers.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
                lua_pop(L, 1);
            }
        }
        if (lua_isfunction(L, top + 3)) {
            lua_pushvalue(L, top + 3);
            auto fn = std::make_shared<Ref>(L, luaL_ref(L, LUA_REGISTRYINDEX));
            res.stream = [this, fn, what = req.method + " " + req.path](Stream& s) { run_stream(fn->ref, s, what); };
        } else if (lua_istable(L, top + 3)) {
            res.subscription = subscription_from_lua(L, top + 3);
        } else {
            size_t n = 0;
            const char* body = lua_tolstring(L, top + 3, &n);
            if (body != nullptr) res.body.assign(body, n);
        }
        lua_settop(L, top);
    }

    // The admitted request's table waits for its body; a request whose body could not be
    // read never reaches handle(), and the next admit drops its table.
    void drop_pending() {
        if (pending_ == LUA_NOREF) return;
        luaL_unref(rt_.state(), LUA_REGISTRYINDEX, pending_);
        pending_ = LUA_NOREF;
    }

    // A registry reference released on the owning thread when the last copy goes.
    struct Ref {
        lua_State* L;
        int ref;
        Ref(lua_State* l, int r) : L(l), ref(r) {}
        ~Ref() { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
    };

    bool fail() {
        lua_settop(rt_.state(), 0);
        return false;
    }

    void run_stream(int fn_ref, Stream& s, const std::string& what) {
        lua_State* L = rt_.state();
        int top = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, run_stream_);
        lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
        Stream** box = lua_object::new_borrowed(L, &s);
        int box_idx = lua_gettop(L);
        lua_pushvalue(L, box_idx);
        lua_pushcclosure(L, guarded<l_send>, 1);
        lua_pushvalue(L, box_idx);
        lua_pushcclosure(L, guarded<l_wait>, 1);
        lua_remove(L, box_idx);
        std::string error;
        if (!pcall_traceback_message(rt_.state(), 3, 0, error)) {
            std::fprintf(stderr, "hostsync http: %s (stream): %s\n", what.c_str(), error.c_str());
        }
        *box = nullptr;
        lua_settop(L, top);
    }

    void push_request(lua_State* L, const ServerRequest& req, bool with_body) {
        auto setstr = [L](const char* k, const std::string& v) {
            lua_pushlstring(L, v.data(), v.size());
            lua_setfield(L, -2, k);
        };
        lua_createtable(L, 0, 8);
        setstr("method", req.method);
        setstr("path", req.path);
        if (with_body) setstr("body", req.body);
        setstr("remote_addr", req.remote_addr);
        lua_pushinteger(L, index_ + 1);
        lua_setfield(L, -2, "worker");
        // Repeated query keys and headers: the first query value wins; header values are
        // joined with ", " as RFC 9110 allows for list-valued fields.
        lua_createtable(L, 0, static_cast<int>(req.query.size()));
        for (const auto& [k, v] : req.query) {
            lua_getfield(L, -1, k.c_str());
            bool seen = !lua_isnil(L, -1);
            lua_pop(L, 1);
            if (seen) continue;
            lua_pushlstring(L, v.data(), v.size());
            lua_setfield(L, -2, k.c_str());
        }
        lua_setfield(L, -2, "query");
        push_header_table(L, req.headers);
        lua_setfield(L, -2, "headers");
    }

    LuaRuntime rt_;
    int index_;
    LuaAppSpec spec_;
    int dispatch_ = LUA_NOREF;
    int admit_ = LUA_NOREF;
    int pending_ = LUA_NOREF;
    int run_stream_ = LUA_NOREF;
    int background_ = LUA_NOREF;
};

}  // namespace

void push_header_table(lua_State* L, const HeaderList& headers) {
    lua_createtable(L, 0, static_cast<int>(headers.size()));
    for (const auto& [k, v] : headers) {
        std::string name = k;
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        lua_getfield(L, -1, name.c_str());
        if (lua_isstring(L, -1)) {
            lua_pushstring(L, ", ");
            lua_pushlstring(L, v.data(), v.size());
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushlstring(L, v.data(), v.size());
        }
        lua_setfield(L, -2, name.c_str());
    }
}

events::Event event_from_lua(lua_State* L, int idx) {
    lua_getfield(L, idx, "attrs");
    events::Attrs attrs = attrs_from_lua(L, lua_gettop(L));
    lua_pop(L, 1);
    return events::make_event(id_field(L, idx, "id"), string_field(L, idx, "event"), string_field(L, idx, "data"),
                              std::move(attrs));
}

events::Subscription subscription_from_lua(lua_State* L, int idx) {
    events::Subscription sub;
    sub.topic = string_field(L, idx, "topic");
    sub.after = id_field(L, idx, "after");
    lua_getfield(L, idx, "notices");
    int notices = lua_gettop(L);
    for (int i = 1; lua_istable(L, notices); ++i) {
        lua_rawgeti(L, notices, i);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        int n = lua_gettop(L);
        sub.notices.push_back(std::make_shared<const std::string>(
            sse::format_event("", string_field(L, n, "event"), string_field(L, n, "data"))));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "replay");
    int replay = lua_gettop(L);
    for (int i = 1; lua_istable(L, replay); ++i) {
        lua_rawgeti(L, replay, i);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        sub.replay.push_back(event_from_lua(L, lua_gettop(L)));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "filter");
    int filter = lua_gettop(L);
    if (lua_istable(L, filter)) {
        lua_pushnil(L);
        while (lua_next(L, filter) != 0) {
            std::vector<std::string> values;
            for (int i = 1;; ++i) {
                lua_rawgeti(L, -1, i);
                if (!lua_isstring(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                values.emplace_back(lua_tostring(L, -1));
                lua_pop(L, 1);
            }
            sub.filter.rules.emplace_back(lua_tostring(L, -2), std::move(values));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "labels");
    sub.labels = attrs_from_lua(L, lua_gettop(L));
    lua_pop(L, 1);
    return sub;
}

std::unique_ptr<Worker> make_lua_worker(const LuaAppSpec& spec, int index, std::string& error) {
    auto w = std::make_unique<LuaWorker>(spec, index);
    if (!w->load(error)) return nullptr;
    return w;
}

}  // namespace hostsync::http
