#include "csv_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "utf8.hpp"

namespace hostsync::csv {
namespace {

const char kBom[] = "\xEF\xBB\xBF";

// What the reader checks in every record's bytes, in one pass.
struct ByteCheck {
    std::size_t invalid_utf8;  // first invalid UTF-8 byte, or npos
    bool escapable;            // a control byte or '\\': some value may need JSON escaping
};

// `content` is the record without its line terminator. The ASCII part is checked 16
// bytes at a time; UTF-8 validation starts at the first non-ASCII byte (a sequence can
// only start after an ASCII one), which most records never have.
ByteCheck check_bytes(const char* data, std::size_t size, std::size_t content) {
    std::size_t i = 0;
    std::size_t first_high = std::string_view::npos;
    bool escapable = false;
#if defined(__SSE2__)
    const __m128i control_max = _mm_set1_epi8(0x1F);
    const __m128i backslash = _mm_set1_epi8('\\');
    int special = 0;
    for (; content - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
        special |= _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max),
                                                  _mm_cmpeq_epi8(v, backslash)));
        int high = _mm_movemask_epi8(v);
        if (high != 0 && first_high == std::string_view::npos)
            first_high = i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(high)));
    }
    escapable = special != 0;
#endif
    for (; i < content; ++i) {
        unsigned char c = static_cast<unsigned char>(data[i]);
        if (c < 0x20 || c == '\\') escapable = true;
        if (c >= 0x80 && first_high == std::string_view::npos) first_high = i;
    }
    ByteCheck r{std::string_view::npos, escapable};
    if (first_high != std::string_view::npos) {
        std::size_t rest = utf8::first_invalid({data + first_high, size - first_high});
        if (rest != std::string_view::npos) r.invalid_utf8 = first_high + rest;
    }
    return r;
}

// The length of a record without its terminator (LF, or CRLF: a CR right before the
// final LF always belongs to the terminator, quoted or not).
std::size_t content_size(const char* record, std::size_t size) {
    return size >= 2 && record[size - 2] == '\r' ? size - 2 : size - 1;
}

std::string plural(std::size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// How a byte is shown in a message: printable ASCII as 'x', anything else as \xNN.
std::string show_byte(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
    static const char kHex[] = "0123456789ABCDEF";
    return std::string("\\x") + kHex[u >> 4] + kHex[u & 0xF];
}

std::string quote_reason(const ScanResult& s, const char* record) {
    std::string at = " at byte " + std::to_string(s.error_at) + " of the record";
    if (s.error == QuoteError::quote_in_unquoted) return "quote error: '\"' inside an unquoted field" + at;
    char c = record[s.error_at];
    if (c == '\r') return "quote error: CR not followed by LF after a closing quote" + at;
    return "quote error: " + show_byte(c) + " after a closing quote" + at;
}

std::string too_long_reason(std::uint64_t size, std::size_t max) {
    return "record of " + std::to_string(size) + " bytes is longer than max_record_bytes (" +
           std::to_string(max) + ")";
}

// Names that occur more than once, each listed once, in order of first appearance.
// Sorting positions by name finds every group of equal names in O(n log n) comparisons
// whatever the names are: no per-name search of the result (which made 100,000 names in
// pairs take 45 s), and no hash table an attacker could flood with colliding names.
std::vector<std::string_view> duplicates(const std::vector<std::string>& names) {
    std::vector<std::size_t> order(names.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return names[a] < names[b]; });
    std::vector<std::size_t> first;  // the first position of each repeated name
    for (std::size_t i = 0; i + 1 < order.size();) {
        std::size_t j = i + 1;
        while (j < order.size() && names[order[j]] == names[order[i]]) ++j;
        if (j - i > 1) first.push_back(order[i]);  // stable: order[i] is the smallest position
        i = j;
    }
    std::sort(first.begin(), first.end());
    std::vector<std::string_view> dup;
    dup.reserve(first.size());
    for (std::size_t i : first) dup.emplace_back(names[i]);
    return dup;
}

// "duplicate names: "a", "b"": at most kShownNames names, each cut to kShownNameBytes
// (at a character boundary), then "and N more", so a hostile header cannot make the
// message (which is logged and returned to Lua) as large as itself.
std::string duplicates_reason(const std::vector<std::string_view>& dup) {
    constexpr std::size_t kShownNames = 10, kShownNameBytes = 64;
    std::string list;
    for (std::size_t i = 0; i < dup.size() && i < kShownNames; ++i) {
        std::string_view name = dup[i];
        bool cut = name.size() > kShownNameBytes;
        if (cut) {
            std::size_t end = kShownNameBytes;
            while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
            name = name.substr(0, end);
        }
        list += (list.empty() ? "\"" : ", \"");
        list += name;
        list += cut ? "...\"" : "\"";
    }
    if (dup.size() > kShownNames) list += " and " + std::to_string(dup.size() - kShownNames) + " more";
    return "duplicate names: " + list;
}

}  // namespace

Reader::Reader(int fd, std::string path, const ReaderOptions& options)
    : fd_(fd),
      path_(std::move(path)),
      max_record_bytes_(std::max<std::size_t>(options.max_record_bytes, 1)),
      initial_capacity_(std::max<std::size_t>(options.buffer_bytes, 64)),
      buf_(new char[initial_capacity_]),
      capacity_(initial_capacity_) {}

Reader::~Reader() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<Reader> Reader::open(const std::string& path, const ReaderOptions& options,
                                     std::string& err) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = path + ": " + std::strerror(errno);
        return nullptr;
    }
    std::unique_ptr<Reader> r(new Reader(fd, path, options));
    if (options.offset > 0) {
        // A cursor belongs to this file only if it is inside it and right after an LF;
        // otherwise the file was truncated or replaced and resuming would go wrong.
        struct stat st;
        if (::fstat(fd, &st) != 0) {
            err = path + ": " + std::strerror(errno);
            return nullptr;
        }
        if (options.offset > static_cast<std::uint64_t>(st.st_size)) {
            err = path + ": cursor offset " + std::to_string(options.offset) + " is past the end of the file (" +
                  std::to_string(st.st_size) + " bytes): was it truncated or replaced?";
            return nullptr;
        }
        char before = 0;
        ssize_t n = ::pread(fd, &before, 1, static_cast<off_t>(options.offset - 1));
        if (n < 0) {
            err = path + ": " + std::strerror(errno);
            return nullptr;
        }
        if (n != 1 || before != '\n') {
            err = path + ": cursor offset " + std::to_string(options.offset) +
                  " is not at the start of a line: was the file replaced?";
            return nullptr;
        }
    }
    r->read_header();
    if (!r->io_error_.empty()) {
        err = path + ": " + r->io_error_;
        return nullptr;
    }
    if (r->header_status_ != HeaderStatus::ok) {
        // Nothing is consumed without a header: a later reader starts where this one did.
        r->cursor_offset_ = options.offset;
        r->cursor_line_ = options.line_no;
    } else if (options.offset > r->cursor_offset_) {
        r->cursor_offset_ = options.offset;
        r->cursor_line_ = options.line_no;
        if (options.offset <= r->base_ + r->len_) r->start_ = static_cast<std::size_t>(options.offset - r->base_);
        else r->reset_buffer_at(options.offset);
    }
    return r;
}

int Reader::fill() {
    // Drop consumed bytes so that the record being scanned starts the buffer.
    if (start_ > 0) {
        std::memmove(buf_.get(), buf_.get() + start_, len_ - start_);
        base_ += start_;
        len_ -= start_;
        start_ = 0;
    }
    if (capacity_ > initial_capacity_ && len_ <= initial_capacity_ / 2) {
        // A long record made the buffer grow; it is gone, so give the memory back.
        std::unique_ptr<char[]> smaller(new char[initial_capacity_]);
        std::memcpy(smaller.get(), buf_.get(), len_);
        buf_ = std::move(smaller);
        capacity_ = initial_capacity_;
    } else if (len_ == capacity_) {
        // One record fills the buffer: grow geometrically, but only as far as the longest
        // record we accept (+1 byte, to see that a longer one is longer).
        std::size_t limit = std::max(max_record_bytes_ + 1, capacity_ + 1);
        std::size_t grown = std::min(capacity_ * 2, limit);
        std::unique_ptr<char[]> bigger(new char[grown]);
        std::memcpy(bigger.get(), buf_.get(), len_);
        buf_ = std::move(bigger);
        capacity_ = grown;
    }
    ssize_t n;
    do {
        n = ::pread(fd_, buf_.get() + len_, capacity_ - len_, static_cast<off_t>(base_ + len_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        io_error_ = "read error at byte " + std::to_string(base_ + len_) + ": " + std::strerror(errno);
        return -1;
    }
    len_ += static_cast<std::size_t>(n);
    return n > 0 ? 1 : 0;
}

void Reader::reset_buffer_at(std::uint64_t offset) {
    base_ = offset;
    len_ = 0;
    start_ = 0;
}

void Reader::consume(std::size_t bytes, std::uint64_t lines) {
    start_ += bytes;
    cursor_offset_ += bytes;
    cursor_line_ += lines;
}

BadRecord Reader::make_bad(std::string kind, std::string reason, std::size_t end) const {
    BadRecord b;
    b.kind = std::move(kind);
    b.reason = std::move(reason);
    b.line_no = cursor_line_ + 1;
    b.offset = cursor_offset_;
    b.end_offset = base_ + end;
    std::size_t size = end - start_;
    // A too-long record keeps only a prefix: the point of the limit is bounded memory.
    std::size_t keep = b.kind == "too_long" || b.kind == "header" ? std::min(size, kRawLimit) : size;
    b.raw.assign(buf_.get() + start_, keep);
    b.raw_truncated = keep < size;
    return b;
}

void Reader::read_header() {
    while (len_ < 3) {  // enough bytes to recognise a BOM
        int f = fill();
        if (f < 0) return;
        if (f == 0) break;
    }
    if (len_ >= 3 && std::memcmp(buf_.get(), kBom, 3) == 0) {
        consume(3, 0);
    } else if (len_ > 0 && len_ < 3 && std::memcmp(buf_.get(), kBom, len_) == 0) {
        header_status_ = HeaderStatus::incomplete;  // maybe a BOM still being written
        header_pending_ = Pending{0, 1, len_};
        return;
    }
    auto invalid = [&](std::string reason, std::size_t end) {
        header_status_ = HeaderStatus::invalid;
        header_error_ = make_bad("header", "header: " + std::move(reason), end);
        header_error_.fatal = true;
    };
    // A header over the limit, its end in the buffer: too long comes before any other problem.
    auto too_long = [&](std::size_t end) {
        header_end_ = base_ + end;
        invalid(too_long_reason(end - start_, max_record_bytes_), end);
    };
    for (;;) {
        ScanResult s = scan_record(buf_.get(), len_, start_, spans_);
        switch (s.kind) {
            case ScanKind::blank:  // blank lines before the header are skipped (but counted)
                consume(s.end - start_, 1);
                break;
            case ScanKind::need_more: {
                if (len_ - start_ > max_record_bytes_) {
                    too_long_unbuffered();
                    return;
                }
                int f = fill();
                if (f < 0) return;
                if (f == 0) {
                    if (start_ == len_) {
                        header_status_ = HeaderStatus::empty;
                    } else {
                        header_status_ = HeaderStatus::incomplete;
                        header_pending_ = Pending{cursor_offset_, cursor_line_ + 1, len_ - start_};
                    }
                    return;
                }
                break;
            }
            case ScanKind::quote_error:
                if (s.end - start_ > max_record_bytes_) {
                    too_long(s.end);
                    return;
                }
                header_end_ = base_ + s.end;
                invalid(quote_reason(s, buf_.get() + start_), s.end);
                return;
            case ScanKind::record: {
                std::size_t size = s.end - start_;
                if (size > max_record_bytes_) {
                    too_long(s.end);
                    return;
                }
                header_end_ = base_ + s.end;
                const char* rec = buf_.get() + start_;
                std::size_t bad = check_bytes(rec, size, content_size(rec, size)).invalid_utf8;
                if (bad != std::string_view::npos) {
                    invalid("invalid UTF-8 at byte " + std::to_string(bad) + " of the record", s.end);
                    return;
                }
                materialize();
                header_.assign(fields_.begin(), fields_.end());
                std::vector<std::string_view> dup = duplicates(header_);
                if (!dup.empty()) {
                    invalid(duplicates_reason(dup), s.end);
                    header_.clear();
                    return;
                }
                consume(size, s.newlines);
                header_status_ = HeaderStatus::ok;
                return;
            }
        }
    }
}

// A header longer than the buffer may grow: its end is found by the streaming skip, so
// the error (end offset, reason, raw prefix) is the one a larger buffer would give.
void Reader::too_long_unbuffered() {
    const std::uint64_t offset = cursor_offset_, line = cursor_line_;
    Next n = skip_too_long();
    if (n == Next::bad && error_.kind == "io") return;  // io_error_ is set: open() fails
    BadRecord& b = header_error_;
    b = BadRecord{};
    b.kind = "header";
    b.line_no = line + 1;
    b.offset = offset;
    b.raw = std::move(skip_raw_);
    b.fatal = true;
    if (n == Next::bad) {
        header_end_ = b.end_offset = error_.end_offset;
        b.reason = "header: " + error_.reason;
    } else {  // no line end yet: it can only get longer
        b.end_offset = offset + pending_->bytes;
        b.reason = "header: longer than max_record_bytes (" + std::to_string(max_record_bytes_) +
                   "), and its line end is not written yet";
    }
    b.raw_truncated = b.raw.size() < b.end_offset - b.offset;
    header_status_ = HeaderStatus::invalid;
    has_error_ = false;
    pending_.reset();
}

std::string Reader::header_message() const {
    switch (header_status_) {
        case HeaderStatus::ok: return "";
        case HeaderStatus::empty: return "empty";
        case HeaderStatus::incomplete: return "incomplete";
        case HeaderStatus::invalid: break;
    }
    return path_ + ": line " + std::to_string(header_error_.line_no) + ": " + header_error_.reason;
}

std::string Reader::error_message() const {
    if (!has_error_) return "";
    if (error_.kind == "io") return path_ + ": " + error_.reason;
    return path_ + ": line " + std::to_string(error_.line_no) + ": " + error_.reason;
}

Next Reader::bad(std::string kind, std::string reason, std::size_t end, std::uint64_t lines) {
    error_ = make_bad(std::move(kind), std::move(reason), end);
    has_error_ = true;
    consume(end - start_, lines);
    return Next::bad;
}

Next Reader::io_failure() {
    error_ = BadRecord{};
    error_.kind = "io";
    error_.reason = io_error_;
    error_.line_no = cursor_line_ + 1;
    error_.offset = error_.end_offset = cursor_offset_;
    error_.fatal = true;
    has_error_ = true;
    stopped_ = true;
    return Next::bad;
}

// A record longer than max_record_bytes: find its end with the streaming scanner,
// dropping its bytes as they are scanned, so memory stays bounded.
Next Reader::skip_too_long() {
    BoundaryScanner scanner;
    const std::uint64_t offset = cursor_offset_;
    // raw keeps the record's first kRawLimit bytes across refills: the same bytes whatever
    // the buffer held when the limit was hit, so a file reads the same however it is split.
    skip_raw_.clear();
    auto keep = [&](const char* p, std::size_t n) { skip_raw_.append(p, std::min(n, kRawLimit - skip_raw_.size())); };
    std::size_t used = scanner.feed(buf_.get() + start_, len_ - start_);
    keep(buf_.get() + start_, used == BoundaryScanner::npos ? len_ - start_ : used);
    std::size_t end = used == BoundaryScanner::npos ? 0 : start_ + used;
    while (used == BoundaryScanner::npos) {
        reset_buffer_at(base_ + len_);  // everything buffered belongs to the record
        int f = fill();
        if (f <= 0) {
            std::uint64_t seen = base_ + len_ - offset;
            reset_buffer_at(offset);  // read it again next time: it may be complete then
            if (f < 0) return io_failure();
            pending_ = Pending{offset, cursor_line_ + 1, seen};
            return Next::end;
        }
        used = scanner.feed(buf_.get(), len_);
        keep(buf_.get(), used == BoundaryScanner::npos ? len_ : used);
        end = used;
    }
    error_ = BadRecord{};
    error_.kind = "too_long";
    error_.line_no = cursor_line_ + 1;
    error_.offset = offset;
    error_.end_offset = base_ + end;
    error_.reason = too_long_reason(error_.end_offset - offset, max_record_bytes_);
    error_.raw = skip_raw_;
    error_.raw_truncated = error_.raw.size() < error_.end_offset - offset;
    has_error_ = true;
    cursor_offset_ = base_ + end;
    cursor_line_ += scanner.newlines();
    start_ = end;
    return Next::bad;
}

void Reader::materialize() {
    const char* data = buf_.get();
    std::size_t escaped_bytes = 0;
    for (const auto& s : spans_) {
        if (s.escaped) {
            escaped_bytes += s.size;
            plain_ = false;  // its values contain '"'
        }
    }
    // Sized before any view into it is taken, so the views stay valid.
    if (unescaped_.size() < escaped_bytes) unescaped_.resize(escaped_bytes);
    char* w = unescaped_.data();
    fields_.clear();
    for (const auto& s : spans_) {
        if (!s.escaped) {
            fields_.emplace_back(data + s.begin, s.size);
            continue;
        }
        // Collapse each "" to ": copy up to and including a quote, skip its twin.
        char* out = w;
        const char* p = data + s.begin;
        const char* e = p + s.size;
        while (p < e) {
            const void* hit = std::memchr(p, '"', static_cast<std::size_t>(e - p));
            const char* q = hit ? static_cast<const char*>(hit) + 1 : e;
            std::memcpy(w, p, static_cast<std::size_t>(q - p));
            w += q - p;
            p = hit ? q + 1 : e;
        }
        fields_.emplace_back(out, static_cast<std::size_t>(w - out));
    }
}

Next Reader::next() {
    has_error_ = false;
    pending_.reset();
    if (stopped_) return Next::end;
    if (header_status_ != HeaderStatus::ok) {
        if (header_status_ == HeaderStatus::invalid) {
            // Reported once, as a fatal bad record; then the reader is at its end.
            error_ = header_error_;
            has_error_ = true;
            stopped_ = true;
            return Next::bad;
        }
        pending_ = header_pending_;
        return Next::end;
    }
    for (;;) {
        ScanResult s = scan_record(buf_.get(), len_, start_, spans_);
        switch (s.kind) {
            case ScanKind::blank:
                consume(s.end - start_, 1);
                break;
            case ScanKind::need_more: {
                if (len_ - start_ > max_record_bytes_) return skip_too_long();
                int f = fill();
                if (f < 0) return io_failure();
                if (f == 0) {
                    if (start_ < len_) pending_ = Pending{cursor_offset_, cursor_line_ + 1, len_ - start_};
                    return Next::end;
                }
                break;
            }
            case ScanKind::quote_error:
                if (s.end - start_ > max_record_bytes_)
                    return bad("too_long", too_long_reason(s.end - start_, max_record_bytes_), s.end, s.newlines);
                return bad("quote", quote_reason(s, buf_.get() + start_), s.end, s.newlines);
            case ScanKind::record: {
                std::size_t size = s.end - start_;
                if (size > max_record_bytes_)
                    return bad("too_long", too_long_reason(size, max_record_bytes_), s.end, s.newlines);
                const char* rec = buf_.get() + start_;
                ByteCheck check = check_bytes(rec, size, content_size(rec, size));
                std::size_t at = check.invalid_utf8;
                if (at != std::string_view::npos)
                    return bad("utf8", "invalid UTF-8 at byte " + std::to_string(at) + " of the record", s.end,
                               s.newlines);
                if (spans_.size() != header_.size())
                    return bad("field_count",
                               plural(spans_.size(), "field") + ", header has " + std::to_string(header_.size()),
                               s.end, s.newlines);
                plain_ = !check.escapable;
                materialize();
                rec_line_ = cursor_line_ + 1;
                rec_offset_ = cursor_offset_;
                rec_end_ = base_ + s.end;
                consume(size, s.newlines);
                return Next::record;
            }
        }
    }
}

}  // namespace hostsync::csv
