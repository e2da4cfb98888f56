// SQLite backend. Connections are configured for a shared, durable store: WAL so readers
// never block the writer, a busy timeout so writers queue instead of failing, foreign
// keys enforced, synchronous=FULL so a commit that returned survives a power cut.
#include "db_sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "clock.hpp"
#include "db_sqlite_backup.hpp"
#include "db_url.hpp"

namespace hostsync::db {

namespace {

struct SqliteStatement;

// Shared by the connection and its statements, so that whichever is destroyed first
// (Lua finalizes in any order) the other never touches freed memory.
struct Shared {
    sqlite3* db = nullptr;
    std::string name;  // what messages call the database
    std::set<SqliteStatement*> statements;
};

const char* code_name(int ext) {
    switch (ext) {
        case SQLITE_CONSTRAINT_UNIQUE: return "SQLITE_CONSTRAINT_UNIQUE";
        case SQLITE_CONSTRAINT_PRIMARYKEY: return "SQLITE_CONSTRAINT_PRIMARYKEY";
        case SQLITE_CONSTRAINT_FOREIGNKEY: return "SQLITE_CONSTRAINT_FOREIGNKEY";
        case SQLITE_CONSTRAINT_NOTNULL: return "SQLITE_CONSTRAINT_NOTNULL";
        case SQLITE_CONSTRAINT_CHECK: return "SQLITE_CONSTRAINT_CHECK";
        case SQLITE_BUSY_SNAPSHOT: return "SQLITE_BUSY_SNAPSHOT";
        default: break;
    }
    switch (ext & 0xff) {
        case SQLITE_ERROR: return "SQLITE_ERROR";
        case SQLITE_PERM: return "SQLITE_PERM";
        case SQLITE_BUSY: return "SQLITE_BUSY";
        case SQLITE_LOCKED: return "SQLITE_LOCKED";
        case SQLITE_READONLY: return "SQLITE_READONLY";
        case SQLITE_IOERR: return "SQLITE_IOERR";
        case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
        case SQLITE_FULL: return "SQLITE_FULL";
        case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
        case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
        case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
        case SQLITE_NOTADB: return "SQLITE_NOTADB";
        case SQLITE_RANGE: return "SQLITE_RANGE";
        case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
        default: return "SQLITE_ERROR";
    }
}

}  // namespace

Error sqlite_error(sqlite3* db, const std::string& name, int rc) {
    Error e;
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    e.code = code_name(ext);
    e.message = name + ": " + msg + " (" + e.code + ")";
    switch (ext & 0xff) {
        case SQLITE_CONSTRAINT: e.kind = "constraint"; break;
        case SQLITE_BUSY:
        case SQLITE_LOCKED: e.kind = "busy"; break;
        case SQLITE_CANTOPEN:
        case SQLITE_NOTADB: e.kind = "connection"; break;
        default:
            e.kind = std::strstr(msg, "syntax error") ? "syntax" : "error";
    }
    return e;
}

namespace {

Error make_error(sqlite3* db, const std::string& name, int rc) { return sqlite_error(db, name, rc); }

bool bind_all(sqlite3_stmt* st, const std::vector<Value>& params, const std::string& name, Error& err) {
    int want = sqlite3_bind_parameter_count(st);
    if (want != static_cast<int>(params.size())) {
        err.kind = "usage";
        err.message = "Usage: the SQL has " + std::to_string(want) + " parameter(s), got " + std::to_string(params.size());
        return false;
    }
    for (int i = 0; i < want; ++i) {
        const Value& v = params[i];
        int rc = SQLITE_OK;
        // SQLITE_STATIC: the values outlive the statement's run (bindings are cleared
        // before run() returns), so no copies.
        if (std::holds_alternative<Null>(v)) rc = sqlite3_bind_null(st, i + 1);
        else if (auto* b = std::get_if<bool>(&v)) rc = sqlite3_bind_int64(st, i + 1, *b ? 1 : 0);
        else if (auto* n = std::get_if<std::int64_t>(&v)) rc = sqlite3_bind_int64(st, i + 1, *n);
        else if (auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(st, i + 1, *d);
        else if (auto* s = std::get_if<std::string>(&v)) rc = sqlite3_bind_text64(st, i + 1, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
        else if (auto* bl = std::get_if<Blob>(&v)) rc = sqlite3_bind_blob64(st, i + 1, bl->bytes.data(), bl->bytes.size(), SQLITE_STATIC);
        else if (auto* bi = std::get_if<BigInt>(&v)) rc = sqlite3_bind_text64(st, i + 1, bi->digits.data(), bi->digits.size(), SQLITE_STATIC, SQLITE_UTF8);
        if (rc != SQLITE_OK) {
            err = make_error(sqlite3_db_handle(st), name, rc);
            return false;
        }
    }
    return true;
}

Value column_value(sqlite3_stmt* st, int i) {
    switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER: return static_cast<std::int64_t>(sqlite3_column_int64(st, i));
        case SQLITE_FLOAT: return sqlite3_column_double(st, i);
        case SQLITE_TEXT: {
            auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
            return std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, i)));
        }
        case SQLITE_BLOB: {
            auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
            return Blob{std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(st, i)))};
        }
        default: return Null{};
    }
}

// Steps a bound statement to the end, collecting rows; always leaves it reset.
bool run_statement(sqlite3_stmt* st, const std::string& name, Result& out, Error& err) {
    sqlite3* db = sqlite3_db_handle(st);
    sqlite3_int64 before = sqlite3_total_changes64(db);
    out = Result{};
    // Columns after the first step: a cached statement that SQLite re-prepared there
    // (the schema changed) may have other columns than before.
    int rc = sqlite3_step(st);
    int ncol = sqlite3_column_count(st);
    for (int i = 0; i < ncol; ++i) out.columns.emplace_back(sqlite3_column_name(st, i));
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        std::vector<Value> row;
        row.reserve(ncol);
        for (int i = 0; i < ncol; ++i) row.push_back(column_value(st, i));
        out.rows.push_back(std::move(row));
    }
    bool ok = rc == SQLITE_DONE;
    if (!ok) err = make_error(db, name, rc);
    // sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE even after a
    // CREATE or SELECT; only trust it if this statement changed something.
    if (ok && sqlite3_total_changes64(db) != before) out.changes = sqlite3_changes64(db);
    sqlite3_reset(st);  // releases the statement's read snapshot
    sqlite3_clear_bindings(st);
    return ok;
}

struct SqliteStatement : Statement {
    std::shared_ptr<Shared> shared;
    sqlite3_stmt* st = nullptr;

    SqliteStatement(std::shared_ptr<Shared> s, sqlite3_stmt* p) : shared(std::move(s)), st(p) {
        shared->statements.insert(this);
    }
    ~SqliteStatement() override {
        if (st) sqlite3_finalize(st);
        shared->statements.erase(this);
    }
    bool run(const std::vector<Value>& params, Result& out, Error& err) override {
        if (!st) {
            err.kind = "usage";
            err.message = "Usage: statement used after its database was closed";
            return false;
        }
        if (!bind_all(st, params, shared->name, err)) {
            sqlite3_clear_bindings(st);
            return false;
        }
        return run_statement(st, shared->name, out, err);
    }
};

bool blank(const char* p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';') ++p;
    return *p == '\0';
}

class SqliteConnection : public Connection {
public:
    explicit SqliteConnection(std::shared_ptr<Shared> s) : shared_(std::move(s)) {}
    ~SqliteConnection() override { close(); }

    const char* backend() const override { return "sqlite"; }
    const std::string& display_url() const override { return shared_->name; }

    bool execute(const std::string& sql, const std::vector<Value>& params, Result& out, Error& err) override {
        if (!check_open(err)) return false;
        out = Result{};
        if (sqlite3_stmt* st = cached(sql)) {
            if (bind_all(st, params, shared_->name, err)) return run_statement(st, shared_->name, out, err);
            sqlite3_clear_bindings(st);
            return false;
        }
        const char* tail = sql.c_str();
        // Several statements run one after another (migrations); parameters only make
        // sense for a single one.
        while (!blank(tail)) {
            sqlite3_stmt* st = nullptr;
            const char* next = nullptr;
            int rc = sqlite3_prepare_v2(shared_->db, tail, -1, &st, &next);
            if (rc != SQLITE_OK) {
                err = make_error(shared_->db, shared_->name, rc);
                return false;
            }
            if (!st) break;  // only comments left
            if (!params.empty() && !blank(next)) {
                sqlite3_finalize(st);
                err.kind = "usage";
                err.message = "Usage: parameters are only allowed with a single SQL statement";
                return false;
            }
            bool ok = bind_all(st, params, shared_->name, err) && run_statement(st, shared_->name, out, err);
            sqlite3_finalize(st);
            if (!ok) return false;
            tail = next;
        }
        return true;
    }

    std::unique_ptr<Statement> prepare(const std::string& sql, Error& err) override {
        if (!check_open(err)) return nullptr;
        sqlite3_stmt* st = nullptr;
        const char* next = nullptr;
        int rc = sqlite3_prepare_v3(shared_->db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, &next);
        if (rc != SQLITE_OK) {
            err = make_error(shared_->db, shared_->name, rc);
            return nullptr;
        }
        if (!st || !blank(next)) {
            if (st) sqlite3_finalize(st);
            err.kind = "usage";
            err.message = "Usage: prepare takes exactly one SQL statement";
            return nullptr;
        }
        return std::make_unique<SqliteStatement>(shared_, st);
    }

    bool wait_notification(double, std::optional<Notification>&, Error& err) override {
        err.kind = "usage";
        err.message = "Usage: notifications need PostgreSQL (" + shared_->name + " is SQLite)";
        return false;
    }

    bool backup(const std::string& dest_path, Error& err) override {
        if (!check_open(err)) return false;
        return sqlite_backup(shared_->db, shared_->name, dest_path, err);
    }

    // A single statement's prepared form, kept for the next execute() of the same text:
    // a server runs the same few statements on every request, and preparing is a good
    // part of their cost. nullptr for several statements, or SQL that does not prepare
    // (execute's loop then reports why).
    sqlite3_stmt* cached(const std::string& sql) {
        auto it = cache_.find(sql);
        if (it != cache_.end()) return it->second;
        sqlite3_stmt* st = nullptr;
        const char* next = nullptr;
        int rc = sqlite3_prepare_v3(shared_->db, sql.c_str(), static_cast<int>(sql.size()) + 1,
                                    SQLITE_PREPARE_PERSISTENT, &st, &next);
        if (rc != SQLITE_OK || !st || !blank(next)) {
            sqlite3_finalize(st);
            return nullptr;
        }
        if (cache_.size() >= kCacheSize) clear_cache();
        cache_.emplace(sql, st);
        return st;
    }

    void close() override {
        if (!shared_->db) return;
        clear_cache();
        for (auto* s : shared_->statements) {
            sqlite3_finalize(s->st);
            s->st = nullptr;
        }
        sqlite3_close_v2(shared_->db);
        shared_->db = nullptr;
    }

    sqlite3* raw() const { return shared_->db; }

private:
    static constexpr std::size_t kCacheSize = 128;
    void clear_cache() {
        for (auto& [sql, st] : cache_) sqlite3_finalize(st);
        cache_.clear();
    }
    std::unordered_map<std::string, sqlite3_stmt*> cache_;

    bool check_open(Error& err) {
        if (shared_->db) return true;
        err.kind = "usage";
        err.message = "Usage: database " + shared_->name + " is closed";
        return false;
    }
    std::shared_ptr<Shared> shared_;
};

}  // namespace

bool sqlite_is_read(Connection& conn, const std::string& sql) {
    auto& c = static_cast<SqliteConnection&>(conn);
    sqlite3_stmt* st = c.raw() ? c.cached(sql) : nullptr;
    return st && sqlite3_stmt_readonly(st);
}

bool sqlite_in_transaction(Connection& conn) {
    sqlite3* db = static_cast<SqliteConnection&>(conn).raw();
    return db && !sqlite3_get_autocommit(db);
}

std::string sqlite_file_path(Connection& conn) {
    sqlite3* db = static_cast<SqliteConnection&>(conn).raw();
    const char* f = db ? sqlite3_db_filename(db, "main") : nullptr;
    return f ? f : "";
}

std::unique_ptr<Connection> open_sqlite(const std::string& url, const OpenOptions& opts, Error& err) {
    auto shared = std::make_shared<Shared>();
    std::string path = sqlite_path(url);
    shared->name = path == url ? path : url;
    if (path.empty()) {
        err.kind = "usage";
        err.message = "Usage: db.open: empty SQLite path in '" + url + "'";
        return nullptr;
    }
    int flags = opts.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &shared->db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        err = make_error(shared->db, shared->name, rc);
        err.kind = "connection";
        sqlite3_close_v2(shared->db);
        return nullptr;
    }
    sqlite3_extended_result_codes(shared->db, 1);
    // The busy timeout first: switching to WAL takes a lock another process may hold.
    sqlite3_busy_timeout(shared->db, opts.busy_timeout_ms);
    auto conn = std::make_unique<SqliteConnection>(shared);
    Result r;
    // A read-only handle changes nothing, not even the journal mode (which is written
    // into the file's header).
    const char* setup = opts.read_only ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
        : path == ":memory:"
        ? "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
        : "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;";
    // Two connections switching a new file to WAL at once can deadlock on the lock
    // upgrade; SQLite then answers SQLITE_BUSY at once, without the busy handler. Retry
    // within the busy timeout (the mode is persistent: only the first switch contends).
    const double deadline = clock::monotonic() + opts.busy_timeout_ms / 1000.0;
    double pause = 0.001;
    while (!conn->execute(setup, {}, r, err)) {
        if (err.kind != "busy" || clock::monotonic() + pause > deadline) {
            err.kind = err.kind == "busy" ? "busy" : "connection";
            return nullptr;
        }
        clock::sleep(pause);
        pause = std::min(pause * 2, 0.05);
    }
    return conn;
}

}  // namespace hostsync::db
