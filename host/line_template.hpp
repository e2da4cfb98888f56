#pragma once
// A line layout compiled once from a script's description: literal text interleaved with
// per-record values. It lets a Lua script define an output format (a JSONL packet, a TSV
// line, a request body) while C++ renders a million lines without Lua running per record.
// A record is a CSV row (csv.template: `row` is its canonical JSON) or a line of a text
// file (fs.line_template: `row` is the line's text).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hostsync {

enum class LineSlot {
    literal,
    seq,         // a counter the caller advances per record
    line_no,     // the record's first line
    offset,      // the record's first byte
    row,         // the record's text: a CSV row as canonical JSON (RFC 8785), or a line
    row_sha256,  // lowercase hex SHA-256 of `row` (computed once per record)
    local_time,  // now, ISO 8601 local time with offset
    utc_time,    // now, ISO 8601 UTC with Z
};

// "seq" -> LineSlot::seq; nullopt for an unknown name.
std::optional<LineSlot> line_slot_named(std::string_view name);

struct RecordValues {
    std::uint64_t seq = 0;
    std::uint64_t line_no = 0;
    std::uint64_t offset = 0;
    std::string_view row;
};

class LineTemplate {
public:
    void add_literal(std::string_view text);
    void add_slot(LineSlot slot);
    bool uses(LineSlot slot) const;

    // Appends one rendered line to `out`.
    void render(std::string& out, const RecordValues& v) const;

private:
    struct Part {
        LineSlot slot;
        std::string text;  // for literals
    };
    std::vector<Part> parts_;
};

}  // namespace hostsync
