#pragma once
// The two string rules of RFC 8785 (JSON Canonicalization Scheme) that every canonical
// writer needs: how a string is escaped, and how object keys are ordered.
#include <string>
#include <string_view>

namespace hostsync::jcs {

// Appends `s` (valid UTF-8) as a JSON string literal, escaped exactly as RFC 8785 says
// (ECMAScript JSON.stringify): \" \\ \b \f \n \r \t, other controls as \u00xx in lowercase
// hex, everything else (including non-ASCII, DEL, U+2028/9) as is.
void append_string(std::string& out, std::string_view s);

// RFC 8785 key order: compare as arrays of UTF-16 code units (which differs from UTF-8
// byte order only between supplementary-plane characters and U+E000..U+FFFF).
bool key_less(std::string_view a, std::string_view b);

}  // namespace hostsync::jcs
