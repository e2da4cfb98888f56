"""A CSV header built to be expensive: hundreds of thousands of names, repeated in pairs.

The duplicate check once searched its result list for every name, quadratic in the
number of repeated names: 100,000 fields took 45 s, and a Phase 2 run held its run lock
all that time. The headers here are four times larger, so a quadratic check would run
for many minutes and trip the hang guard; a linear one answers at once. Nothing here
measures time: the guard is only there to turn a hang into a failure."""
import os
import tempfile
import unittest

from harness import Root, hostsync
from waiting import HANG_GUARD

FIELDS = 400_000   # 200,000 names, each twice: "c0,c0,c1,c1,..." (2.9 MB)

READ_HEADER = r'''
local csv = require "hostsync.csv"
local r = assert(csv.open(arg[1]))
local header, err = r:header()
print(header == nil, err)
print(r:next() == nil, r:last_error() and r:last_error().fatal)
'''


def paired_header(n=FIELDS):
    return ",".join(f"c{i // 2}" for i in range(n)).encode() + b"\n1\n"


class HostileHeaderTest(unittest.TestCase):
    def test_duplicate_names_in_pairs_are_refused_with_a_bounded_message(self):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "pairs.csv")
        with open(path, "wb") as f:
            f.write(paired_header())
        script = os.path.join(d.name, "read_header.lua")
        with open(script, "w") as f:
            f.write(READ_HEADER)
        p = hostsync("run", script, path, timeout=HANG_GUARD)
        self.assertEqual(p.returncode, 0, p.err)
        first, second = p.out.splitlines()
        self.assertTrue(first.startswith("true\t"), first)
        message = first.split("\t", 1)[1]
        # The first ten repeated names in order of appearance, then how many more.
        names = ", ".join(f'"c{i}"' for i in range(10))
        self.assertEqual(message, f"{path}: line 1: header: duplicate names: {names} and {FIELDS // 2 - 10} more")
        self.assertEqual(second, "true\ttrue")   # the header is reported once, as fatal

    def test_long_repeated_names_are_cut_in_the_message(self):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "long.csv")
        name = "é" * 5000   # 10,000 bytes; cut at a character boundary
        with open(path, "wb") as f:
            f.write(f"{name},x,{name}\n".encode())
        script = os.path.join(d.name, "read_header.lua")
        with open(script, "w") as f:
            f.write(READ_HEADER)
        p = hostsync("run", script, path, timeout=HANG_GUARD)
        self.assertEqual(p.returncode, 0, p.err)
        message = p.out.splitlines()[0].split("\t", 1)[1]
        self.assertEqual(message, f'{path}: line 1: header: duplicate names: "{"é" * 32}..."')

    def test_phase2_refuses_the_header_and_releases_its_lock(self):
        root = Root(self)
        root.write(paired_header())
        p = root.run(timeout=HANG_GUARD)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("duplicate names", p.err)
        self.assertIn(f"and {FIELDS // 2 - 10} more", p.err)
        self.assertLess(len(p.err), 4096, "the message is bounded, not the size of the header")
        self.assertFalse((root.outbox / "seals.jsonl").exists())
        # The lock was released: the next run gets as far as the same header error.
        p = root.run(timeout=HANG_GUARD)
        self.assertIn("duplicate names", p.err)
        self.assertNotIn("lock", p.err.lower())


if __name__ == "__main__":
    unittest.main(verbosity=2)
