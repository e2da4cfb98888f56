// Fuzz target: the CSV reader (host/csv_reader.*, host/csv_scan.*).
//
// Beyond "no crash, no UB", each input checks properties the reader promises
// (docs/api/csv.md):
//  - the same records, bad records, cursor and pending tail whatever the read buffer's
//    size (64 bytes, an odd size, 64 KiB), with the default record limit and with a tiny
//    one that sends long records and headers through the streaming skip;
//  - resuming from any cursor the reader reported gives exactly the rest of the events;
//  - every record has as many fields as the header, and its bytes, fed to the
//    independent byte-at-a-time BoundaryScanner, end where the reader said they end.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "csv_reader.hpp"
#include "csv_scan.hpp"
#include "fuzz_support.hpp"

namespace {

using hostsync::csv::BadRecord;
using hostsync::csv::HeaderStatus;
using hostsync::csv::Next;
using hostsync::csv::Reader;
using hostsync::csv::ReaderOptions;

struct Event {
    std::string text;           // what happened, in a comparable form
    std::uint64_t cursor_offset;  // the reader's cursor after it
    std::uint64_t cursor_line;
};

// Messages name the file; the events of two readers of one file compare without it.
std::string without_path(const std::string& message, const std::string& path) {
    return message.rfind(path, 0) == 0 ? message.substr(path.size()) : message;
}

std::string describe_fields(const Reader& r) {
    std::string s;
    for (auto f : r.fields()) s += "[" + fuzz::show(f) + "]";
    return s;
}

// Feeds a record's bytes to the byte-at-a-time scanner: it must end exactly at their end.
void check_boundary(std::string_view file, std::uint64_t offset, std::uint64_t end, bool quote_error,
                    std::size_t fields) {
    hostsync::csv::BoundaryScanner scanner;
    std::string_view bytes = file.substr(offset, end - offset);
    std::size_t used = scanner.feed(bytes.data(), bytes.size());
    fuzz::expect(used == bytes.size(), "BoundaryScanner ends the record where the reader does", fuzz::show(bytes));
    fuzz::expect(quote_error == (scanner.error() != hostsync::csv::QuoteError::none),
                 "BoundaryScanner agrees on the quote error", fuzz::show(bytes));
    if (!quote_error && fields != 0)
        fuzz::expect(scanner.fields() == fields, "BoundaryScanner counts the same fields", fuzz::show(bytes));
}

std::vector<Event> read_all(const std::string& path, std::string_view file, const ReaderOptions& opt,
                            std::string* header_out) {
    std::vector<Event> events;
    std::string err;
    std::unique_ptr<Reader> r = Reader::open(path, opt, err);
    if (!r) {
        events.push_back({"open error: " + without_path(err, path), 0, 0});
        return events;
    }
    std::string header = "header " + std::to_string(static_cast<int>(r->header_status())) + " " +
                         without_path(r->header_message(), path);
    for (const auto& h : r->header()) header += "[" + fuzz::show(h) + "]";
    if (header_out) *header_out = header;
    events.push_back({header, r->cursor_offset(), r->cursor_line()});
    std::uint64_t last_end = r->cursor_offset();
    for (int guard = 0; guard < 100000; ++guard) {
        Next n = r->next();
        std::string text;
        if (n == Next::record) {
            fuzz::expect(r->fields().size() == r->header().size(), "a record has as many fields as the header");
            fuzz::expect(r->offset() >= last_end && r->end_offset() > r->offset() && r->end_offset() <= file.size(),
                         "records are in order and inside the file");
            check_boundary(file, r->offset(), r->end_offset(), false, r->fields().size());
            last_end = r->end_offset();
            text = "record line " + std::to_string(r->line_no()) + " @" + std::to_string(r->offset()) + "-" +
                   std::to_string(r->end_offset()) + (r->plain() ? " plain " : " ") + describe_fields(*r);
        } else if (n == Next::bad) {
            const BadRecord* b = r->last_error();
            fuzz::expect(b != nullptr, "a bad record has an error");
            fuzz::expect(b->end_offset <= file.size() && b->offset <= b->end_offset, "a bad record is inside the file");
            if (b->kind == "quote") check_boundary(file, b->offset, b->end_offset, true, 0);
            text = "bad " + b->kind + " line " + std::to_string(b->line_no) + " @" + std::to_string(b->offset) + "-" +
                   std::to_string(b->end_offset) + " " + b->reason + (b->fatal ? " fatal " : " ") +
                   fuzz::show(b->raw) + (b->raw_truncated ? "..." : "");
        } else {
            text = "end";
            if (r->pending())
                text += " pending @" + std::to_string(r->pending()->offset) + " line " +
                        std::to_string(r->pending()->line_no) + " " + std::to_string(r->pending()->bytes);
        }
        events.push_back({text, r->cursor_offset(), r->cursor_line()});
        if (n == Next::end) break;
    }
    return events;
}

std::string join(const std::vector<Event>& events, std::size_t from = 0) {
    std::string s;
    for (std::size_t i = from; i < events.size(); ++i)
        s += events[i].text + " | cursor " + std::to_string(events[i].cursor_offset) + "/" +
             std::to_string(events[i].cursor_line) + "\n";
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::MemFile file;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string& path = file.write(input);

    for (std::size_t limit : {std::size_t{64} << 20, std::size_t{48}}) {
        ReaderOptions base;
        base.max_record_bytes = limit;
        base.buffer_bytes = 64;
        std::string header;
        std::vector<Event> reference = read_all(path, input, base, &header);
        std::string expected = join(reference);
        for (std::size_t buffer : {std::size_t{97}, std::size_t{65536}}) {
            ReaderOptions opt = base;
            opt.buffer_bytes = buffer;
            fuzz::expect_equal("the same events whatever the buffer size", expected, join(read_all(path, input, opt, nullptr)));
        }
        // Resume from (up to 4 of) the reported cursors after the header: the rest must be
        // the same events (the header is read again from the start of the file each time).
        if (reference.front().text.rfind("header 0", 0) != 0) continue;  // no valid header
        std::size_t cursors = reference.size() - 1;  // events after the header
        for (std::size_t k = 0; k < 4 && k < cursors; ++k) {
            std::size_t i = 1 + k * cursors / 4;
            if (i + 1 >= reference.size()) break;
            ReaderOptions opt = base;
            opt.offset = reference[i].cursor_offset;
            opt.line_no = reference[i].cursor_line;
            if (opt.offset == 0) continue;
            std::vector<Event> resumed = read_all(path, input, opt, nullptr);
            fuzz::expect_equal("resuming gives the same header", reference.front().text, resumed.front().text);
            resumed.erase(resumed.begin());
            std::string rest = join(resumed);
            fuzz::expect_equal("resuming at a cursor gives the rest of the events", join(reference, i + 1), rest);
        }
    }
    return 0;
}
