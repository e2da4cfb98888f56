#pragma once
// Confines a relative path (from a config, a packet, a remote peer) to a root directory.
#include <string>
#include <string_view>

namespace hostsync::fs {

// Returns "<realpath(root)>/<relpath, normalised>" or fails with err when relpath is
// empty, absolute, contains NUL or a ".." component, or when a component that exists is
// a symlink resolving outside the root (or not resolving at all: creating through a
// dangling link would land wherever it points). "." and empty components are dropped.
//
// This checks the tree as it is now; it cannot stop a process that swaps a directory
// for a symlink afterwards. Roots should not be writable by untrusted users.
bool confine(const std::string& root, std::string_view relpath, std::string& out, std::string& err);

}  // namespace hostsync::fs
