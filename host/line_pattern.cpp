#include "line_pattern.hpp"

#include <cstring>

#include "clock.hpp"
#include "jcs_string.hpp"
#include "sha256.hpp"
#include "utf8.hpp"

namespace hostsync {

void LinePattern::add_literal(std::string_view text) {
    if (!parts_.empty() && parts_.back().slot == MatchSlot::literal) {
        parts_.back().text.append(text);
    } else {
        parts_.push_back({MatchSlot::literal, std::string(text)});
    }
}

void LinePattern::add_slot(MatchSlot slot, std::string name) { parts_.push_back({slot, std::move(name)}); }

void LinePattern::reset(std::uint64_t counter, std::uint64_t after) {
    counter_ = counter;
    after_ = after;
}

namespace {

// A short excerpt of s at pos, for messages.
std::string excerpt(std::string_view s, std::size_t pos) {
    std::string_view e = s.substr(std::min(pos, s.size()), 24);
    return e.empty() ? "the end of the line" : "'" + std::string(e) + (s.size() - pos > 24 ? "...'" : "'");
}

// A canonical JSON integer (no sign, no leading zero, at most 2^53): moves pos past it.
bool scan_integer(std::string_view s, std::size_t& pos, std::uint64_t& value) {
    std::size_t start = pos;
    value = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 17) {
        value = value * 10 + static_cast<std::uint64_t>(s[pos] - '0');
        ++pos;
    }
    if (pos == start || (s[start] == '0' && pos - start > 1)) return false;
    if (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') return false;  // too long
    return value <= (std::uint64_t{1} << 53);
}

// The characters of an ISO 8601 date-time as clock::parse_iso reads it.
struct TimeChars {
    bool plain[256] = {};
    constexpr TimeChars() {
        for (char c : std::string_view("0123456789-:.,TtZz+ ")) plain[static_cast<unsigned char>(c)] = true;
    }
};
constexpr TimeChars kTimeChars;

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Bytes a canonical string holds as they are: not '"', not '\\', not a control. Bytes of
// 0x80 and above are plain here and validated as UTF-8 once per string.
struct PlainBytes {
    bool plain[256] = {};
    constexpr PlainBytes() {
        for (int c = 0x20; c < 256; ++c) plain[c] = true;
        plain[static_cast<unsigned char>('"')] = false;
        plain[static_cast<unsigned char>('\\')] = false;
    }
};
constexpr PlainBytes kPlain;

// Word-at-a-time tests (the classic "has a zero byte" trick): does any of the eight
// bytes of w equal '"' or '\\', or lie below 0x20?
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
inline std::uint64_t zero_byte(std::uint64_t v) { return (v - kOnes) & ~v & kHighBits; }
inline bool has_special_byte(std::uint64_t w) {
    std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighBits;
    return (below_space | zero_byte(w ^ (kOnes * '"')) | zero_byte(w ^ (kOnes * '\\'))) != 0;
}

// A JSON string in JCS form at s[pos] (the opening quote): moves pos past the closing
// quote. `decoded` gets the value only if it has escapes (`escaped` says so).
bool scan_canonical_string(std::string_view s, std::size_t& pos, std::string& decoded, bool& escaped,
                           std::string& why) {
    if (pos >= s.size() || s[pos] != '"') return (why = "expected a string", false);
    std::size_t start = ++pos;
    escaped = false;
    decoded.clear();
    std::size_t raw_from = start;  // start of the bytes not yet copied into `decoded`
    unsigned high = 0;             // any byte >= 0x80 seen: validate UTF-8 at the end
    const std::size_t n = s.size();
    for (;;) {
        // Eight bytes at a time while none of them ends the run of plain bytes.
        while (pos + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + pos, 8);
            if (has_special_byte(w)) break;
            high |= static_cast<unsigned>((w & kHighBits) != 0) << 7;
            pos += 8;
        }
        while (pos < n && kPlain.plain[static_cast<unsigned char>(s[pos])]) high |= static_cast<unsigned char>(s[pos++]);
        if (pos >= n) return (why = "unterminated string", false);
        unsigned char c = static_cast<unsigned char>(s[pos]);
        if (c == '"') break;
        if (c < 0x20) return (why = "a control character that is not escaped", false);
        // c == '\\'
        if (pos + 1 >= n) return (why = "unterminated string", false);
        escaped = true;
        decoded.append(s.substr(raw_from, pos - raw_from));
        char e = s[pos + 1];
        const char* shorts = "\"\\bfnrt";
        const char* values = "\"\\\b\f\n\r\t";
        if (const char* hit = std::strchr(shorts, e); hit != nullptr && e != '\0') {
            decoded.push_back(values[hit - shorts]);
            pos += 2;
        } else if (e == 'u') {
            if (pos + 6 > n || s.compare(pos + 2, 2, "00") != 0 || !is_lower_hex(s[pos + 4]) ||
                !is_lower_hex(s[pos + 5]) || s[pos + 4] > '1')
                return (why = "a \\u escape that JCS does not write (only \\u00xx, lowercase, for controls)", false);
            int v = (s[pos + 4] - '0') * 16 + (s[pos + 5] <= '9' ? s[pos + 5] - '0' : s[pos + 5] - 'a' + 10);
            if (v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                return (why = "a \\u escape for a control JCS writes as \\b \\f \\n \\r or \\t", false);
            decoded.push_back(static_cast<char>(v));
            pos += 6;
        } else {
            return (why = std::string("an escape JCS does not write: \\") + e, false);
        }
        raw_from = pos;
    }
    if ((high & 0x80) != 0 && utf8::first_invalid(s.substr(start, pos - start)) != std::string_view::npos)
        return (why = "invalid UTF-8", false);
    if (escaped) decoded.append(s.substr(raw_from, pos - raw_from));
    ++pos;  // the closing quote
    return true;
}

}  // namespace

namespace {

// The fast path for the common case: an object with exactly the keys of the previous
// one (a CSV row has the header's). The cached keys (raw text, quotes included) were
// checked, in this order, when they were seen first, so a key that is byte for byte the
// same needs no second look. False (pos unchanged) when anything differs: the caller
// then checks the object in full.
bool scan_with_known_keys(std::string_view s, std::size_t& pos, const std::vector<std::string>& keys) {
    if (keys.empty()) return false;
    std::size_t p = pos + 1;  // after '{'
    std::string value, why;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::string& k = keys[i];
        if (s.compare(p, k.size(), k) != 0 || p + k.size() >= s.size() || s[p + k.size()] != ':') return false;
        p += k.size() + 1;
        bool escaped = false;
        if (!scan_canonical_string(s, p, value, escaped, why)) return false;
        char want = i + 1 < keys.size() ? ',' : '}';
        if (p >= s.size() || s[p] != want) return false;
        ++p;
    }
    pos = p;
    return true;
}

}  // namespace

bool scan_canonical_string_object(std::string_view s, std::size_t& pos, std::string& why,
                                  std::vector<std::string>* known_keys) {
    if (pos >= s.size() || s[pos] != '{') return (why = "expected '{'", false);
    if (known_keys && scan_with_known_keys(s, pos, *known_keys)) return true;
    ++pos;
    if (pos < s.size() && s[pos] == '}') return ++pos, true;
    // The previous key: a view into s, or into one of two buffers when it had escapes
    // (the next escaped key is decoded into the other one).
    std::string keys[2], value;
    int spare = 0;
    std::string_view prev;
    bool have_prev = false;
    std::vector<std::string_view> raw_keys;
    for (;;) {
        std::size_t key_at = pos;
        bool escaped = false;
        if (!scan_canonical_string(s, pos, keys[spare], escaped, why)) return false;
        raw_keys.push_back(s.substr(key_at, pos - key_at));
        std::string_view this_key = s.substr(key_at + 1, pos - key_at - 2);
        if (escaped) {
            this_key = keys[spare];
            spare ^= 1;
        }
        if (have_prev && !jcs::key_less(prev, this_key)) {
            pos = key_at;
            return (why = "keys not in RFC 8785 order (or repeated)", false);
        }
        prev = this_key;
        have_prev = true;
        if (pos >= s.size() || s[pos] != ':') return (why = "expected ':'", false);
        ++pos;
        bool value_escaped = false;
        if (!scan_canonical_string(s, pos, value, value_escaped, why)) {
            if (why == "expected a string") why = "a value that is not a string";
            return false;
        }
        if (pos < s.size() && s[pos] == ',') {
            ++pos;
            continue;
        }
        if (pos < s.size() && s[pos] == '}') {
            ++pos;
            if (known_keys) known_keys->assign(raw_keys.begin(), raw_keys.end());
            return true;
        }
        return (why = "expected ',' or '}'", false);
    }
}

bool LinePattern::match(std::string_view line, std::string& why, std::size_t& at) {
    std::size_t pos = 0;
    std::uint64_t counter = counter_, after = after_;
    std::string_view object;  // the last string_object's text
    for (const auto& p : parts_) {
        std::size_t begin = pos;
        auto fail = [&](std::string what) {
            why = std::move(what);
            at = begin;
            return false;
        };
        switch (p.slot) {
            case MatchSlot::literal:
                if (line.compare(pos, p.text.size(), p.text) != 0)
                    return fail("expected '" + p.text + "', found " + excerpt(line, pos));
                pos += p.text.size();
                break;
            case MatchSlot::counter: {
                std::uint64_t v = 0;
                if (!scan_integer(line, pos, v)) return fail(p.text + " is not a whole number: " + excerpt(line, begin));
                if (v != counter)
                    return fail(p.text + " is " + std::to_string(v) + ", expected " + std::to_string(counter));
                ++counter;
                break;
            }
            case MatchSlot::increasing: {
                std::uint64_t v = 0;
                if (!scan_integer(line, pos, v)) return fail(p.text + " is not a whole number: " + excerpt(line, begin));
                if (v <= after)
                    return fail(p.text + " is " + std::to_string(v) + ", not after " + std::to_string(after));
                after = v;
                break;
            }
            case MatchSlot::string_object: {
                std::string err;
                if (!scan_canonical_string_object(line, pos, err, &known_keys_)) {
                    at = pos;
                    why = p.text + " is not a canonical JSON object of strings: " + err + " at " + excerpt(line, pos);
                    return false;
                }
                object = line.substr(begin, pos - begin);
                break;
            }
            case MatchSlot::object_sha256: {
                char hex[64];
                sha256::hex_to(sha256::digest(object), hex);
                if (line.compare(pos, 64, std::string_view(hex, 64)) != 0)
                    return fail(p.text + " is not the SHA-256 of the object before it");
                pos += 64;
                break;
            }
            case MatchSlot::string: {
                std::string decoded, err;
                bool escaped = false;
                if (!scan_canonical_string(line, pos, decoded, escaped, err)) {
                    at = pos;
                    why = p.text + " is not a canonical JSON string: " + err;
                    return false;
                }
                break;
            }
            case MatchSlot::iso_time: {
                while (pos < line.size() && kTimeChars.plain[static_cast<unsigned char>(line[pos])]) ++pos;
                // Times repeat from line to line (a second's worth of packets): one
                // that is the last good one again needs no second parse.
                std::string_view text = line.substr(begin, pos - begin);
                if (text == last_time_) break;
                double t = 0;
                std::string err;
                if (!clock::parse_iso(text, t, err)) return fail(p.text + " is not an ISO 8601 time: " + err);
                last_time_.assign(text);
                break;
            }
        }
    }
    if (pos != line.size()) {
        why = "unexpected " + excerpt(line, pos) + " after the end of the layout";
        at = pos;
        return false;
    }
    counter_ = counter;
    after_ = after;
    return true;
}

}  // namespace hostsync
