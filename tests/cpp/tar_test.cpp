// hostsync::tar writer/reader and fs_safe: the cases Lua cannot stage deterministically
// (a file changing while it is read) and the C++ contracts of the sinks.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fs_test_support.hpp"
#include "host/byte_sinks.hpp"
#include "host/fs_safe.hpp"
#include "host/sha256.hpp"
#include "host/tar_reader.hpp"
#include "host/tar_writer.hpp"

using fs_test::TempDir;

namespace {

// Collects the stream; runs `hook` before the n-th write (0 = never).
struct HookSink : hostsync::ByteSink {
    std::string data;
    int writes = 0, at = 0;
    bool finished = false;
    std::function<void()> hook;
    bool write(std::string_view d, std::string&) override {
        if (++writes == at && hook) hook();
        data.append(d);
        return true;
    }
    bool finish(std::string&) override { return finished = true; }
};

struct StringSource : hostsync::ByteSource {
    std::string data;
    std::size_t pos = 0, step = 4096;
    ssize_t read(char* buf, std::size_t n, std::string&) override {
        std::size_t k = std::min({n, step, data.size() - pos});
        std::memcpy(buf, data.data() + pos, k);
        pos += k;
        return static_cast<ssize_t>(k);
    }
};

std::string big(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + (i >> 9));
    return s;
}

}  // namespace

TEST_CASE("tar: a file that shrinks, grows or changes while read fails the stream") {
    TempDir d;
    const std::string file = d / "f.bin";
    struct Case {
        const char* name;
        std::function<void()> change;
        const char* expect;
    };
    std::vector<Case> cases = {
        {"shrink", [&] { REQUIRE(::truncate(file.c_str(), 100000) == 0); }, "file shrank while being read"},
        {"grow", [&] {
             int fd = ::open(file.c_str(), O_WRONLY | O_APPEND);
             REQUIRE(::write(fd, "more", 4) == 4);
             ::close(fd);
         }, "file grew while being read"},
        {"rewrite", [&] {
             // An in-place rewrite keeps the size; its mtime is set a second later
             // explicitly, so no clock granularity can hide the change.
             int fd = ::open(file.c_str(), O_WRONLY);
             struct stat st;
             REQUIRE(::fstat(fd, &st) == 0);
             REQUIRE(::pwrite(fd, "X", 1, 10) == 1);
             struct timespec times[2] = {st.st_atim, st.st_mtim};
             times[1].tv_sec += 1;
             REQUIRE(::futimens(fd, times) == 0);
             ::close(fd);
         }, "file changed while being read"},
    };
    for (auto& c : cases) {
        CAPTURE(c.name);
        fs_test::spit(file, big(3 << 20));
        HookSink sink;
        sink.at = 3;  // after the header and the first data block
        sink.hook = c.change;
        hostsync::tar::WriteResult res;
        std::string err;
        CHECK_FALSE(hostsync::tar::write(sink, d.path, {"f.bin"}, {}, res, err));
        CHECK(err.find(c.expect) != std::string::npos);
        CHECK(err.find("f.bin") != std::string::npos);
        CHECK_FALSE(sink.finished);
        // no end-of-archive marker: a reader of what was written sees a truncated archive
        StringSource src;
        src.data = sink.data;
        std::vector<hostsync::tar::EntryInfo> entries;
        std::string lerr;
        CHECK_FALSE(hostsync::tar::list(src, "partial", {}, entries, lerr));
    }
}

TEST_CASE("tar: memory stays constant: sink writes are block-sized whatever the file size") {
    TempDir d;
    fs_test::spit(d / "a", big(5 << 20));
    struct MaxSink : hostsync::ByteSink {
        std::size_t max = 0;
        hostsync::sha256::Hasher h;
        bool write(std::string_view data, std::string&) override {
            max = std::max(max, data.size());
            h.update(data);
            return true;
        }
        bool finish(std::string&) override { return true; }
    } sink;
    hostsync::tar::WriteResult res;
    std::string err;
    REQUIRE(hostsync::tar::write(sink, d.path, {"a"}, {}, res, err));
    CHECK(sink.max <= 10240);
    CHECK(res.archive_bytes % 10240 == 0);
    CHECK(res.data_bytes == (5u << 20));
}

TEST_CASE("tar: a failing sink stops the stream with its error") {
    TempDir d;
    fs_test::spit(d / "a", big(100000));
    struct FailSink : hostsync::ByteSink {
        bool write(std::string_view, std::string& err) override {
            err = "write /dev/full: No space left on device";
            return false;
        }
        bool finish(std::string&) override { return true; }
    } sink;
    hostsync::tar::WriteResult res;
    std::string err;
    CHECK_FALSE(hostsync::tar::write(sink, d.path, {"a"}, {}, res, err));
    CHECK(err == "write /dev/full: No space left on device");
}

TEST_CASE("tar: round trip through a ByteSource in odd-sized reads") {
    TempDir d, out;
    ::mkdir((d / "x").c_str(), 0700);
    fs_test::spit(d / "x/one", big(70001));
    fs_test::spit(d / "two", "");
    HookSink sink;
    hostsync::tar::WriteResult res;
    std::string err;
    REQUIRE(hostsync::tar::write(sink, d.path, {"two", "x", "x/one"}, {}, res, err));
    CHECK(sink.finished);
    CHECK(res.entries == 3);
    StringSource src;
    src.data = sink.data;
    src.step = 777;
    hostsync::tar::ExtractResult xr;
    hostsync::tar::ExtractOptions xo;
    xo.durable = false;
    REQUIRE(hostsync::tar::extract(src, "mem", out.path, xo, xr, err));
    CHECK(xr.entries == 3);
    CHECK(fs_test::slurp(out / "x/one") == big(70001));
    struct stat st;
    REQUIRE(::stat((out / "x").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
}

TEST_CASE("fs_safe: confined, exclusive, never through a symlink") {
    TempDir root, outside;
    std::string err;
    hostsync::fs::BeneathWriter::Options o;
    o.mkdirs = true;
    REQUIRE(hostsync::fs::create_beneath(root.path, "a/b/c.txt", "one", o, err));
    CHECK(fs_test::slurp(root / "a/b/c.txt") == "one");
    CHECK_FALSE(hostsync::fs::create_beneath(root.path, "a/b/c.txt", "two", o, err));
    CHECK(err.find("File exists") != std::string::npos);
    CHECK(fs_test::slurp(root / "a/b/c.txt") == "one");

    REQUIRE(::symlink(outside.path.c_str(), (root / "a/escape").c_str()) == 0);
    CHECK_FALSE(hostsync::fs::create_beneath(root.path, "a/escape/x", "x", o, err));
    CHECK(err.find("is a symlink") != std::string::npos);
    CHECK(::access((outside / "x").c_str(), F_OK) != 0);
    // a symlink at the final name is not replaced or followed either
    REQUIRE(::symlink((outside / "target").c_str(), (root / "a/final").c_str()) == 0);
    CHECK_FALSE(hostsync::fs::create_beneath(root.path, "a/final", "x", o, err));
    CHECK(::access((outside / "target").c_str(), F_OK) != 0);

    CHECK_FALSE(hostsync::fs::create_beneath(root.path, "../x", "x", o, err));
    CHECK(err.find("\"..\" component refused") != std::string::npos);
    CHECK_FALSE(hostsync::fs::create_beneath(root.path, "/tmp/x", "x", o, err));
    CHECK(err.find("absolute path refused") != std::string::npos);

    o.within = "a/b";
    CHECK(hostsync::fs::create_beneath(root.path, "a/b/d/e", "e", o, err));
    CHECK_FALSE(hostsync::fs::create_beneath(root.path, "a/x", "x", o, err));
    CHECK(err.find("outside the allowed directory \"a/b\"") != std::string::npos);
    CHECK_FALSE(hostsync::fs::create_beneath(root.path, "a/bb/x", "x", o, err));

    hostsync::fs::MkdirOptions m;
    m.exclusive = true;
    CHECK(hostsync::fs::mkdir_beneath(root.path, "snap1", m, err));
    CHECK_FALSE(hostsync::fs::mkdir_beneath(root.path, "snap1", m, err));
    CHECK(err.find("File exists") != std::string::npos);
    CHECK_FALSE(hostsync::fs::mkdir_beneath(root.path, "a/escape/new", m, err));
    CHECK(::access((outside / "new").c_str(), F_OK) != 0);
}

TEST_CASE("fs_safe: an unfinished writer leaves nothing behind") {
    TempDir root;
    std::string err;
    {
        hostsync::fs::BeneathWriter w;
        REQUIRE(w.open(root.path, "big.bin", {}, err));
        REQUIRE(w.write(big(3 << 20), err));
    }
    std::string listing;
    CHECK(::access((root / "big.bin").c_str(), F_OK) != 0);
    CHECK(std::system(("test -z \"$(ls -A '" + root.path + "')\"").c_str()) == 0);
    hostsync::fs::BeneathWriter w;
    REQUIRE(w.open(root.path, "f", {}, err));
    REQUIRE(w.write("abc", err));
    REQUIRE(w.finish(err));
    CHECK(fs_test::slurp(root / "f") == "abc");
    struct stat st;
    REQUIRE(::stat((root / "f").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    CHECK_FALSE(w.write("more", err));
}
