#include "fs_line_match.hpp"

namespace hostsync::fs {

bool match_lines(LineReader& reader, LinePattern& pattern, std::size_t max_lines, MatchResult& result,
                 std::string& err) {
    result = MatchResult{};
    std::string_view line;
    std::uint64_t start = 0;
    while (max_lines == 0 || result.lines < max_lines) {
        switch (reader.next(line, start, err)) {
            case LineReader::kError: return false;
            case LineReader::kEnd: return true;
            case LineReader::kLine: break;
        }
        if (!pattern.match(line, result.why, result.at)) {
            result.mismatch = true;
            result.line_no = reader.line_no();
            result.offset = start;
            return true;
        }
        ++result.lines;
    }
    return true;
}

}  // namespace hostsync::fs
