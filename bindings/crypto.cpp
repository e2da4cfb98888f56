// Raw table of hostsync.crypto: thin lua_CFunctions over host/age_*. Argument checks,
// option tables and the public API are in crypto.lua. Failures of the world (a wrong key,
// a bad MAC, a truncated file, a missing file) return nil, err, kind where kind is
// "header", "no_match", "hmac", "payload" or "io".
#include <lua.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "host/age_file.hpp"
#include "host/age_keys.hpp"
#include "host/age_stream.hpp"
#include "host/file_sink.hpp"
#include "host/lua_guard.hpp"
#include "host/lua_object.hpp"
#include "host/lua_pieces.hpp"
#include "host/lua_stream.hpp"

namespace {

using hostsync::lua_object::check_object;
using hostsync::lua_object::gc_object;
using hostsync::lua_object::new_object;

using hostsync::guarded;
namespace age = hostsync::age;

const char kWriterMeta[] = "hostsync.crypto.age_writer";
const char kReaderMeta[] = "hostsync.crypto.age_reader";

int push_fail3(lua_State* L, const std::string& err, age::ErrorKind kind) {
    lua_pushnil(L);
    lua_pushlstring(L, err.data(), err.size());
    lua_pushstring(L, age::error_kind_name(kind));
    return 3;
}

int push_string(lua_State* L, const std::string& s) {
    lua_pushlstring(L, s.data(), s.size());
    return 1;
}

// Keys from (table of key strings | nil, passphrase | nil, work factor): the table's
// entries go through `parse` ("recipient 2 is not a string" if one is not a string), the
// passphrase through `scrypt`. A malformed key is a failure of the world (keys come from
// files), not a usage error.
template <typename Key, typename Parse, typename Scrypt>
bool read_keys(lua_State* L, int idx, const char* what, Parse parse, Scrypt scrypt, int default_wf,
               std::vector<Key>& out, std::string& err) {
    if (lua_istable(L, idx)) {
        int n = static_cast<int>(lua_objlen(L, idx));
        for (int i = 1; i <= n; ++i) {
            lua_rawgeti(L, idx, i);
            size_t len = 0;
            const char* s = lua_tolstring(L, -1, &len);
            Key key;
            bool ok = s != nullptr && parse(std::string_view(s, len), key, err);
            if (s == nullptr) err = std::string(what) + " " + std::to_string(i) + " is not a string";
            lua_pop(L, 1);
            if (!ok) return false;
            out.push_back(key);
        }
    }
    if (lua_isstring(L, idx + 1)) {
        int wf = static_cast<int>(luaL_optinteger(L, idx + 2, default_wf));
        out.push_back(scrypt(hostsync::check_view(L, idx + 1), wf));
    }
    return true;
}

bool read_recipients(lua_State* L, int idx, std::vector<age::Recipient>& out, std::string& err) {
    return read_keys<age::Recipient>(
        L, idx, "recipient",
        [](std::string_view s, age::Recipient& r, std::string& e) { return age::parse_recipient(s, r, e); },
        [](std::string_view pass, int wf) { return age::scrypt_recipient(pass, wf); }, age::kDefaultWorkFactor, out,
        err);
}

bool read_identities(lua_State* L, int idx, std::vector<age::Identity>& out, std::string& err) {
    return read_keys<age::Identity>(
        L, idx, "identity",
        [](std::string_view s, age::Identity& id, std::string& e) { return age::parse_identity(s, id, e); },
        [](std::string_view pass, int wf) { return age::scrypt_identity(pass, wf); }, age::kDefaultMaxWorkFactor,
        out, err);
}

// --- keys ------------------------------------------------------------------

int l_keygen(lua_State* L) {
    std::string identity, recipient;
    age::keygen(identity, recipient);
    lua_pushlstring(L, identity.data(), identity.size());
    lua_pushlstring(L, recipient.data(), recipient.size());
    age::wipe(identity.data(), identity.size());
    return 2;
}

int l_recipient_of(lua_State* L) {
    age::Identity id;
    std::string err;
    if (!age::parse_identity(hostsync::check_view(L, 1), id, err)) return hostsync::push_fail(L, err);
    return push_string(L, age::encode_recipient(id.public_key));
}

int l_check_recipient(lua_State* L) {
    age::Recipient r;
    std::string err;
    if (!age::parse_recipient(hostsync::check_view(L, 1), r, err)) return hostsync::push_fail(L, err);
    return push_string(L, age::encode_recipient(r.public_key));  // canonical (lowercase) form
}

// --- in memory -------------------------------------------------------------

// (data, recipients, passphrase, work_factor)
int l_encrypt(lua_State* L) {
    auto data = hostsync::check_view(L, 1);
    std::vector<age::Recipient> rs;
    std::string err;
    if (!read_recipients(L, 2, rs, err)) return hostsync::push_fail(L, err);
    return push_string(L, age::encrypt_string(data, rs));
}

// (data, identities, passphrase, max_work_factor)
int l_decrypt(lua_State* L) {
    auto data = hostsync::check_view(L, 1);
    std::vector<age::Identity> ids;
    std::string err, out;
    if (!read_identities(L, 2, ids, err)) return hostsync::push_fail(L, err);
    if (auto k = age::decrypt_string(data, std::move(ids), out, err); k != age::ErrorKind::None)
        return push_fail3(L, err, k);
    push_string(L, out);
    age::wipe(out.data(), out.size());
    return 1;
}

// --- files -----------------------------------------------------------------

// (src, dst, recipients, passphrase, work_factor, atomic)
int l_encrypt_file(lua_State* L) {
    std::string src(hostsync::check_view(L, 1)), dst(hostsync::check_view(L, 2));
    std::vector<age::Recipient> rs;
    std::string err;
    if (!read_recipients(L, 3, rs, err)) return hostsync::push_fail(L, err);
    hostsync::FileSink::Options opts;
    opts.atomic = lua_toboolean(L, 6) != 0;
    if (!age::encrypt_file(src, dst, rs, opts, err)) return hostsync::push_fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

// (src, dst, identities, passphrase, max_work_factor)
int l_decrypt_file(lua_State* L) {
    std::string src(hostsync::check_view(L, 1)), dst(hostsync::check_view(L, 2));
    std::vector<age::Identity> ids;
    std::string err;
    if (!read_identities(L, 3, ids, err)) return hostsync::push_fail(L, err);
    if (auto k = age::decrypt_file(src, dst, std::move(ids), err); k != age::ErrorKind::None)
        return push_fail3(L, err, k);
    lua_pushboolean(L, 1);
    return 1;
}

// --- streaming writer ------------------------------------------------------

struct Writer {
    hostsync::FileSink sink;
    age::Encryptor enc{sink};
    bool open = false;
};

Writer* check_open_writer(lua_State* L, const char* what) {
    auto* w = check_object<Writer>(L, kWriterMeta);
    if (!w->open)
        throw hostsync::UsageError(std::string("Usage: w:") + what + "() on a closed age writer (" + w->sink.path() + ")");
    return w;
}

// (path, recipients, passphrase, work_factor, atomic, sha256)
int l_writer(lua_State* L) {
    std::string path(hostsync::check_view(L, 1));
    std::vector<age::Recipient> rs;
    std::string err;
    if (!read_recipients(L, 2, rs, err)) return hostsync::push_fail(L, err);
    hostsync::FileSink::Options opts;
    opts.atomic = lua_toboolean(L, 5) != 0;
    opts.sha256 = lua_toboolean(L, 6) != 0;
    auto* w = new_object<Writer>(L, kWriterMeta);
    if (!w->sink.open(path, opts, err)) return hostsync::push_fail(L, err);
    if (!w->enc.start(rs, err)) {
        w->sink.abort();
        return hostsync::push_fail(L, err);
    }
    w->open = true;
    return 1;
}

int l_writer_write(lua_State* L) {
    auto* w = check_open_writer(L, "write");
    hostsync::lua_pieces::check(L, 2, "w:write");
    std::string err;
    char digits[32];
    for (int i = 2, top = lua_gettop(L); i <= top; ++i)
        if (!w->enc.write(hostsync::lua_pieces::at(L, i, digits), err)) return hostsync::push_fail(L, err);
    lua_settop(L, 1);
    return 1;
}

int l_writer_close(lua_State* L) {
    auto* w = check_open_writer(L, "close");
    w->open = false;
    std::string err;
    if (w->enc.finished()) {  // a producer finished it through the sink protocol
        if (w->sink.finished()) {
            lua_pushboolean(L, 1);
            return 1;
        }
        w->sink.abort();
        return hostsync::push_fail(L, "close " + w->sink.path() + ": the encrypted file was not completed");
    }
    if (!w->enc.finish(err)) {
        w->sink.abort();
        return hostsync::push_fail(L, err);
    }
    lua_pushboolean(L, 1);
    return 1;
}

int l_writer_abort(lua_State* L) {
    auto* w = check_object<Writer>(L, kWriterMeta);
    if (w->open) {
        w->open = false;
        w->sink.abort();
    }
    lua_pushboolean(L, 1);
    return 1;
}

int l_writer_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<Writer>(L, kWriterMeta)->enc.plaintext_bytes()));
    return 1;
}

int l_writer_encrypted_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<Writer>(L, kWriterMeta)->sink.bytes()));
    return 1;
}

int l_writer_sha256_hex(lua_State* L) {
    auto* w = check_object<Writer>(L, kWriterMeta);
    std::string hex = w->sink.sha256_hex();
    if (hex.empty()) throw hostsync::UsageError("Usage: w:sha256_hex() needs crypto.age_writer(path, {sha256=true, ...})");
    return push_string(L, hex);
}

int l_writer_is_open(lua_State* L) {
    lua_pushboolean(L, check_object<Writer>(L, kWriterMeta)->open);
    return 1;
}

int l_writer_path(lua_State* L) { return push_string(L, check_object<Writer>(L, kWriterMeta)->sink.path()); }

// __hostsync_sink (host/lua_stream.hpp): the writer as a ByteSink, so a producer such as
// tar.write streams plaintext straight into the encryptor. finish() through it seals the
// final chunk and makes the file durable, like w:close().
int l_writer_as_sink(lua_State* L) {
    auto* w = check_object<Writer>(L, kWriterMeta);
    lua_pushlightuserdata(L, static_cast<hostsync::ByteSink*>(&w->enc));
    return 1;
}

int l_writer_gc(lua_State* L) { return gc_object<Writer>(L, kWriterMeta); }

// --- streaming reader ------------------------------------------------------

struct Reader {
    age::FileReader r;
    std::string path;
    bool open = false;
};

// (path, identities, passphrase, max_work_factor)
int l_reader(lua_State* L) {
    std::string path(hostsync::check_view(L, 1));
    std::vector<age::Identity> ids;
    std::string err;
    if (!read_identities(L, 2, ids, err)) return hostsync::push_fail(L, err);
    auto* r = new_object<Reader>(L, kReaderMeta);
    r->path = path;
    if (!r->r.open(path, std::move(ids), err)) return push_fail3(L, err, r->r.kind());
    r->open = true;
    return 1;
}

int l_reader_read(lua_State* L) {
    auto* r = check_object<Reader>(L, kReaderMeta);
    if (!r->open) throw hostsync::UsageError("Usage: r:read() on a closed age reader (" + r->path + ")");
    std::string out, err;
    switch (r->r.read(out, err)) {
        case age::FileReader::Status::Data:
            push_string(L, out);
            age::wipe(out.data(), out.size());
            return 1;
        case age::FileReader::Status::End: lua_pushnil(L); return 1;
        case age::FileReader::Status::Error: return push_fail3(L, err, r->r.kind());
    }
    return 0;
}

int l_reader_close(lua_State* L) {
    auto* r = check_object<Reader>(L, kReaderMeta);
    r->r.close();
    r->open = false;
    lua_pushboolean(L, 1);
    return 1;
}

int l_reader_bytes(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(check_object<Reader>(L, kReaderMeta)->r.plaintext_bytes()));
    return 1;
}

int l_reader_is_open(lua_State* L) {
    lua_pushboolean(L, check_object<Reader>(L, kReaderMeta)->open);
    return 1;
}

// __hostsync_source: the reader as a ByteSource of verified plaintext (tar.extract...).
int l_reader_as_source(lua_State* L) {
    auto* r = check_object<Reader>(L, kReaderMeta);
    lua_pushlightuserdata(L, static_cast<hostsync::ByteSource*>(&r->r));
    return 1;
}

int l_reader_gc(lua_State* L) { return gc_object<Reader>(L, kReaderMeta); }

}  // namespace

int hostsync_raw_crypto(lua_State* L) {
    hostsync::lua_object::new_meta(L, kWriterMeta, guarded<l_writer_gc>, {{hostsync::kSinkMetafield, guarded<l_writer_as_sink>}});
    lua_pop(L, 1);
    hostsync::lua_object::new_meta(L, kReaderMeta, guarded<l_reader_gc>, {{hostsync::kSourceMetafield, guarded<l_reader_as_source>}});
    lua_pop(L, 1);

    const luaL_Reg fns[] = {
        {"keygen", guarded<l_keygen>},
        {"recipient_of", guarded<l_recipient_of>},
        {"check_recipient", guarded<l_check_recipient>},
        {"encrypt", guarded<l_encrypt>},
        {"decrypt", guarded<l_decrypt>},
        {"encrypt_file", guarded<l_encrypt_file>},
        {"decrypt_file", guarded<l_decrypt_file>},
        {"writer", guarded<l_writer>},
        {"writer_write", guarded<l_writer_write>},
        {"writer_close", guarded<l_writer_close>},
        {"writer_abort", guarded<l_writer_abort>},
        {"writer_bytes", guarded<l_writer_bytes>},
        {"writer_encrypted_bytes", guarded<l_writer_encrypted_bytes>},
        {"writer_sha256_hex", guarded<l_writer_sha256_hex>},
        {"writer_is_open", guarded<l_writer_is_open>},
        {"writer_path", guarded<l_writer_path>},
        {"reader", guarded<l_reader>},
        {"reader_read", guarded<l_reader_read>},
        {"reader_close", guarded<l_reader_close>},
        {"reader_bytes", guarded<l_reader_bytes>},
        {"reader_is_open", guarded<l_reader_is_open>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    luaL_getmetatable(L, kWriterMeta);
    lua_setfield(L, -2, "writer_mt");
    luaL_getmetatable(L, kReaderMeta);
    lua_setfield(L, -2, "reader_mt");
    return 1;
}
