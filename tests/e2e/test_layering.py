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


# The words docs/architecture.md promises about the tree.
PHASE2 = re.compile(r"phase2", re.I)
PHASE2_HELP = re.compile(r'^\s*"\s+hostsync run phase2\.lua ')   # hostsync --help's examples
# docs/ stand alone: the design notes and the source documents are outside the repository,
# so docs quote the rules they rely on instead of pointing at them.
OUTSIDE_REFS = re.compile(r"DESIGN\.md|\bthe seed\b(?! corpus)|\bseed's|\bseeds'|\bseed sections?\b|\bseed step", re.I)


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


# host/README.md names files as `name.cpp`, `name.hpp` or `name.{cpp,hpp}`.
README_FILE = re.compile(r"`([a-z0-9_]+)\.(cpp|hpp|\{cpp,hpp\})`")
LUA_HEADER = re.compile(r'#include\s*[<"](?:host/)?(lua\.hpp|lua\.h|lauxlib\.h|lualib\.h|luajit\.h|[a-z0-9_]+\.hpp)[>"]')


def readme_files(text):
    out = []
    for stem, ext in README_FILE.findall(text):
        out += [f"{stem}.cpp", f"{stem}.hpp"] if ext.startswith("{") else [f"{stem}.{ext}"]
    return out


def files_with_lua(host):
    """Files of host/ that include a Lua header, directly or through another host header."""
    includes = {p.name: set(LUA_HEADER.findall(p.read_text(errors="replace"))) for p in host.iterdir()
                if p.suffix in (".cpp", ".hpp")}
    lua = {"lua.hpp", "lua.h", "lauxlib.h", "lualib.h", "luajit.h"}
    with_lua = set()
    changed = True
    while changed:
        changed = False
        for name, inc in includes.items():
            if name not in with_lua and inc & (lua | with_lua):
                with_lua.add(name)
                changed = True
    return with_lua


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


    def test_phase2_appears_only_in_the_help_examples(self):
        # Comments included: "grep -ri phase2 host bindings" is the promise.
        hits = [where(p, n, line) for p in code_files("host", "bindings")
                for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
                if PHASE2.search(line) and not (p.name == "main.cpp" and PHASE2_HELP.search(line))]
        self.assertEqual(hits, [], "Phase 2 named in the mechanism:\n" + "\n".join(hits))

    def test_docs_do_not_point_outside_the_repository(self):
        pages = sorted((SOURCE_DIR / "docs").rglob("*.md")) + [SOURCE_DIR / "README.md", SOURCE_DIR / "host" / "README.md"]
        self.assertGreater(len(pages), 10)
        hits = [where(p, n, line) for p in pages
                for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if OUTSIDE_REFS.search(line)]
        self.assertEqual(hits, [], "docs citing DESIGN.md or the seed documents instead of quoting them:\n"
                         + "\n".join(hits))

    def test_code_does_not_point_outside_the_repository(self):
        # Comments name the document and section the docs quote ("contract section 7.3",
        # "the protocol's"), never the design notes or "the seed".
        files = [*code_files("host", "bindings", "policies"), *sorted((SOURCE_DIR / "scripts").rglob("*.lua")),
                 *sorted((SOURCE_DIR / "policies").glob("*.md"))]
        hits = [where(p, n, line) for p in files
                for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if OUTSIDE_REFS.search(line)]
        self.assertEqual(hits, [], "code citing DESIGN.md or the seed documents:\n" + "\n".join(hits))


class HostMapTest(unittest.TestCase):
    """host/README.md maps every binding to its files and says which files have Lua in
    them: checked here so that the map cannot drift from the directory."""

    def setUp(self):
        self.host = SOURCE_DIR / "host"
        self.text = (self.host / "README.md").read_text()

    def test_the_map_names_every_file_and_only_files_that_exist(self):
        on_disk = {p.name for p in self.host.iterdir() if p.suffix in (".cpp", ".hpp")}
        named = set(readme_files(self.text))
        self.assertEqual(sorted(on_disk - named), [], "host files host/README.md does not name")
        self.assertEqual(sorted(named - on_disk), [], "host/README.md names files that do not exist")

    def test_the_files_with_lua_are_listed_exactly(self):
        section = self.text.split("## Which files have Lua in them", 1)[1]
        listed = set(readme_files(section.split("Every other file is free of Lua", 1)[0]))
        self.assertEqual(sorted(listed), sorted(files_with_lua(self.host)))

    def test_every_binding_with_cpp_has_a_row(self):
        rows = set(re.findall(r"^\| `hostsync\.([a-z_]+)` \|", self.text, re.M))
        bindings = {p.stem for p in (SOURCE_DIR / "bindings").glob("*.cpp")}
        self.assertEqual(sorted(bindings - rows), [], "bindings without a row in host/README.md")


if __name__ == "__main__":
    unittest.main(verbosity=2)
