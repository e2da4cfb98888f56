// Backend dispatch for db::open: the URL's scheme decides.
#include "db.hpp"

#include "db_pg.hpp"
#include "db_sqlite.hpp"
#include "db_sqlite_group.hpp"
#include "db_url.hpp"

namespace hostsync::db {

namespace {
bool not_grouped(Error& err) {
    err.kind = "usage";
    err.message = "Usage: this database handle was not opened with group_commit";
    return false;
}
}  // namespace

bool Connection::begin_grouped(Error& err) { return not_grouped(err); }
bool Connection::end_grouped(bool, Error& err) { return not_grouped(err); }

bool Connection::backup(const std::string&, Error& err) {
    err.kind = "usage";
    err.message = std::string("Usage: h:backup copies SQLite databases; ") + display_url() + " is " + backend() +
                  (std::string(backend()) == "postgres" ? " (use pg_dump)" : "");
    return false;
}

std::unique_ptr<Connection> open(const std::string& url, const OpenOptions& opts, Error& err) {
    if (is_postgres_url(url)) return open_postgres(url, opts, err);
    if (opts.group_commit && opts.read_only) {
        err.kind = "usage";
        err.message = "Usage: db.open: read_only and group_commit do not go together";
        return nullptr;
    }
    if (opts.group_commit) return open_sqlite_grouped(url, opts, err);
    return open_sqlite(url, opts, err);
}

}  // namespace hostsync::db
