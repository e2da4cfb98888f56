#pragma once
// The SQLite backend of db.hpp (libsqlite3): WAL, busy timeout, foreign keys, FULL sync.
#include "db.hpp"

struct sqlite3;

namespace hostsync::db {

// An Error from SQLite's state after a failed call: "<name>: <message> (<code>)", with
// the backend-neutral kind (db.hpp).
Error sqlite_error(sqlite3* db, const std::string& name, int rc);

std::unique_ptr<Connection> open_sqlite(const std::string& url, const OpenOptions& opts, Error& err);

// For db_sqlite_group.cpp, on connections made by open_sqlite: whether `sql` is one
// statement that only reads (sqlite3_stmt_readonly), whether a transaction is open (not
// autocommit), and the database file's absolute path ("" for :memory:).
bool sqlite_is_read(Connection& conn, const std::string& sql);
bool sqlite_in_transaction(Connection& conn);
std::string sqlite_file_path(Connection& conn);

}  // namespace hostsync::db
