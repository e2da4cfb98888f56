#include "csv_scan.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hostsync::csv {
namespace {

std::size_t count_lf(const char* p, const char* e) {
    std::size_t n = 0;
    while (p < e) {
        const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(e - p));
        if (hit == nullptr) break;
        ++n;
        p = static_cast<const char*>(hit) + 1;
    }
    return n;
}

// A quote error at `at`: the record goes on to the next LF, quotes no longer counted.
ScanResult resync(const char* data, const char* e, std::size_t start, const char* at,
                  QuoteError what) {
    ScanResult r;
    const void* lf = std::memchr(at, '\n', static_cast<std::size_t>(e - at));
    if (lf == nullptr) return r;  // need_more: the bad record is not complete yet
    const char* end = static_cast<const char*>(lf) + 1;
    r.kind = ScanKind::quote_error;
    r.end = static_cast<std::size_t>(end - data);
    r.newlines = count_lf(data + start, end);
    r.error_at = static_cast<std::size_t>(at - (data + start));
    r.error = what;
    return r;
}

ScanResult complete(ScanKind kind, std::size_t end, std::size_t newlines) {
    ScanResult r;
    r.kind = kind;
    r.end = end;
    r.newlines = newlines;
    return r;
}

// Which bytes end an unquoted field's run of data (for the scalar tail of find_special).
struct SpecialTable {
    bool is[256] = {};
    constexpr SpecialTable() {
        is[static_cast<unsigned char>(',')] = true;
        is[static_cast<unsigned char>('"')] = true;
        is[static_cast<unsigned char>('\n')] = true;
    }
};
constexpr SpecialTable kSpecial;

// Appends field spans through an index instead of push_back: this is the innermost loop
// of the reader, and push_back was not inlined there. The vector keeps its size as
// capacity between records; the destructor trims it to the fields actually found.
class SpanSink {
  public:
    explicit SpanSink(std::vector<FieldSpan>& v) : v_(v) {}
    ~SpanSink() { v_.resize(n_); }
    SpanSink(const SpanSink&) = delete;
    SpanSink& operator=(const SpanSink&) = delete;
    void add(const char* data, const char* b, const char* e, bool escaped) {
        if (n_ == v_.size()) v_.resize(n_ < 8 ? 16 : 2 * n_);
        v_[n_++] = {static_cast<std::size_t>(b - data), static_cast<std::size_t>(e - b), escaped};
    }

  private:
    std::vector<FieldSpan>& v_;
    std::size_t n_ = 0;
};

}  // namespace

const char* find_special(const char* p, const char* e) {
#if defined(__SSE2__)
    // 16 bytes per step: compare against the three special bytes, take the first hit.
    const __m128i comma = _mm_set1_epi8(',');
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i lf = _mm_set1_epi8('\n');
    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, quote)),
                                   _mm_cmpeq_epi8(v, lf));
        int mask = _mm_movemask_epi8(hit);
        if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
        p += 16;
    }
#endif
    while (p < e && !kSpecial.is[static_cast<unsigned char>(*p)]) ++p;
    return p;
}

ScanResult scan_record(const char* data, std::size_t size, std::size_t start,
                       std::vector<FieldSpan>& fields) {
    SpanSink sink(fields);
    const char* const e = data + size;
    const char* p = data + start;
    const ScanResult need_more;
    if (p == e) return need_more;
    if (*p == '\n') return complete(ScanKind::blank, start + 1, 1);
    if (*p == '\r') {
        if (p + 1 == e) return need_more;  // CR LF (blank) or CR as data: not known yet
        if (p[1] == '\n') return complete(ScanKind::blank, start + 2, 1);
    }
    std::size_t quoted_newlines = 0;
    for (;;) {
        if (p == e) return need_more;
        if (*p != '"') {
            // Unquoted: everything up to the next ',' '"' or LF is data, CR included.
            const char* r = find_special(p, e);
            if (r == e) return need_more;
            if (*r == ',') {
                sink.add(data, p, r, false);
                p = r + 1;
                continue;
            }
            if (*r == '\n') {
                const char* fe = (r > p && r[-1] == '\r') ? r - 1 : r;  // CR of CRLF is no data
                sink.add(data, p, fe, false);
                return complete(ScanKind::record, static_cast<std::size_t>(r + 1 - data), quoted_newlines + 1);
            }
            return resync(data, e, start, r, QuoteError::quote_in_unquoted);
        }
        // Quoted: find the closing quote, stepping over "" pairs.
        const char* q = p + 1;
        bool escaped = false;
        for (;;) {
            const void* hit = std::memchr(q, '"', static_cast<std::size_t>(e - q));
            if (hit == nullptr) return need_more;
            const char* r = static_cast<const char*>(hit);
            if (r + 1 == e) return need_more;  // "" or a closing quote: not known yet
            if (r[1] == '"') {
                escaped = true;
                q = r + 2;
                continue;
            }
            quoted_newlines += count_lf(p + 1, r);
            sink.add(data, p + 1, r, escaped);
            const char* a = r + 1;
            if (*a == ',') {
                p = a + 1;
                break;
            }
            if (*a == '\n') return complete(ScanKind::record, static_cast<std::size_t>(a + 1 - data), quoted_newlines + 1);
            if (*a == '\r') {
                if (a + 1 == e) return need_more;
                if (a[1] == '\n') return complete(ScanKind::record, static_cast<std::size_t>(a + 2 - data), quoted_newlines + 1);
            }
            return resync(data, e, start, a, QuoteError::after_closing_quote);
        }
    }
}

std::size_t BoundaryScanner::feed(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i, ++pos_) {
        const char c = p[i];
        if (c == '\n') ++newlines_;
        bool again;
        do {  // a byte may be looked at twice when it decides what the previous one was
            again = false;
            switch (state_) {
                case State::record_start:
                    if (c == '\n') {
                        blank_ = true;
                        state_ = State::done;
                    } else if (c == '\r') {
                        state_ = State::record_start_cr;
                    } else {
                        state_ = State::field_start;
                        again = true;
                    }
                    break;
                case State::record_start_cr:
                    if (c == '\n') {
                        blank_ = true;
                        state_ = State::done;
                    } else {
                        state_ = State::unquoted;  // that CR was data
                        again = true;
                    }
                    break;
                case State::field_start:
                    if (c == '"') state_ = State::quoted;
                    else if (c == ',') ++fields_;
                    else if (c == '\n') state_ = State::done;
                    else state_ = State::unquoted;
                    break;
                case State::unquoted:
                    if (c == ',') {
                        ++fields_;
                        state_ = State::field_start;
                    } else if (c == '\n') {
                        state_ = State::done;
                    } else if (c == '"') {
                        error_ = QuoteError::quote_in_unquoted;
                        error_at_ = pos_;
                        state_ = State::resync;
                    }
                    break;
                case State::quoted:
                    if (c == '"') state_ = State::quote_in_quoted;
                    break;
                case State::quote_in_quoted:
                    if (c == '"') {
                        state_ = State::quoted;
                    } else if (c == ',') {
                        ++fields_;
                        state_ = State::field_start;
                    } else if (c == '\n') {
                        state_ = State::done;
                    } else if (c == '\r') {
                        state_ = State::after_close_cr;
                    } else {
                        error_ = QuoteError::after_closing_quote;
                        error_at_ = pos_;
                        state_ = State::resync;
                    }
                    break;
                case State::after_close_cr:
                    if (c == '\n') {
                        state_ = State::done;
                    } else {
                        error_ = QuoteError::after_closing_quote;
                        error_at_ = pos_ - 1;  // the CR is the offending byte
                        state_ = State::resync;
                    }
                    break;
                case State::resync:
                    if (c == '\n') state_ = State::done;
                    break;
                case State::done:
                    break;
            }
        } while (again);
        if (state_ == State::done) {
            ++pos_;
            return i + 1;
        }
    }
    return npos;
}

}  // namespace hostsync::csv
