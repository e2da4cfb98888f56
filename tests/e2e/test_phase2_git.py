"""The outbox stays local (PHASE2_SYNC_SPEC): a run warns when git would pick it up."""
import subprocess
import unittest

from harness import Root, HEADER, tricky_records

WARNING = "phase2: warning: the outbox"


def git(root, *args):
    subprocess.run(["git", "-C", str(root.path), *args], check=True, capture_output=True)


class GitExposureTest(unittest.TestCase):
    def test_no_repository_no_warning(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(3))
        p = root.run(check=True)
        self.assertNotIn("warning", p.err)

    def test_outbox_in_a_work_tree_and_not_ignored_warns_on_every_run(self):
        root = Root(self)
        git(root, "init", "-q")
        root.write(HEADER.encode() + tricky_records(3))
        for _ in range(2):   # the second run has nothing new, and still warns
            p = root.run(check=True)
            self.assertIn(WARNING + " infield/ai_save/outbox is inside the git work tree", p.err)
            self.assertIn("not ignored", p.err)
            self.assertIn("'/infield/ai_save/outbox/'", p.err)
        self.assertEqual(len(root.packets()), 3, "a warning, not a refusal")

    def test_ignored_outbox_is_quiet_and_tracked_files_in_it_warn(self):
        root = Root(self)
        git(root, "init", "-q")
        (root.path / ".gitignore").write_text("/infield/ai_save/outbox/\n")
        root.write(HEADER.encode() + tricky_records(3))
        p = root.run(check=True)
        self.assertNotIn("warning", p.err)
        sync = root.seals()[0]["file"]
        git(root, "add", "-f", "infield/ai_save/outbox/" + sync)   # tracked before the ignore rule
        root.append(tricky_records(1, start=4))
        p = root.run(check=True)
        self.assertIn(WARNING, p.err)
        self.assertIn("git already tracks 1 file(s) in it (%s)" % sync, p.err)
        self.assertNotIn("not ignored", p.err)
        self.assertIn("rm -r --cached", p.err)

    def test_outbox_ignored_by_a_parent_repository_rule_through_info_exclude(self):
        root = Root(self)
        git(root, "init", "-q")
        (root.path / ".git/info/exclude").write_text("infield/ai_save/outbox\n")
        root.write(HEADER.encode() + tricky_records(3))
        p = root.run(check=True)
        self.assertNotIn("warning", p.err)

    def test_without_git_installed_the_warning_says_it_cannot_check(self):
        root = Root(self)
        git(root, "init", "-q")
        (root.path / ".gitignore").write_text("/infield/ai_save/outbox/\n")
        root.write(HEADER.encode() + tricky_records(3))
        p = root.run(env={"PATH": "/nonexistent"}, check=True)
        self.assertIn(WARNING + " infield/ai_save/outbox is inside the git work tree", p.err)
        self.assertIn("git cannot be run", p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
