"""What docs/architecture.md promises about the source tree's layout, checked.

Mechanism in C++, policy in Lua: the host and the bindings must not know the workflows'
data. A name from a workflow showing up in host/ or bindings/ means policy leaked into
the mechanism. And host/lua_object.hpp is the one way a C++ object becomes Lua userdata."""
import re
import unittest

from harness import SOURCE_DIR

POLICY_NAMES = re.compile(r"truth_level|handoff|sync_locks|chatroom|work_order|artifact_registry|"
                          r"diff_state|seals\.jsonl|last_chain_hash|row_hash|quarantine|fencing")

# The userdata rules (pointer slot, metatable with __gc, use after free reported) live in
# host/lua_object.hpp; no other file allocates userdata or defines its own metatable helper.
USERDATA = re.compile(r"\blua_newuserdata\s*\(")
META_HELPER = re.compile(r"^\s*(?:static\s+|inline\s+)*void\s+new_meta\s*\(")
LUA_OBJECT = SOURCE_DIR / "host" / "lua_object.hpp"

# Every call from C++ into the host's Lua goes through pcall_traceback (host/lua_runtime),
# so every error carries its traceback; the policy sandbox is a separate state with its
# own protected calls (lua_cpcall).
RAW_PCALL = re.compile(r"\blua_pcall\s*\(")
LUA_RUNTIME = SOURCE_DIR / "host" / "lua_runtime.cpp"


def code_files(*dirs, suffixes=(".cpp", ".hpp", ".lua")):
    for d in dirs:
        for p in sorted((SOURCE_DIR / d).iterdir()):
            if p.suffix in suffixes:
                yield p


def code_lines(p):
    """(line number, line) for each line of p that is not a comment (usage examples in
    comments are fine)."""
    for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
        if not line.strip().startswith(("--", "//", "*")):
            yield n, line


def where(p, n, line):
    return f"{p.relative_to(SOURCE_DIR)}:{n}: {line.strip()}"


class LayeringTest(unittest.TestCase):
    def test_host_and_bindings_hold_no_workflow_names(self):
        hits = [where(p, n, line) for p in code_files("host", "bindings")
                for n, line in code_lines(p) if POLICY_NAMES.search(line)]
        self.assertEqual(hits, [], "workflow names in the mechanism:\n" + "\n".join(hits))

    def test_userdata_is_made_only_by_lua_object(self):
        self.assertTrue(any(USERDATA.search(line) for _, line in code_lines(LUA_OBJECT)),
                        "host/lua_object.hpp no longer allocates userdata: update this test")
        hits = [where(p, n, line) for p in code_files("host", "bindings", suffixes=(".cpp", ".hpp"))
                if p != LUA_OBJECT for n, line in code_lines(p)
                if USERDATA.search(line) or META_HELPER.search(line)]
        self.assertEqual(hits, [], "userdata or metatable helpers outside host/lua_object.hpp:\n" + "\n".join(hits))


    def test_lua_is_entered_only_through_the_traceback_pcall(self):
        self.assertTrue(any(RAW_PCALL.search(line) for _, line in code_lines(LUA_RUNTIME)),
                        "host/lua_runtime.cpp no longer calls lua_pcall: update this test")
        hits = [where(p, n, line) for p in code_files("host", "bindings", suffixes=(".cpp", ".hpp"))
                if p != LUA_RUNTIME for n, line in code_lines(p) if RAW_PCALL.search(line)]
        self.assertEqual(hits, [], "lua_pcall without the traceback handler:\n" + "\n".join(hits))


if __name__ == "__main__":
    unittest.main(verbosity=2)
