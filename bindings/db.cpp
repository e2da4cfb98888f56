// Raw table of hostsync.db: thin lua_CFunctions over host/db.hpp. Argument checks,
// transactions, migrations and LISTEN/NOTIFY helpers are in db.lua.
#include <lua.hpp>

#include <cmath>

#include "host/db.hpp"
#include "host/lua_guard.hpp"
#include "host/lua_object.hpp"

namespace {

using hostsync::guarded;
namespace db = hostsync::db;
namespace lo = hostsync::lua_object;

const char kConnMeta[] = "hostsync.db.connection";
const char kStmtMeta[] = "hostsync.db.statement";
const char kBlobMeta[] = "hostsync.db.blob";
const char kNullKey[] = "hostsync.db.null";

// Userdata hold pointers (host/lua_object.hpp) so a failed open never leaves a half-built
// object for __gc.
db::Connection* check_conn(lua_State* L, int idx) {
    auto* slot = lo::slot_of<db::Connection>(L, idx, kConnMeta);
    if (*slot == nullptr) throw hostsync::UsageError("Usage: database handle used after close()");
    return *slot;
}

db::Statement* check_stmt(lua_State* L, int idx) { return lo::check_slot<db::Statement>(L, idx, kStmtMeta); }

// nil, message, kind, code -- or raises for a caller's mistake.
int push_error(lua_State* L, const db::Error& err) {
    if (err.kind == "usage") throw hostsync::UsageError(err.message);
    lua_pushnil(L);
    lua_pushlstring(L, err.message.data(), err.message.size());
    lua_pushlstring(L, err.kind.data(), err.kind.size());
    lua_pushlstring(L, err.code.data(), err.code.size());
    return 4;
}

void push_null(lua_State* L) { lua_getfield(L, LUA_REGISTRYINDEX, kNullKey); }

bool is_null(lua_State* L, int idx) {
    if (idx < 0) idx = lua_gettop(L) + idx + 1;  // before pushing shifts the relative index
    push_null(L);
    bool same = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return same;
}

// The parameters: a table and its length n (nil holes are NULLs).
std::vector<db::Value> read_params(lua_State* L, int table, int n) {
    std::vector<db::Value> out;
    out.reserve(n);
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, table, i);
        int t = lua_type(L, -1);
        if (t == LUA_TNIL || is_null(L, -1)) {
            out.emplace_back(db::Null{});
        } else if (t == LUA_TBOOLEAN) {
            out.emplace_back(static_cast<std::int64_t>(lua_toboolean(L, -1) ? 1 : 0));
        } else if (t == LUA_TNUMBER) {
            double d = lua_tonumber(L, -1);
            // Integral values bind as integers (so 42 is INTEGER, not REAL, in SQLite).
            if (std::floor(d) == d && std::fabs(d) < 9.2e18) out.emplace_back(static_cast<std::int64_t>(d));
            else out.emplace_back(d);
        } else if (t == LUA_TSTRING) {
            size_t len = 0;
            const char* s = lua_tolstring(L, -1, &len);
            out.emplace_back(std::string(s, len));
        } else if (t == LUA_TTABLE) {
            bool blob = false;
            if (lua_getmetatable(L, -1)) {
                luaL_getmetatable(L, kBlobMeta);
                blob = lua_rawequal(L, -1, -2);
                lua_pop(L, 2);
            }
            if (!blob) throw hostsync::UsageError("Usage: parameter " + std::to_string(i) + " is a table (only db.blob() tables bind)");
            lua_getfield(L, -1, "bytes");
            size_t len = 0;
            const char* s = lua_tolstring(L, -1, &len);
            out.emplace_back(db::Blob{std::string(s ? s : "", len)});
            lua_pop(L, 1);
        } else {
            throw hostsync::UsageError(std::string("Usage: parameter ") + std::to_string(i) + " has unsupported type " + lua_typename(L, t));
        }
        lua_pop(L, 1);
    }
    return out;
}

void push_value(lua_State* L, const db::Value& v) {
    if (std::holds_alternative<db::Null>(v)) push_null(L);
    else if (auto* b = std::get_if<bool>(&v)) lua_pushboolean(L, *b);
    else if (auto* k = std::get_if<std::int64_t>(&v)) {
        // Beyond 2^53 a double would round: hand out the exact digits instead.
        if (*k > (1LL << 53) || *k < -(1LL << 53)) {
            std::string s = std::to_string(*k);
            lua_pushlstring(L, s.data(), s.size());
        } else {
            lua_pushnumber(L, static_cast<lua_Number>(*k));
        }
    } else if (auto* d = std::get_if<double>(&v)) lua_pushnumber(L, *d);
    else if (auto* s = std::get_if<std::string>(&v)) lua_pushlstring(L, s->data(), s->size());
    else if (auto* bl = std::get_if<db::Blob>(&v)) lua_pushlstring(L, bl->bytes.data(), bl->bytes.size());
    else if (auto* bi = std::get_if<db::BigInt>(&v)) lua_pushlstring(L, bi->digits.data(), bi->digits.size());
}

// rows (array of {column = value}), columns (array of names in order)
int push_rows(lua_State* L, const db::Result& r) {
    lua_createtable(L, static_cast<int>(r.rows.size()), 0);
    for (size_t i = 0; i < r.rows.size(); ++i) {
        lua_createtable(L, 0, static_cast<int>(r.columns.size()));
        for (size_t c = 0; c < r.columns.size(); ++c) {
            push_value(L, r.rows[i][c]);
            lua_setfield(L, -2, r.columns[c].c_str());
        }
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    lua_createtable(L, static_cast<int>(r.columns.size()), 0);
    for (size_t c = 0; c < r.columns.size(); ++c) {
        lua_pushlstring(L, r.columns[c].data(), r.columns[c].size());
        lua_rawseti(L, -2, static_cast<int>(c + 1));
    }
    return 2;
}

// (url, busy_timeout_ms, group_commit, read_only) -> connection | nil, err, kind, code
int l_open(lua_State* L) {
    std::string url(hostsync::check_view(L, 1));
    db::OpenOptions opts;
    opts.busy_timeout_ms = static_cast<int>(luaL_optnumber(L, 2, opts.busy_timeout_ms));
    opts.group_commit = lua_toboolean(L, 3);
    opts.read_only = lua_toboolean(L, 4);
    auto** slot = lo::new_slot<db::Connection>(L, kConnMeta);
    db::Error err;
    auto conn = db::open(url, opts, err);
    if (!conn) return push_error(L, err);
    *slot = conn.release();
    return 1;
}

// (conn, sql, params, n, want_rows)
int l_execute(lua_State* L) {
    db::Connection* c = check_conn(L, 1);
    std::string sql(hostsync::check_view(L, 2));
    auto params = read_params(L, 3, static_cast<int>(luaL_checkinteger(L, 4)));
    db::Result r;
    db::Error err;
    if (!c->execute(sql, params, r, err)) return push_error(L, err);
    if (lua_toboolean(L, 5)) return push_rows(L, r);
    lua_pushnumber(L, static_cast<lua_Number>(r.changes));
    return 1;
}

// (conn, sql) -> statement (its environment holds the connection, so the handle stays
// alive, and open, while a statement of it is reachable)
int l_prepare(lua_State* L) {
    db::Connection* c = check_conn(L, 1);
    std::string sql(hostsync::check_view(L, 2));
    auto** slot = lo::new_slot<db::Statement>(L, kStmtMeta);
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_setfenv(L, -2);
    db::Error err;
    auto st = c->prepare(sql, err);
    if (!st) return push_error(L, err);
    *slot = st.release();
    return 1;
}

// (stmt, params, n, want_rows)
int l_run(lua_State* L) {
    db::Statement* s = check_stmt(L, 1);
    auto params = read_params(L, 2, static_cast<int>(luaL_checkinteger(L, 3)));
    db::Result r;
    db::Error err;
    if (!s->run(params, r, err)) return push_error(L, err);
    if (lua_toboolean(L, 4)) return push_rows(L, r);
    lua_pushnumber(L, static_cast<lua_Number>(r.changes));
    return 1;
}

// (conn, timeout_s) -> {channel=, payload=, pid=} | nil (timeout) | nil, err, kind, code
int l_wait_notification(lua_State* L) {
    db::Connection* c = check_conn(L, 1);
    double timeout = luaL_checknumber(L, 2);
    std::optional<db::Notification> n;
    db::Error err;
    if (!c->wait_notification(timeout, n, err)) return push_error(L, err);
    if (!n) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 3);
    lua_pushlstring(L, n->channel.data(), n->channel.size());
    lua_setfield(L, -2, "channel");
    lua_pushlstring(L, n->payload.data(), n->payload.size());
    lua_setfield(L, -2, "payload");
    lua_pushinteger(L, n->pid);
    lua_setfield(L, -2, "pid");
    return 1;
}

// (conn, dest_path) -> true | nil, err, kind, code
int l_backup(lua_State* L) {
    db::Connection* c = check_conn(L, 1);
    std::string dest(hostsync::check_view(L, 2));
    db::Error err;
    if (!c->backup(dest, err)) return push_error(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

// (conn) -> whether its transactions go through tx_begin/tx_end (group commit)
int l_grouped(lua_State* L) {
    lua_pushboolean(L, check_conn(L, 1)->grouped());
    return 1;
}

// (conn) -> true | nil, err, kind, code: enters a grouped transaction
int l_tx_begin(lua_State* L) {
    db::Error err;
    if (!check_conn(L, 1)->begin_grouped(err)) return push_error(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

// (conn, commit) -> true once durable (or rolled back) | nil, err, kind, code
int l_tx_end(lua_State* L) {
    db::Error err;
    if (!check_conn(L, 1)->end_grouped(lua_toboolean(L, 2), err)) return push_error(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

// (conn) -> {queued=, batches=, transactions=, last_batch=} (zeros on a plain handle)
int l_group_stats(lua_State* L) {
    auto s = check_conn(L, 1)->group_stats();
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, s.queued);
    lua_setfield(L, -2, "queued");
    lua_pushnumber(L, static_cast<lua_Number>(s.batches));
    lua_setfield(L, -2, "batches");
    lua_pushnumber(L, static_cast<lua_Number>(s.transactions));
    lua_setfield(L, -2, "transactions");
    lua_pushnumber(L, static_cast<lua_Number>(s.last_batch));
    lua_setfield(L, -2, "last_batch");
    return 1;
}

// (conn) -> backend, display url, is_open; works on a closed handle too (for tostring).
int l_info(lua_State* L) {
    auto* slot = lo::slot_of<db::Connection>(L, 1, kConnMeta);
    if (*slot == nullptr) {
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushboolean(L, 0);
        return 3;
    }
    lua_pushstring(L, (*slot)->backend());
    lua_pushstring(L, (*slot)->display_url().c_str());
    lua_pushboolean(L, 1);
    return 3;
}

// The destructor closes and finalizes its statements.
int l_close(lua_State* L) { return lo::gc_slot<db::Connection>(L, kConnMeta); }

int l_stmt_gc(lua_State* L) { return lo::gc_slot<db::Statement>(L, kStmtMeta); }

int l_null_tostring(lua_State* L) {
    lua_pushliteral(L, "db.null");
    return 1;
}

}  // namespace

int hostsync_raw_db(lua_State* L) {
    lo::new_meta(L, kConnMeta, guarded<l_close>);
    lua_pop(L, 1);
    lo::new_meta(L, kStmtMeta, guarded<l_stmt_gc>);
    lua_pop(L, 1);
    luaL_newmetatable(L, kBlobMeta);
    lua_pop(L, 1);

    // db.null: one unique userdata, distinct from nil so that a row keeps its NULL
    // columns as keys.
    lo::new_token(L);
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, l_null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "hostsync.db.null");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, kNullKey);

    const luaL_Reg fns[] = {
        {"open", guarded<l_open>},
        {"execute", guarded<l_execute>},
        {"prepare", guarded<l_prepare>},
        {"run", guarded<l_run>},
        {"wait_notification", guarded<l_wait_notification>},
        {"info", guarded<l_info>},
        {"grouped", guarded<l_grouped>},
        {"tx_begin", guarded<l_tx_begin>},
        {"tx_end", guarded<l_tx_end>},
        {"group_stats", guarded<l_group_stats>},
        {"backup", guarded<l_backup>},
        {"close", guarded<l_close>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    luaL_getmetatable(L, kConnMeta);
    lua_setfield(L, -2, "connection_mt");
    luaL_getmetatable(L, kStmtMeta);
    lua_setfield(L, -2, "statement_mt");
    luaL_getmetatable(L, kBlobMeta);
    lua_setfield(L, -2, "blob_mt");
    push_null(L);
    lua_setfield(L, -2, "null");
    return 1;
}
