#pragma once
// UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hostsync::utf8 {

// Returns the byte index of the first invalid sequence, or npos if `s` is valid UTF-8.
std::size_t first_invalid(std::string_view s);

inline bool valid(std::string_view s) { return first_invalid(s) == std::string_view::npos; }

}  // namespace hostsync::utf8
