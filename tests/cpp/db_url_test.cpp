#include <doctest/doctest.h>

#include <string>

#include "db_url.hpp"

using namespace hostsync::db;

namespace {

std::string tr(const std::string& sql, int expected_count) {
    int count = -1;
    std::string out = translate_placeholders(sql, count);
    CHECK(count == expected_count);
    return out;
}

}  // namespace

TEST_CASE("placeholders: ? becomes $n outside literals, identifiers, comments and dollar quotes") {
    CHECK(tr("SELECT ?, ?", 2) == "SELECT $1, $2");
    CHECK(tr("SELECT '?', \"a?\", ? -- ?\n, ?", 2) == "SELECT '?', \"a?\", $1 -- ?\n, $2");
    CHECK(tr("SELECT 'it''s ?', ?", 1) == "SELECT 'it''s ?', $1");
    CHECK(tr("SELECT E'\\' ?', ?", 1) == "SELECT E'\\' ?', $1");
    CHECK(tr("SELECT /* ? */ ? /* ?", 1) == "SELECT /* ? */ $1 /* ?");
    CHECK(tr("DO $$ SELECT ? $$; SELECT $tag$ ? $tag$, ?", 1) == "DO $$ SELECT ? $$; SELECT $tag$ ? $tag$, $1");
    CHECK(tr("SELECT data ?? 'key', ?", 1) == "SELECT data ? 'key', $1");
    CHECK(tr("SELECT $1", 0) == "SELECT $1");
    CHECK(tr("SELECT 'unterminated ?", 0) == "SELECT 'unterminated ?");
}

TEST_CASE("redact_url drops the password from user info and query") {
    CHECK(redact_url("postgres://u:secret@h:5432/db?sslmode=require") == "postgres://u@h:5432/db?sslmode=require");
    CHECK(redact_url("postgresql://u:p%40ss@h/db") == "postgresql://u@h/db");
    CHECK(redact_url("postgres://u:a@b@h/db") == "postgres://u@h/db");
    CHECK(redact_url("postgres://h/db?password=x&sslmode=disable") == "postgres://h/db?sslmode=disable");
    CHECK(redact_url("postgres://h/db?password=x") == "postgres://h/db");
    CHECK(redact_url("postgres://u@h") == "postgres://u@h");
    CHECK(redact_url("sqlite:/tmp/x.db") == "sqlite:/tmp/x.db");
    CHECK(sqlite_path("sqlite:/tmp/x.db") == "/tmp/x.db");
    CHECK(sqlite_path("sqlite:///tmp/x.db") == "/tmp/x.db");
    CHECK(sqlite_path("brain.sqlite") == "brain.sqlite");
}

TEST_CASE("scrub_secrets hides passwords as written and decoded") {
    CHECK(scrub_secrets("bad token \"se%zzcret\"", "postgres://u:se%zzcret@h/db") == "bad token \"***\"");
    CHECK(scrub_secrets("p@ss and p%40ss", "postgres://u:p%40ss@h/db") == "*** and ***");
    CHECK(scrub_secrets("x pw1 y", "postgres://h/db?sslmode=disable&password=pw1") == "x *** y");
    CHECK(scrub_secrets("nothing", "postgres://u@h/db") == "nothing");
}
