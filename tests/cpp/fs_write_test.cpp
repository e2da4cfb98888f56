#include <doctest/doctest.h>

#include <sys/stat.h>

#include <string>
#include <vector>

#include "fs_ops.hpp"
#include "fs_read.hpp"
#include "fs_test_support.hpp"
#include "fs_write.hpp"

using namespace hostsync;
using fs_test::TempDir;

namespace {

std::vector<std::string> names(const std::string& dir) {
    std::vector<std::string> out;
    std::string err;
    REQUIRE(fs::listdir(dir, out, err));
    return out;
}

}  // namespace

TEST_CASE("read_file and read_range") {
    TempDir d;
    std::string big(300000, 'x');
    for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
    fs_test::spit(d / "f", big);
    std::string out, err;
    REQUIRE(fs::read_file(d / "f", out, err));
    CHECK(out == big);
    REQUIRE(fs::read_range(d / "f", 1000, 5000, out, err));
    CHECK(out == big.substr(1000, 5000));
    REQUIRE(fs::read_range(d / "f", 299990, 100, out, err));
    CHECK(out == big.substr(299990));  // short at the end of the file
    REQUIRE(fs::read_range(d / "f", 400000, 10, out, err));
    CHECK(out.empty());
    REQUIRE(fs::read_file("/proc/self/stat", out, err));  // st_size 0, content not empty
    CHECK(out.size() > 10);
    CHECK_FALSE(fs::read_file(d / "missing", out, err));
    CHECK(err == "open " + d.path + "/missing: No such file or directory");
    CHECK_FALSE(fs::read_file(d.path, out, err));
    CHECK(err == "read " + d.path + ": Is a directory");
}

TEST_CASE("write_atomic replaces whole, keeps the mode, leaves no temp file") {
    TempDir d;
    std::string err;
    REQUIRE(fs::write_atomic(d / "state", "one", err));
    CHECK(fs_test::slurp(d / "state") == "one");
    ::chmod((d / "state").c_str(), 0640);
    REQUIRE(fs::write_atomic(d / "state", "two, longer", err));
    CHECK(fs_test::slurp(d / "state") == "two, longer");
    struct stat st;
    REQUIRE(::stat((d / "state").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(names(d.path) == std::vector<std::string>{"state"});
    CHECK_FALSE(fs::write_atomic(d / "no/such/dir/state", "x", err));
    CHECK(err == "create temp file for " + d.path + "/no/such/dir/state: No such file or directory");
}

TEST_CASE("write_atomic: a concurrent reader sees the old or the new content, never a mix") {
    TempDir d;
    const std::string a(200000, 'A'), b(100000, 'B');
    std::string err;
    REQUIRE(fs::write_atomic(d / "state", a, err));
    pid_t writer = fs_test::spawn([&] {
        std::string e;
        for (int i = 0; i < 200; ++i)
            if (!fs::write_atomic(d / "state", i % 2 ? a : b, e)) return 1;
        return 0;
    });
    int seen_a = 0, seen_b = 0, torn = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string out;
        REQUIRE(fs::read_file(d / "state", out, err));
        if (out == a) ++seen_a;
        else if (out == b) ++seen_b;
        else ++torn;
    }
    CHECK(fs_test::wait_exit(writer) == 0);
    CHECK(torn == 0);
    CHECK(seen_a + seen_b == 2000);
    CHECK(names(d.path) == std::vector<std::string>{"state"});
}

TEST_CASE("create_exclusive never overwrites, not even through a dangling symlink") {
    TempDir d;
    std::string err;
    REQUIRE(fs::create_exclusive(d / "artifact", "first", err));
    CHECK(fs_test::slurp(d / "artifact") == "first");
    CHECK_FALSE(fs::create_exclusive(d / "artifact", "second", err));
    CHECK(err == "create " + d.path + "/artifact: File exists");
    CHECK(fs_test::slurp(d / "artifact") == "first");
    REQUIRE(::symlink((d / "elsewhere").c_str(), (d / "link").c_str()) == 0);
    CHECK_FALSE(fs::create_exclusive(d / "link", "x", err));
    CHECK(err == "create " + d.path + "/link: File exists");
    CHECK_FALSE(fs::exists(d / "elsewhere"));
    CHECK(names(d.path) == std::vector<std::string>{"artifact", "link"});
}

TEST_CASE("create_exclusive: of racing creators exactly one wins") {
    TempDir d;
    std::vector<pid_t> kids;
    for (int k = 0; k < 8; ++k)
        kids.push_back(fs_test::spawn([&, k] {
            std::string e;
            return fs::create_exclusive(d / "one", "writer " + std::to_string(k), e) ? 0 : 1;
        }));
    int winners = 0;
    for (pid_t k : kids) winners += fs_test::wait_exit(k) == 0;
    CHECK(winners == 1);
    CHECK(fs_test::slurp(d / "one").rfind("writer ", 0) == 0);
    CHECK(names(d.path) == std::vector<std::string>{"one"});
}

TEST_CASE("append never truncates and concurrent appends never interleave") {
    TempDir d;
    std::string err;
    fs_test::spit(d / "log", "existing\n");
    REQUIRE(fs::append(d / "log", "a\n", err));
    REQUIRE(fs::append(d / "log", "", err));
    REQUIRE(fs::append(d / "log", "b\n", err));
    CHECK(fs_test::slurp(d / "log") == "existing\na\nb\n");

    const int kKids = 4, kLines = 100;
    std::vector<pid_t> kids;
    for (int k = 0; k < kKids; ++k)
        kids.push_back(fs_test::spawn([&, k] {
            std::string e, line(5000, static_cast<char>('p' + k));
            line += "\n";
            for (int i = 0; i < kLines; ++i)
                if (!fs::append(d / "many", line, e)) return 1;
            return 0;
        }));
    for (pid_t k : kids) CHECK(fs_test::wait_exit(k) == 0);
    std::string all = fs_test::slurp(d / "many");
    CHECK(all.size() == static_cast<std::size_t>(kKids * kLines * 5001));
    std::size_t pos = 0;
    int good = 0;
    while (pos < all.size()) {
        std::size_t nl = all.find('\n', pos);
        std::string line = all.substr(pos, nl - pos);
        if (line.size() == 5000 && line.find_first_not_of(line[0]) == std::string::npos) ++good;
        pos = nl + 1;
    }
    CHECK(good == kKids * kLines);
    CHECK_FALSE(fs::append(d / "no/dir/log", "x", err));
    CHECK(err == "open " + d.path + "/no/dir/log: No such file or directory");
}
