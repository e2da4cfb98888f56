// Raw table of hostsync.http: the client request, the SSE connection and the server entry,
// over host/http_client and host/http_server. Argument checks and defaults are in http.lua.
#include <lua.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "host/event_hub.hpp"
#include "host/http_client.hpp"
#include "host/http_lua_worker.hpp"
#include "host/http_server.hpp"
#include "host/http_url.hpp"
#include "host/lua_guard.hpp"
#include "host/lua_runtime.hpp"
#include "host/sse.hpp"

namespace {

using hostsync::guarded;
namespace http = hostsync::http;

http::HeaderList headers_from(lua_State* L, int idx) {
    http::HeaderList out;
    if (!lua_istable(L, idx)) return out;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        out.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return out;
}

http::ClientOptions client_options(lua_State* L, int idx) {
    http::ClientOptions o;
    o.timeout = luaL_checknumber(L, idx);
    o.retries = static_cast<int>(luaL_checkinteger(L, idx + 1));
    o.backoff = luaL_checknumber(L, idx + 2);
    o.ca_file = luaL_optstring(L, idx + 3, "");
    o.verify = lua_toboolean(L, idx + 4) != 0;
    o.replay_safe = lua_toboolean(L, idx + 5) != 0;
    return o;
}

// (method, url, headers, body, timeout, retries, backoff, ca_file|nil, verify, idempotent)
//   -> status, headers, body, attempts | nil, err
int l_request(lua_State* L) {
    http::ClientRequest req;
    req.method = luaL_checkstring(L, 1);
    req.url = luaL_checkstring(L, 2);
    req.headers = headers_from(L, 3);
    if (!lua_isnil(L, 4)) req.body = std::string(hostsync::check_view(L, 4));
    http::ClientOptions opts = client_options(L, 5);
    http::ClientResponse res;
    std::string err;
    if (!http::request(std::move(req), opts, res, err)) return hostsync::push_fail(L, err);
    lua_pushinteger(L, res.status);
    http::push_header_table(L, res.headers);
    lua_pushlstring(L, res.body.data(), res.body.size());
    lua_pushinteger(L, res.attempts);
    return 4;
}

// (url, headers, timeout, ca_file|nil, verify, on_event(id, event, data) -> keep_going)
//   -> "ended"|"stopped", last_id, retry_ms|nil        the server closed / on_event said stop
//    | nil, err, last_id, retry_ms|nil, fatal          connection failed or bad response
//    | false, callback_error                           on_event raised (re-raised by Lua)
int l_sse_connect(lua_State* L) {
    std::string url = luaL_checkstring(L, 1);
    http::HeaderList headers = headers_from(L, 2);
    http::ClientOptions opts;
    opts.timeout = luaL_checknumber(L, 3);
    opts.ca_file = luaL_optstring(L, 4, "");
    opts.verify = lua_toboolean(L, 5) != 0;
    luaL_checktype(L, 6, LUA_TFUNCTION);
    std::string last_id = luaL_optstring(L, 7, "");

    std::string callback_error, head_error;
    bool by_callback = false, fatal = false;
    hostsync::sse::Parser parser([&](const hostsync::sse::Event& ev) {
        // on_event runs inside httplib's read loop: a protected call keeps any Lua error
        // from unwinding through C++ frames that do not expect it, and the traceback says
        // where in the callback it failed.
        lua_pushvalue(L, 6);
        lua_pushlstring(L, ev.id.data(), ev.id.size());
        lua_pushlstring(L, ev.event.data(), ev.event.size());
        lua_pushlstring(L, ev.data.data(), ev.data.size());
        if (!hostsync::pcall_traceback_message(L, 3, 1, callback_error)) return false;
        bool keep = !(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
        lua_pop(L, 1);
        if (!keep) by_callback = true;
        return keep;
    });
    parser.set_last_event_id(last_id);

    http::StreamHandlers h;
    h.on_head = [&](int status, const http::HeaderList& hl) {
        if (status != 200) {
            head_error = "GET " + url + ": status " + std::to_string(status);
            // 204 means "stop reconnecting" (spec); other 4xx will not get better either.
            fatal = status == 204 || (status >= 400 && status < 500 && status != 429);
            return false;
        }
        for (const auto& [k, v] : hl) {
            if (strcasecmp(k.c_str(), "content-type") == 0 && v.rfind("text/event-stream", 0) != 0) {
                head_error = "GET " + url + ": not an event stream (Content-Type " + v + ")";
                fatal = true;
                return false;
            }
        }
        return true;
    };
    h.on_chunk = [&](const char* data, std::size_t n) { return parser.feed({data, n}); };

    bool stopped = false;
    std::string err;
    bool ok = http::stream_get(url, headers, opts, h, stopped, err);
    if (!callback_error.empty()) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, callback_error.c_str());
        return 2;
    }
    auto push_retry = [&] {
        if (parser.retry_ms()) lua_pushinteger(L, *parser.retry_ms());
        else lua_pushnil(L);
    };
    if (!head_error.empty() || !ok) {
        lua_pushnil(L);
        lua_pushstring(L, head_error.empty() ? err.c_str() : head_error.c_str());
        lua_pushstring(L, parser.last_event_id().c_str());
        push_retry();
        lua_pushboolean(L, fatal);
        return 5;
    }
    lua_pushstring(L, by_callback ? "stopped" : "ended");
    lua_pushstring(L, parser.last_event_id().c_str());
    push_retry();
    return 3;
}

std::string field(lua_State* L, int idx, const char* name) {
    lua_getfield(L, idx, name);
    std::string v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
    lua_pop(L, 1);
    return v;
}

double number(lua_State* L, int idx, const char* name, double dflt) {
    lua_getfield(L, idx, name);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

// ({address, port, threads, max_body, read_timeout, idle_timeout, grace, tls_cert, tls_key,
//   script, module, config}) -> true | nil, err. Blocks until SIGTERM/SIGINT. config: JSON text.
int l_serve(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    http::ServerOptions o;
    o.address = field(L, 1, "address");
    o.port = static_cast<int>(number(L, 1, "port", 0));
    o.threads = static_cast<int>(number(L, 1, "threads", 8));
    o.max_body = static_cast<std::size_t>(number(L, 1, "max_body", 1 << 20));
    o.read_timeout = number(L, 1, "read_timeout", 10);
    o.idle_timeout = number(L, 1, "idle_timeout", 60);
    o.grace = number(L, 1, "grace", 10);
    o.tls_cert = field(L, 1, "tls_cert");
    o.tls_key = field(L, 1, "tls_key");
    http::LuaAppSpec spec;
    spec.script = field(L, 1, "script");
    spec.module = field(L, 1, "module");
    spec.config_json = field(L, 1, "config");
    lua_getglobal(L, "package");
    spec.package_path = field(L, lua_gettop(L), "path");
    spec.package_cpath = field(L, lua_gettop(L), "cpath");
    lua_pop(L, 1);
    std::string err;
    bool ok = http::serve(
        o, [&](int i, std::string& e) { return http::make_lua_worker(spec, i, e); }, err);
    if (!ok) return hostsync::push_fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

// (topic, from, {event...}) -> how many were new (arguments checked by http.lua)
int l_publish(lua_State* L) {
    std::string topic = luaL_checkstring(L, 1);
    auto from = static_cast<std::int64_t>(luaL_checknumber(L, 2));
    luaL_checktype(L, 3, LUA_TTABLE);
    std::vector<hostsync::events::Event> list;
    for (int i = 1;; ++i) {
        lua_rawgeti(L, 3, i);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        list.push_back(http::event_from_lua(L, lua_gettop(L)));
        lua_pop(L, 1);
    }
    lua_pushinteger(L, static_cast<lua_Integer>(hostsync::events::Hub::instance().publish(topic, from, std::move(list))));
    return 1;
}

// (topic) -> {floor=, last=, subscribers=, buffered=} | nil
int l_topic_info(lua_State* L) {
    auto info = hostsync::events::Hub::instance().info(luaL_checkstring(L, 1));
    if (!info) return 0;
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, static_cast<lua_Number>(info->floor));
    lua_setfield(L, -2, "floor");
    lua_pushnumber(L, static_cast<lua_Number>(info->last));
    lua_setfield(L, -2, "last");
    lua_pushinteger(L, static_cast<lua_Integer>(info->subscribers));
    lua_setfield(L, -2, "subscribers");
    lua_pushinteger(L, static_cast<lua_Integer>(info->buffered));
    lua_setfield(L, -2, "buffered");
    return 1;
}

// () -> {name...}
int l_topics(lua_State* L) {
    auto names = hostsync::events::Hub::instance().topics();
    lua_createtable(L, static_cast<int>(names.size()), 0);
    for (std::size_t i = 0; i < names.size(); ++i) {
        lua_pushlstring(L, names[i].data(), names[i].size());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    return 1;
}

// (url) -> {scheme=, host=, port=, target=} | nil, err: the client's own parser, so a
// caller that checks where a request goes (an allow-list) judges what request() would use.
int l_parse_url(lua_State* L) {
    size_t n = 0;
    const char* text = luaL_checklstring(L, 1, &n);
    std::string err;
    auto url = http::parse_url(std::string_view(text, n), err);
    if (!url) {
        lua_pushnil(L);
        lua_pushstring(L, err.c_str());
        return 2;
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, url->scheme.c_str());
    lua_setfield(L, -2, "scheme");
    lua_pushstring(L, url->host.c_str());
    lua_setfield(L, -2, "host");
    lua_pushinteger(L, url->port);
    lua_setfield(L, -2, "port");
    lua_pushstring(L, url->target.c_str());
    lua_setfield(L, -2, "target");
    return 1;
}

// (label) -> {value...} of the open streams
int l_stream_labels(lua_State* L) {
    auto values = hostsync::events::Hub::instance().label_values(luaL_checkstring(L, 1));
    lua_createtable(L, static_cast<int>(values.size()), 0);
    for (std::size_t i = 0; i < values.size(); ++i) {
        lua_pushlstring(L, values[i].data(), values[i].size());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    return 1;
}

// (label, value) -> how many streams were ended
int l_end_streams(lua_State* L) {
    lua_pushinteger(L, static_cast<lua_Integer>(
                           hostsync::events::Hub::instance().end_streams(luaL_checkstring(L, 1), luaL_checkstring(L, 2))));
    return 1;
}

}  // namespace

int hostsync_raw_http(lua_State* L) {
    const luaL_Reg fns[] = {
        {"request", guarded<l_request>},
        {"sse_connect", guarded<l_sse_connect>},
        {"serve", guarded<l_serve>},
        {"publish", guarded<l_publish>},
        {"topic_info", guarded<l_topic_info>},
        {"topics", guarded<l_topics>},
        {"parse_url", guarded<l_parse_url>},
        {"end_streams", guarded<l_end_streams>},
        {"stream_labels", guarded<l_stream_labels>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    return 1;
}
