#include <doctest/doctest.h>

#include <string>

#include "codec.hpp"

using namespace hostsync;

namespace {

std::string all_bytes() {
    std::string s;
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
    return s;
}

std::string b64d(std::string_view in, std::string* err_out = nullptr) {
    std::string out, err;
    bool ok = codec::base64_decode(in, out, err);
    if (err_out) *err_out = err;
    return ok ? out : "<fail>";
}

}  // namespace

TEST_CASE("hex round trip and strict decoding") {
    CHECK(codec::hex_encode(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
    std::string out, err;
    REQUIRE(codec::hex_decode("0001ABff", out, err));
    CHECK(out == std::string("\x00\x01\xab\xff", 4));
    REQUIRE(codec::hex_decode(codec::hex_encode(all_bytes()), out, err));
    CHECK(out == all_bytes());
    REQUIRE(codec::hex_decode("", out, err));
    CHECK(out.empty());

    CHECK_FALSE(codec::hex_decode("abc", out, err));
    CHECK(err == "hex_decode: odd length 3: unpaired digit at offset 2");
    CHECK_FALSE(codec::hex_decode("00zz", out, err));
    CHECK(err == "hex_decode: invalid character 'z' at offset 2");
    CHECK_FALSE(codec::hex_decode("0 ", out, err));
    CHECK(err == "hex_decode: invalid character ' ' at offset 1");
    CHECK_FALSE(codec::hex_decode(std::string("a\0", 2), out, err));
    CHECK(err == "hex_decode: invalid character \\x00 at offset 1");
}

TEST_CASE("base64 encodes the RFC 4648 test vectors") {
    CHECK(codec::base64_encode("") == "");
    CHECK(codec::base64_encode("f") == "Zg==");
    CHECK(codec::base64_encode("fo") == "Zm8=");
    CHECK(codec::base64_encode("foo") == "Zm9v");
    CHECK(codec::base64_encode("foob") == "Zm9vYg==");
    CHECK(codec::base64_encode("fooba") == "Zm9vYmE=");
    CHECK(codec::base64_encode("foobar") == "Zm9vYmFy");
    CHECK(codec::base64_encode("\xfb\xff") == "+/8=");
    for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) CHECK(b64d(codec::base64_encode(s)) == s);
    CHECK(b64d(codec::base64_encode(all_bytes())) == all_bytes());
}

TEST_CASE("base64 decoding is strict and names the offset") {
    std::string err;
    CHECK(b64d("Zm9v*mFy", &err) == "<fail>");
    CHECK(err == "base64_decode: invalid character '*' at offset 4");
    CHECK(b64d("Zm9vY", &err) == "<fail>");
    CHECK(err == "base64_decode: truncated input (length 5 is not a multiple of 4) at offset 5");
    CHECK(b64d("Zg=v", &err) == "<fail>");
    CHECK(err == "base64_decode: character 'v' after padding at offset 3");
    CHECK(b64d("Z===", &err) == "<fail>");
    CHECK(err == "base64_decode: unexpected padding '=' at offset 1");
    CHECK(b64d("Zg==Zg==", &err) == "<fail>");
    CHECK(err == "base64_decode: unexpected padding '=' at offset 2");
    CHECK(b64d("Zh==", &err) == "<fail>");  // 'h' leaves non-zero bits under the padding
    CHECK(err == "base64_decode: non-zero bits before padding at offset 1");
    CHECK(b64d("Zm9=", &err) == "<fail>");
    CHECK(err == "base64_decode: non-zero bits before padding at offset 2");
    CHECK(b64d("Zm8=\n", &err) == "<fail>");
    CHECK(err == "base64_decode: unexpected padding '=' at offset 3");  // padding before the end
}
