#include "jcs_string.hpp"

#include <cstdint>

namespace hostsync::jcs {
namespace {

// A table of which bytes need escaping keeps the common case to one lookup per byte.
struct EscapeTable {
    bool needs[256] = {};
    constexpr EscapeTable() {
        for (int c = 0; c < 0x20; ++c) needs[c] = true;
        needs[static_cast<unsigned char>('"')] = true;
        needs[static_cast<unsigned char>('\\')] = true;
    }
};
constexpr EscapeTable kEscape;

// Decodes the next UTF-16 code unit of a UTF-8 string. `pending` holds the low surrogate
// of a supplementary character whose high surrogate was just returned.
std::uint32_t next_unit(std::string_view s, std::size_t& i, std::uint32_t& pending) {
    if (pending != 0) {
        std::uint32_t u = pending;
        pending = 0;
        return u;
    }
    auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[k])); };
    std::uint32_t c = b(i);
    std::uint32_t cp;
    if (c < 0x80) {
        cp = c;
        i += 1;
    } else if (c < 0xE0 && i + 1 < s.size()) {
        cp = ((c & 0x1F) << 6) | (b(i + 1) & 0x3F);
        i += 2;
    } else if (c < 0xF0 && i + 2 < s.size()) {
        cp = ((c & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
        i += 3;
    } else if (i + 3 < s.size()) {
        cp = ((c & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) | (b(i + 3) & 0x3F);
        i += 4;
    } else {
        cp = c;  // truncated input: compare the raw byte, never read past the end
        i += 1;
    }
    if (cp >= 0x10000) {
        cp -= 0x10000;
        pending = 0xDC00 | (cp & 0x3FF);
        return 0xD800 | (cp >> 10);
    }
    return cp;
}

}  // namespace

void append_string(std::string& out, std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (!kEscape.needs[c]) continue;
        out.append(s.data() + run_start, i - run_start);
        run_start = i + 1;
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default: {
                char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
                out.append(esc, 6);
            }
        }
    }
    out.append(s.data() + run_start, s.size() - run_start);
    out.push_back('"');
}

bool key_less(std::string_view a, std::string_view b) {
    std::size_t i = 0, j = 0;
    std::uint32_t pa = 0, pb = 0;
    while ((i < a.size() || pa) && (j < b.size() || pb)) {
        std::uint32_t ua = next_unit(a, i, pa);
        std::uint32_t ub = next_unit(b, j, pb);
        if (ua != ub) return ua < ub;
    }
    return (j < b.size() || pb) && !(i < a.size() || pa);
}

}  // namespace hostsync::jcs
