// hostsync.json, C half: decode (JSON text -> Lua values, straight onto the Lua stack),
// encode (Lua values -> JSON text, walking the tables in C++) and canonicalize (text ->
// RFC 8785 text). The Lua half (json.lua) checks arguments and builds the public API.
//
// The raw table's C functions share three upvalues: the array metatable, the object
// metatable and json.null. Upvalues, not globals, because every Lua state (one per
// server thread) has its own.
#include <lua.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "host/jcs_string.hpp"
#include "host/json_canonical.hpp"
#include "host/json_key_order.hpp"
#include "host/json_reader.hpp"
#include "host/json_writer.hpp"
#include "host/lua_guard.hpp"
#include "host/utf8.hpp"

namespace {

using namespace hostsync;

// json.null is a light userdata pointing here: unique, cheap to compare, never collected.
char null_sentinel;

constexpr int kArrayMt = lua_upvalueindex(1);
constexpr int kObjectMt = lua_upvalueindex(2);

// ---------------------------------------------------------------------------- decode

// Builds Lua values from reader events. Containers under construction sit on the Lua
// stack (a key above an object while its value is read); `frames_` says for each whether
// the next finished value is an array element or an object member.
class LuaBuilder : public json::Handler {
public:
    explicit LuaBuilder(lua_State* L) : L_(L) { frames_.reserve(16); }

    bool null_value() override {
        lua_pushlightuserdata(L_, &null_sentinel);
        return add();
    }
    bool bool_value(bool v) override {
        lua_pushboolean(L_, v);
        return add();
    }
    bool number_value(double v) override {
        lua_pushnumber(L_, v);
        return add();
    }
    bool string_value(std::string_view s) override {
        lua_pushlstring(L_, s.data(), s.size());
        return add();
    }
    bool begin_object() override {
        if (!room()) return false;
        lua_createtable(L_, 0, 4);
        frames_.push_back({false, 0});
        return true;
    }
    bool key(std::string_view k, std::size_t) override {
        lua_pushlstring(L_, k.data(), k.size());
        lua_pushvalue(L_, -1);
        lua_rawget(L_, -3);
        bool seen = !lua_isnil(L_, -1);  // values are never nil (null is json.null)
        lua_pop(L_, 1);
        if (seen) {
            error = "duplicate key ";
            jcs::append_string(error, k.size() > 60 ? k.substr(0, 60) : k);
            return false;
        }
        return true;
    }
    bool end_object() override {
        frames_.pop_back();
        return add();
    }
    bool begin_array() override {
        if (!room()) return false;
        lua_newtable(L_);
        lua_pushvalue(L_, kArrayMt);
        lua_setmetatable(L_, -2);
        frames_.push_back({true, 0});
        return true;
    }
    bool end_array() override {
        frames_.pop_back();
        return add();
    }

private:
    struct Frame {
        bool is_array;
        int count;
    };

    // A finished value is on top: store it in its container (or leave it, at the root).
    bool add() {
        if (frames_.empty()) return true;
        Frame& f = frames_.back();
        if (f.is_array) lua_rawseti(L_, -2, ++f.count);
        else lua_rawset(L_, -3);
        return true;
    }
    // Each open container holds at most a table and a key on the stack, plus a value and
    // a scratch slot for the one being read.
    bool room() {
        if (lua_checkstack(L_, 4)) return true;
        error = "document nested too deeply for the Lua stack";
        return false;
    }

    lua_State* L_;
    std::vector<Frame> frames_;
};

// raw.decode(text) -> value | nil, "line L column C: what"
int decode(lua_State* L) {
    std::string_view text = check_view(L, 1);
    int top = lua_gettop(L);
    LuaBuilder builder(L);
    json::ParseError err;
    if (!json::parse(text, builder, err)) {
        lua_settop(L, top);
        return push_fail(L, err.to_string());
    }
    return 1;
}

// raw.canonicalize(text) -> canonical text | nil, "line L column C: what"
int canonicalize(lua_State* L) {
    std::string_view text = check_view(L, 1);
    std::string out;
    json::ParseError err;
    if (!json::canonicalize(text, out, err)) return push_fail(L, err.to_string());
    lua_pushlstring(L, out.data(), out.size());
    return 1;
}

// ---------------------------------------------------------------------------- encode

// A caller's value that has no JSON form; becomes `nil, message` for the Lua half to
// raise at the caller's level.
struct EncodeError {
    std::string message;
};

// One step of the path from the root to the value being written, for messages.
struct Step {
    std::string_view key;  // null data() = array index
    lua_Number index;
};
struct Member {
    std::string_view key;
    int slot;              // stack slot of the value, 0 = look it up again
    bool plain;            // plain_ascii(key): byte order is key order, no escaping
    std::uint64_t prefix;  // plain keys: first 8 bytes, big-endian, zero-padded
};

// Most keys differ in their first 8 bytes: comparing those as one integer settles most
// comparisons of a sort without a loop. Byte order is RFC 8785 order for ASCII, and the
// zero padding sorts a key before its extensions (plain keys hold no NUL).
std::uint64_t key_prefix(std::string_view k) {
    std::uint64_t v = 0;
    std::size_t n = k.size() < 8 ? k.size() : 8;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(k[i])) << (56 - 8 * i);
    return v;
}

bool member_before(const Member& a, const Member& b) {
    if (a.plain && b.plain) {
        if (a.prefix != b.prefix) return a.prefix < b.prefix;
        return a.key < b.key;
    }
    return json::key_before(a.key, b.key);
}

// The encoder's buffers, kept per thread between calls so that encoding a small table
// allocates nothing but the result string.
struct Scratch {
    std::string out;
    std::vector<const void*> open;  // tables from the root to here (cycle check)
    std::vector<Member> members;    // string-keyed members of the open tables
    std::vector<Step> path;
    void clear() {
        // A huge document should not pin its buffer for the life of the thread.
        if (out.capacity() > (1u << 20)) std::string().swap(out);
        out.clear();
        open.clear();
        members.clear();
        path.clear();
    }
};

// Lends the thread's Scratch, or a fresh one if it is in use: encode calls no Lua code,
// but pushing a string can run the garbage collector, whose __gc finalizers may encode.
class ScratchLease {
public:
    ScratchLease() : s_(busy_ ? &own_ : &cache_), owner_(!busy_) {
        busy_ = true;
        s_->clear();
    }
    ~ScratchLease() {
        if (owner_) busy_ = false;
    }
    ScratchLease(const ScratchLease&) = delete;
    ScratchLease& operator=(const ScratchLease&) = delete;
    Scratch& operator*() { return *s_; }

private:
    static thread_local Scratch cache_;
    static thread_local bool busy_;
    Scratch own_;
    Scratch* s_;
    bool owner_;
};
thread_local Scratch ScratchLease::cache_;
thread_local bool ScratchLease::busy_ = false;

class Encoder {
public:
    Encoder(lua_State* L, Scratch& scratch, bool pretty, bool sort_keys)
        : L_(L), writer_(scratch.out, pretty), sort_(sort_keys),
          open_(scratch.open), members_(scratch.members), path_(scratch.path) {}

    const std::string& run(int idx) {
        value(idx);
        return writer_.text();
    }

private:
    // Keeping a member's value on the Lua stack saves a second lookup. A C function may
    // use LUAI_MAXCSTACK = 8000 slots in all, and nesting needs a few per level (512
    // levels), so values are kept only below this stack height; past it, looked up again.
    static constexpr int kStashTop = 4000;

    void value(int idx) {
        switch (lua_type(L_, idx)) {
            case LUA_TNIL: writer_.null_value(); return;  // only at the root or in a hole
            case LUA_TBOOLEAN: writer_.bool_value(lua_toboolean(L_, idx) != 0); return;
            case LUA_TNUMBER: {
                lua_Number d = lua_tonumber(L_, idx);
                if (!std::isfinite(d)) fail(std::isnan(d) ? "NaN has no JSON form" : "infinity has no JSON form");
                writer_.number_value(d);
                return;
            }
            case LUA_TSTRING: {
                std::size_t n;
                const char* s = lua_tolstring(L_, idx, &n);
                if (!writer_.string_value({s, n})) fail(bad_utf8("string", {s, n}));
                return;
            }
            case LUA_TLIGHTUSERDATA:
                if (lua_touserdata(L_, idx) == &null_sentinel) {
                    writer_.null_value();
                    return;
                }
                fail("cannot encode a light userdata other than json.null");
            case LUA_TTABLE: table(idx); return;
            default: fail(std::string("cannot encode a ") + lua_typename(L_, lua_type(L_, idx)));
        }
    }

    void table(int idx) {
        const void* id = lua_topointer(L_, idx);
        if (std::find(open_.begin(), open_.end(), id) != open_.end()) fail("table contains itself (a cycle)");
        if (open_.size() >= static_cast<std::size_t>(json::kMaxDepth))
            fail("nesting deeper than " + std::to_string(json::kMaxDepth) + " levels");
        if (!lua_checkstack(L_, 8)) fail("nesting too deep for the Lua stack");
        open_.push_back(id);
        // This table's members are members_[first..]; nested tables append after them
        // and truncate back, so the one vector serves every level.
        const std::size_t first = members_.size();

        enum { kPlain, kArray, kObject } mark = kPlain;
        if (lua_getmetatable(L_, idx)) {
            if (lua_rawequal(L_, -1, kArrayMt)) mark = kArray;
            else if (lua_rawequal(L_, -1, kObjectMt)) mark = kObject;
            lua_pop(L_, 1);
        }

        // One pass over the keys decides array or object and checks every key.
        const int base = lua_gettop(L_);
        std::size_t count = 0;     // positive integer keys
        lua_Number max_index = 0;
        int stashed = 0;
        lua_pushnil(L_);
        while (lua_next(L_, idx) != 0) {
            int kt = lua_type(L_, -2);
            if (kt == LUA_TSTRING) {
                if (mark == kArray) fail_key("json.array table has a string key");
                std::size_t n;
                const char* k = lua_tolstring(L_, -2, &n);
                bool plain = json::plain_ascii({k, n});
                if (!plain && !utf8::valid({k, n})) {
                    path_.push_back({{k, n}, 0});
                    fail(bad_utf8("key", {k, n}));
                }
                std::uint64_t prefix = plain ? key_prefix({k, n}) : 0;
                // Room is checked for 16 members at a time: fewer calls.
                if (lua_gettop(L_) < kStashTop && (stashed % 16 != 0 || lua_checkstack(L_, 40))) {
                    // Leave key and value where they are; lua_next continues from a copy.
                    members_.push_back({{k, n}, lua_gettop(L_), plain, prefix});
                    ++stashed;
                    lua_pushvalue(L_, -2);
                } else {
                    members_.push_back({{k, n}, 0, plain, prefix});
                    lua_pop(L_, 1);
                }
            } else if (kt == LUA_TNUMBER) {
                lua_Number k = lua_tonumber(L_, -2);
                if (mark == kObject) fail_key("json.object table has a number key");
                if (!(k >= 1 && k <= 9007199254740992.0 && k == std::floor(k)))
                    fail_key("table has a number key that is not an array index");
                ++count;
                if (k > max_index) max_index = k;
                lua_pop(L_, 1);
            } else {
                fail_key(std::string("table has a ") + lua_typename(L_, kt) + " key");
            }
        }

        if (mark == kArray || (mark == kPlain && count > 0)) {
            if (members_.size() != first) fail("table mixes string and number keys");
            if (mark == kPlain && max_index != static_cast<lua_Number>(count))
                fail("table has number keys that are not 1..n (json.array(t) writes holes as null)");
            // A marked array may have holes (written as null), but not mostly holes.
            if (max_index > 2.0 * static_cast<lua_Number>(count) + 16)
                fail("json.array table is too sparse (largest index " + format_index(max_index) + ", " +
                     std::to_string(count) + " elements)");
            write_array(idx, static_cast<int>(max_index));
        } else {
            write_object(idx, first);
        }
        members_.resize(first);
        lua_settop(L_, base);
        open_.pop_back();
    }

    void write_array(int idx, int n) {
        writer_.begin_array();
        for (int i = 1; i <= n; ++i) {
            lua_rawgeti(L_, idx, i);
            path_.push_back({{}, static_cast<lua_Number>(i)});
            value(lua_gettop(L_));
            path_.pop_back();
            lua_pop(L_, 1);
        }
        writer_.end_array();
    }

    void write_object(int idx, std::size_t first) {
        if (sort_)
            std::sort(members_.begin() + static_cast<std::ptrdiff_t>(first), members_.end(),
                      member_before);
        const std::size_t last = members_.size();
        writer_.begin_object();
        for (std::size_t i = first; i < last; ++i) {
            const Member m = members_[i];  // a copy: nested tables may grow members_
            path_.push_back({m.key, 0});
            if (m.plain) writer_.plain_key(m.key);
            else writer_.key(m.key);  // valid UTF-8: checked in table()
            if (m.slot != 0) {
                value(m.slot);
            } else {
                lua_pushlstring(L_, m.key.data(), m.key.size());
                lua_rawget(L_, idx);
                value(lua_gettop(L_));
                lua_pop(L_, 1);
            }
            path_.pop_back();
        }
        writer_.end_object();
    }

    static std::string bad_utf8(const char* what, std::string_view s) {
        return std::string(what) + " is not valid UTF-8 (byte " + std::to_string(utf8::first_invalid(s) + 1) + ")";
    }

    // Key problems are found while lua_next has the key on the stack (at -2): name it.
    [[noreturn]] void fail_key(const std::string& what) {
        std::string k;
        if (lua_type(L_, -2) == LUA_TNUMBER) k = format_index(lua_tonumber(L_, -2));
        else if (lua_type(L_, -2) == LUA_TSTRING) {
            std::size_t n;
            const char* s = lua_tolstring(L_, -2, &n);
            k = "\"" + std::string(s, std::min<std::size_t>(n, 60)) + "\"";
        } else {
            k = lua_typename(L_, lua_type(L_, -2));
        }
        fail(what + " (" + k + ")");
    }

    [[noreturn]] void fail(const std::string& what) {
        throw EncodeError{"json.encode: " + what + " at " + path()};
    }

    static std::string format_index(lua_Number d) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        return buf;
    }

    // $.a[3].b: keys that are identifiers as .name, others as ["..."], Lua indices as [i].
    std::string path() const {
        std::string p = "$";
        for (const Step& s : path_) {
            if (s.key.data() == nullptr) {
                p += "[" + format_index(s.index) + "]";
            } else if (is_identifier(s.key)) {
                p += ".";
                p += s.key;
            } else {
                p += "[";
                append_quoted(p, s.key.size() > 60 ? s.key.substr(0, 60) : s.key);
                p += "]";
            }
        }
        return p;
    }

    // A key as a JSON string; if it is not UTF-8 (the very error being reported), its
    // bytes >= 0x80 as \xNN so that the message itself stays valid UTF-8.
    static void append_quoted(std::string& p, std::string_view k) {
        if (utf8::valid(k)) {
            jcs::append_string(p, k);
            return;
        }
        p.push_back('"');
        for (char c : k) {
            auto b = static_cast<unsigned char>(c);
            if (b >= 0x80) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", b);
                p += buf;
            } else {
                std::string one;  // escaped as a one-character JSON string, quotes dropped
                jcs::append_string(one, std::string_view(&c, 1));
                p.append(one, 1, one.size() - 2);
            }
        }
        p.push_back('"');
    }

    static bool is_identifier(std::string_view k) {
        if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
        for (char c : k)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                return false;
        return true;
    }

    lua_State* L_;
    json::Writer writer_;
    bool sort_;
    std::vector<const void*>& open_;
    std::vector<Member>& members_;
    std::vector<Step>& path_;
};

// raw.encode(value, pretty, sort_keys) -> text | nil, "json.encode: what at $.path"
int encode(lua_State* L) {
    bool pretty = lua_toboolean(L, 2) != 0;
    bool sort_keys = lua_toboolean(L, 3) != 0;
    lua_settop(L, 1);
    ScratchLease scratch;
    try {
        Encoder encoder(L, *scratch, pretty, sort_keys);
        const std::string& text = encoder.run(1);
        lua_pushlstring(L, text.data(), text.size());
        return 1;
    } catch (const EncodeError& e) {
        lua_settop(L, 1);
        return push_fail(L, e.message);
    }
}

}  // namespace

int hostsync_raw_json(lua_State* L) {
    lua_createtable(L, 0, 8);
    lua_createtable(L, 0, 1);  // array metatable
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
    lua_createtable(L, 0, 1);  // object metatable
    lua_pushliteral(L, "object");
    lua_setfield(L, -2, "__jsontype");
    lua_pushlightuserdata(L, &null_sentinel);
    // stack: raw, array_mt, object_mt, null
    lua_pushvalue(L, -3);
    lua_setfield(L, -5, "array_mt");
    lua_pushvalue(L, -2);
    lua_setfield(L, -5, "object_mt");
    lua_pushvalue(L, -1);
    lua_setfield(L, -5, "null");

    struct Fn {
        const char* name;
        lua_CFunction fn;
    };
    const Fn fns[] = {
        {"decode", guarded<decode>},
        {"encode", guarded<encode>},
        {"canonicalize", guarded<canonicalize>},
    };
    for (const Fn& f : fns) {
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        lua_pushcclosure(L, f.fn, 3);
        lua_setfield(L, -5, f.name);
    }
    lua_pop(L, 3);
    return 1;
}
