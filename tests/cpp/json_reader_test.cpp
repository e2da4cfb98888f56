#include <doctest/doctest.h>

#include <string>

#include "json_canonical.hpp"
#include "json_reader.hpp"
#include "json_writer.hpp"

using namespace hostsync;

namespace {

// Records events as a compact trace, e.g. {k:a n:1 k:b [s:x null]}.
struct Trace : json::Handler {
    std::string out;
    bool null_value() override { out += "null "; return true; }
    bool bool_value(bool v) override { out += v ? "true " : "false "; return true; }
    bool number_value(double v) override { out += "n:" + std::to_string(v) + " "; return true; }
    bool string_value(std::string_view s) override { out += "s:" + std::string(s) + " "; return true; }
    bool begin_object() override { out += "{"; return true; }
    bool key(std::string_view k, std::size_t) override { out += "k:" + std::string(k) + " "; return true; }
    bool end_object() override { out += "} "; return true; }
    bool begin_array() override { out += "["; return true; }
    bool end_array() override { out += "] "; return true; }
};

std::string trace(std::string_view text) {
    Trace t;
    json::ParseError err;
    if (!json::parse(text, t, err)) return "ERROR " + err.to_string();
    return t.out;
}

std::string error_of(std::string_view text) {
    Trace t;
    json::ParseError err;
    if (json::parse(text, t, err)) return "no error";
    return err.to_string();
}

std::string canon(std::string_view text) {
    std::string out;
    json::ParseError err;
    if (!json::canonicalize(text, out, err)) return "ERROR " + err.to_string();
    return out;
}

}  // namespace

TEST_CASE("reader reports values as events") {
    CHECK(trace(R"( {"a": [1, -2.5e1, true, false, null], "b": {}} )") ==
          "{k:a [n:1.000000 n:-25.000000 true false null ] k:b {} } ");
    CHECK(trace("\"x\"") == "s:x ");
    CHECK(trace("[]") == "[] ");
    CHECK(trace(R"("a\"b\\c\/d\n\u00e9\ud83d\ude00")") == "s:a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80 ");
}

TEST_CASE("reader decodes NUL escapes and keeps them") {
    Trace t;
    json::ParseError err;
    REQUIRE(json::parse(R"("a\u0000b")", t, err));
    CHECK(t.out == std::string("s:a\0b ", 6));
}

TEST_CASE("reader numbers: range, underflow and exactness") {
    CHECK(trace("-0") == "n:-0.000000 ");
    CHECK(trace("1e-400") == "n:0.000000 ");  // rounds to zero, as JSON.parse does
    CHECK(error_of("1e400") == "line 1 column 1: number out of range of a double");
    CHECK(error_of("[1.7976931348623159e308]") == "line 1 column 2: number out of range of a double");
    CHECK(error_of("01") == "line 1 column 1: invalid number, leading zeros are not allowed");
    CHECK(error_of("1.") == "line 1 column 3: invalid number, expected a digit after '.'");
    CHECK(error_of("1e+") == "line 1 column 4: invalid number, expected a digit in the exponent");
    CHECK(error_of("-") == "line 1 column 1: invalid number, expected a digit");
    CHECK(error_of("+1") == "line 1 column 1: unexpected '+', expected a value");
    CHECK(canon("[123456789012345678901234567890, 0.1, 1E2, 5e-324]") == "[1.2345678901234568e+29,0.1,100,5e-324]");
}

TEST_CASE("reader errors name line and column in characters") {
    CHECK(error_of("") == "line 1 column 1: unexpected end of input (empty document)");
    CHECK(error_of("  \n ") == "line 2 column 2: unexpected end of input (empty document)");
    CHECK(error_of("{\"a\": 1,\n  \"b\" 2}") == "line 2 column 7: unexpected '2', expected ':' after an object key");
    CHECK(error_of("[1, 2,]") == "line 1 column 7: trailing comma before ']'");
    CHECK(error_of("{\"a\":1,}") == "line 1 column 8: trailing comma before '}'");
    CHECK(error_of("[1 2]") == "line 1 column 4: unexpected '2', expected ',' or ']' after an array element");
    CHECK(error_of("{\"a\":1") == "line 1 column 7: unexpected end of input in an object started at line 1 column 1");
    CHECK(error_of("[1] x") == "line 1 column 5: unexpected 'x' after the JSON value");
    CHECK(error_of("tru") == "line 1 column 1: invalid literal, expected 'true'");
    CHECK(error_of("{1:2}") == "line 1 column 2: unexpected '1', expected a string key");
    // Column counts characters: "é" is two bytes but one column.
    CHECK(error_of("[\"\xc3\xa9\", x]") == "line 1 column 7: unexpected 'x', expected a value");
    CHECK(error_of("\xEF\xBB\xBF{}") == "line 1 column 1: byte order mark (U+FEFF) is not allowed before JSON text");
}

TEST_CASE("reader strings: UTF-8, controls, escapes, surrogates") {
    CHECK(error_of("\"ab\xff\"") == "line 1 column 4: invalid UTF-8 in a string");
    CHECK(error_of("\"\xed\xa0\x80\"") == "line 1 column 2: invalid UTF-8 in a string");  // encoded surrogate
    CHECK(error_of("[\"a\nb\"]") == "line 1 column 4: control character U+000A in a string must be escaped");
    CHECK(error_of("\"abc") == "line 1 column 1: unterminated string");
    CHECK(error_of(R"("\x")") == "line 1 column 2: invalid escape '\\x'");
    CHECK(error_of(R"("\u12g4")") == "line 1 column 2: invalid \\u escape, expected 4 hex digits");
    CHECK(error_of(R"("\ud800")") == "line 1 column 2: lone high surrogate in a \\u escape");
    CHECK(error_of(R"("\ud800\u0041")") == "line 1 column 2: lone high surrogate in a \\u escape");
    CHECK(error_of(R"("x\udc00")") == "line 1 column 3: lone low surrogate in a \\u escape");
    CHECK(error_of("\xff") == "line 1 column 1: unexpected byte 0xFF, expected a value");
}

TEST_CASE("reader bounds nesting") {
    std::string deep(json::kMaxDepth, '[');
    deep += std::string(json::kMaxDepth, ']');
    CHECK(error_of(deep) == "no error");
    std::string deeper = "[" + deep + "]";
    CHECK(error_of(deeper) == "line 1 column 513: nesting deeper than 512 levels");
    // A hostile document far deeper than any stack: stopped, not crashed.
    CHECK(error_of(std::string(1000000, '[')) == "line 1 column 513: nesting deeper than 512 levels");
}

TEST_CASE("a handler can stop the reader at a position of its choosing") {
    struct StopAtB : Trace {
        bool key(std::string_view k, std::size_t offset) override {
            if (k != "b") return true;
            error = "no b please";
            error_offset = offset - 1;
            return false;
        }
    } h;
    json::ParseError err;
    CHECK_FALSE(json::parse("{\"a\":1, \"b\":2}", h, err));
    CHECK(err.to_string() == "line 1 column 8: no b please");
}

TEST_CASE("canonicalize: RFC 8785 section 3.2.2 sample") {
    const char* input = R"({
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
})";
    CHECK(canon(input) ==
          "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
          "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST_CASE("canonicalize: RFC 8785 section 3.2.3 key order (UTF-16 code units)") {
    const char* input = R"({
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
})";
    CHECK(canon(input) ==
          "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
          "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
          "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST_CASE("canonicalize: nesting, arrays of objects, duplicates") {
    CHECK(canon(R"( { "b" : [ {"z":1,"y":[{"d":0,"c":-0}]}, [] , {} ], "a" : {"k": "v", "j": null} } )") ==
          R"({"a":{"j":null,"k":"v"},"b":[{"y":[{"c":0,"d":0}],"z":1},[],{}]})");
    CHECK(canon(R"([{"b":1,"a":2},{"d":3,"c":4}])") == R"([{"a":2,"b":1},{"c":4,"d":3}])");
    CHECK(canon("\"\\u00e9\\t\"") == "\"\xc3\xa9\\t\"");
    CHECK(canon("{\"a\":1,\n\"b\":2,\n\"a\":3}") == "ERROR line 3 column 1: duplicate key \"a\"");
    // The same key spelled with an escape is the same key.
    CHECK(canon(R"({"a":1,"\u0061":2})") == "ERROR line 1 column 8: duplicate key \"a\"");
    CHECK(canon("[1,]") == "ERROR line 1 column 4: trailing comma before ']'");
}

TEST_CASE("writer: compact and pretty layout") {
    auto build = [](json::Writer& w) {
        w.begin_object();
        w.key("a");
        w.begin_array();
        w.number_value(1);
        w.string_value("x");
        w.begin_array();
        w.end_array();
        w.end_array();
        w.key("b");
        w.begin_object();
        w.end_object();
        w.key("c");
        w.null_value();
        w.end_object();
    };
    std::string compact_text;
    json::Writer compact(compact_text);
    build(compact);
    CHECK(compact_text == R"({"a":[1,"x",[]],"b":{},"c":null})");
    std::string pretty_text;
    json::Writer pretty(pretty_text, true);
    build(pretty);
    CHECK(pretty_text == "{\n  \"a\": [\n    1,\n    \"x\",\n    []\n  ],\n  \"b\": {},\n  \"c\": null\n}");
}

TEST_CASE("writer: strings are escaped per RFC 8785 and must be UTF-8") {
    std::string out;
    json::Writer w(out);
    w.begin_array();
    CHECK(w.string_value("plain text 0123456789"));
    CHECK(w.string_value("tab\there \"q\" \\ \xc3\xa9"));
    CHECK(w.string_value(std::string("nul\0", 4)));
    w.end_array();
    CHECK(out == "[\"plain text 0123456789\",\"tab\\there \\\"q\\\" \\\\ \xc3\xa9\",\"nul\\u0000\"]");
    std::string bad;
    json::Writer wb(bad);
    CHECK_FALSE(wb.string_value("ok until \xff"));
    CHECK_FALSE(wb.key("\xc3"));
}

TEST_CASE("plain_ascii finds every byte that needs a closer look, at any position") {
    CHECK(json::plain_ascii(""));
    CHECK(json::plain_ascii("hello world, 0123456789 ~!@#$%^&*()_+{}[]|:;'<>?,./"));
    const char specials[] = {'"', '\\', '\x00', '\x1f', '\n', '\x80', '\xff'};
    for (char c : specials) {
        for (std::size_t pos = 0; pos < 20; ++pos) {
            std::string s(20, 'a');
            s[pos] = c;
            CAPTURE(pos);
            CAPTURE(static_cast<int>(static_cast<unsigned char>(c)));
            CHECK_FALSE(json::plain_ascii(s));
        }
    }
    CHECK(json::plain_ascii(std::string(20, '\x7f')));  // DEL is not escaped by RFC 8785
    CHECK(json::plain_ascii(std::string(20, ' ')));
}
