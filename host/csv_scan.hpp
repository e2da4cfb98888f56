#pragma once
// The byte-level rules of hostsync's CSV dialect (RFC 4180, LF or CRLF line ends), kept
// apart from files and buffers so they can be tested on plain strings.
//
// Rules (docs/api/csv.md is the user-facing version):
//  - a record ends at the first LF outside quotes; a CR right before that LF belongs to
//    the terminator, any other CR outside quotes is data;
//  - a line that is empty or just CR is blank: no record, but it is a line;
//  - a field starting with '"' is quoted: it ends at a '"' not followed by '"', "" inside
//    stands for one '"', CR and LF inside are data;
//  - quote errors ('"' inside an unquoted field; after a closing quote anything but
//    ',', LF or CRLF) end the record at the next LF after the offending byte, quotes
//    ignored: that is how a bad record is resynchronised.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hostsync::csv {

// One field of a scanned record, as offsets into the scanned buffer. `escaped` means the
// bytes contain "" pairs that still have to be collapsed to one '"'.
struct FieldSpan {
    std::size_t begin;
    std::size_t size;
    bool escaped;
};

enum class ScanKind {
    record,       // a complete record; `fields` holds its fields
    blank,        // an empty line (LF or CRLF): no record
    quote_error,  // a bad record, already resynchronised (see above)
    need_more,    // the buffer ends before the record does
};

enum class QuoteError { none, quote_in_unquoted, after_closing_quote };

struct ScanResult {
    ScanKind kind = ScanKind::need_more;
    std::size_t end = 0;         // buffer index just after the line terminator
    std::size_t newlines = 0;    // LF bytes in [start, end): lines the record spans
    std::size_t error_at = 0;    // quote_error: offending byte, counted from `start`
    QuoteError error = QuoteError::none;
};

// Scans the record that starts at data[start]; data is valid in [0, size). Fields of a
// record are appended to `fields` (cleared first). Never reads outside [start, size).
ScanResult scan_record(const char* data, std::size_t size, std::size_t start,
                       std::vector<FieldSpan>& fields);

// The first byte in [p, e) that is ',', '"' or LF, or e if there is none.
const char* find_special(const char* p, const char* e);

// The same boundary rules as scan_record, one byte at a time and resumable across
// buffers. The reader uses it to skip records too long to hold in memory; tests use it
// as an independent reference for scan_record.
class BoundaryScanner {
  public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    // Feeds the next n bytes of the record (the first call starts at the record's first
    // byte). Returns how many of them belong to the record, the terminating LF included,
    // once it has ended; npos if it continues past them.
    std::size_t feed(const char* p, std::size_t n);

    bool blank() const { return blank_; }
    QuoteError error() const { return error_; }
    std::uint64_t error_at() const { return error_at_; }  // counted from the record start
    std::uint64_t newlines() const { return newlines_; }
    std::uint64_t fields() const { return fields_; }      // only meaningful without error

  private:
    enum class State : unsigned char {
        record_start, record_start_cr, field_start, unquoted, quoted, quote_in_quoted,
        after_close_cr, resync, done,
    };
    State state_ = State::record_start;
    std::uint64_t pos_ = 0;
    std::uint64_t newlines_ = 0;
    std::uint64_t error_at_ = 0;
    std::uint64_t fields_ = 1;
    QuoteError error_ = QuoteError::none;
    bool blank_ = false;
};

}  // namespace hostsync::csv
