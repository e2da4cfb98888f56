// Fuzz target: the tar reader (host/tar_reader.*): listing, and the safe extractor
// writing into a real (RAM-backed) directory. libarchive itself is Debian's and not
// instrumented; what is fuzzed is our use of it and the extractor's rules.
//
// Properties (docs/api/tar.md, "Reading"):
//  - listing gives the same result whether the source hands out everything or small,
//    irregular pieces;
//  - an archive the extractor accepts also lists, and what lands on disk is exactly the
//    listed regular files and directories (nothing else, no links), each file with its
//    listed size, and never more than the limits allow.
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tar_reader.hpp"

namespace {

namespace tar = hostsync::tar;

constexpr std::uint64_t kMaxEntries = 64;
constexpr std::uint64_t kMaxBytes = 1 << 20;

std::string make_workdir() {
    const char* shm = "/dev/shm";
    std::string base = ::access(shm, W_OK) == 0 ? shm : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    std::string tmpl = base + "/hostsync-tar-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) std::abort();
    return tmpl;
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

void remove_tree(const std::string& dir) { ::nftw(dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

struct Workdir {
    std::string path = make_workdir();
    ~Workdir() { remove_tree(path); }
};

std::string describe(bool ok, const std::vector<tar::EntryInfo>& entries, const std::string& err) {
    if (!ok) return "error: " + err;
    std::string s;
    for (const auto& e : entries)
        s += fuzz::show(e.path) + " " + e.type + " " + std::to_string(e.size) + " " + std::to_string(e.mode) + " " +
             std::to_string(e.mtime) + " " + fuzz::show(e.link) + "\n";
    return s;
}

// Everything under `dir`: relative path -> size (-1 for a directory, -2 for anything else).
std::map<std::string, long long> walk(const std::string& dir) {
    static std::map<std::string, long long>* out;
    static std::size_t prefix;
    std::map<std::string, long long> result;
    out = &result;
    prefix = dir.size() + 1;
    ::nftw(dir.c_str(),
           [](const char* path, const struct stat* st, int, struct FTW*) {
               std::string p(path);
               if (p.size() < prefix) return 0;  // the directory itself
               (*out)[p.substr(prefix)] = S_ISREG(st->st_mode) ? st->st_size : S_ISDIR(st->st_mode) ? -1 : -2;
               return 0;
           },
           16, FTW_PHYS);
    return result;
}

// The path an entry lands at: "./a//b/" -> "a/b".
std::string normalized(const std::string& path) {
    std::string out, part;
    for (std::size_t i = 0; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
            part.clear();
        } else {
            part += path[i];
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Workdir work;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    tar::Limits limits;
    limits.max_entries = kMaxEntries;
    limits.max_bytes = kMaxBytes;

    std::vector<tar::EntryInfo> listed;
    std::string err;
    fuzz::PieceSource whole(input, input.size() + 1);
    bool list_ok = tar::list(whole, "<fuzz>", limits, listed, err);
    std::string expected = describe(list_ok, listed, err);
    std::vector<tar::EntryInfo> listed_in_pieces;
    std::string err2;
    fuzz::PieceSource pieces(input, 0);
    bool pieces_ok = tar::list(pieces, "<fuzz>", limits, listed_in_pieces, err2);
    fuzz::expect_equal("listing in pieces gives the same result", expected, describe(pieces_ok, listed_in_pieces, err2));

    const std::string dest = work.path + "/x";
    if (::mkdir(dest.c_str(), 0700) != 0) std::abort();
    tar::ExtractOptions opts;
    opts.limits = limits;
    opts.durable = false;
    tar::ExtractResult result;
    fuzz::PieceSource src(input, 0);
    bool extracted = tar::extract(src, "<fuzz>", dest, opts, result, err);
    if (extracted) {
        fuzz::expect(list_ok, "an archive that extracts also lists", expected);
        std::map<std::string, long long> want;
        for (const auto& e : listed) {
            std::string p = normalized(e.path);
            if (p.empty()) continue;  // "./": the destination itself
            std::string t = e.type;
            fuzz::expect(t == "file" || t == "dir", "only files and directories are extracted", expected);
            want[p] = t == "dir" ? -1 : static_cast<long long>(e.size);
            // Parent directories are created implicitly.
            for (std::size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1))
                want.emplace(p.substr(0, slash), -1);
        }
        std::map<std::string, long long> got = walk(dest);
        std::string got_text, want_text;
        for (const auto& [p, s] : got) got_text += fuzz::show(p) + " " + std::to_string(s) + "\n";
        for (const auto& [p, s] : want) want_text += fuzz::show(p) + " " + std::to_string(s) + "\n";
        fuzz::expect_equal("what is extracted is what is listed", want_text, got_text);
        std::uint64_t files_bytes = 0;
        for (const auto& [p, s] : got) files_bytes += s > 0 ? static_cast<std::uint64_t>(s) : 0;
        fuzz::expect(files_bytes <= kMaxBytes && result.bytes == files_bytes, "extracted bytes within the limit");
    } else {
        // A refused archive leaves no file under its final name... but directories made
        // before the refusal may stay (documented); only check that nothing is a link.
        for (const auto& [p, s] : walk(dest)) fuzz::expect(s != -2, "nothing but files and directories", p);
    }
    remove_tree(dest);
    return 0;
}
