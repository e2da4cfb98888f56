// Raw table of hostsync.csv: thin lua_CFunctions over host/csv_reader. Argument checks
// and the public API are in bindings/csv.lua.
#include <memory>
#include <string>

#include "byte_sink.hpp"
#include "csv_reader.hpp"
#include "failpoint.hpp"
#include "jcs_object.hpp"
#include "line_template.hpp"
#include "lua_guard.hpp"
#include "lua_object.hpp"
#include "lua_stream.hpp"

namespace {

using hostsync::guarded;
using hostsync::UsageError;
namespace csv = hostsync::csv;
namespace lo = hostsync::lua_object;

const char kMeta[] = "hostsync.csv.reader";
const char kTemplateMeta[] = "hostsync.csv.template";

// The userdata: the reader, plus what next_object reuses from record to record.
struct Box {
    std::unique_ptr<csv::Reader> reader;
    std::string path;  // kept after close, for path() and __tostring
    std::unique_ptr<hostsync::jcs::StringObjectWriter> object;
    std::string json;
};

Box& box_at(lua_State* L, int idx) { return *lo::check_slot<Box>(L, idx, kMeta); }

csv::Reader& open_reader(lua_State* L, const char* method) {
    Box& b = box_at(L, 1);
    if (!b.reader) throw UsageError(std::string("Usage: r:") + method + "(): the reader is closed");
    return *b.reader;
}

void set_number(lua_State* L, const char* key, std::uint64_t v) {
    lua_pushnumber(L, static_cast<lua_Number>(v));
    lua_setfield(L, -2, key);
}

// The common tail of next/next_object when there is no record: nil, or nil + message.
int push_no_record(lua_State* L, const csv::Reader& r, csv::Next n) {
    if (n == csv::Next::end) {
        lua_pushnil(L);
        return 1;
    }
    return hostsync::push_fail(L, r.error_message());
}

// raw.open(path, offset, line_no, max_record_bytes) -> reader | nil, err
int csv_open(lua_State* L) {
    std::string path(hostsync::check_view(L, 1));
    csv::ReaderOptions opt;
    opt.offset = static_cast<std::uint64_t>(luaL_checknumber(L, 2));
    opt.line_no = static_cast<std::uint64_t>(luaL_checknumber(L, 3));
    opt.max_record_bytes = static_cast<std::size_t>(luaL_checknumber(L, 4));
    std::string err;
    auto reader = csv::Reader::open(path, opt, err);
    if (!reader) return hostsync::push_fail(L, err);
    Box** slot = lo::new_slot<Box>(L, kMeta);
    *slot = new Box{std::move(reader), path, nullptr, {}};
    return 1;
}

int csv_gc(lua_State* L) { return lo::gc_slot<Box>(L, kMeta); }

int csv_close(lua_State* L) {
    Box& b = box_at(L, 1);
    b.reader.reset();
    b.object.reset();
    std::string().swap(b.json);
    return 0;
}

int csv_closed(lua_State* L) {
    lua_pushboolean(L, !box_at(L, 1).reader);
    return 1;
}

int csv_header(lua_State* L) {
    csv::Reader& r = open_reader(L, "header");
    if (r.header_status() != csv::HeaderStatus::ok) return hostsync::push_fail(L, r.header_message());
    const auto& names = r.header();
    lua_createtable(L, static_cast<int>(names.size()), 0);
    for (std::size_t i = 0; i < names.size(); ++i) {
        lua_pushlstring(L, names[i].data(), names[i].size());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    return 1;
}

int csv_header_end(lua_State* L) {
    csv::Reader& r = open_reader(L, "header_end");
    if (!r.header_end()) {
        lua_pushnil(L);
    } else {
        lua_pushnumber(L, static_cast<lua_Number>(*r.header_end()));
    }
    return 1;
}

int csv_next(lua_State* L) {
    csv::Reader& r = open_reader(L, "next");
    csv::Next n = r.next();
    if (n != csv::Next::record) return push_no_record(L, r, n);
    const auto& fields = r.fields();
    lua_createtable(L, 0, 4);
    lua_createtable(L, static_cast<int>(fields.size()), 0);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        lua_pushlstring(L, fields[i].data(), fields[i].size());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    lua_setfield(L, -2, "fields");
    set_number(L, "line_no", r.line_no());
    set_number(L, "offset", r.offset());
    set_number(L, "end_offset", r.end_offset());
    return 1;
}

// The hot path: one canonical JSON string per record, built in a reused buffer.
int csv_next_object(lua_State* L) {
    Box& b = box_at(L, 1);
    if (!b.reader) throw UsageError("Usage: r:next_object(): the reader is closed");
    csv::Reader& r = *b.reader;
    csv::Next n = r.next();
    if (n != csv::Next::record) return push_no_record(L, r, n);
    if (!b.object) b.object = std::make_unique<hostsync::jcs::StringObjectWriter>(r.header());
    b.json.clear();
    b.object->write(b.json, r.fields().data(), r.fields().size(), r.plain());
    lua_pushlstring(L, b.json.data(), b.json.size());
    lua_pushnumber(L, static_cast<lua_Number>(r.line_no()));
    lua_pushnumber(L, static_cast<lua_Number>(r.end_offset()));
    return 3;
}

int csv_last_error(lua_State* L) {
    csv::Reader& r = open_reader(L, "last_error");
    const csv::BadRecord* e = r.last_error();
    if (e == nullptr) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 9);
    lua_pushlstring(L, e->kind.data(), e->kind.size());
    lua_setfield(L, -2, "kind");
    lua_pushlstring(L, e->reason.data(), e->reason.size());
    lua_setfield(L, -2, "reason");
    std::string message = r.error_message();
    lua_pushlstring(L, message.data(), message.size());
    lua_setfield(L, -2, "message");
    set_number(L, "line_no", e->line_no);
    set_number(L, "offset", e->offset);
    set_number(L, "end_offset", e->end_offset);
    lua_pushlstring(L, e->raw.data(), e->raw.size());
    lua_setfield(L, -2, "raw");
    if (e->raw_truncated) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "raw_truncated");
    }
    if (e->fatal) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "fatal");
    }
    return 1;
}

int csv_pending(lua_State* L) {
    csv::Reader& r = open_reader(L, "pending");
    const auto& p = r.pending();
    if (!p) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 3);
    set_number(L, "offset", p->offset);
    set_number(L, "line_no", p->line_no);
    set_number(L, "bytes", p->bytes);
    return 1;
}

int csv_cursor(lua_State* L) {
    csv::Reader& r = open_reader(L, "cursor");
    lua_pushnumber(L, static_cast<lua_Number>(r.cursor_offset()));
    lua_pushnumber(L, static_cast<lua_Number>(r.cursor_line()));
    return 2;
}

int csv_bytes_read(lua_State* L) {
    csv::Reader& r = open_reader(L, "bytes_read");
    lua_pushnumber(L, static_cast<lua_Number>(r.bytes_read()));
    return 1;
}

int csv_path(lua_State* L) {
    const Box& b = box_at(L, 1);
    lua_pushlstring(L, b.path.data(), b.path.size());
    return 1;
}


// raw.template(parts) -> template. parts: strings (literal text) and slot names wrapped
// as {slot = "seq"}; bindings/csv.lua has checked the shape and the names.
int csv_template(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    auto* tpl = lo::new_object<hostsync::LineTemplate>(L, kTemplateMeta);
    const int n = static_cast<int>(lua_objlen(L, 1));
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, 1, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            tpl->add_literal(hostsync::check_view(L, -1));
        } else {
            lua_getfield(L, -1, "slot");
            auto slot = hostsync::line_slot_named(lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
            if (!slot) throw UsageError("Usage: csv.template: part " + std::to_string(i) + " is not a slot");
            tpl->add_slot(*slot);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return 1;
}

int csv_template_gc(lua_State* L) { return lo::gc_slot<hostsync::LineTemplate>(L, kTemplateMeta); }

// raw.write_lines(r, sink, template, first_seq, limit) -> count, "end" | "limit" | "bad"
// | nil, err (a failed write). Renders one line per record straight into the sink (any
// userdata speaking the ByteSink protocol: an fs.appender, a hash sink, an encryptor), so
// a million records cost no Lua at all; it returns at the end of the complete records,
// after `limit` lines, or at a bad record (r:last_error() describes it; calling again
// continues after it). The sink is written, never finished: that stays its owner's job.
int csv_write_lines(lua_State* L) {
    csv::Reader& r = open_reader(L, "write_lines");
    Box& b = box_at(L, 1);
    hostsync::ByteSink* sink = hostsync::to_byte_sink(L, 2);
    if (sink == nullptr) throw UsageError("Usage: r:write_lines(sink, ...): the sink must be a byte sink (an fs.appender...)");
    hostsync::ByteSink& w = *sink;
    std::string err;
    // An empty write costs nothing and tells a closed or finished sink apart before a
    // record is consumed: the reader never moves past a record that went nowhere.
    if (!w.write({}, err)) return hostsync::push_fail(L, err);
    const auto& tpl = *lo::check_slot<hostsync::LineTemplate>(L, 3, kTemplateMeta);
    std::uint64_t seq = static_cast<std::uint64_t>(luaL_checknumber(L, 4));
    const std::uint64_t limit = static_cast<std::uint64_t>(luaL_checknumber(L, 5));

    std::string line;
    hostsync::RecordValues v;
    std::uint64_t count = 0;
    const char* status = "limit";
    while (count < limit) {
        csv::Next n = r.next();
        if (n != csv::Next::record) {
            status = n == csv::Next::end ? "end" : "bad";
            break;
        }
        if (!b.object) b.object = std::make_unique<hostsync::jcs::StringObjectWriter>(r.header());
        b.json.clear();
        b.object->write(b.json, r.fields().data(), r.fields().size(), r.plain());
        v.seq = seq++;
        v.line_no = r.line_no();
        v.offset = r.offset();
        v.row = b.json;
        line.clear();
        tpl.render(line, v);
        if (!w.write(line, err)) return hostsync::push_fail(L, err);
        hostsync::failpoint::hit("csv_record");
        ++count;
    }
    lua_pushnumber(L, static_cast<lua_Number>(count));
    lua_pushstring(L, status);
    return 2;
}

}  // namespace

int hostsync_raw_csv(lua_State* L) {
    static const luaL_Reg kFunctions[] = {
        {"open", guarded<csv_open>},
        {"close", guarded<csv_close>},
        {"closed", guarded<csv_closed>},
        {"header", guarded<csv_header>},
        {"header_end", guarded<csv_header_end>},
        {"next", guarded<csv_next>},
        {"next_object", guarded<csv_next_object>},
        {"last_error", guarded<csv_last_error>},
        {"pending", guarded<csv_pending>},
        {"cursor", guarded<csv_cursor>},
        {"bytes_read", guarded<csv_bytes_read>},
        {"path", guarded<csv_path>},
        {"template", guarded<csv_template>},
        {"write_lines", guarded<csv_write_lines>},
        {nullptr, nullptr},
    };
    lua_createtable(L, 0, 16);
    luaL_setfuncs(L, kFunctions, 0);
    // The reader metatable; bindings/csv.lua adds __index, __tostring and __metatable.
    lo::new_meta(L, kMeta, guarded<csv_gc>);
    lua_setfield(L, -2, "reader_mt");
    lo::new_meta(L, kTemplateMeta, guarded<csv_template_gc>);
    lua_pushstring(L, "csv.template");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    return 1;
}
