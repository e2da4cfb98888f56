// Raw table of hostsync.fs: thin lua_CFunctions over host/fs_*. Argument checks, option
// tables and the public API are in fs.lua; here every failure of the world becomes
// `nil, err` and misuse of a closed object a "Usage:" error.
#include <lua.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/byte_sink.hpp"
#include "host/fs_appender.hpp"
#include "host/fs_confine.hpp"
#include "host/fs_line_reader.hpp"
#include "host/fs_line_match.hpp"
#include "host/fs_line_render.hpp"
#include "host/line_pattern.hpp"
#include "host/line_template.hpp"
#include "host/fs_lock.hpp"
#include "host/fs_ops.hpp"
#include "host/fs_read.hpp"
#include "host/fs_safe.hpp"
#include "host/fs_write.hpp"
#include "host/lua_guard.hpp"
#include "host/lua_object.hpp"
#include "host/lua_pieces.hpp"
#include "host/lua_stream.hpp"

namespace {

using hostsync::lua_object::check_object;
using hostsync::lua_object::gc_object;
using hostsync::lua_object::new_object;
namespace lo = hostsync::lua_object;

using hostsync::guarded;
using hostsync::push_fail;
namespace fs = hostsync::fs;

const char kAppenderMeta[] = "hostsync.fs.appender";
const char kLockMeta[] = "hostsync.fs.lock";
const char kReaderMeta[] = "hostsync.fs.line_reader";
const char kTemplateMeta[] = "hostsync.fs.line_template";
const char kPatternMeta[] = "hostsync.fs.line_pattern";

std::string check_string(lua_State* L, int idx) { return std::string(hostsync::check_view(L, idx)); }

std::uint64_t check_u64(lua_State* L, int idx) { return static_cast<std::uint64_t>(luaL_checknumber(L, idx)); }

int push_true(lua_State* L) {
    lua_pushboolean(L, 1);
    return 1;
}

int push_string(lua_State* L, const std::string& s) {
    lua_pushlstring(L, s.data(), s.size());
    return 1;
}

// --- whole files -------------------------------------------------------------

int l_read_file(lua_State* L) {
    std::string out, err;
    if (!fs::read_file(check_string(L, 1), out, err)) return push_fail(L, err);
    return push_string(L, out);
}

int l_read_range(lua_State* L) {
    std::string out, err;
    if (!fs::read_range(check_string(L, 1), check_u64(L, 2), check_u64(L, 3), out, err)) return push_fail(L, err);
    return push_string(L, out);
}

template <bool (*Fn)(const std::string&, std::string_view, std::string&)>
int l_write_fn(lua_State* L) {
    std::string err;
    auto data = hostsync::check_view(L, 2);
    if (!Fn(check_string(L, 1), data, err)) return push_fail(L, err);
    return push_true(L);
}

int l_append(lua_State* L) {
    std::string err;
    auto data = hostsync::check_view(L, 2);
    if (!fs::append(check_string(L, 1), data, err)) return push_fail(L, err);
    lua_pushnumber(L, static_cast<lua_Number>(data.size()));
    return 1;
}

// --- appender ----------------------------------------------------------------

fs::Appender* check_open_appender(lua_State* L, const char* what) {
    auto* w = check_object<fs::Appender>(L, kAppenderMeta);
    if (!w->is_open()) throw hostsync::UsageError(std::string("Usage: w:") + what + "() on a closed appender (" + w->path() + ")");
    return w;
}

int l_appender(lua_State* L) {
    fs::Appender::Options opts;
    std::string path = check_string(L, 1);
    opts.exclusive = lua_toboolean(L, 2) != 0;
    opts.sha256 = lua_toboolean(L, 3) != 0;
    auto* w = new_object<fs::Appender>(L, kAppenderMeta);
    std::string err;
    if (!w->open(path, opts, err)) return push_fail(L, err);
    return 1;
}

// w:write(...) takes strings and numbers like file:write: the pieces go straight into the
// appender's buffer, so a caller assembling a line from parts never builds (and interns)
// the whole line as a Lua string. Integral numbers print as integers, others as %.17g.
int l_appender_write(lua_State* L) {
    auto* w = check_open_appender(L, "write");
    hostsync::lua_pieces::check(L, 2, "w:write");
    std::string err;
    char digits[32];
    for (int i = 2, top = lua_gettop(L); i <= top; ++i)
        if (!w->write(hostsync::lua_pieces::at(L, i, digits), err)) return push_fail(L, err);
    lua_settop(L, 1);
    return 1;
}

template <bool (fs::Appender::*Fn)(std::string&)>
int l_appender_step(lua_State* L) {
    auto* w = check_open_appender(L, Fn == &fs::Appender::flush ? "flush" : "sync");
    std::string err;
    if (!(w->*Fn)(err)) return push_fail(L, err);
    return push_true(L);
}

int l_appender_close(lua_State* L) {
    auto* w = check_object<fs::Appender>(L, kAppenderMeta);
    std::string err;
    if (!w->close(err)) return push_fail(L, err);
    return push_true(L);
}

int l_appender_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<fs::Appender>(L, kAppenderMeta)->bytes()));
    return 1;
}

int l_appender_sha256_hex(lua_State* L) {
    auto* w = check_object<fs::Appender>(L, kAppenderMeta);
    if (!w->hashing()) throw hostsync::UsageError("Usage: w:sha256_hex() needs fs.appender(path, {sha256=true})");
    return push_string(L, w->sha256_hex());
}

int l_appender_is_open(lua_State* L) {
    lua_pushboolean(L, check_object<fs::Appender>(L, kAppenderMeta)->is_open());
    return 1;
}

int l_appender_gc(lua_State* L) { return gc_object<fs::Appender>(L, kAppenderMeta); }

// __hostsync_sink: the appender as a ByteSink for tar.write, csv write_lines and other
// producers (docs/architecture.md, "Byte sinks and sources"). fs::Appender is a ByteSink,
// so the pointer lives exactly as long as the userdata; finish() flushes to the kernel,
// closing (and syncing) stays the owner's job.
int l_appender_as_sink(lua_State* L) {
    lua_pushlightuserdata(L, static_cast<hostsync::ByteSink*>(check_object<fs::Appender>(L, kAppenderMeta)));
    return 1;
}

// --- lock --------------------------------------------------------------------

int l_lock(lua_State* L) {
    std::string path = check_string(L, 1);
    double wait = luaL_optnumber(L, 2, 0);
    bool shared = lua_toboolean(L, 3);
    auto* lock = new_object<fs::FileLock>(L, kLockMeta);
    std::string err;
    if (!lock->acquire(path, wait, err, shared)) return push_fail(L, err);
    return 1;
}

int l_lock_release(lua_State* L) {
    check_object<fs::FileLock>(L, kLockMeta)->release();
    return push_true(L);
}

int l_lock_held(lua_State* L) {
    lua_pushboolean(L, check_object<fs::FileLock>(L, kLockMeta)->held());
    return 1;
}

int l_lock_gc(lua_State* L) { return gc_object<fs::FileLock>(L, kLockMeta); }

// --- directory operations ----------------------------------------------------

int l_stat(lua_State* L) {
    fs::StatInfo st;
    std::string err;
    if (!fs::stat(check_string(L, 1), lua_toboolean(L, 2) != 0, st, err)) return push_fail(L, err);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, st.type);
    lua_setfield(L, -2, "type");
    lua_pushnumber(L, static_cast<lua_Number>(st.size));
    lua_setfield(L, -2, "size");
    lua_pushnumber(L, st.mtime);
    lua_setfield(L, -2, "mtime");
    lua_pushnumber(L, static_cast<lua_Number>(st.ino));
    lua_setfield(L, -2, "ino");
    lua_pushnumber(L, static_cast<lua_Number>(st.dev));
    lua_setfield(L, -2, "dev");
    lua_pushnumber(L, st.mode);
    lua_setfield(L, -2, "mode");
    return 1;
}

int l_exists(lua_State* L) {
    lua_pushboolean(L, fs::exists(check_string(L, 1)));
    return 1;
}

int l_mkdir_p(lua_State* L) {
    std::string err;
    auto mode = static_cast<mode_t>(luaL_optnumber(L, 2, 0777));
    if (!fs::mkdir_p(check_string(L, 1), mode, err)) return push_fail(L, err);
    return push_true(L);
}

int l_listdir(lua_State* L) {
    std::vector<std::string> names;
    std::string err;
    if (!fs::listdir(check_string(L, 1), names, err)) return push_fail(L, err);
    lua_createtable(L, static_cast<int>(names.size()), 0);
    for (std::size_t i = 0; i < names.size(); ++i) {
        lua_pushlstring(L, names[i].data(), names[i].size());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    return 1;
}

template <bool (*Fn)(const std::string&, std::string&)>
int l_path_op(lua_State* L) {
    std::string err;
    if (!Fn(check_string(L, 1), err)) return push_fail(L, err);
    return push_true(L);
}

int l_rename(lua_State* L) {
    std::string err;
    if (!fs::rename(check_string(L, 1), check_string(L, 2), lua_toboolean(L, 3) != 0, err)) return push_fail(L, err);
    return push_true(L);
}

int l_mkdtemp(lua_State* L) {
    std::string out, err;
    if (!fs::mkdtemp(check_string(L, 1), out, err)) return push_fail(L, err);
    return push_string(L, out);
}

int l_realpath(lua_State* L) {
    std::string out, err;
    if (!fs::realpath(check_string(L, 1), out, err)) return push_fail(L, err);
    return push_string(L, out);
}

int l_isatty(lua_State* L) {
    lua_pushboolean(L, fs::isatty(static_cast<int>(luaL_checkinteger(L, 1))));
    return 1;
}

int l_confine(lua_State* L) {
    std::string out, err;
    if (!fs::confine(check_string(L, 1), hostsync::check_view(L, 2), out, err)) return push_fail(L, err);
    return push_string(L, out);
}

// --- line reader -------------------------------------------------------------

int l_line_reader(lua_State* L) {
    std::string path = check_string(L, 1);
    std::uint64_t offset = static_cast<std::uint64_t>(luaL_optnumber(L, 2, 0));
    std::uint64_t line_no = static_cast<std::uint64_t>(luaL_optnumber(L, 3, 0));
    auto* r = new_object<fs::LineReader>(L, kReaderMeta);
    std::string err;
    if (!r->open(path, offset, err, line_no)) return push_fail(L, err);
    if (lua_toboolean(L, 4)) r->hash_reads();
    return 1;
}

int l_reader_sha256_hex(lua_State* L) {
    return push_string(L, check_object<fs::LineReader>(L, kReaderMeta)->sha256_hex());
}

// raw.line_pattern(parts, counter, after) -> pattern. parts: strings (literal text) and
// {match = kind, name = name}; fs.lua has checked the shape and the kinds.
int l_line_pattern(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    auto* pat = new_object<hostsync::LinePattern>(L, kPatternMeta);
    pat->reset(static_cast<std::uint64_t>(luaL_checknumber(L, 2)), static_cast<std::uint64_t>(luaL_checknumber(L, 3)));
    static const struct {
        const char* name;
        hostsync::MatchSlot slot;
    } kKinds[] = {
        {"counter", hostsync::MatchSlot::counter},         {"increasing", hostsync::MatchSlot::increasing},
        {"string_object", hostsync::MatchSlot::string_object}, {"object_sha256", hostsync::MatchSlot::object_sha256},
        {"iso_time", hostsync::MatchSlot::iso_time},           {"string", hostsync::MatchSlot::string},
    };
    const int n = static_cast<int>(lua_objlen(L, 1));
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, 1, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            pat->add_literal(hostsync::check_view(L, -1));
        } else {
            lua_getfield(L, -1, "match");
            lua_getfield(L, -2, "name");
            std::string_view kind = lua_isstring(L, -2) ? lua_tostring(L, -2) : "";
            std::string name = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
            bool found = false;
            for (const auto& k : kKinds) {
                if (kind == k.name) {
                    pat->add_slot(k.slot, name);
                    found = true;
                }
            }
            if (!found) throw hostsync::UsageError("Usage: fs.line_pattern: part " + std::to_string(i) + " is not a match kind");
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    return 1;
}

int l_line_pattern_gc(lua_State* L) { return gc_object<hostsync::LinePattern>(L, kPatternMeta); }

int l_pattern_counter(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<hostsync::LinePattern>(L, kPatternMeta)->counter()));
    return 1;
}

int l_pattern_after(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<hostsync::LinePattern>(L, kPatternMeta)->after()));
    return 1;
}

// r:match(pattern, max_lines) -> count, "end" | "limit" | "mismatch" [, {line_no, offset, at, reason}]
//   | nil, err
int l_reader_match(lua_State* L) {
    auto* r = check_object<fs::LineReader>(L, kReaderMeta);
    if (!r->is_open()) throw hostsync::UsageError("Usage: r:match() on a closed line reader");
    auto* pat = lo::check_slot<hostsync::LinePattern>(L, 2, kPatternMeta);
    std::size_t max_lines = static_cast<std::size_t>(luaL_optnumber(L, 3, 0));
    fs::MatchResult res;
    std::string err;
    if (!fs::match_lines(*r, *pat, max_lines, res, err)) return push_fail(L, err);
    lua_pushnumber(L, static_cast<lua_Number>(res.lines));
    if (res.mismatch) {
        lua_pushliteral(L, "mismatch");
        lua_createtable(L, 0, 4);
        lua_pushnumber(L, static_cast<lua_Number>(res.line_no));
        lua_setfield(L, -2, "line_no");
        lua_pushnumber(L, static_cast<lua_Number>(res.offset));
        lua_setfield(L, -2, "offset");
        lua_pushnumber(L, static_cast<lua_Number>(res.at));
        lua_setfield(L, -2, "at");
        lua_pushlstring(L, res.why.data(), res.why.size());
        lua_setfield(L, -2, "reason");
        return 3;
    }
    if (max_lines != 0 && res.lines == max_lines) lua_pushliteral(L, "limit");
    else lua_pushliteral(L, "end");
    return 2;
}

// raw.line_template(parts) -> template. parts: strings (literal text) and {slot = name};
// fs.lua has checked the shape; the names are fs's: text, text_sha256, line_no, offset.
int l_line_template(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    auto* tpl = new_object<hostsync::LineTemplate>(L, kTemplateMeta);
    const int n = static_cast<int>(lua_objlen(L, 1));
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, 1, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            tpl->add_literal(hostsync::check_view(L, -1));
        } else {
            lua_getfield(L, -1, "slot");
            std::string_view name = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
            // A text line is the template's record: its text is `row`.
            if (name == "text") tpl->add_slot(hostsync::LineSlot::row);
            else if (name == "text_sha256") tpl->add_slot(hostsync::LineSlot::row_sha256);
            else if (name == "line_no") tpl->add_slot(hostsync::LineSlot::line_no);
            else if (name == "offset") tpl->add_slot(hostsync::LineSlot::offset);
            else throw hostsync::UsageError("Usage: fs.line_template: part " + std::to_string(i) + " is not a slot");
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return 1;
}

int l_line_template_gc(lua_State* L) { return gc_object<hostsync::LineTemplate>(L, kTemplateMeta); }

// r:render(template, max_lines, max_bytes, separator)
//   -> text, count, last_start, last_sha256 | nil (no complete line left) | nil, err
int l_reader_render(lua_State* L) {
    auto* r = check_object<fs::LineReader>(L, kReaderMeta);
    if (!r->is_open()) throw hostsync::UsageError("Usage: r:render() on a closed line reader");
    auto* tpl = lo::check_slot<hostsync::LineTemplate>(L, 2, kTemplateMeta);
    fs::RenderLimits limits;
    limits.max_lines = static_cast<std::size_t>(luaL_optnumber(L, 3, 0));
    limits.max_bytes = static_cast<std::size_t>(luaL_optnumber(L, 4, 0));
    limits.separator = lua_isstring(L, 5) ? hostsync::check_view(L, 5) : std::string_view();
    // One buffer per thread, kept between calls: a batch of a few hundred KB is then
    // written into memory that is already mapped, instead of growing a new string each time.
    thread_local std::string out;
    out.clear();
    std::string err;
    fs::RenderResult res;
    if (!fs::render_lines(*r, *tpl, limits, out, res, err)) return push_fail(L, err);
    if (res.lines == 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, out.data(), out.size());
    lua_pushnumber(L, static_cast<lua_Number>(res.lines));
    lua_pushnumber(L, static_cast<lua_Number>(res.last_start));
    lua_pushlstring(L, res.last_sha256.data(), res.last_sha256.size());
    return 4;
}

int l_reader_line_no(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<fs::LineReader>(L, kReaderMeta)->line_no()));
    return 1;
}

// r:next() -> line, start | nil (end) | nil, err. Called once per line: no Lua wrapper.
// With Raise (the iterator of r:lines()), an I/O error is raised instead: a generic for
// would take `nil, err` for the end of the file.
template <bool Raise>
int l_reader_next(lua_State* L) {
    auto* r = check_object<fs::LineReader>(L, kReaderMeta);
    if (!r->is_open()) throw hostsync::UsageError("Usage: r:next() on a closed line reader");
    std::string_view line;
    std::uint64_t start = 0;
    std::string err;
    switch (r->next(line, start, err)) {
        case fs::LineReader::kLine:
            lua_pushlstring(L, line.data(), line.size());
            lua_pushnumber(L, static_cast<lua_Number>(start));
            return 2;
        case fs::LineReader::kEnd:
            lua_pushnil(L);
            return 1;
        case fs::LineReader::kError:
            break;
    }
    if (Raise) throw std::runtime_error(err);
    return push_fail(L, err);
}

int l_reader_offset(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<fs::LineReader>(L, kReaderMeta)->offset()));
    return 1;
}

int l_reader_partial_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<fs::LineReader>(L, kReaderMeta)->partial_bytes()));
    return 1;
}

int l_reader_close(lua_State* L) {
    check_object<fs::LineReader>(L, kReaderMeta)->close();
    return push_true(L);
}

int l_reader_gc(lua_State* L) { return gc_object<fs::LineReader>(L, kReaderMeta); }


// --- safe (confined) creation: host/fs_safe -----------------------------------

const char kSafeWriterMeta[] = "hostsync.fs.safe_writer";

std::string opt_string(lua_State* L, int idx) {
    if (lua_isnoneornil(L, idx)) return std::string();
    return check_string(L, idx);
}

// safe_create(root, rel, data, within, mkdirs, mode)
int l_safe_create(lua_State* L) {
    fs::BeneathWriter::Options opts;
    std::string root = check_string(L, 1);
    auto rel = hostsync::check_view(L, 2);
    auto data = hostsync::check_view(L, 3);
    opts.within = opt_string(L, 4);
    opts.mkdirs = lua_toboolean(L, 5) != 0;
    opts.mode = static_cast<mode_t>(luaL_optnumber(L, 6, 0644));
    std::string err;
    if (!fs::create_beneath(root, rel, data, opts, err)) return push_fail(L, err);
    return push_true(L);
}

// safe_mkdir(root, rel, within, parents, exclusive, mode)
int l_safe_mkdir(lua_State* L) {
    fs::MkdirOptions opts;
    std::string root = check_string(L, 1);
    auto rel = hostsync::check_view(L, 2);
    opts.within = opt_string(L, 3);
    opts.parents = lua_toboolean(L, 4) != 0;
    opts.exclusive = lua_toboolean(L, 5) != 0;
    opts.mode = static_cast<mode_t>(luaL_optnumber(L, 6, 0777));
    std::string err;
    if (!fs::mkdir_beneath(root, rel, opts, err)) return push_fail(L, err);
    return push_true(L);
}

// safe_writer(root, rel, within, mkdirs, mode, durable)
int l_safe_writer(lua_State* L) {
    fs::BeneathWriter::Options opts;
    std::string root = check_string(L, 1);
    std::string rel = check_string(L, 2);
    opts.within = opt_string(L, 3);
    opts.mkdirs = lua_toboolean(L, 4) != 0;
    opts.mode = static_cast<mode_t>(luaL_optnumber(L, 5, 0644));
    opts.durable = lua_isnoneornil(L, 6) || lua_toboolean(L, 6) != 0;
    auto* w = new_object<fs::BeneathWriter>(L, kSafeWriterMeta);
    std::string err;
    if (!w->open(root, rel, opts, err)) return push_fail(L, err);
    return 1;
}

int l_safe_writer_write(lua_State* L) {
    auto* w = check_object<fs::BeneathWriter>(L, kSafeWriterMeta);
    const int top = lua_gettop(L);
    for (int i = 2; i <= top; ++i)
        if (lua_type(L, i) != LUA_TSTRING)
            throw hostsync::UsageError(std::string("Usage: w:write(...): argument ") + std::to_string(i - 1) +
                                       " must be a string, got " + luaL_typename(L, i));
    std::string err;
    for (int i = 2; i <= top; ++i)
        if (!w->write(hostsync::check_view(L, i), err)) return push_fail(L, err);
    lua_settop(L, 1);
    return 1;
}

int l_safe_writer_commit(lua_State* L) {
    auto* w = check_object<fs::BeneathWriter>(L, kSafeWriterMeta);
    std::string err;
    if (!w->finish(err)) return push_fail(L, err);
    return push_true(L);
}

int l_safe_writer_abort(lua_State* L) {
    check_object<fs::BeneathWriter>(L, kSafeWriterMeta)->abort();
    return push_true(L);
}

int l_safe_writer_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<fs::BeneathWriter>(L, kSafeWriterMeta)->bytes()));
    return 1;
}

int l_safe_writer_state(lua_State* L) {
    auto* w = check_object<fs::BeneathWriter>(L, kSafeWriterMeta);
    lua_pushstring(L, w->committed() ? "committed" : w->is_open() ? "open" : "aborted");
    return 1;
}

int l_safe_writer_path(lua_State* L) {
    return push_string(L, check_object<fs::BeneathWriter>(L, kSafeWriterMeta)->shown());
}

int l_safe_writer_as_sink(lua_State* L) {
    lua_pushlightuserdata(L, static_cast<hostsync::ByteSink*>(check_object<fs::BeneathWriter>(L, kSafeWriterMeta)));
    return 1;
}

int l_safe_writer_gc(lua_State* L) { return gc_object<fs::BeneathWriter>(L, kSafeWriterMeta); }

// Adds the safe_* functions and raw.safe_writer_mt to the raw table on top of the stack.
void register_safe(lua_State* L) {
    const luaL_Reg fns[] = {
        {"safe_create", guarded<l_safe_create>},
        {"safe_mkdir", guarded<l_safe_mkdir>},
        {"safe_writer", guarded<l_safe_writer>},
        {"safe_writer_write", guarded<l_safe_writer_write>},
        {"safe_writer_commit", guarded<l_safe_writer_commit>},
        {"safe_writer_abort", guarded<l_safe_writer_abort>},
        {"safe_writer_bytes", guarded<l_safe_writer_bytes>},
        {"safe_writer_state", guarded<l_safe_writer_state>},
        {"safe_writer_path", guarded<l_safe_writer_path>},
        {nullptr, nullptr},
    };
    luaL_register(L, nullptr, fns);
    lo::new_meta(L, kSafeWriterMeta, guarded<l_safe_writer_gc>, {{hostsync::kSinkMetafield, guarded<l_safe_writer_as_sink>}});
    lua_setfield(L, -2, "safe_writer_mt");
}

}  // namespace

int hostsync_raw_fs(lua_State* L) {
    const luaL_Reg fns[] = {
        {"read_file", guarded<l_read_file>},
        {"read_range", guarded<l_read_range>},
        {"write_atomic", guarded<l_write_fn<fs::write_atomic>>},
        {"create_exclusive", guarded<l_write_fn<fs::create_exclusive>>},
        {"append", guarded<l_append>},
        {"appender", guarded<l_appender>},
        {"appender_write", guarded<l_appender_write>},
        {"appender_flush", guarded<l_appender_step<&fs::Appender::flush>>},
        {"appender_sync", guarded<l_appender_step<&fs::Appender::sync>>},
        {"appender_close", guarded<l_appender_close>},
        {"appender_bytes", guarded<l_appender_bytes>},
        {"appender_sha256_hex", guarded<l_appender_sha256_hex>},
        {"appender_is_open", guarded<l_appender_is_open>},
        {"lock", guarded<l_lock>},
        {"lock_release", guarded<l_lock_release>},
        {"lock_held", guarded<l_lock_held>},
        {"stat", guarded<l_stat>},
        {"exists", guarded<l_exists>},
        {"mkdir_p", guarded<l_mkdir_p>},
        {"listdir", guarded<l_listdir>},
        {"remove", guarded<l_path_op<fs::remove>>},
        {"remove_tree", guarded<l_path_op<fs::remove_tree>>},
        {"rename", guarded<l_rename>},
        {"fsync_dir", guarded<l_path_op<fs::fsync_dir>>},
        {"mkdtemp", guarded<l_mkdtemp>},
        {"realpath", guarded<l_realpath>},
        {"isatty", guarded<l_isatty>},
        {"confine", guarded<l_confine>},
        {"line_reader", guarded<l_line_reader>},
        {"reader_next", guarded<l_reader_next<false>>},
        {"reader_iter", guarded<l_reader_next<true>>},
        {"reader_offset", guarded<l_reader_offset>},
        {"reader_partial_bytes", guarded<l_reader_partial_bytes>},
        {"reader_close", guarded<l_reader_close>},
        {"reader_render", guarded<l_reader_render>},
        {"reader_match", guarded<l_reader_match>},
        {"reader_sha256_hex", guarded<l_reader_sha256_hex>},
        {"line_pattern", guarded<l_line_pattern>},
        {"pattern_counter", guarded<l_pattern_counter>},
        {"pattern_after", guarded<l_pattern_after>},
        {"reader_line_no", guarded<l_reader_line_no>},
        {"line_template", guarded<l_line_template>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    // The metatables, as raw.<kind>_mt; fs.lua sets their __index.
    lo::new_meta(L, kAppenderMeta, guarded<l_appender_gc>, {{hostsync::kSinkMetafield, guarded<l_appender_as_sink>}});
    lua_setfield(L, -2, "appender_mt");
    register_safe(L);
    lo::new_meta(L, kLockMeta, guarded<l_lock_gc>);
    lua_setfield(L, -2, "lock_mt");
    lo::new_meta(L, kReaderMeta, guarded<l_reader_gc>);
    lua_setfield(L, -2, "reader_mt");
    lo::new_meta(L, kTemplateMeta, guarded<l_line_template_gc>);
    lua_setfield(L, -2, "template_mt");
    lo::new_meta(L, kPatternMeta, guarded<l_line_pattern_gc>);
    lua_setfield(L, -2, "pattern_mt");
    return 1;
}
