#pragma once
// Group commit for SQLite: many threads' transactions share one fsync.
//
// With synchronous=FULL every COMMIT waits for an fsync of the WAL (milliseconds on real
// disks), and SQLite lets one writer commit at a time, so N concurrent writers queue
// for N fsyncs, and a writer that finds the lock taken polls in sleeps of up to 100 ms.
// A grouped handle instead:
//   - runs its transactions on one writer connection shared by every grouped handle of
//     the same file in this process, one at a time (a mutex, no busy polling), each
//     as a SAVEPOINT inside an outer BEGIN IMMEDIATE: a failed transaction rolls back
//     only its savepoint;
//   - commits the outer transaction (one fsync, synchronous=FULL as before) when no
//     other transaction is waiting to start, or the batch is full or old;
//   - returns from end_grouped() only once the batch holding the work is durable (or
//     with the batch's error if its COMMIT failed: then none of it was applied);
//   - runs reads outside a transaction on the handle's own connection, which sees only
//     committed, hence durable, data (in WAL, a commit becomes visible after its fsync).
// Writes outside a transaction run as a one-statement grouped transaction; prepared
// statements follow the same rules. Not for ":memory:" (each open would be another
// database).
#include "db.hpp"

namespace hostsync::db {

std::unique_ptr<Connection> open_sqlite_grouped(const std::string& url, const OpenOptions& opts, Error& err);

}  // namespace hostsync::db
