#pragma once
// Builds JSON text from a stream of values: commas, colons and (optionally) indentation
// are the writer's business, so a caller walking its own data only says what comes next.
// Strings are escaped as RFC 8785 says and numbers written as ECMAScript writes them, so
// the compact output of a writer fed keys in jcs::key_less order is canonical JSON.
#include <string>
#include <string_view>

namespace hostsync::json {

// True if `s` is printable ASCII without '"' or '\\': the common case of a string that
// goes between quotes as it is, with no escaping and no UTF-8 to check.
bool plain_ascii(std::string_view s);

class Writer {
public:
    // Appends to `out` (which the caller may reuse between documents). pretty: one
    // member or element per line, indented by two spaces, "key": value.
    explicit Writer(std::string& out, bool pretty = false) : out_(out), pretty_(pretty) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    // Strings must be valid UTF-8: if not, these write nothing and return false, and the
    // text is not to be used (JSON text is UTF-8 by definition; there is no repair).
    bool key(std::string_view k);
    void plain_key(std::string_view k);  // k must be plain_ascii: no check, no escaping
    bool string_value(std::string_view s);
    void number_value(double v);  // finite (the caller checks)
    void bool_value(bool v) { before_value(); out_.append(v ? "true" : "false"); }
    void null_value() { before_value(); out_.append("null"); }

    std::string& text() { return out_; }

private:
    void open(char c);
    void close(char c);
    void before_value();
    void newline();
    bool append_string(std::string_view s);

    std::string& out_;
    bool pretty_;
    int depth_ = 0;
    bool first_ = true;      // no member or element yet in the innermost container
    bool after_key_ = false; // the next value belongs to the key just written
};

}  // namespace hostsync::json
