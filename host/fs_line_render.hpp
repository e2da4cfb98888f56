#pragma once
// Renders the lines of a text file through a LineTemplate into one string, many lines
// per call: the coarse step that lets a script turn a file of JSON Lines into request
// bodies (each line wrapped, keyed by its SHA-256, joined) without Lua touching each line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs_line_reader.hpp"
#include "line_template.hpp"

namespace hostsync::fs {

struct RenderLimits {
    std::size_t max_lines = 0;   // stop after this many lines (0: no limit)
    std::size_t max_bytes = 0;   // stop after the line that brings `out` to this size (0: none)
    std::string_view separator;  // between two rendered lines
};

struct RenderResult {
    std::size_t lines = 0;       // lines rendered by this call
    std::uint64_t last_start = 0;  // file offset of the last line rendered
    std::string last_sha256;     // lowercase hex SHA-256 of the last line rendered
};

// Appends the rendered lines to `out`: for each complete line, the template with `row` =
// the line's text (without its line end), `line_no` = its number, `offset` = its first
// byte. Stops at the end of the complete lines or at a limit (always after at least one
// line if there is one). Returns false with `err` on a read error.
bool render_lines(LineReader& reader, const LineTemplate& tpl, const RenderLimits& limits,
                  std::string& out, RenderResult& result, std::string& err);

}  // namespace hostsync::fs
