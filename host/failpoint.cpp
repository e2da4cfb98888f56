#include "failpoint.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace hostsync::failpoint {
namespace {

struct Spec {
    std::string name;
    unsigned long at = 1;  // fires on this hit
    bool stop = false;
    mutable std::atomic<unsigned long> hits{0};  // the only state that changes after parsing
};

struct Table {
    std::vector<Spec> specs;
    std::string error;
    bool armed = false;

    Table() {
        const char* env = std::getenv("HOSTSYNC_FAILPOINT");
        if (env == nullptr || *env == '\0') return;
        armed = true;
        std::string_view rest(env);
        // Count first: Spec holds an atomic, so the vector must not reallocate after fill.
        std::size_t n = 1;
        for (char c : rest) n += c == ',';
        specs = std::vector<Spec>(n);
        std::size_t i = 0;
        while (true) {
            std::size_t comma = rest.find(',');
            if (!parse(rest.substr(0, comma), specs[i++])) return;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }

    bool parse(std::string_view text, Spec& s) {
        std::string_view spec = text;
        constexpr std::string_view kStop = ":stop";
        if (spec.size() > kStop.size() && spec.substr(spec.size() - kStop.size()) == kStop) {
            s.stop = true;
            spec.remove_suffix(kStop.size());
        }
        std::size_t at = spec.find('@');
        if (at != std::string_view::npos) {
            std::string count(spec.substr(at + 1));
            char* end = nullptr;
            unsigned long v = count.empty() ? 0 : std::strtoul(count.c_str(), &end, 10);
            if (v == 0 || end == nullptr || *end != '\0') return bad(text);
            s.at = v;
            spec = spec.substr(0, at);
        }
        if (spec.empty() || spec.find(':') != std::string_view::npos) return bad(text);
        s.name = std::string(spec);
        return true;
    }

    bool bad(std::string_view text) {
        error = "HOSTSYNC_FAILPOINT: bad spec '" + std::string(text) + "' (name, name@N, name:stop or name@N:stop)";
        specs.clear();
        return false;
    }
};

const Table& table() {
    static const Table t;
    return t;
}

}  // namespace

bool armed() noexcept { return table().armed; }

std::string_view config_error() noexcept { return table().error; }

void hit(std::string_view name) noexcept {
    const Table& t = table();
    if (!t.armed) return;
    for (const Spec& s : t.specs) {
        if (s.name != name) continue;
        if (s.hits.fetch_add(1) + 1 != s.at) continue;
        std::fflush(stdout);
        std::fflush(stderr);
        std::raise(s.stop ? SIGSTOP : SIGKILL);
    }
}

}  // namespace hostsync::failpoint
