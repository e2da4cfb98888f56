#include <doctest/doctest.h>

#include <sys/stat.h>

#include <string>
#include <vector>

#include "fs_confine.hpp"
#include "fs_ops.hpp"
#include "fs_test_support.hpp"

using namespace hostsync;
using fs_test::TempDir;

namespace {

std::string confined(const std::string& root, std::string_view rel) {
    std::string out, err;
    return fs::confine(root, rel, out, err) ? out : "ERR " + err;
}

}  // namespace

TEST_CASE("confine accepts plain relative paths and normalises them") {
    TempDir d;
    ::mkdir((d / "sub").c_str(), 0755);
    CHECK(confined(d.path, "a.txt") == d / "a.txt");
    CHECK(confined(d.path, "sub/new/deeper.txt") == d / "sub/new/deeper.txt");
    CHECK(confined(d.path, "./sub//x/./y") == d / "sub/x/y");
    CHECK(confined(d.path + "/sub/..", "z") == d / "z");  // the root itself is canonicalised
}

TEST_CASE("confine refuses absolute, '..', empty and NUL paths") {
    TempDir d;
    CHECK(confined(d.path, "/etc/passwd") == "ERR confine \"/etc/passwd\": absolute path refused");
    CHECK(confined(d.path, "a/../b") == "ERR confine \"a/../b\": \"..\" component refused");
    CHECK(confined(d.path, "..") == "ERR confine \"..\": \"..\" component refused");
    CHECK(confined(d.path, "") == "ERR confine \"\": empty path refused");
    CHECK(confined(d.path, "./") == "ERR confine \"./\": empty path refused");
    CHECK(confined(d.path, std::string_view("a\0b", 3)) == "ERR confine \"a?b\": NUL byte in path");
    CHECK(confined(d / "missing", "a") == "ERR confine: root " + d.path + "/missing: No such file or directory");
}

TEST_CASE("confine follows symlinks only while they stay inside the root") {
    TempDir d, outside;
    ::mkdir((d / "real").c_str(), 0755);
    REQUIRE(::symlink("real", (d / "inside").c_str()) == 0);
    REQUIRE(::symlink(outside.path.c_str(), (d / "escape").c_str()) == 0);
    REQUIRE(::symlink("../..", (d / "real/up").c_str()) == 0);
    REQUIRE(::symlink((d / "nowhere").c_str(), (d / "dangling").c_str()) == 0);

    CHECK(confined(d.path, "inside/x") == d / "inside/x");
    std::string escape = confined(d.path, "escape/x");
    CHECK(escape.find("\"escape\" is a symlink to \"" + outside.path + "\", outside the root") != std::string::npos);
    CHECK(confined(d.path, "real/up/etc").find("\"real/up\" is a symlink to") != std::string::npos);
    CHECK(confined(d.path, "dangling").find("\"dangling\" is a symlink that does not resolve") != std::string::npos);
    CHECK(confined(d.path, "escape").find("outside the root") != std::string::npos);
}

TEST_CASE("stat, mkdir_p, listdir, remove, remove_tree, rename") {
    TempDir d;
    std::string err;
    fs::StatInfo st;
    REQUIRE(fs::mkdir_p(d / "a/b/c", 0755, err));
    REQUIRE(fs::mkdir_p(d / "a/b/c", 0755, err));  // already there: fine
    REQUIRE(fs::stat(d / "a/b/c", false, st, err));
    CHECK(std::string(st.type) == "dir");
    fs_test::spit(d / "a/file", "12345");
    REQUIRE(fs::stat(d / "a/file", false, st, err));
    CHECK(std::string(st.type) == "file");
    CHECK(st.size == 5);
    CHECK(st.mtime > 1.6e9);
    CHECK_FALSE(fs::mkdir_p(d / "a/file/x", 0755, err));
    CHECK(err == "mkdir " + d.path + "/a/file: Not a directory");
    REQUIRE(::symlink("file", (d / "a/link").c_str()) == 0);
    REQUIRE(fs::stat(d / "a/link", false, st, err));
    CHECK(std::string(st.type) == "link");
    REQUIRE(fs::stat(d / "a/link", true, st, err));
    CHECK(std::string(st.type) == "file");

    std::vector<std::string> names;
    REQUIRE(fs::listdir(d / "a", names, err));
    CHECK(names == std::vector<std::string>{"b", "file", "link"});

    CHECK_FALSE(fs::remove(d / "a/b", err));
    CHECK(err == "remove " + d.path + "/a/b: Directory not empty");
    REQUIRE(fs::remove(d / "a/b/c", err));
    REQUIRE(fs::remove(d / "a/link", err));
    CHECK(fs::exists(d / "a/file"));

    CHECK_FALSE(fs::rename(d / "a/file", d / "a/b", true, err));  // b exists
    CHECK(err == "rename " + d.path + "/a/file to " + d.path + "/a/b: File exists");
    REQUIRE(fs::rename(d / "a/file", d / "a/moved", true, err));
    CHECK(fs_test::slurp(d / "a/moved") == "12345");
    fs_test::spit(d / "a/other", "other");
    REQUIRE(fs::rename(d / "a/other", d / "a/moved", false, err));  // replaces
    CHECK(fs_test::slurp(d / "a/moved") == "other");

    // remove_tree deletes a symlink to a directory, never what it points to.
    TempDir keep;
    fs_test::spit(keep / "precious", "x");
    REQUIRE(::symlink(keep.path.c_str(), (d / "a/b/to_keep").c_str()) == 0);
    REQUIRE(fs::mkdir_p(d / "a/b/deep/er", 0755, err));
    fs_test::spit(d / "a/b/deep/er/f", "x");
    REQUIRE(fs::remove_tree(d / "a", err));
    CHECK_FALSE(fs::exists(d / "a"));
    CHECK(fs::exists(keep / "precious"));
    CHECK_FALSE(fs::remove_tree(d / "a", err));
    CHECK(err == "remove_tree " + d.path + "/a: No such file or directory");

    std::string made;
    REQUIRE(fs::mkdtemp(d / "tmp-", made, err));
    REQUIRE(fs::stat(made, false, st, err));
    CHECK(std::string(st.type) == "dir");
    CHECK(made.rfind(d / "tmp-", 0) == 0);
    CHECK(fs::fsync_dir(made, err));
    CHECK_FALSE(fs::fsync_dir(d / "nope", err));
    CHECK(err == "fsync_dir " + d.path + "/nope: No such file or directory");
}
