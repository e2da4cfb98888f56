#pragma once
// URL helpers shared by the backends: what a database is called in messages (never with
// its password) and hostsync's `?` placeholders rewritten to PostgreSQL's $1..$n.
#include <string>

namespace hostsync::db {

bool is_postgres_url(const std::string& url);

// "postgres://user:secret@host/db?password=x&sslmode=require" ->
// "postgres://user@host/db?sslmode=require". Other URLs are returned unchanged.
std::string redact_url(const std::string& url);

// Replaces every password of `url` (user info and `password=` parameters, as written
// and percent-decoded) found in `message` with "***": libpq echoes a malformed
// password back in its error ("invalid percent-encoded token: ...").
std::string scrub_secrets(const std::string& message, const std::string& url);

// The SQLite file named by "sqlite:PATH", "sqlite://PATH" or a plain PATH.
std::string sqlite_path(const std::string& url);

// Rewrites each `?` outside string literals, quoted identifiers, dollar-quoted strings
// and comments to $1, $2, ...; `??` becomes a literal `?` (PostgreSQL's jsonb operators).
// Returns the number of parameters through `count`.
std::string translate_placeholders(const std::string& sql, int& count);

}  // namespace hostsync::db
