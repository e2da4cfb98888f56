// hostsync: a compact C++ host with embedded LuaJIT. This file only dispatches commands.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "commands.hpp"
#include "failpoint.hpp"

namespace {

const char kUsage[] =
    "Usage: hostsync <command> [options] [args]\n"
    "\n"
    "A scripting host with embedded LuaJIT: fast primitives in C++, workflows in Lua.\n"
    "\n"
    "Commands:\n"
    "  run SCRIPT [ARGS...]   run a Lua script (a path, or a name from scripts/);\n"
    "                         run --debug SCRIPT opens a REPL where it fails\n"
    "  repl [SCRIPT]          interactive Lua with the host modules (-e, -l, --root)\n"
    "  serve [options]        run the shared brain server (scripts/brain/serve.lua;\n"
    "                         --address, --port, --db URL, --config FILE, --threads)\n"
    "  mcp [options]          the shared brain as MCP tools for AI agents, on stdio\n"
    "                         (scripts/mcp/server.lua; --server URL, --token-file F)\n"
    "  test FILE...           run Lua test files; ends with 'N passed, N failed'\n"
    "  version                print the versions of hostsync and its libraries\n"
    "  help [COMMAND]         show this help, or a command's\n"
    "\n"
    "Examples:\n"
    "  hostsync run phase2.lua --root ~/data       turn new index.csv rows into sync packets\n"
    "  hostsync run phase2.lua verify              re-check every seal and packet\n"
    "  hostsync run ./my_script.lua a b c          arg[1..3] = a, b, c\n"
    "  hostsync run --debug my_policy.lua          inspect the failing frame's locals\n"
    "  hostsync repl -l hostsync.csv               try the csv module by hand\n"
    "\n"
    "'hostsync <command> --help' shows a command's options. Docs: docs/cli.md.\n";

struct Command {
    const char* name;
    int (*fn)(const hostsync::Args&);
};

const Command kCommands[] = {
    {"run", hostsync::command_run},
    {"test", hostsync::command_test},
    {"repl", hostsync::command_repl},
    {"version", hostsync::command_version},
    {"serve", hostsync::command_serve},
    {"mcp", hostsync::command_mcp},
};

}  // namespace

int main(int argc, char** argv) {
    // glibc maps every block of 128 KiB or more on its own and returns it at free, and
    // trims the heap's top as soon as 128 KiB are free; so a script that builds a few
    // hundred KB per step (an HTTP request body, a batch of records) pays page faults on
    // every copy, twenty times the copy itself on a VM. Large blocks below 4 MiB come from
    // the heap and up to 64 MiB of free heap is kept for reuse (hostsync serve sets the same).
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    std::string name = argv[1];
    hostsync::Args rest(argv + 2, argv + argc);
    if (name == "--help" || name == "-h" || name == "help") {
        if (name == "help" && !rest.empty()) {
            name = rest[0];
            rest = {"--help"};
        } else {
            std::fputs(kUsage, stdout);
            return 0;
        }
    }
    if (name == "--version" || name == "-V") name = "version";
    if (auto bad = hostsync::failpoint::config_error(); !bad.empty()) {
        std::fprintf(stderr, "hostsync: %.*s\n", static_cast<int>(bad.size()), bad.data());
        return 2;
    }
    for (const auto& cmd : kCommands)
        if (name == cmd.name) return cmd.fn(rest);
    std::fprintf(stderr, "hostsync: unknown command '%s'\n\n%s", name.c_str(), kUsage);
    return 2;
}
