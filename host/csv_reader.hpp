#pragma once
// An incremental CSV reader over an append-only file: reads the header from the start,
// then records from a byte cursor, reports bad records and goes on after them, and
// leaves a torn tail (a record without its line terminator yet) for a later reader.
// The byte rules are in csv_scan.hpp; docs/api/csv.md describes the behaviour for users.
//
// Memory is one read buffer (1 MiB by default), grown only while one record does not
// fit, and never beyond max_record_bytes + 1: longer records are skipped in a streaming
// pass and reported as bad.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csv_scan.hpp"

namespace hostsync::csv {

struct ReaderOptions {
    std::uint64_t offset = 0;   // cursor of an earlier reader: a record boundary ...
    std::uint64_t line_no = 0;  // ... and the number of physical lines before it
    std::size_t max_record_bytes = std::size_t{64} << 20;
    std::size_t buffer_bytes = std::size_t{1} << 20;
};

enum class HeaderStatus { ok, empty, incomplete, invalid };

// What went wrong with a record (or, when `fatal`, with the whole reader).
struct BadRecord {
    std::string kind;    // field_count, utf8, quote, too_long; fatal: header, io
    std::string reason;  // "3 fields, header has 4" (no path or line: see message())
    std::uint64_t line_no = 0;
    std::uint64_t offset = 0;
    std::uint64_t end_offset = 0;
    std::string raw;            // the record's bytes (the first kRawLimit if too long)
    bool raw_truncated = false;
    bool fatal = false;         // the reader stops: no record follows
};

// A record caught mid-append: bytes at the end of the file without a line terminator.
struct Pending {
    std::uint64_t offset;
    std::uint64_t line_no;
    std::uint64_t bytes;
};

enum class Next { record, end, bad };

class Reader {
  public:
    static constexpr std::size_t kRawLimit = 64 * 1024;

    // Opens `path` and reads its header. Returns nullptr and sets `err` if the file cannot
    // be read, or if the cursor cannot belong to it (past its end, or not after an LF:
    // the file was truncated or replaced). A missing or bad header is not an error here.
    static std::unique_ptr<Reader> open(const std::string& path, const ReaderOptions& options,
                                        std::string& err);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    HeaderStatus header_status() const { return header_status_; }
    const std::vector<std::string>& header() const { return header_; }
    std::string header_message() const;  // "empty", "incomplete" or the invalid header's error
    std::optional<std::uint64_t> header_end() const { return header_end_; }

    // Reads the next record, consuming blank lines before it.
    //  record: fields()/line_no()/offset()/end_offset() describe it until the next call;
    //  bad:    last_error() describes it and the cursor is past it (unless fatal);
    //  end:    nothing complete is left; pending() tells whether a torn tail is.
    Next next();

    const std::vector<std::string_view>& fields() const { return fields_; }
    std::uint64_t line_no() const { return rec_line_; }
    std::uint64_t offset() const { return rec_offset_; }
    std::uint64_t end_offset() const { return rec_end_; }
    // True if no field of the record needs JSON escaping (no control byte, '"' or '\\'),
    // known from the checks every record goes through anyway.
    bool plain() const { return plain_; }

    const BadRecord* last_error() const { return has_error_ ? &error_ : nullptr; }
    std::string error_message() const;  // "<path>: line N: <reason>" for last_error()
    const std::optional<Pending>& pending() const { return pending_; }

    std::uint64_t cursor_offset() const { return cursor_offset_; }
    std::uint64_t cursor_line() const { return cursor_line_; }
    std::uint64_t bytes_read() const { return base_ + len_; }  // how far the file was read
    const std::string& path() const { return path_; }

  private:
    Reader(int fd, std::string path, const ReaderOptions& options);

    int fill();  // 1: read more, 0: end of file, -1: read error (error_ set)
    void reset_buffer_at(std::uint64_t offset);
    void consume(std::size_t bytes, std::uint64_t lines);
    void read_header();
    void too_long_unbuffered();
    Next bad(std::string kind, std::string reason, std::size_t end, std::uint64_t lines);
    Next skip_too_long();
    Next io_failure();
    BadRecord make_bad(std::string kind, std::string reason, std::size_t end) const;
    void materialize();

    int fd_;
    std::string path_;
    std::size_t max_record_bytes_;
    std::size_t initial_capacity_;

    // buf_[0, len_) holds the file's bytes [base_, base_ + len_); the unconsumed part
    // starts at start_ == cursor_offset_ - base_.
    std::unique_ptr<char[]> buf_;
    std::size_t capacity_;
    std::size_t len_ = 0;
    std::uint64_t base_ = 0;
    std::size_t start_ = 0;

    std::uint64_t cursor_offset_ = 0;
    std::uint64_t cursor_line_ = 0;

    HeaderStatus header_status_ = HeaderStatus::empty;
    std::vector<std::string> header_;
    std::optional<std::uint64_t> header_end_;
    BadRecord header_error_;
    std::optional<Pending> header_pending_;  // an incomplete header's bytes
    std::string io_error_;                   // strerror of the last failed read
    std::string skip_raw_;                   // skip_too_long(): the record's first kRawLimit bytes
    bool stopped_ = false;  // after a fatal error: next() only returns end

    std::vector<FieldSpan> spans_;
    std::vector<std::string_view> fields_;
    std::string unescaped_;
    std::uint64_t rec_line_ = 0, rec_offset_ = 0, rec_end_ = 0;
    bool plain_ = false;

    BadRecord error_;
    bool has_error_ = false;
    std::optional<Pending> pending_;
};

}  // namespace hostsync::csv
