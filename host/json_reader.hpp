#pragma once
// A strict JSON (RFC 8259 / I-JSON RFC 7493) reader that reports what it reads as events
// to a Handler instead of building a document: the Lua binding turns the events straight
// into Lua tables, the canonicalizer straight into canonical text.
//
// Strict means: UTF-8 only (no BOM), strings without lone surrogates, numbers within the
// range of a double, nothing after the value, nesting bounded by `max_depth` so that a
// hostile document cannot exhaust a stack. Duplicate keys are the handler's call (it
// sees every key, and both current handlers reject them).
#include <cstddef>
#include <string>
#include <string_view>

namespace hostsync::json {

inline constexpr int kMaxDepth = 512;

class Handler {
public:
    virtual ~Handler() = default;
    // Each event returns false to stop the parse; the handler then puts the reason in
    // `error`. The reader reports it at the offset of the current token unless the
    // handler names another one in `error_offset` (a duplicate key seen only later).
    virtual bool null_value() = 0;
    virtual bool bool_value(bool v) = 0;
    virtual bool number_value(double v) = 0;
    virtual bool string_value(std::string_view s) = 0;  // decoded UTF-8, may hold NUL
    virtual bool begin_object() = 0;
    virtual bool key(std::string_view k, std::size_t offset) = 0;
    virtual bool end_object() = 0;
    virtual bool begin_array() = 0;
    virtual bool end_array() = 0;

    std::string error;
    std::size_t error_offset = npos;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

struct ParseError {
    std::size_t offset = 0;  // byte offset into the text
    std::size_t line = 0;    // from 1
    std::size_t column = 0;  // from 1, in characters (code points), not bytes
    std::string message;     // what is wrong, without the position

    // "line L column C: message"
    std::string to_string() const;
};

// Reads exactly one JSON value filling all of `text` (whitespace around it allowed).
// Returns false with `err` filled on the first problem.
bool parse(std::string_view text, Handler& handler, ParseError& err, int max_depth = kMaxDepth);

// Line and column (as in ParseError) of a byte offset; exposed for other readers.
void locate(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column);

}  // namespace hostsync::json
