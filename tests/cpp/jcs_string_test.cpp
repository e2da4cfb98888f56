#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "jcs_string.hpp"
#include "utf8.hpp"

using namespace hostsync;

static std::string esc(std::string_view s) {
    std::string out;
    jcs::append_string(out, s);
    return out;
}

TEST_CASE("JCS string escaping follows ECMAScript JSON.stringify") {
    CHECK(esc("plain") == "\"plain\"");
    CHECK(esc("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(esc("\b\f\n\r\t") == "\"\\b\\f\\n\\r\\t\"");
    CHECK(esc(std::string("\x00\x1f", 2)) == "\"\\u0000\\u001f\"");
    CHECK(esc("\x7f") == "\"\x7f\"");                    // DEL is not escaped
    CHECK(esc("\xe2\x82\xac") == "\"\xe2\x82\xac\"");      // non-ASCII stays literal
    CHECK(esc("\xe2\x80\xa8") == "\"\xe2\x80\xa8\"");      // U+2028 stays literal
}

TEST_CASE("JCS key order compares UTF-16 code units") {
    CHECK(jcs::key_less("a", "b"));
    CHECK(jcs::key_less("a", "ab"));
    CHECK_FALSE(jcs::key_less("ab", "a"));
    CHECK_FALSE(jcs::key_less("a", "a"));
    CHECK(jcs::key_less("B", "a"));
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16, after it in UTF-8.
    CHECK(jcs::key_less("\xf0\x9f\x98\x80", "\xef\xac\xb3"));
    CHECK_FALSE(jcs::key_less("\xef\xac\xb3", "\xf0\x9f\x98\x80"));
    // The example of RFC 8785 section 3.2.3, sorted.
    std::vector<std::string> keys = {"\xe2\x82\xac", "\r", "\xef\xac\xb3", "1", "\xf0\x9f\x98\x80", "\xc2\x80", "\xc3\xb6"};
    std::sort(keys.begin(), keys.end(), [](auto& x, auto& y) { return jcs::key_less(x, y); });
    std::vector<std::string> want = {"\r", "1", "\xc2\x80", "\xc3\xb6", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xac\xb3"};
    CHECK(keys == want);
}

TEST_CASE("UTF-8 validation rejects overlongs, surrogates and truncation") {
    CHECK(utf8::valid("hello, w\xc3\xb6rld \xf0\x9f\x98\x80"));
    CHECK(utf8::first_invalid("abc\xc0\xaf") == 3);         // overlong '/'
    CHECK(utf8::first_invalid("\xed\xa0\x80") == 0);        // surrogate D800
    CHECK(utf8::first_invalid("ok\xe2\x82") == 2);          // truncated
    CHECK(utf8::first_invalid("\xf4\x90\x80\x80") == 0);    // above U+10FFFF
    CHECK(utf8::first_invalid("12345678\xff") == 8);        // after the ASCII fast path
}
