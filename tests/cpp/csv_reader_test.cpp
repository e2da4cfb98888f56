#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "csv_reader.hpp"
#include "csv_scan.hpp"
#include "jcs_object.hpp"
#include "jcs_string.hpp"

using namespace hostsync;
using csv::Next;
using csv::ScanKind;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/hostsync-csv-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& data) const {
        std::string p = (path / name).string();
        std::ofstream(p, std::ios::binary) << data;
        return p;
    }
};

std::vector<std::string> to_strings(const std::vector<std::string_view>& v) {
    return {v.begin(), v.end()};
}

struct Scanned {
    ScanKind kind;
    std::vector<std::string> fields;
    std::size_t end;
    std::size_t newlines;
};

Scanned scan(const std::string& s, std::size_t start = 0) {
    std::vector<csv::FieldSpan> spans;
    csv::ScanResult r = csv::scan_record(s.data(), s.size(), start, spans);
    Scanned out{r.kind, {}, r.end, r.newlines};
    for (const auto& f : spans) out.fields.emplace_back(s.substr(f.begin, f.size));
    return out;
}

std::unique_ptr<csv::Reader> open(const std::string& path, csv::ReaderOptions opt = {}) {
    std::string err;
    auto r = csv::Reader::open(path, opt, err);
    REQUIRE_MESSAGE(r != nullptr, err);
    return r;
}

// Everything a reader reports, as text, so whole runs can be compared in one CHECK.
std::string run_all(csv::Reader& r) {
    std::string log;
    for (;;) {
        Next n = r.next();
        if (n == Next::end) break;
        if (n == Next::bad) {
            const auto* e = r.last_error();
            log += "bad " + e->kind + " line " + std::to_string(e->line_no) + " [" + std::to_string(e->offset) + "," +
                   std::to_string(e->end_offset) + ")\n";
            if (e->fatal) break;
            continue;
        }
        log += "rec line " + std::to_string(r.line_no()) + " [" + std::to_string(r.offset()) + "," +
               std::to_string(r.end_offset()) + ")";
        for (auto f : r.fields()) {
            log += " <";
            for (char c : f) log += c == '\n' ? std::string("\\n") : c == '\r' ? std::string("\\r") : std::string(1, c);
            log += ">";
        }
        log += "\n";
    }
    if (r.pending()) log += "pending " + std::to_string(r.pending()->offset) + " line " + std::to_string(r.pending()->line_no) + "\n";
    log += "cursor " + std::to_string(r.cursor_offset()) + " line " + std::to_string(r.cursor_line()) + "\n";
    return log;
}

}  // namespace

TEST_CASE("scan_record: quoted commas, doubled quotes, newlines in quotes, CRLF") {
    Scanned s = scan("a,\"b,c\",\"d\"\"e\"\n");
    CHECK(s.kind == ScanKind::record);
    CHECK(s.fields == std::vector<std::string>{"a", "b,c", "d\"\"e"});  // collapsed by the reader
    CHECK(s.newlines == 1);

    s = scan("\"x\ny\r\nz\",w\r\nnext\n");
    CHECK(s.kind == ScanKind::record);
    CHECK(s.fields == std::vector<std::string>{"x\ny\r\nz", "w"});
    CHECK(s.newlines == 3);
    CHECK(s.end == 12);

    s = scan("a,b,\n");
    CHECK(s.fields == std::vector<std::string>{"a", "b", ""});
    s = scan("a\rb,c\r\n");  // a lone CR is data; the CR of CRLF is not
    CHECK(s.fields == std::vector<std::string>{"a\rb", "c"});
    s = scan(",\r\n");
    CHECK(s.fields == std::vector<std::string>{"", ""});
    s = scan("\"\",\"\"\n");
    CHECK(s.fields == std::vector<std::string>{"", ""});
}

TEST_CASE("scan_record: blank lines and need_more") {
    CHECK(scan("\n").kind == ScanKind::blank);
    CHECK(scan("\r\n").kind == ScanKind::blank);
    CHECK(scan("\r\n").end == 2);
    CHECK(scan("\r").kind == ScanKind::need_more);
    CHECK(scan("\rx\n").kind == ScanKind::record);
    CHECK(scan("\rx\n").fields == std::vector<std::string>{"\rx"});
    // Every proper prefix of a one-record text is incomplete.
    for (std::string rec : {"a,\"b\nc\"\"d\",e\r\n", "\"q\"\r\n", "x,,\n", "\"a\"\"\"\n"}) {
        for (std::size_t n = 0; n < rec.size(); ++n) {
            INFO("prefix " << n << " of " << rec);
            CHECK(scan(rec.substr(0, n)).kind == ScanKind::need_more);
        }
        CHECK(scan(rec).kind == ScanKind::record);
        CHECK(scan(rec).end == rec.size());
    }
}

TEST_CASE("scan_record: quote errors resynchronise at the next LF") {
    std::vector<csv::FieldSpan> spans;
    std::string s = "ab\"c,\"d\ne\nf\n";
    auto r = csv::scan_record(s.data(), s.size(), 0, spans);
    CHECK(r.kind == ScanKind::quote_error);
    CHECK(r.error == csv::QuoteError::quote_in_unquoted);
    CHECK(r.error_at == 2);
    CHECK(r.end == 8);  // the quote opened after the error is ignored
    s = "\"a\nb\"x,y\nz\n";
    r = csv::scan_record(s.data(), s.size(), 0, spans);
    CHECK(r.kind == ScanKind::quote_error);
    CHECK(r.error == csv::QuoteError::after_closing_quote);
    CHECK(r.error_at == 5);
    CHECK(r.end == 9);
    CHECK(r.newlines == 2);
    s = "\"a\"\rb\n";
    r = csv::scan_record(s.data(), s.size(), 0, spans);
    CHECK(r.kind == ScanKind::quote_error);
    CHECK(r.error_at == 3);
    s = "x\"";  // not terminated: not reported yet
    CHECK(csv::scan_record(s.data(), s.size(), 0, spans).kind == ScanKind::need_more);
}

TEST_CASE("find_special agrees with a plain loop at every alignment") {
    std::mt19937 rng(7);
    const char alphabet[] = "abc,\"\n\r\xc3";
    for (int round = 0; round < 300; ++round) {
        std::string s(rng() % 70, 'x');
        for (auto& c : s)
            if (rng() % 8 == 0) c = alphabet[rng() % (sizeof alphabet - 1)];
        for (std::size_t from = 0; from <= s.size(); ++from) {
            const char* b = s.data();
            const char* expect = b + from;
            while (expect < b + s.size() && *expect != ',' && *expect != '"' && *expect != '\n') ++expect;
            CHECK(csv::find_special(b + from, b + s.size()) == expect);
        }
    }
}

TEST_CASE("scan_record and the byte-at-a-time BoundaryScanner agree on random input") {
    std::mt19937 rng(12345);
    const char alphabet[] = "a,\"\r\n";
    for (int round = 0; round < 20000; ++round) {
        std::string s(rng() % 24, 'a');
        for (auto& c : s) c = alphabet[rng() % (sizeof alphabet - 1)];
        std::vector<csv::FieldSpan> spans;
        std::size_t start = 0;
        while (start < s.size()) {
            auto r = csv::scan_record(s.data(), s.size(), start, spans);
            csv::BoundaryScanner b;
            // Feed in random-sized chunks, as the reader does across buffer refills.
            std::size_t pos = start, used = csv::BoundaryScanner::npos;
            while (pos < s.size() && used == csv::BoundaryScanner::npos) {
                std::size_t n = std::min<std::size_t>(1 + rng() % 5, s.size() - pos);
                used = b.feed(s.data() + pos, n);
                if (used == csv::BoundaryScanner::npos) pos += n;
            }
            INFO("input: " << s << " start " << start);
            if (r.kind == ScanKind::need_more) {
                CHECK(used == csv::BoundaryScanner::npos);
                break;
            }
            REQUIRE(used != csv::BoundaryScanner::npos);
            CHECK(pos + used == r.end);
            CHECK(b.newlines() == r.newlines);
            CHECK(b.blank() == (r.kind == ScanKind::blank));
            CHECK((b.error() != csv::QuoteError::none) == (r.kind == ScanKind::quote_error));
            if (r.kind == ScanKind::quote_error) {
                CHECK(b.error() == r.error);
                CHECK(b.error_at() == r.error_at);
            }
            if (r.kind == ScanKind::record) CHECK(b.fields() == spans.size());
            start = r.end;
        }
    }
}

TEST_CASE("StringObjectWriter: RFC 8785 key order and escaping, keys sorted once") {
    jcs::StringObjectWriter w({"b", "a", "\xef\xbc\xa1", "\xf0\x9f\x98\x80", "q\""});
    std::vector<std::string_view> v = {"2", "1\n", "fw", "emoji", "x"};
    std::string out;
    w.write(out, v.data(), v.size());
    // U+1F600 (surrogates D83D...) sorts before U+FF21 in UTF-16 order.
    CHECK(out == "{\"a\":\"1\\n\",\"b\":\"2\",\"q\\\"\":\"x\",\"\xf0\x9f\x98\x80\":\"emoji\",\"\xef\xbc\xa1\":\"fw\"}");
    CHECK_THROWS(w.write(out, v.data(), 2));
}

TEST_CASE("Reader: BOM, CRLF/LF mixed, quoted newlines keep line numbers right") {
    TempDir dir;
    auto path = dir.write("a.csv",
                          "\xEF\xBB\xBFid,text\r\n"
                          "1,\"two\r\nlines\"\r\n"
                          "2,plain\n"
                          "\n"
                          "\r\n"
                          "3,\"\xc3\xa9\"\"q\"\"\"\n");
    auto r = open(path);
    REQUIRE(r->header_status() == csv::HeaderStatus::ok);
    CHECK(r->header() == std::vector<std::string>{"id", "text"});
    CHECK(*r->header_end() == 12);
    REQUIRE(r->next() == Next::record);
    CHECK(to_strings(r->fields()) == std::vector<std::string>{"1", "two\r\nlines"});
    CHECK(r->line_no() == 2);
    CHECK(r->offset() == 12);
    REQUIRE(r->next() == Next::record);
    CHECK(r->line_no() == 4);
    CHECK(to_strings(r->fields()) == std::vector<std::string>{"2", "plain"});
    REQUIRE(r->next() == Next::record);
    CHECK(r->line_no() == 7);  // two blank lines counted
    CHECK(to_strings(r->fields()) == std::vector<std::string>{"3", "\xc3\xa9\"q\""});
    CHECK(r->next() == Next::end);
    CHECK(!r->pending());
    CHECK(r->cursor_line() == 7);
}

TEST_CASE("Reader: bad records are reported and reading continues") {
    TempDir dir;
    auto path = dir.write("b.csv",
                          "a,b\n"
                          "1,2\n"
                          "1,2,3\n"            // line 3: field count
                          "x\xff,y\n"          // line 4: UTF-8
                          "p\"q,r\n"           // line 5: quote in unquoted
                          "\"s\"t,\"u\n"       // line 6: after closing quote; resync at LF
                          "v\",w\n"            // line 7: the stray quote's line is its own bad record
                          "ok,done\n");
    auto r = open(path);
    CHECK(run_all(*r) ==
          "rec line 2 [4,8) <1> <2>\n"
          "bad field_count line 3 [8,14)\n"
          "bad utf8 line 4 [14,19)\n"
          "bad quote line 5 [19,25)\n"
          "bad quote line 6 [25,33)\n"
          "bad quote line 7 [33,38)\n"
          "rec line 8 [38,46) <ok> <done>\n"
          "cursor 46 line 8\n");
    auto r2 = open(path);
    r2->next();
    CHECK(r2->next() == Next::bad);
    CHECK(r2->last_error()->reason == "3 fields, header has 2");
    CHECK(r2->error_message() == path + ": line 3: 3 fields, header has 2");
    CHECK(r2->last_error()->raw == "1,2,3\n");
    CHECK(r2->next() == Next::bad);
    CHECK(r2->last_error()->reason == "invalid UTF-8 at byte 1 of the record");
    CHECK(r2->next() == Next::bad);
    CHECK(r2->last_error()->reason == "quote error: '\"' inside an unquoted field at byte 1 of the record");
    CHECK(r2->next() == Next::bad);
    CHECK(r2->last_error()->reason == "quote error: 't' after a closing quote at byte 3 of the record");
}

TEST_CASE("Reader: pending tail in both forms, completed later") {
    TempDir dir;
    struct Case {
        std::string tail, more, completion, last_field;
    };
    // An unterminated last line; an open quoted field (a newline alone does not end it).
    for (const Case& c : {Case{"3,unterminated", "", "\n", "unterminated"},
                          Case{"3,\"open\nquote", "\n", "\"\r\n", "open\nquote\n"}}) {
        std::string head = "h1,h2\n1,a\n";
        auto path = dir.write("p.csv", head + c.tail);
        auto r = open(path);
        REQUIRE(r->next() == Next::record);
        CHECK(r->next() == Next::end);
        REQUIRE(r->pending());
        CHECK(r->pending()->offset == head.size());
        CHECK(r->pending()->line_no == 3);
        CHECK(r->pending()->bytes == c.tail.size());
        CHECK(r->cursor_offset() == head.size());
        CHECK(r->cursor_line() == 2);
        CHECK(r->next() == Next::end);  // asked again: still pending, still not returned
        CHECK(r->pending());
        csv::ReaderOptions at;
        at.offset = r->cursor_offset();
        at.line_no = r->cursor_line();
        if (!c.more.empty()) {
            dir.write("p.csv", head + c.tail + c.more);
            auto still = open(path, at);
            CHECK(still->next() == Next::end);
            REQUIRE(still->pending());
            CHECK(still->pending()->bytes == c.tail.size() + c.more.size());
        }
        // The writer finishes the line; a reader opened at the cursor returns it, once.
        dir.write("p.csv", head + c.tail + c.more + c.completion);
        auto later = open(path, at);
        REQUIRE(later->next() == Next::record);
        CHECK(later->line_no() == 3);
        CHECK(to_strings(later->fields()) == std::vector<std::string>{"3", c.last_field});
        CHECK(later->next() == Next::end);
        CHECK(!later->pending());
    }
}

TEST_CASE("Reader: resuming at every cursor yields exactly the remaining records") {
    TempDir dir;
    std::string data =
        "k,v\r\n"
        "1,\"a\nb\"\r\n"
        "\n"
        "2,x\n"
        "bad\n"
        "3,\"q\"\"\"\r\n"
        "\r\n"
        "4,\xe2\x82\xac\n";
    auto path = dir.write("r.csv", data);
    auto full = open(path);
    std::string all = run_all(*full);
    // Collect every cursor a reader passes through, then resume from each: the resumed
    // log must be exactly the part of the full log from that cursor on.
    auto r = open(path);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> cursors{{r->cursor_offset(), r->cursor_line()}};
    while (r->next() != Next::end) cursors.emplace_back(r->cursor_offset(), r->cursor_line());
    CHECK(cursors.size() == 6);
    for (auto [off, line] : cursors) {
        csv::ReaderOptions opt;
        opt.offset = off;
        opt.line_no = line;
        auto resumed = open(path, opt);
        std::string rest = run_all(*resumed);
        std::string expected;
        std::size_t pos = 0;
        while (pos < all.size()) {
            std::size_t eol = all.find('\n', pos) + 1;
            std::string entry = all.substr(pos, eol - pos);
            std::size_t bracket = entry.find('[');
            if (bracket == std::string::npos || std::stoull(entry.substr(bracket + 1)) >= off) expected += entry;
            pos = eol;
        }
        INFO("resume at " << off);
        CHECK(rest == expected);
    }
}

TEST_CASE("Reader: header empty, incomplete, duplicate, invalid") {
    TempDir dir;
    CHECK(open(dir.write("e.csv", ""))->header_status() == csv::HeaderStatus::empty);
    CHECK(open(dir.write("e2.csv", "\xEF\xBB\xBF"))->header_status() == csv::HeaderStatus::empty);
    auto inc = open(dir.write("i.csv", "a,b"));
    CHECK(inc->header_status() == csv::HeaderStatus::incomplete);
    CHECK(inc->header_message() == "incomplete");
    CHECK(inc->next() == Next::end);
    REQUIRE(inc->pending());
    CHECK(inc->pending()->bytes == 3);
    auto dup = open(dir.write("d.csv", "a,b,a,,c,\n1,2,3,4,5,6\n"));
    CHECK(dup->header_status() == csv::HeaderStatus::invalid);
    CHECK(dup->header_message() == (dir.path / "d.csv").string() + ": line 1: header: duplicate names: \"a\", \"\"");
    CHECK(dup->next() == Next::bad);  // reported once, fatal
    CHECK(dup->last_error()->fatal);
    CHECK(dup->next() == Next::end);
    auto bad_utf8 = open(dir.write("u.csv", "a,\xc3\x28\n"));
    CHECK(bad_utf8->header_status() == csv::HeaderStatus::invalid);
    auto ok = open(dir.write("ok.csv", "a,,b\n1,2,3\n"));  // an empty name is allowed
    CHECK(ok->header() == std::vector<std::string>{"a", "", "b"});
}

TEST_CASE("Reader: a cursor that cannot belong to the file is an open error") {
    TempDir dir;
    auto path = dir.write("c.csv", "a\n1\n2\n");
    std::string err;
    csv::ReaderOptions opt;
    opt.offset = 100;
    opt.line_no = 9;
    CHECK(csv::Reader::open(path, opt, err) == nullptr);
    CHECK(err.find("past the end of the file") != std::string::npos);
    opt.offset = 3;
    CHECK(csv::Reader::open(path, opt, err) == nullptr);
    CHECK(err.find("not at the start of a line") != std::string::npos);
    CHECK(csv::Reader::open((dir.path / "missing.csv").string(), {}, err) == nullptr);
    CHECK(err.find("No such file") != std::string::npos);
}

TEST_CASE("Reader: a 1 MB field, and records longer than max_record_bytes, with a small buffer") {
    TempDir dir;
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = '\n';
    std::string data = "a,b\n1,\"" + big + "\"\n2,after\n";
    auto path = dir.write("big.csv", data);
    csv::ReaderOptions small;
    small.buffer_bytes = 4096;  // the buffer has to grow to hold the record
    auto r = open(path, small);
    REQUIRE(r->next() == Next::record);
    CHECK(r->fields()[1] == big);
    REQUIRE(r->next() == Next::record);
    CHECK(r->line_no() == 3 + 1049);  // 1049 newlines inside the field
    CHECK(to_strings(r->fields()) == std::vector<std::string>{"2", "after"});

    // The same file with a limit below the record: reported, skipped in a streaming pass
    // (through several buffer refills), and the next record is still found.
    small.max_record_bytes = 10000;
    auto limited = open(path, small);
    REQUIRE(limited->next() == Next::bad);
    CHECK(limited->last_error()->kind == "too_long");
    CHECK(limited->last_error()->raw_truncated);
    // raw is the record's first kRawLimit bytes, collected across refills: not whatever
    // was buffered when the limit was hit (that made it depend on the buffer's size).
    CHECK(limited->last_error()->raw == data.substr(4, csv::Reader::kRawLimit));
    CHECK(limited->last_error()->end_offset == data.size() - 8);
    CHECK(limited->bytes_read() <= data.size());
    REQUIRE(limited->next() == Next::record);
    CHECK(limited->line_no() == 3 + 1049);

    // Too long but within the buffer: the same report, found after the scan.
    csv::ReaderOptions tiny;
    tiny.max_record_bytes = 5;
    auto t = open(dir.write("t.csv", "a\n1234\n123456\n12\n"), tiny);
    CHECK(run_all(*t) == "rec line 2 [2,7) <1234>\nbad too_long line 3 [7,14)\nrec line 4 [14,17) <12>\ncursor 17 line 4\n");

    // A too-long tail without terminator is pending, not bad.
    auto tail = open(dir.write("tl.csv", "a\n" + std::string(20000, 'y')), small);
    CHECK(tail->next() == Next::end);
    REQUIRE(tail->pending());
    CHECK(tail->pending()->bytes == 20000);
}

TEST_CASE("Reader: random rows written the way writers quote them read back exactly") {
    TempDir dir;
    std::mt19937 rng(2024);
    const std::vector<std::string> atoms = {"a", "b", "7", " ", ",", "\"", "\r", "\n", "\r\n", "\\", "\t",
                                            "\xc3\xa9", "\xe6\x9d\xb1", "\xf0\x9f\x98\x80", "\x7f"};
    auto value = [&] {
        std::string v;
        for (int n = static_cast<int>(rng() % 6); n > 0; --n) v += atoms[rng() % atoms.size()];
        return v;
    };
    auto encode = [&](const std::string& v) {
        bool quote = v.find_first_of(",\"\r\n") != std::string::npos || rng() % 5 == 0;
        if (!quote) return v;
        std::string q = "\"";
        for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    const std::vector<std::string> header = {"id", "x", "y\xc3\xa9"};
    jcs::StringObjectWriter writer(header);
    for (int round = 0; round < 40; ++round) {
        std::string data = "id,x,y\xc3\xa9\r\n";
        std::vector<std::vector<std::string>> rows;
        std::vector<std::uint64_t> lines;
        std::uint64_t line = 1;
        for (int i = 0; i < 200; ++i) {
            if (rng() % 10 == 0) {
                data += rng() % 2 ? "\n" : "\r\n";
                ++line;
            }
            std::vector<std::string> row = {std::to_string(i), value(), value()};
            std::string rec = encode(row[0]) + "," + encode(row[1]) + "," + encode(row[2]);
            lines.push_back(line + 1);
            line += 1 + static_cast<std::uint64_t>(std::count(rec.begin(), rec.end(), '\n'));
            data += rec + (rng() % 2 ? "\n" : "\r\n");
            rows.push_back(row);
        }
        auto path = dir.write("rand.csv", data);
        csv::ReaderOptions opt;
        opt.buffer_bytes = 64 + rng() % 200;  // small buffers: records cross refills
        auto r = open(path, opt);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            INFO("round " << round << " row " << i);
            REQUIRE(r->next() == Next::record);
            CHECK(to_strings(r->fields()) == rows[i]);
            CHECK(r->line_no() == lines[i]);
            std::string fast, slow;
            writer.write(fast, r->fields().data(), r->fields().size(), r->plain());
            writer.write(slow, r->fields().data(), r->fields().size(), false);
            CHECK(fast == slow);
        }
        CHECK(r->next() == Next::end);
        CHECK(!r->pending());
        CHECK(r->cursor_offset() == data.size());
        CHECK(r->cursor_line() == line);
    }
}

TEST_CASE("StringObjectWriter: the plain and escaping paths agree with append_string") {
    std::mt19937 rng(99);
    jcs::StringObjectWriter w({"k", "j"});
    const char alphabet[] = "ab\"\\\n\x01\x1f \x7f\xc3\xa9";
    for (int round = 0; round < 2000; ++round) {
        std::string a(rng() % 40, 'x'), b(rng() % 3, 'y');
        for (auto& c : a) c = alphabet[rng() % (sizeof alphabet - 1)];
        std::vector<std::string_view> v = {a, b};
        std::string out, expect = "{\"j\":";
        w.write(out, v.data(), v.size());
        jcs::append_string(expect, b);
        expect += ",\"k\":";
        jcs::append_string(expect, a);
        expect += "}";
        CHECK(out == expect);
        if (a.find_first_of("\"\\\n\x01\x1f") == std::string::npos) {
            std::string plain;
            w.write(plain, v.data(), v.size(), true);
            CHECK(plain == expect);
        }
    }
}

TEST_CASE("Reader: the streaming skip of too-long records agrees with the in-buffer path") {
    // With a large buffer every too-long record is found complete in memory; with a tiny
    // one most are skipped by the BoundaryScanner across refills. Both must report the
    // same records, bad records, pending tail and cursor.
    TempDir dir;
    std::mt19937 rng(77);
    const std::vector<std::string> pieces = {"a", "bb", ",", "\"", "\"\"", "\r", "\n", "\r\n",
                                             std::string(50, 'x'), "\"q\nq\"", "\xc3\xa9"};
    for (int round = 0; round < 300; ++round) {
        std::string data = "h1,h2\n";
        for (int n = static_cast<int>(rng() % 60); n > 0; --n) data += pieces[rng() % pieces.size()];
        auto path = dir.write("s.csv", data);
        csv::ReaderOptions big, tiny;
        big.max_record_bytes = tiny.max_record_bytes = 1 + rng() % 120;
        tiny.buffer_bytes = 64;
        auto a = open(path, big);
        auto b = open(path, tiny);
        INFO("data: " << data << " max " << big.max_record_bytes);
        CHECK(run_all(*a) == run_all(*b));
    }
}

// Found by tests/fuzz/csv_fuzz.cpp: what a reader reports about a too-long record or
// header depended on how much its buffer held when the limit was hit.
TEST_CASE("Reader: too-long records and headers read the same with any buffer size") {
    TempDir dir;
    const std::string header = "id," + std::string(70, 'h') + "\n";
    const std::string body = "1," + std::string(100, 'x') + "\n2,\"" + std::string(60, 'q') + "\"x\n3,ok\n";
    auto path = dir.write("long.csv", "id,v\n" + body);
    auto hpath = dir.write("longheader.csv", header + "1,2\n");
    auto tail = dir.write("longtail.csv", header.substr(0, 60));  // too long, no line end yet
    for (const auto& p : {path, hpath, tail}) {
        std::string expected;
        std::string raw;
        for (std::size_t buffer : {64, 97, 65536}) {
            csv::ReaderOptions opt;
            opt.max_record_bytes = 48;
            opt.buffer_bytes = buffer;
            auto r = open(p, opt);
            std::string log = r->header_message() + "\n" + run_all(*r);
            INFO(p << " buffer " << buffer);
            if (expected.empty()) expected = log;
            CHECK(log == expected);
            auto again = open(p, opt);
            while (again->next() != Next::end && (!again->last_error() || again->last_error()->kind == "field_count")) {}
            std::string got_raw = again->last_error() ? again->last_error()->raw : "";
            if (buffer == 64) raw = got_raw;
            CHECK(got_raw == raw);
        }
    }
    // The header's error names its real size and keeps all of it (under kRawLimit).
    csv::ReaderOptions opt;
    opt.max_record_bytes = 48;
    opt.buffer_bytes = 64;
    auto r = open(hpath, opt);
    CHECK(r->header_message() == hpath + ": line 1: header: record of 74 bytes is longer than max_record_bytes (48)");
    REQUIRE(r->next() == Next::bad);
    CHECK(r->last_error()->raw == header);
    CHECK_FALSE(r->last_error()->raw_truncated);
    CHECK(r->header_end() == header.size());
    auto t = open(tail, opt);
    CHECK(t->header_message() ==
          tail + ": line 1: header: longer than max_record_bytes (48), and its line end is not written yet");
}
