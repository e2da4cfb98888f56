#pragma once
// Checks the lines of a text file against a LinePattern, many lines per call: the coarse
// step that lets a script verify a million JSON Lines without Lua touching each line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fs_line_reader.hpp"
#include "line_pattern.hpp"

namespace hostsync::fs {

struct MatchResult {
    std::size_t lines = 0;          // lines that matched in this call
    bool mismatch = false;          // stopped at a line that does not match
    std::uint64_t line_no = 0;      // that line's number
    std::uint64_t offset = 0;       // and the file offset where it starts
    std::size_t at = 0;             // the byte in the line where it differs
    std::string why;
};

// Matches complete lines until the end of the complete lines, `max_lines` (0: no
// limit), or the first line that does not match (which is then consumed: the reader is
// past it). Returns false with `err` on a read error.
bool match_lines(LineReader& reader, LinePattern& pattern, std::size_t max_lines, MatchResult& result,
                 std::string& err);

}  // namespace hostsync::fs
