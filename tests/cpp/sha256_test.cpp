#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>
#include <string>

#include "sha256.hpp"

using namespace hostsync;

namespace {

const char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const char kTwoBlock[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
const char kMillionA[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

std::string temp_file(const std::string& content) {
    char path[] = "/tmp/hostsync-sha256-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

}  // namespace

TEST_CASE("sha256 one-shot matches the FIPS 180-2 vectors") {
    CHECK(sha256::hex("") == kEmpty);
    CHECK(sha256::hex("abc") == kAbc);
    CHECK(sha256::hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == kTwoBlock);
    CHECK(sha256::hex(std::string(1000000, 'a')) == kMillionA);
    auto d = sha256::digest("abc");
    CHECK(d[0] == 0xba);
    CHECK(d[31] == 0xad);
}

TEST_CASE("the incremental hasher reports a digest without ending the hash") {
    sha256::Hasher h;
    CHECK(h.hex() == kEmpty);
    h.update("a");
    CHECK(h.hex() == sha256::hex("a"));
    h.update("bc");
    CHECK(h.hex() == kAbc);  // asking twice gives the same answer
    CHECK(h.hex() == kAbc);
    CHECK(h.bytes() == 3);
    // One-shot calls in between must not disturb it (they share the thread's context).
    CHECK(sha256::hex("zzz") != kAbc);
    for (int i = 0; i < 1000; ++i) h.update(std::string(1000, 'a'));
    sha256::Hasher g;
    for (int i = 0; i < 1000; ++i) g.update(std::string(1000, 'a'));
    CHECK(g.hex() == kMillionA);
    CHECK(g.bytes() == 1000000);
}

TEST_CASE("sha256 of a file, whole or a range") {
    std::string content(600000, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 3);
    std::string path = temp_file(content);
    std::string hex, err;

    REQUIRE(sha256::file_hex(path, 0, std::nullopt, hex, err));
    CHECK(hex == sha256::hex(content));
    REQUIRE(sha256::file_hex(path, 300000, 262145, hex, err));  // crosses buffer boundaries
    CHECK(hex == sha256::hex(content.substr(300000, 262145)));
    REQUIRE(sha256::file_hex(path, 599999, std::nullopt, hex, err));
    CHECK(hex == sha256::hex(content.substr(599999)));
    REQUIRE(sha256::file_hex(path, 600000, 0, hex, err));
    CHECK(hex == kEmpty);

    CHECK_FALSE(sha256::file_hex(path, 599000, 1001, hex, err));
    CHECK(err == "sha256_file " + path + ": range 599000+1001 goes past the end of the file (600000 bytes)");
    CHECK_FALSE(sha256::file_hex(path, 600001, std::nullopt, hex, err));
    CHECK(err.find("offset 600001 is past the end of the file") != std::string::npos);
    std::remove(path.c_str());
    CHECK_FALSE(sha256::file_hex(path, 0, std::nullopt, hex, err));
    CHECK(err == "open " + path + ": No such file or directory");
    CHECK_FALSE(sha256::file_hex("/tmp", 0, std::nullopt, hex, err));
    CHECK(err == "read /tmp: Is a directory");
}
