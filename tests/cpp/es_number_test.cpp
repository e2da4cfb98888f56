#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "es_number.hpp"

using hostsync::es_number::to_string;

static double from_bits(std::uint64_t bits) {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

TEST_CASE("ECMAScript number text: RFC 8785 appendix B samples") {
    struct {
        std::uint64_t bits;
        const char* text;
    } samples[] = {
        {0x0000000000000000, "0"},
        {0x8000000000000000, "0"},  // -0
        {0x0000000000000001, "5e-324"},
        {0x8000000000000001, "-5e-324"},
        {0x7fefffffffffffff, "1.7976931348623157e+308"},
        {0xffefffffffffffff, "-1.7976931348623157e+308"},
        {0x4340000000000000, "9007199254740992"},
        {0xc340000000000000, "-9007199254740992"},
        {0x4430000000000000, "295147905179352830000"},
        {0x44b52d02c7e14af5, "9.999999999999997e+22"},
        {0x44b52d02c7e14af6, "1e+23"},
        {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
        {0x444b1ae4d6e2ef4e, "999999999999999700000"},
        {0x444b1ae4d6e2ef4f, "999999999999999900000"},
        {0x444b1ae4d6e2ef50, "1e+21"},
        {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
        {0x3eb0c6f7a0b5ed8d, "0.000001"},
        {0x41b3de4355555553, "333333333.3333332"},
        {0x41b3de4355555554, "333333333.33333325"},
        {0x41b3de4355555555, "333333333.3333333"},
        {0x41b3de4355555556, "333333333.3333334"},
        {0x41b3de4355555557, "333333333.33333343"},
        {0xbecbf647612f3696, "-0.0000033333333333333333"},
        {0x43143ff3c1cb0959, "1424953923781206.2"},
    };
    for (const auto& s : samples) {
        CAPTURE(s.text);
        CHECK(to_string(from_bits(s.bits)) == s.text);
    }
}

TEST_CASE("ECMAScript number text: RFC 8785 section 3.2.2 numbers") {
    CHECK(to_string(333333333.33333329) == "333333333.3333333");
    CHECK(to_string(1e30) == "1e+30");
    CHECK(to_string(4.50) == "4.5");
    CHECK(to_string(2e-3) == "0.002");
    CHECK(to_string(0.000000000000000000000000001) == "1e-27");
    CHECK(to_string(-0.0) == "0");
    CHECK(to_string(5e-324) == "5e-324");
    CHECK(to_string(1.7976931348623157e308) == "1.7976931348623157e+308");
}

TEST_CASE("ECMAScript number text: where plain digits end and exponents begin") {
    CHECK(to_string(0.000001) == "0.000001");  // 1e-6: the smallest written plainly
    CHECK(to_string(1e-7) == "1e-7");
    CHECK(to_string(1.5e-7) == "1.5e-7");
    CHECK(to_string(0.0000123) == "0.0000123");
    CHECK(to_string(1e20) == "100000000000000000000");
    CHECK(to_string(1.5e20) == "150000000000000000000");
    CHECK(to_string(1e21) == "1e+21");           // the first written with an exponent
    CHECK(to_string(1.5e21) == "1.5e+21");
    CHECK(to_string(12345678901234567890.0) == "12345678901234567000");  // shortest digits, zero padded
    CHECK(to_string(123.456) == "123.456");
    CHECK(to_string(0.1) == "0.1");
    CHECK(to_string(-0.5) == "-0.5");
    CHECK(to_string(100) == "100");
    CHECK(to_string(-42) == "-42");
    CHECK(to_string(9007199254740993.0) == "9007199254740992");  // not representable: rounds
    CHECK(to_string(9007199254740994.0) == "9007199254740994");  // past the integer fast path
    CHECK(to_string(1.5e300) == "1.5e+300");
    CHECK(to_string(-1e-300) == "-1e-300");
}

TEST_CASE("ECMAScript number text appends to what is there") {
    std::string s = "[";
    hostsync::es_number::append(s, 2.5);
    s += ",";
    hostsync::es_number::append(s, -0.0);
    CHECK(s == "[2.5,0");
}
