#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fs_line_reader.hpp"
#include "fs_test_support.hpp"

using namespace hostsync;
using fs_test::TempDir;

namespace {

struct Line {
    std::string text;
    std::uint64_t start;
    bool operator==(const Line& o) const { return text == o.text && start == o.start; }
};

std::vector<Line> drain(fs::LineReader& r) {
    std::vector<Line> out;
    std::string_view line;
    std::uint64_t start;
    std::string err;
    fs::LineReader::Result res;
    while ((res = r.next(line, start, err)) == fs::LineReader::kLine) out.push_back({std::string(line), start});
    REQUIRE(res == fs::LineReader::kEnd);
    return out;
}

}  // namespace

TEST_CASE("line reader: lines with offsets, CRLF, empty lines; a torn tail is not returned") {
    TempDir d;
    fs_test::spit(d / "f", "a,b\r\n\nsecond\nthird\ntorn ta");
    fs::LineReader r;
    std::string err;
    REQUIRE(r.open(d / "f", 0, err));
    CHECK(drain(r) == std::vector<Line>{{"a,b", 0}, {"", 5}, {"second", 6}, {"third", 13}});
    CHECK(r.offset() == 19);
    CHECK(r.partial_bytes() == 7);

    // The writer finishes its line: the same reader now sees it.
    {
        std::ofstream out(d / "f", std::ios::app);
        out << "il\nnext";
    }
    CHECK(drain(r) == std::vector<Line>{{"torn tail", 19}});
    CHECK(r.partial_bytes() == 4);
    CHECK(r.offset() == 29);
}

TEST_CASE("line reader: starting offset, a file without newline, empty file") {
    TempDir d;
    fs_test::spit(d / "f", "one\ntwo\nthree\n");
    fs::LineReader r;
    std::string err;
    REQUIRE(r.open(d / "f", 4, err));
    CHECK(drain(r) == std::vector<Line>{{"two", 4}, {"three", 8}});
    CHECK(r.partial_bytes() == 0);

    fs_test::spit(d / "g", "no newline at all");
    REQUIRE(r.open(d / "g", 0, err));
    CHECK(drain(r).empty());
    CHECK(r.partial_bytes() == 17);
    CHECK(r.offset() == 0);

    fs_test::spit(d / "e", "");
    REQUIRE(r.open(d / "e", 0, err));
    CHECK(drain(r).empty());
    CHECK(r.partial_bytes() == 0);

    CHECK_FALSE(r.open(d / "missing", 0, err));
    CHECK(err == "open " + d.path + "/missing: No such file or directory");
}

TEST_CASE("line reader: lines longer than the buffer and many lines across buffer refills") {
    TempDir d;
    std::string long_line(300000, 'L');
    std::string content = "short\n" + long_line + "\n";
    for (int i = 0; i < 20000; ++i) content += "row " + std::to_string(i) + "\n";
    content += long_line;  // torn, and long
    fs_test::spit(d / "f", content);
    fs::LineReader r;
    std::string err;
    REQUIRE(r.open(d / "f", 0, err));
    auto lines = drain(r);
    REQUIRE(lines.size() == 20002);
    CHECK(lines[0] == Line{"short", 0});
    CHECK(lines[1] == Line{long_line, 6});
    CHECK(lines[2].text == "row 0");
    CHECK(lines[20001].text == "row 19999");
    // Every start offset points at its line in the file.
    for (std::size_t i = 0; i < lines.size(); i += 997)
        CHECK(content.compare(lines[i].start, lines[i].text.size(), lines[i].text) == 0);
    CHECK(r.partial_bytes() == long_line.size());
    CHECK(r.offset() == content.size() - long_line.size());
}
