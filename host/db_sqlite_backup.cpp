// SQLite online backup into a new file (see db_sqlite_backup.hpp for the guarantees).
#include "db_sqlite_backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "clock.hpp"
#include "db_sqlite.hpp"
#include "failpoint.hpp"
#include "fs_sys.hpp"

namespace hostsync::db {

namespace {

// How long a backup step waits for a source lock before giving up (a WAL source only
// blocks it during a checkpoint that truncates, or a rollback-journal writer).
constexpr double kBusyWait = 30.0;

Error failure(const std::string& what, const std::string& path, int errnum) {
    Error e;
    e.message = fs::sys_error(what, path, errnum);
    e.kind = "error";
    e.code = errnum == EEXIST ? "EEXIST" : "ERRNO";
    return e;
}

// The temporary file beside `dest`: "<dir>/.<name>.backup-<pid>-<n>", created empty with
// O_EXCL (an empty file is a valid empty database for sqlite3_open).
bool create_temp(const std::string& dest, std::string& tmp, Error& err) {
    static std::atomic<unsigned> counter{0};
    std::string prefix = fs::parent_dir(dest) + "/." + fs::base_name(dest) + ".backup-" + std::to_string(::getpid()) + "-";
    for (int attempt = 0; attempt < 100; ++attempt) {
        tmp = prefix + std::to_string(counter.fetch_add(1));
        int fd = fs::open_cloexec(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            ::close(fd);
            return true;
        }
        if (errno != EEXIST) break;
    }
    err = failure("create temporary file for", dest, errno);
    return false;
}

void remove_temp(const std::string& tmp) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) ::unlink((tmp + suffix).c_str());
}

// Copies every page of `src` into the open database `dst` in one step (one read
// transaction of the source), retrying while the source is locked.
bool copy_pages(sqlite3* src, const std::string& src_name, sqlite3* dst, const std::string& tmp, Error& err) {
    sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) return (err = sqlite_error(dst, tmp, sqlite3_errcode(dst)), false);
    const double deadline = clock::monotonic() + kBusyWait;
    double pause = 0.001;
    int rc;
    while (true) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || clock::monotonic() + pause > deadline) break;
        clock::sleep(pause);
        pause = pause < 0.1 ? pause * 2 : 0.1;
    }
    int finish = sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE && finish == SQLITE_OK) return true;
    // A source-side error is reported on the source's handle, a destination-side one on dst's.
    err = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? sqlite_error(nullptr, src_name, rc) : sqlite_error(dst, tmp, finish);
    err.message = "backup of " + src_name + ": " + err.message;
    return false;
}

bool run(sqlite3* db, const char* sql, const std::string& name, Error& err) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK) return true;
    err = sqlite_error(db, name, sqlite3_errcode(db));
    return false;
}

}  // namespace

bool sqlite_backup(sqlite3* src, const std::string& src_name, const std::string& dest, Error& err) {
    struct stat st;
    if (::lstat(dest.c_str(), &st) == 0) return (err = failure("backup to", dest, EEXIST), false);
    std::string tmp;
    if (!create_temp(dest, tmp, err)) return false;
    sqlite3* dst = nullptr;
    bool ok = sqlite3_open_v2(tmp.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) == SQLITE_OK;
    if (!ok) err = sqlite_error(dst, tmp, sqlite3_errcode(dst));
    ok = ok && run(dst, "PRAGMA synchronous=FULL", tmp, err) && copy_pages(src, src_name, dst, tmp, err)
         // The copy of a WAL database says "WAL" in its header; as a backup it is one
         // self-contained file instead (hostsync's db.open switches it back to WAL).
         && run(dst, "PRAGMA journal_mode=DELETE", tmp, err);
    if (dst && sqlite3_close(dst) != SQLITE_OK && ok) {
        err = sqlite_error(nullptr, tmp, SQLITE_BUSY);
        ok = false;
    }
    if (ok) {
        fs::Fd fd(fs::open_cloexec(tmp, O_RDONLY));
        int e = fd ? fs::fsync_fd(fd.get()) : errno;
        if (e != 0) {
            err = failure("fsync", tmp, e);
            ok = false;
        }
    }
    if (ok) failpoint::hit("db_backup");
    if (ok) {
        if (int e = fs::rename_no_replace(tmp, dest); e != 0) {
            err = failure("backup to", dest, e);
            ok = false;
        }
    }
    if (!ok) {
        remove_temp(tmp);
        return false;
    }
    if (int e = fs::fsync_dir_raw(fs::parent_dir(dest)); e != 0) return (err = failure("fsync directory", fs::parent_dir(dest), e), false);
    return true;
}

}  // namespace hostsync::db
