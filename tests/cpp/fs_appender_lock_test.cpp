#include <doctest/doctest.h>

#include <string>

#include "clock.hpp"
#include "fs_appender.hpp"
#include "fs_lock.hpp"
#include "fs_ops.hpp"
#include "fs_test_support.hpp"
#include "sha256.hpp"

using namespace hostsync;
using fs_test::TempDir;

TEST_CASE("appender buffers, counts, hashes as it goes and appends") {
    TempDir d;
    fs_test::spit(d / "out", "head\n");
    fs::Appender w;
    std::string err, expect = "head\n", written;
    REQUIRE(w.open(d / "out", {false, true, 1000}, err));
    for (int i = 0; i < 500; ++i) {
        std::string piece = "row " + std::to_string(i) + "\n";
        REQUIRE(w.write(piece, err));
        written += piece;
    }
    std::string big(5000, 'z');  // larger than the buffer: goes straight through
    REQUIRE(w.write(big, err));
    written += big;
    expect += written;
    CHECK(w.bytes() == written.size());
    CHECK(w.sha256_hex() == sha256::hex(written));  // of what this appender wrote
    REQUIRE(w.sync(err));
    CHECK(fs_test::slurp(d / "out") == expect);
    REQUIRE(w.write("tail", err));
    REQUIRE(w.close(err));
    CHECK(fs_test::slurp(d / "out") == expect + "tail");
    CHECK_FALSE(w.is_open());
    CHECK(w.close(err));  // a second close is harmless
}

TEST_CASE("appender as a ByteSink: finish flushes to the kernel, a closed one refuses") {
    TempDir d;
    fs::Appender w;
    std::string err;
    REQUIRE(w.open(d / "out", {}, err));
    ByteSink& sink = w;
    REQUIRE(sink.write("one\n", err));
    CHECK(fs_test::slurp(d / "out").empty());  // still buffered
    REQUIRE(sink.finish(err));
    CHECK(fs_test::slurp(d / "out") == "one\n");
    CHECK(w.is_open());  // finishing the sink leaves closing to the owner
    REQUIRE(w.close(err));
    CHECK_FALSE(sink.write("lost\n", err));
    CHECK(err.find("appender is closed") != std::string::npos);
    CHECK_FALSE(sink.finish(err));
    CHECK(fs_test::slurp(d / "out") == "one\n");  // nothing written after close
}

TEST_CASE("appender: exclusive refuses an existing file; unwritten data is flushed by the destructor") {
    TempDir d;
    std::string err;
    {
        fs::Appender w;
        REQUIRE(w.open(d / "new", {true, false}, err));
        REQUIRE(w.write("buffered only", err));
    }
    CHECK(fs_test::slurp(d / "new") == "buffered only");
    fs::Appender again;
    CHECK_FALSE(again.open(d / "new", {true, false}, err));
    CHECK(err == "create " + d.path + "/new: File exists");
}

TEST_CASE("appender errors are sticky (writing to /dev/full)") {
    fs::Appender w;
    std::string err;
    REQUIRE(w.open("/dev/full", {}, err));
    REQUIRE(w.write("fits in the buffer", err));
    CHECK_FALSE(w.flush(err));
    CHECK(err == "write /dev/full: No space left on device");
    err.clear();
    CHECK_FALSE(w.write("more", err));
    CHECK(err == "write /dev/full: No space left on device");
    CHECK_FALSE(w.close(err));
    CHECK_FALSE(w.is_open());
}

TEST_CASE("lock: a second process is refused with the holder's pid, and gets it once released") {
    TempDir d;
    std::string lock_path = d / "run.lock", err;
    fs::FileLock lock;
    REQUIRE(lock.acquire(lock_path, 0, err));
    CHECK(fs_test::slurp(lock_path) == std::to_string(::getpid()) + "\n");

    std::string expect = "lock " + lock_path + " is held by pid " + std::to_string(::getpid());
    pid_t child = fs_test::spawn([&] {
        fs::FileLock other;
        std::string e;
        if (other.acquire(lock_path, 0, e)) return 1;
        return e == expect ? 0 : 2;
    });
    CHECK(fs_test::wait_exit(child) == 0);

    // Even in this process a second lock on the same file is refused (flock is per open file).
    fs::FileLock same_process;
    CHECK_FALSE(same_process.acquire(lock_path, 0, err));
    CHECK(err == expect);

    // A waiting child gets the lock once we release it.
    double t0 = clock::monotonic();
    child = fs_test::spawn([&] {
        fs::FileLock other;
        std::string e;
        return other.acquire(lock_path, 120, e) ? 0 : 1;  // 120 s: a hang guard
    });
    clock::sleep(0.2);  // waiting or not yet, the child must get the lock; elapsed is a lower bound
    lock.release();
    CHECK_FALSE(lock.held());
    CHECK(fs_test::wait_exit(child) == 0);
    CHECK(clock::monotonic() - t0 >= 0.2);
    CHECK(fs::exists(lock_path));  // never deleted
}

TEST_CASE("lock: released when the holder dies; waiting gives up at the deadline") {
    TempDir d;
    std::string lock_path = d / "run.lock", err;
    pid_t child = fs_test::spawn([&] {
        fs::FileLock l;
        std::string e;
        if (!l.acquire(lock_path, 0, e)) return 1;
        ::_exit(0);  // no release, no destructor: the kernel drops the flock
    });
    CHECK(fs_test::wait_exit(child) == 0);
    fs::FileLock lock;
    REQUIRE(lock.acquire(lock_path, 0, err));

    fs::FileLock other;
    double t0 = clock::monotonic();
    CHECK_FALSE(other.acquire(lock_path, 0.3, err));
    double waited = clock::monotonic() - t0;
    CHECK(waited >= 0.3);
    CHECK(err == "lock " + lock_path + " is held by pid " + std::to_string(::getpid()) + " (waited 0.3 s)");
    CHECK_FALSE(other.acquire(d / "no/dir/x.lock", 0, err));
    CHECK(err == "lock " + d.path + "/no/dir/x.lock: No such file or directory");
}
