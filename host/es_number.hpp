#pragma once
// Numbers as ECMAScript writes them (Number.prototype.toString, ECMA-262 Number::toString
// with radix 10). RFC 8785 (JCS) requires exactly this text for every JSON number, so a
// canonical document hashes the same here as in a browser or in Node.
#include <string>

namespace hostsync::es_number {

// Appends the ECMAScript text of `v`: the shortest digits that read back as `v`, laid out
// as plain digits for 1e-6 <= |v| < 1e21 and as d.ddde±x outside; -0 becomes "0".
// `v` must be finite (ECMAScript would write "NaN"/"Infinity", which are not JSON).
void append(std::string& out, double v);

inline std::string to_string(double v) {
    std::string s;
    append(s, v);
    return s;
}

}  // namespace hostsync::es_number
