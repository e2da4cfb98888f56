#pragma once
// One interface over SQLite and PostgreSQL, so bindings/db.cpp (and everything built on
// hostsync.db) is written once. Plain C++: values, results and errors are data; the
// backends live in db_sqlite.cpp and db_pg.cpp, the URL handling in db_url.cpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hostsync::db {

// A blob is its own type so that a Lua string can be sent as text (the default) or as
// bytes (db.blob(s)) without guessing from its contents.
struct Blob {
    std::string bytes;
};
struct Null {};
// Integers that do not fit a double exactly come back as decimal text (BigInt), so a
// 64-bit id never silently loses digits on its way into Lua.
struct BigInt {
    std::string digits;
};
using Value = std::variant<Null, bool, std::int64_t, double, std::string, Blob, BigInt>;

struct Result {
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;
    std::int64_t changes = 0;  // rows inserted/updated/deleted by the statement
};

// A failure of the world: `message` already names the database (URL without password).
// `kind` is a small, backend-neutral class callers branch on ("constraint", "busy",
// "connection", "syntax", "error"; "usage" marks a caller's mistake, such as a wrong
// parameter count, that the binding raises instead of returning); `code` is the backend's own code (SQLSTATE such as
// "23505", or SQLite's extended code name such as "SQLITE_CONSTRAINT_UNIQUE").
struct Error {
    std::string message;
    std::string kind = "error";
    std::string code;
};

struct Notification {
    std::string channel;
    std::string payload;
    int pid = 0;
};

class Statement {
public:
    virtual ~Statement() = default;
    virtual bool run(const std::vector<Value>& params, Result& out, Error& err) = 0;
};

class Connection {
public:
    virtual ~Connection() = default;
    virtual const char* backend() const = 0;  // "sqlite" | "postgres"
    virtual const std::string& display_url() const = 0;  // never contains the password
    // Runs one statement with parameters, or (params empty) possibly several separated
    // by ';' (migrations); the result is the last statement's.
    virtual bool execute(const std::string& sql, const std::vector<Value>& params, Result& out, Error& err) = 0;
    virtual std::unique_ptr<Statement> prepare(const std::string& sql, Error& err) = 0;
    // The next LISTEN notification, or none after timeout_s (PostgreSQL only; SQLite
    // answers with kind "usage").
    virtual bool wait_notification(double timeout_s, std::optional<Notification>& out, Error& err) = 0;
    virtual void close() = 0;
    // A consistent copy of the whole database into a new file `dest_path` while others
    // go on writing (SQLite's online backup API; db_sqlite_backup.hpp). The copy is
    // written to a temporary file beside it, fsynced and renamed into place without
    // replacing anything: `dest_path` is absent or complete. PostgreSQL answers kind
    // "usage" (use pg_dump).
    virtual bool backup(const std::string& dest_path, Error& err);

    // Group commit (SQLite, OpenOptions::group_commit; db_sqlite_group.hpp). A grouped
    // handle runs a transaction as begin_grouped() .. end_grouped() instead of BEGIN ..
    // COMMIT: end_grouped returns once the batch holding the work is durable. Plain
    // handles answer grouped() false and refuse the two calls (kind "usage").
    struct GroupStats {
        int queued = 0;                 // transactions waiting to start
        std::int64_t batches = 0;       // batches committed (or failed) so far
        std::int64_t transactions = 0;  // transactions those batches held
        std::int64_t last_batch = 0;    // the batch number of this handle's last transaction
    };
    virtual bool grouped() const { return false; }
    virtual bool begin_grouped(Error& err);
    virtual bool end_grouped(bool commit, Error& err);
    virtual GroupStats group_stats() const { return {}; }
};

struct OpenOptions {
    int busy_timeout_ms = 5000;  // SQLite: how long a writer waits for another
    // SQLite: concurrent transactions of this process share one connection and one fsync
    // per batch (db_sqlite_group.hpp). Ignored for PostgreSQL, which groups commits itself.
    bool group_commit = false;
    // Open without writing anything: SQLite opens the file read-only and leaves its
    // journal mode as it is (no WAL switch, no -wal/-shm created for a rollback-journal
    // file); PostgreSQL sets default_transaction_read_only. Not with group_commit.
    bool read_only = false;
};

// Opens a database from a URL: "postgres://..." / "postgresql://..." use libpq, anything
// else is SQLite ("sqlite:PATH", "sqlite://PATH" or a plain path, ":memory:").
std::unique_ptr<Connection> open(const std::string& url, const OpenOptions& opts, Error& err);

}  // namespace hostsync::db
