#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "jcs_string.hpp"
#include "json_key_order.hpp"

using namespace hostsync;

TEST_CASE("json::key_before agrees with jcs::key_less") {
    CHECK(json::key_before("field_1", "field_2"));
    CHECK_FALSE(json::key_before("field_2", "field_10"));
    CHECK(json::key_before("a", "ab"));
    CHECK_FALSE(json::key_before("a", "a"));
    // The one place byte order is wrong: U+1F600 sorts before U+FB33 in UTF-16.
    CHECK(json::key_before("x\xf0\x9f\x98\x80", "x\xef\xac\xb3"));
    CHECK_FALSE(json::key_before("x\xef\xac\xb3", "x\xf0\x9f\x98\x80"));

    // Random strings over characters from every UTF-8 length and the awkward ranges.
    const std::vector<std::string> alphabet = {
        "a", "b", "\x7f", "\xc2\x80", "\xc3\xb6", "\xe2\x82\xac", "\xed\x9f\xbf" /* U+D7FF */,
        "\xee\x80\x80" /* U+E000 */, "\xef\xac\xb3", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
        "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"};
    std::mt19937 rng(7);
    auto random_key = [&] {
        std::string s;
        int len = static_cast<int>(rng() % 4);
        for (int i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
        return s;
    };
    int disagreements = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string a = random_key(), b = random_key();
        if (json::key_before(a, b) != jcs::key_less(a, b)) ++disagreements;
    }
    CHECK(disagreements == 0);
}
