#pragma once
// The subcommands of the `hostsync` binary. Each returns the process exit status:
// 0 success, 1 a failure (uncaught Lua error, failed tests), 2 a usage error.
#include <string>
#include <vector>

namespace hostsync {

using Args = std::vector<std::string>;

int command_run(const Args& args);
int command_test(const Args& args);
int command_repl(const Args& args);
int command_version(const Args& args);
int command_serve(const Args& args);
int command_mcp(const Args& args);

}  // namespace hostsync
