"""Mechanism in C++, policy in Lua (DESIGN.md): the host and the bindings must not know
the workflows' data. A name from a workflow showing up in host/ or bindings/ means policy
leaked into the mechanism."""
import re
import unittest

from harness import SOURCE_DIR

POLICY_NAMES = re.compile(r"truth_level|handoff|sync_locks|chatroom|work_order|artifact_registry|"
                          r"diff_state|seals\.jsonl|last_chain_hash|row_hash|quarantine|fencing")


class LayeringTest(unittest.TestCase):
    def test_host_and_bindings_hold_no_workflow_names(self):
        hits = []
        for d in ("host", "bindings"):
            for p in sorted((SOURCE_DIR / d).iterdir()):
                if p.suffix not in (".cpp", ".hpp", ".lua"):
                    continue
                for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
                    code = line.strip()
                    if code.startswith(("--", "//", "*")):   # usage examples in comments are fine
                        continue
                    if POLICY_NAMES.search(code):
                        hits.append(f"{p.relative_to(SOURCE_DIR)}:{n}: {line.strip()}")
        self.assertEqual(hits, [], "workflow names in the mechanism:\n" + "\n".join(hits))


if __name__ == "__main__":
    unittest.main(verbosity=2)
