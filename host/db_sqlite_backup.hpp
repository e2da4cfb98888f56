#pragma once
// h:backup for SQLite: SQLite's online backup API (sqlite3_backup_*) copies a live
// database page by page into a new file while other connections go on writing.
//
// The copy is one backup step over all pages, so it runs inside one read transaction of
// the source: it is the database as of one commit (in WAL mode writers are not blocked,
// and a transaction that committed before the step began is in the copy). The pages go
// to a hidden temporary file beside the destination, which is switched to rollback-
// journal mode (a self-contained single file: no -wal or -shm belongs to it), fsynced,
// and renamed into place without replacing anything; the directory is fsynced. So the
// destination is either absent or a complete, consistent database, also after a crash.
#include "db.hpp"

struct sqlite3;

namespace hostsync::db {

// Copies `src` (its "main" database; `src_name` names it in errors) to `dest_path`,
// which must not exist. Failpoint "db_backup" fires after the copy is durable and
// before the rename (tests/e2e/test_brain_backup.py).
bool sqlite_backup(sqlite3* src, const std::string& src_name, const std::string& dest_path, Error& err);

}  // namespace hostsync::db
