// unsafe_code_dir and confine_search_path: where a server may load code from.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <string>

#include "fs_test_support.hpp"
#include "search_paths.hpp"

using namespace hostsync;
using fs_test::TempDir;

namespace {

std::string make_dir(const std::string& path, mode_t mode) {
    ::mkdir(path.c_str(), 0700);
    ::chmod(path.c_str(), mode);  // chmod: mkdir's mode is filtered by the umask
    return path;
}

}  // namespace

TEST_CASE("a private directory and its system ancestors are safe for code") {
    TempDir d;  // mkdtemp: 0700 under /tmp, which is sticky
    CHECK(unsafe_code_dir(d.path) == "");
    CHECK(unsafe_code_dir(make_dir(d / "lib", 0755)) == "");
    CHECK(unsafe_code_dir("/usr/share") == "");
}

TEST_CASE("a directory writable by others, or below one without the sticky bit, is not") {
    TempDir d;
    std::string open = make_dir(d / "open", 0777);
    CHECK(unsafe_code_dir(open) == open + " is writable by every user");
    std::string inside = make_dir(open + "/mine", 0755);
    CHECK(unsafe_code_dir(inside) == open + " is writable by every user");
    // Sticky: others cannot replace what they do not own in it, but it is not a code
    // directory itself.
    std::string sticky = make_dir(d / "sticky", 01777);
    CHECK(unsafe_code_dir(sticky) == sticky + " is writable by every user");
    CHECK(unsafe_code_dir(make_dir(sticky + "/mine", 0755)) == "");
    CHECK(unsafe_code_dir("/tmp") == "/tmp is writable by every user");
}

TEST_CASE("a directory that does not exist is judged by its nearest existing ancestor") {
    TempDir d;
    CHECK(unsafe_code_dir(d / "not/yet") == "");
    std::string sticky = make_dir(d / "sticky", 01777);
    // Anyone may create it there.
    CHECK(unsafe_code_dir(sticky + "/later/lib") == sticky + " is writable by every user");
}

TEST_CASE("relative and '..' paths are refused") {
    CHECK(unsafe_code_dir("scripts") == "scripts: not an absolute path");
    CHECK(unsafe_code_dir("/usr/../tmp") == "/usr/../tmp: contains '..'");
}

TEST_CASE("confine_search_path drops the working directory and names an unsafe entry") {
    TempDir d;
    std::string lib = make_dir(d / "lib", 0755);
    std::string out, err;
    REQUIRE(confine_search_path("./?.lua;" + lib + "/?.lua;" + lib + "/?/init.lua;/usr/lib/lua/5.1/loadall.so;;", out, err));
    CHECK(out == lib + "/?.lua;" + lib + "/?/init.lua;/usr/lib/lua/5.1/loadall.so");
    std::string open = make_dir(d / "open", 0777);
    CHECK_FALSE(confine_search_path(lib + "/?.lua;" + open + "/?.lua", out, err));
    CHECK(err == "refusing to load code from " + open + "/?.lua: " + open + " is writable by every user");
}
