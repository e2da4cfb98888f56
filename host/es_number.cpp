#include "es_number.hpp"

#include <charconv>
#include <cstdint>

namespace hostsync::es_number {

void append(std::string& out, double v) {
    if (v == 0) {  // both +0 and -0: ECMAScript drops the sign of zero
        out.push_back('0');
        return;
    }
    // Fast path: integers below 2^53 are exact, and their shortest digits are all of
    // their digits, so ECMAScript prints them as plain integers.
    if (v > -9007199254740992.0 && v < 9007199254740992.0) {
        auto i = static_cast<std::int64_t>(v);
        if (static_cast<double>(i) == v) {
            char buf[24];
            auto r = std::to_chars(buf, buf + sizeof buf, i);
            out.append(buf, r.ptr);
            return;
        }
    }
    // std::to_chars without a precision gives the shortest digit string that reads back
    // as v, ties broken towards the closest value: the digits ECMAScript asks for. The
    // scientific form "d.ddde±x" is easy to take apart into digits and exponent.
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const char* p = buf;
    if (*p == '-') {
        out.push_back('-');
        ++p;
    }
    char digits[20];
    int k = 0;  // number of significant digits
    for (; *p != 'e'; ++p)
        if (*p != '.') digits[k++] = *p;
    ++p;  // 'e'
    bool exp_negative = *p == '-';
    ++p;  // sign
    int e = 0;
    for (; p < r.ptr; ++p) e = e * 10 + (*p - '0');
    if (exp_negative) e = -e;
    const int n = e + 1;  // ECMAScript's n: v = 0.d1d2...dk * 10^n

    if (k <= n && n <= 21) {  // integer: digits then n-k zeros
        out.append(digits, k);
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {  // decimal point inside the digits
        out.append(digits, n);
        out.push_back('.');
        out.append(digits + n, k - n);
    } else if (-6 < n && n <= 0) {  // small: 0.000ddd
        out.append("0.");
        out.append(static_cast<std::size_t>(-n), '0');
        out.append(digits, k);
    } else {  // exponent form: d[.ddd]e±x
        out.push_back(digits[0]);
        if (k > 1) {
            out.push_back('.');
            out.append(digits + 1, k - 1);
        }
        out.push_back('e');
        out.push_back(n - 1 >= 0 ? '+' : '-');
        char ebuf[8];
        auto er = std::to_chars(ebuf, ebuf + sizeof ebuf, n - 1 >= 0 ? n - 1 : 1 - n);
        out.append(ebuf, er.ptr);
    }
}

}  // namespace hostsync::es_number
