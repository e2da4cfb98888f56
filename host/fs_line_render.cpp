#include "fs_line_render.hpp"

#include "sha256.hpp"

namespace hostsync::fs {

bool render_lines(LineReader& reader, const LineTemplate& tpl, const RenderLimits& limits,
                  std::string& out, RenderResult& result, std::string& err) {
    result = RenderResult{};
    std::string_view line;
    std::string last;  // a copy: the reader's buffer moves when it reads on
    std::uint64_t start = 0;
    RecordValues v;
    while (limits.max_lines == 0 || result.lines < limits.max_lines) {
        if (limits.max_bytes != 0 && out.size() >= limits.max_bytes) break;
        switch (reader.next(line, start, err)) {
            case LineReader::kError: return false;
            case LineReader::kEnd: goto done;
            case LineReader::kLine: break;
        }
        if (result.lines > 0) out.append(limits.separator);
        v.line_no = reader.line_no();
        v.offset = start;
        v.row = line;
        tpl.render(out, v);
        ++result.lines;
        result.last_start = start;
        last.assign(line);
        if (limits.max_bytes != 0 && out.size() >= limits.max_bytes) break;
    }
done:
    if (result.lines > 0) result.last_sha256 = sha256::hex(last);
    return true;
}

}  // namespace hostsync::fs
