#pragma once
// RFC 8785 member order (jcs::key_less: UTF-16 code units) with a fast path. UTF-8 byte
// order already equals UTF-16 order unless the first difference is between a character
// in U+E000..U+FFFF and a supplementary one (UTF-8 lead bytes 0xEE..0xF4), so only
// then do we pay for decoding to UTF-16. Sorting is most of the cost of canonical JSON.
#include <algorithm>
#include <string_view>

#include "jcs_string.hpp"

namespace hostsync::json {

inline bool key_before(std::string_view a, std::string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    std::size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    if (i == n) return a.size() < b.size();  // a prefix sorts first in both orders
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    // Below 0xEE either both are characters under U+E000, or this is a continuation
    // byte and the two characters share their lead byte: byte order is UTF-16 order.
    if (x < 0xEE && y < 0xEE) return x < y;
    return jcs::key_less(a, b);
}

}  // namespace hostsync::json
