#include "json_reader.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "utf8.hpp"

namespace hostsync::json {
namespace {

// Bytes a string can hold unescaped and without a closer look: not '"', not '\\', not a
// control character, not the start of a multi-byte sequence (those are validated once
// per string, after the scan).
struct PlainTable {
    bool plain[256] = {};
    constexpr PlainTable() {
        for (int c = 0x20; c < 0x80; ++c) plain[c] = true;
        plain[static_cast<unsigned char>('"')] = false;
        plain[static_cast<unsigned char>('\\')] = false;
    }
};
constexpr PlainTable kPlain;

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

class Reader {
public:
    Reader(std::string_view text, Handler& h, ParseError& err, int max_depth)
        : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()),
          h_(h), err_(err), max_depth_(max_depth) {}

    bool document() {
        skip_ws();
        if (p_ == end_) return fail(p_, "unexpected end of input (empty document)");
        if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0)
            return fail(p_, "byte order mark (U+FEFF) is not allowed before JSON text");
        if (!value(0)) return false;
        skip_ws();
        if (p_ != end_) return fail(p_, "unexpected " + describe(p_) + " after the JSON value");
        return true;
    }

private:
    const char* const begin_;
    const char* p_;
    const char* const end_;
    Handler& h_;
    ParseError& err_;
    const int max_depth_;
    std::string scratch_;  // decoded text of strings that contain escapes

    bool fail(const char* at, std::string message) {
        err_.offset = static_cast<std::size_t>(at - begin_);
        err_.message = std::move(message);
        return false;
    }

    // The handler said stop: report its reason where it asked, or at `at`.
    bool handler_failed(const char* at) {
        std::size_t off = h_.error_offset != Handler::npos ? h_.error_offset
                                                           : static_cast<std::size_t>(at - begin_);
        err_.offset = off;
        err_.message = h_.error.empty() ? "rejected by the handler" : h_.error;
        return false;
    }

    std::string describe(const char* at) const {
        if (at >= end_) return "end of input";
        unsigned char c = static_cast<unsigned char>(*at);
        if (c > 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
        char buf[16];
        std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
        return buf;
    }

    void skip_ws() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }

    bool value(int depth) {
        if (p_ == end_) return fail(p_, "unexpected end of input, expected a value");
        const char* at = p_;
        switch (*p_) {
            case '{': return object(depth);
            case '[': return array(depth);
            case '"': {
                std::string_view s;
                if (!string(s)) return false;
                return h_.string_value(s) || handler_failed(at);
            }
            case 't': return literal("true", 4) && (h_.bool_value(true) || handler_failed(at));
            case 'f': return literal("false", 5) && (h_.bool_value(false) || handler_failed(at));
            case 'n': return literal("null", 4) && (h_.null_value() || handler_failed(at));
            default:
                if (*p_ == '-' || is_digit(*p_)) return number();
                return fail(p_, "unexpected " + describe(p_) + ", expected a value");
        }
    }

    bool literal(const char* word, std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0)
            return fail(p_, std::string("invalid literal, expected '") + word + "'");
        p_ += n;
        return true;
    }

    bool object(int depth) {
        const char* open = p_;
        if (depth >= max_depth_)
            return fail(open, "nesting deeper than " + std::to_string(max_depth_) + " levels");
        ++p_;
        if (!h_.begin_object()) return handler_failed(open);
        skip_ws();
        if (p_ < end_ && *p_ == '}') {
            ++p_;
            return h_.end_object() || handler_failed(open);
        }
        for (;;) {
            if (p_ == end_) return fail(p_, "unexpected end of input in an object started at " + where(open));
            if (*p_ != '"') {
                if (*p_ == '}') return fail(p_, "trailing comma before '}'");
                return fail(p_, "unexpected " + describe(p_) + ", expected a string key");
            }
            const char* key_at = p_;
            std::string_view k;
            if (!string(k)) return false;
            if (!h_.key(k, static_cast<std::size_t>(key_at - begin_))) return handler_failed(key_at);
            skip_ws();
            if (p_ == end_ || *p_ != ':')
                return fail(p_, "unexpected " + describe(p_) + ", expected ':' after an object key");
            ++p_;
            skip_ws();
            if (!value(depth + 1)) return false;
            skip_ws();
            if (p_ < end_ && *p_ == ',') {
                ++p_;
                skip_ws();
                continue;
            }
            if (p_ < end_ && *p_ == '}') {
                ++p_;
                return h_.end_object() || handler_failed(p_ - 1);
            }
            if (p_ == end_) return fail(p_, "unexpected end of input in an object started at " + where(open));
            return fail(p_, "unexpected " + describe(p_) + ", expected ',' or '}' after an object member");
        }
    }

    bool array(int depth) {
        const char* open = p_;
        if (depth >= max_depth_)
            return fail(open, "nesting deeper than " + std::to_string(max_depth_) + " levels");
        ++p_;
        if (!h_.begin_array()) return handler_failed(open);
        skip_ws();
        if (p_ < end_ && *p_ == ']') {
            ++p_;
            return h_.end_array() || handler_failed(open);
        }
        for (;;) {
            if (p_ < end_ && *p_ == ']') return fail(p_, "trailing comma before ']'");
            if (!value(depth + 1)) return false;
            skip_ws();
            if (p_ < end_ && *p_ == ',') {
                ++p_;
                skip_ws();
                continue;
            }
            if (p_ < end_ && *p_ == ']') {
                ++p_;
                return h_.end_array() || handler_failed(p_ - 1);
            }
            if (p_ == end_) return fail(p_, "unexpected end of input in an array started at " + where(open));
            return fail(p_, "unexpected " + describe(p_) + ", expected ',' or ']' after an array element");
        }
    }

    // "line L column C" of a position, for messages that point back to an opener.
    std::string where(const char* at) const {
        std::size_t line, column;
        locate(std::string_view(begin_, static_cast<std::size_t>(end_ - begin_)),
               static_cast<std::size_t>(at - begin_), line, column);
        return "line " + std::to_string(line) + " column " + std::to_string(column);
    }

    // p_ is at the opening quote. On success `out` views either the text itself (no
    // escapes: the common case, no copy) or scratch_.
    bool string(std::string_view& out) {
        const char* open = p_;
        const char* start = ++p_;
        bool high = false;     // saw bytes >= 0x80: validate the raw span as UTF-8
        bool escaped = false;  // decoded into scratch_
        const char* run = start;  // first byte not yet copied to scratch_ (escaped only)
        for (;;) {
            while (p_ < end_ && kPlain.plain[static_cast<unsigned char>(*p_)]) ++p_;
            if (p_ == end_) return fail(open, "unterminated string");
            unsigned char c = static_cast<unsigned char>(*p_);
            if (c == '"') break;
            if (c >= 0x80) {
                high = true;
                ++p_;
                continue;
            }
            if (c < 0x20) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "control character U+%04X in a string must be escaped", c);
                return fail(p_, buf);
            }
            // c == '\\'
            if (!escaped) {
                scratch_.clear();
                escaped = true;
            }
            scratch_.append(run, p_);
            if (!escape()) return false;
            run = p_;
        }
        const char* close = p_;
        ++p_;
        if (high) {
            std::string_view raw(start, static_cast<std::size_t>(close - start));
            std::size_t bad = utf8::first_invalid(raw);
            if (bad != std::string_view::npos) return fail(start + bad, "invalid UTF-8 in a string");
        }
        if (!escaped) {
            out = std::string_view(start, static_cast<std::size_t>(close - start));
        } else {
            scratch_.append(run, close);
            out = scratch_;
        }
        return true;
    }

    // p_ is at a backslash inside a string: decode one escape into scratch_.
    bool escape() {
        const char* at = p_;
        if (end_ - p_ < 2) return fail(at, "unterminated string");
        char c = p_[1];
        p_ += 2;
        switch (c) {
            case '"': scratch_.push_back('"'); return true;
            case '\\': scratch_.push_back('\\'); return true;
            case '/': scratch_.push_back('/'); return true;
            case 'b': scratch_.push_back('\b'); return true;
            case 'f': scratch_.push_back('\f'); return true;
            case 'n': scratch_.push_back('\n'); return true;
            case 'r': scratch_.push_back('\r'); return true;
            case 't': scratch_.push_back('\t'); return true;
            case 'u': break;
            default:
                return fail(at, "invalid escape '\\" + (c > 0x20 && c < 0x7F ? std::string(1, c) : describe(at + 1)) + "'");
        }
        std::uint32_t cp;
        if (!hex4(at, cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(at, "lone low surrogate in a \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by an escaped low one: together they are
            // one supplementary character. Alone it has no UTF-8 form (I-JSON forbids it).
            if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u')
                return fail(at, "lone high surrogate in a \\u escape");
            const char* low_at = p_;
            p_ += 2;
            std::uint32_t low;
            if (!hex4(low_at, low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return fail(at, "lone high surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(scratch_, cp);
        return true;
    }

    bool hex4(const char* at, std::uint32_t& cp) {
        if (end_ - p_ < 4) return fail(at, "incomplete \\u escape");
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            int h = hex_value(p_[i]);
            if (h < 0) return fail(at, "invalid \\u escape, expected 4 hex digits");
            cp = (cp << 4) | static_cast<std::uint32_t>(h);
        }
        p_ += 4;
        return true;
    }

    bool number() {
        const char* start = p_;
        bool negative = false;
        if (*p_ == '-') {
            negative = true;
            ++p_;
        }
        const char* int_start = p_;
        if (p_ == end_ || !is_digit(*p_)) return fail(start, "invalid number, expected a digit");
        if (*p_ == '0') {
            ++p_;
            if (p_ < end_ && is_digit(*p_)) return fail(start, "invalid number, leading zeros are not allowed");
        } else {
            while (p_ < end_ && is_digit(*p_)) ++p_;
        }
        const char* int_end = p_;
        bool simple = true;  // integer without fraction or exponent
        const char* frac_start = p_;
        if (p_ < end_ && *p_ == '.') {
            simple = false;
            ++p_;
            frac_start = p_;
            if (p_ == end_ || !is_digit(*p_)) return fail(p_, "invalid number, expected a digit after '.'");
            while (p_ < end_ && is_digit(*p_)) ++p_;
        }
        const char* frac_end = p_;
        long exponent = 0;
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            simple = false;
            ++p_;
            bool exp_negative = false;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) exp_negative = *p_++ == '-';
            if (p_ == end_ || !is_digit(*p_)) return fail(p_, "invalid number, expected a digit in the exponent");
            while (p_ < end_ && is_digit(*p_)) {
                if (exponent < 100000) exponent = exponent * 10 + (*p_ - '0');  // saturate
                ++p_;
            }
            if (exp_negative) exponent = -exponent;
        }

        double v;
        if (simple && int_end - int_start <= 15) {
            // Up to 15 digits fit a double exactly: no rounding question, no from_chars.
            std::int64_t i = 0;
            for (const char* q = int_start; q < int_end; ++q) i = i * 10 + (*q - '0');
            v = static_cast<double>(i);
            if (negative) v = -v;
        } else {
            auto r = std::from_chars(start, p_, v);
            if (r.ec == std::errc::result_out_of_range) {
                // Too small rounds to zero, as JSON.parse does; too large has no double.
                if (magnitude(int_start, int_end, frac_start, frac_end, exponent) > 0)
                    return fail(start, "number out of range of a double");
                v = negative ? -0.0 : 0.0;
            } else if (r.ec != std::errc() || r.ptr != p_) {
                return fail(start, "invalid number");
            }
        }
        return h_.number_value(v) || handler_failed(start);
    }

    // Rough decimal exponent of the leading significant digit, to tell an overflow from
    // an underflow (they are hundreds of orders of magnitude apart).
    static long magnitude(const char* int_start, const char* int_end, const char* frac_start,
                          const char* frac_end, long exponent) {
        for (const char* q = int_start; q < int_end; ++q)
            if (*q != '0') return exponent + (int_end - q) - 1;
        for (const char* q = frac_start; q < frac_end; ++q)
            if (*q != '0') return exponent - (q - frac_start) - 1;
        return -1;
    }
};

}  // namespace

std::string ParseError::to_string() const {
    return "line " + std::to_string(line) + " column " + std::to_string(column) + ": " + message;
}

void locate(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column) {
    if (offset > text.size()) offset = text.size();
    line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    column = 1;
    for (std::size_t i = line_start; i < offset; ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;  // skip continuation bytes
}

bool parse(std::string_view text, Handler& handler, ParseError& err, int max_depth) {
    Reader reader(text, handler, err, max_depth);
    if (reader.document()) return true;
    locate(text, err.offset, err.line, err.column);
    return false;
}

}  // namespace hostsync::json
