#include "jcs_object.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "jcs_string.hpp"

namespace hostsync::jcs {
namespace {

// True if append_string would escape any byte of `s` (a control character, '"' or '\\').
// Most CSV values need no escaping; for them the literal is just the bytes in quotes,
// which is cheaper to append than to run append_string's byte loop.
bool needs_escape(std::string_view s) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
    const unsigned char* e = p + s.size();
#if defined(__SSE2__)
    const __m128i control_max = _mm_set1_epi8(0x1F);
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // v <= 0x1F as unsigned bytes  <=>  max(v, 0x1F) == 0x1F
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        if (_mm_movemask_epi8(hit) != 0) return true;
        p += 16;
    }
#endif
    for (; p < e; ++p)
        if (*p < 0x20 || *p == '"' || *p == '\\') return true;
    return false;
}

}  // namespace

StringObjectWriter::StringObjectWriter(const std::vector<std::string>& keys) : order_(keys.size()) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::sort(order_.begin(), order_.end(),
              [&](std::size_t a, std::size_t b) { return key_less(keys[a], keys[b]); });
    prefixes_.reserve(order_.size());
    for (std::size_t k = 0; k < order_.size(); ++k) {
        std::string p(k == 0 ? "{" : ",");
        append_string(p, keys[order_[k]]);
        p.push_back(':');
        fixed_size_ += p.size() + 2;  // the prefix and the value's quotes
        prefixes_.push_back(std::move(p));
    }
    fixed_size_ += 1;  // the closing brace
}

void StringObjectWriter::write(std::string& out, const std::string_view* values, std::size_t n,
                               bool plain) const {
    if (n != order_.size()) throw std::logic_error("StringObjectWriter::write: wrong number of values");
    if (n == 0) {
        out.append("{}");
        return;
    }
    if (plain) {
        // Nothing to escape: the size is known, so fill the bytes in with plain copies.
        std::size_t total = fixed_size_;
        for (std::size_t i = 0; i < n; ++i) total += values[i].size();
        std::size_t at = out.size();
        out.resize(at + total);
        char* w = out.data() + at;
        for (std::size_t k = 0; k < n; ++k) {
            std::memcpy(w, prefixes_[k].data(), prefixes_[k].size());
            w += prefixes_[k].size();
            std::string_view v = values[order_[k]];
            *w++ = '"';
            if (!v.empty()) std::memcpy(w, v.data(), v.size());  // data() may be null if empty
            w += v.size();
            *w++ = '"';
        }
        *w = '}';
        return;
    }
    for (std::size_t k = 0; k < n; ++k) {
        out.append(prefixes_[k]);
        std::string_view v = values[order_[k]];
        if (needs_escape(v)) {
            append_string(out, v);
        } else {
            out.push_back('"');
            out.append(v);
            out.push_back('"');
        }
    }
    out.push_back('}');
}

}  // namespace hostsync::jcs
