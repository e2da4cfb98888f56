"""push.lua with real git: a bare remote guarded by the fencing pre-receive hook
(push_hook.lua), clones per agent, a real `hostsync serve` (docs/brain.md, "The push workflow")."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOSTSYNC, SOURCE_DIR  # noqa: E402
from brain_support import Brain, call, make_token  # noqa: E402

AGENTS = [("claude", "marcus", "m1"), ("gemini", "milo", "m2"), ("chatgpt", "priya", "m3"), ("grok", "rowan", "m4")]
GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", GIT_TERMINAL_PROMPT="0",
               GIT_CONFIG_COUNT="2", GIT_CONFIG_KEY_0="gc.auto", GIT_CONFIG_VALUE_0="0",
               GIT_CONFIG_KEY_1="maintenance.auto", GIT_CONFIG_VALUE_1="false",
               GIT_AUTHOR_NAME="Agent", GIT_AUTHOR_EMAIL="agent@example.invalid",
               GIT_COMMITTER_NAME="Agent", GIT_COMMITTER_EMAIL="agent@example.invalid")


DEFAULT_POLICY = (SOURCE_DIR / "policies/push_conflicts.lua").read_text()
assert DEFAULT_POLICY.endswith("\nreturn M\n")


def git(cwd, *args, check=True):
    p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=GIT_ENV, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}")
    return p


class PushTest(unittest.TestCase):
    """One server and one set of tokens for the class; each test has its own project
    (so its own lock, sync state and chat), bare remote and clones."""

    @classmethod
    def setUpClass(cls):
        cls.ctmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-push-brain-"))
        cls.addClassCleanup(shutil.rmtree, cls.ctmp, True)
        db = cls.ctmp / "brain.sqlite"
        cls.tokens, cls.token_files = {}, {}
        for ai, agent, machine in AGENTS + [("git", "remote", "server")]:
            t = make_token(db, ai, agent, machine, "*")
            cls.tokens[agent] = t
            f = cls.ctmp / f"{agent}.token"
            f.write_text(t + "\n")
            cls.token_files[agent] = f
        holder = unittest.TestCase()
        cls.brain = Brain(holder, db)
        cls.addClassCleanup(holder.doCleanups)

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-push-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.project = self.id().rsplit(".", 1)[-1][len("test_"):]
        self.remote = self.tmp / "remote.git"
        git(self.tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(self.remote))
        seed = self.tmp / "seed"
        git(self.tmp, "clone", "--quiet", str(self.remote), str(seed))
        (seed / "design").mkdir()
        (seed / "design/hero.css").write_text("hero { color: black; }\n")
        (seed / "README.md").write_text("# project\n")
        git(seed, "add", "-A")
        git(seed, "commit", "--quiet", "-m", "initial")
        git(seed, "push", "--quiet", "origin", "HEAD:main")
        p = subprocess.run([HOSTSYNC, "run", "push_hook.lua", "install", "--bare-repo", str(self.remote),
                            "--server", self.brain.base, "--token-file", str(self.token_files["remote"]),
                            "--project", self.project], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        # A user's copy of the default policy with its own map (policies run in the sandbox:
        # no dofile, so a copy is a copy).
        self.policy = self.tmp / "conflicts.lua"
        self.policy.write_text(DEFAULT_POLICY.replace("\nreturn M\n", '\nM.owners = { { "^design/", "priya" } }\n'
                                                                     'M.coordinator = "marcus"\nreturn M\n'))

    def clone(self, agent):
        d = self.tmp / agent
        if not d.exists():
            git(self.tmp, "clone", "--quiet", str(self.remote), str(d))
        return d

    def push(self, agent, message, *extra, project=None):
        p = subprocess.run([HOSTSYNC, "run", "push.lua", "--server", self.brain.base, "--token-file",
                            str(self.token_files[agent]), "--project", project or self.project, "--message", message,
                            "--repo", str(self.clone(agent)), *extra],
                           capture_output=True, text=True, env=GIT_ENV, timeout=120)
        return p

    def install_client_hook(self, agent, clone):
        """push_hook.lua's client-side pre-push hook in `clone`, with `agent`'s token."""
        p = subprocess.run([HOSTSYNC, "run", "push_hook.lua", "install", "--clone", str(clone),
                            "--server", self.brain.base, "--token-file", str(self.token_files[agent]),
                            "--project", self.project], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    def remote_log(self):
        out = git(self.remote, "log", "--format=%H%x00%B%x01", "main").stdout
        return [c.strip("\n").split("\0", 1) for c in out.split("\x01") if c.strip()]

    def remote_file(self, path):
        return git(self.remote, "show", "main:" + path).stdout

    def lock_held(self):
        st, body = call(self.brain.base, "GET", f"/locks/push:{self.project}", self.tokens["marcus"])
        self.assertEqual(st, 200)
        return body["held"]

    def chat(self):
        st, body = call(self.brain.base, "GET", "/chat?limit=1000", self.tokens["marcus"])
        self.assertEqual(st, 200)
        return [m for m in body["messages"] if m["project"] == self.project]

    def test_clean_push_attribution_lock_released_sync_message(self):
        repo = self.clone("marcus")
        (repo / "feature.txt").write_text("feature\n")
        p = self.push("marcus", "feat: add feature\n\n- one file")
        self.assertEqual(p.returncode, 0, p.stderr)
        head, msg = self.remote_log()[0]
        self.assertEqual(p.stdout.strip(), head)
        self.assertTrue(msg.startswith("feat: add feature\n\n- one file\n\n"), msg)
        self.assertTrue(msg.rstrip().endswith("[Jai.OS] claude/@marcus | Machine: m1"), msg)
        self.assertEqual(self.remote_file("feature.txt"), "feature\n")
        self.assertFalse(self.lock_held())
        syncs = [m for m in self.chat() if m["type"] == "sync"]
        self.assertEqual(len(syncs), 1)
        self.assertIn(f"Pushed to {self.project}: feat: add feature", syncs[0]["message"])
        self.assertIn(head[:12], syncs[0]["message"])
        st, state = call(self.brain.base, "GET", f"/sync/state?project={self.project}", self.tokens["milo"])
        self.assertEqual(state["last_push"]["commit"], head)
        self.assertEqual(state["last_push"]["agent"], "marcus")
        # nothing left: exit 0 without taking the lock
        p = self.push("marcus", "chore: nothing")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("nothing to push", p.stderr)
        self.assertEqual(len(self.remote_log()), 2)

    def test_busy_lock_bounded_wait_and_help(self):
        p = subprocess.run([HOSTSYNC, "run", "push.lua", "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--token-file", p.stdout)
        p = subprocess.run([HOSTSYNC, "run", "push.lua", "--server", self.brain.base], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--token-file is required", p.stderr)
        st, g = call(self.brain.base, "POST", f"/locks/push:{self.project}/acquire", self.tokens["milo"],
                     {"project": self.project, "reason": "long deploy"})
        self.assertEqual(st, 200)
        (self.clone("marcus") / "y.txt").write_text("y\n")
        p = self.push("marcus", "feat: y", "--wait", "1")
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertIn("BLOCKED: gemini/@milo holds push:", p.stderr)
        self.assertIn("long deploy", p.stderr)
        self.assertEqual(len(self.remote_log()), 1)
        # the lock is still milo's (push.lua never releases what it does not hold)
        st, body = call(self.brain.base, "GET", f"/locks/push:{self.project}", self.tokens["marcus"])
        self.assertEqual(body["fencing_token"], g["fencing_token"])
        call(self.brain.base, "POST", f"/locks/push:{self.project}/release", self.tokens["milo"],
             {"fencing_token": g["fencing_token"]})
        # nothing was committed while the lock was refused: the next run commits and pushes it
        p = self.push("marcus", "feat: y")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.remote_file("y.txt"), "y\n")
        self.assertFalse(self.lock_held())

    def test_hook_rejects_stale_or_missing_fencing_token(self):
        repo = self.clone("marcus")
        (repo / "x.txt").write_text("x\n")
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", "direct")
        base = self.brain.base
        st, g1 = call(base, "POST", f"/locks/push:{self.project}/acquire", self.tokens["marcus"], {"project": self.project})
        self.assertEqual(st, 200)
        # no option at all
        p = git(repo, "push", "origin", "HEAD:main", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no fencing_token push option", p.stderr)
        self.assertEqual(call(base, "POST", f"/locks/push:{self.project}/release", self.tokens["marcus"],
                              {"fencing_token": g1["fencing_token"]})[0], 200)
        # released: nobody holds it, the old token is stale
        p = git(repo, "push", "-o", f"fencing_token={g1['fencing_token']}", "origin", "HEAD:main", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"stale: nobody holds push:{self.project}", p.stderr)
        st, g2 = call(base, "POST", f"/locks/push:{self.project}/acquire", self.tokens["milo"], {"project": self.project})
        self.assertEqual(st, 200)
        self.assertGreater(g2["fencing_token"], g1["fencing_token"])
        p = git(repo, "push", "-o", f"fencing_token={g1['fencing_token']}", "origin", "HEAD:main", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("held by gemini/@milo", p.stderr)
        self.assertEqual(len(self.remote_log()), 1)    # nothing landed
        p = git(repo, "push", "-o", f"fencing_token={g2['fencing_token']}", "origin", "HEAD:main", check=False)
        self.assertEqual(p.returncode, 0, p.stderr)    # the current token passes
        self.assertEqual(len(self.remote_log()), 2)
        call(base, "POST", f"/locks/push:{self.project}/release", self.tokens["milo"],
             {"fencing_token": g2["fencing_token"]})
        # push.lua holding the wrong lock (another project's): the hook refuses, exit 6,
        # and push.lua still releases the lock it held
        (repo / "z.txt").write_text("z\n")
        other = self.project + "_other"
        p = self.push("marcus", "feat: z", project=other)
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("the remote rejected the push", p.stderr)
        self.assertIn(f"nobody holds push:{self.project}", p.stderr)
        self.assertEqual(len(self.remote_log()), 2)
        st, body = call(base, "GET", f"/locks/push:{other}", self.tokens["marcus"])
        self.assertFalse(body["held"])

    def test_client_pre_push_hook_requires_holding_the_lock(self):
        milo = self.clone("milo")
        self.install_client_hook("milo", milo)
        self.assertTrue((milo / ".git/hooks/pre-push").exists())
        (milo / "m.txt").write_text("m\n")
        git(milo, "add", "-A")
        git(milo, "commit", "--quiet", "-m", "plain push")
        p = git(milo, "push", "origin", "HEAD:main", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("hostsync pre-push: push refused: you do not hold push:", p.stderr)
        st, g = call(self.brain.base, "POST", f"/locks/push:{self.project}/acquire", self.tokens["marcus"],
                     {"project": self.project})
        self.assertEqual(st, 200)
        p = git(milo, "push", "-o", f"fencing_token={g['fencing_token']}", "origin", "HEAD:main", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("is held by claude/@marcus (machine m1), not by you", p.stderr)
        call(self.brain.base, "POST", f"/locks/push:{self.project}/release", self.tokens["marcus"],
             {"fencing_token": g["fencing_token"]})
        self.assertEqual(len(self.remote_log()), 1)
        p = self.push("milo", "feat: m")    # push.lua holds the lock while git pushes: both hooks pass
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.remote_file("m.txt"), "m\n")
        self.assertFalse(self.lock_held())

    def test_refuses_when_someone_pushed_since_last_pull(self):
        milo = self.clone("milo")
        (self.clone("marcus") / "a.txt").write_text("a\n")
        self.assertEqual(self.push("marcus", "feat: a").returncode, 0)
        (milo / "b.txt").write_text("b\n")
        p = self.push("milo", "feat: b")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("claude/@marcus pushed", p.stderr)
        self.assertIn("feat: a", p.stderr)
        self.assertFalse(self.lock_held())
        self.assertEqual(len(self.remote_log()), 2)
        p = self.push("milo", "feat: b", "--pull")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("WARNING: claude/@marcus pushed", p.stderr)
        self.assertEqual(self.remote_file("a.txt"), "a\n")
        self.assertEqual(self.remote_file("b.txt"), "b\n")

    def test_four_agents_three_commits_each_concurrently(self):
        for _, agent, _ in AGENTS:
            self.clone(agent)
        failures = []

        def run(agent):
            for i in range(3):
                (self.clone(agent) / f"{agent}_{i}.txt").write_text(f"{agent} {i}\n")
                p = self.push(agent, f"feat: {agent} change {i}", "--pull")
                if p.returncode != 0:
                    failures.append((agent, i, p.returncode, p.stderr))
                    return
        threads = [threading.Thread(target=run, args=(a,)) for _, a, _ in AGENTS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(failures, [])
        log = self.remote_log()
        self.assertEqual(len(log), 1 + 12)
        seen = set()
        for commit, msg in log[:-1]:
            first = msg.split("\n", 1)[0]
            agent, i = first[len("feat: "):].split(" change ")
            ai, _, machine = next(a for a in AGENTS if a[1] == agent)
            self.assertTrue(msg.rstrip().endswith(f"[Jai.OS] {ai}/@{agent} | Machine: {machine}"), msg)
            seen.add((agent, int(i)))
        self.assertEqual(seen, {(a, i) for _, a, _ in AGENTS for i in range(3)})
        for _, agent, _ in AGENTS:
            for i in range(3):
                self.assertEqual(self.remote_file(f"{agent}_{i}.txt"), f"{agent} {i}\n")
        self.assertFalse(self.lock_held())
        self.assertEqual(len([m for m in self.chat() if m["type"] == "sync"]), 12)
        st, state = call(self.brain.base, "GET", f"/sync/state?project={self.project}", self.tokens["milo"])
        self.assertEqual(state["last_push"]["commit"], log[0][0])

    def test_conflict_in_specialist_file_resolves_to_the_owner(self):
        priya, milo = self.clone("priya"), self.clone("milo")
        (priya / "design/hero.css").write_text("hero { color: teal; }\n")
        self.assertEqual(self.push("priya", "style: teal hero", "--policy", str(self.policy)).returncode, 0)
        # milo (not the owner) edits the same lines on a stale base: the owner's side wins
        (milo / "design/hero.css").write_text("hero { color: red; }\n")
        (milo / "notes.txt").write_text("mobile notes\n")
        p = self.push("milo", "fix: mobile hero", "--pull", "--policy", str(self.policy))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("design/hero.css resolved to the remote's side", p.stderr)
        self.assertEqual(self.remote_file("design/hero.css"), "hero { color: teal; }\n")
        self.assertEqual(self.remote_file("notes.txt"), "mobile notes\n")
        # priya (the owner) on a stale base over someone else's change: her side wins
        (milo / "design/hero.css").write_text("hero { color: green; }\n")
        self.assertEqual(self.push("milo", "fix: green", "--policy", str(self.policy)).returncode, 0)
        (priya / "design/hero.css").write_text("hero { color: navy; }\n")
        p = self.push("priya", "style: navy hero", "--pull", "--policy", str(self.policy))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("resolved to your side", p.stderr)
        self.assertEqual(self.remote_file("design/hero.css"), "hero { color: navy; }\n")
        self.assertTrue(self.remote_log()[0][1].rstrip().endswith("[Jai.OS] chatgpt/@priya | Machine: m3"))
        self.assertFalse(self.lock_held())

    def test_non_overlapping_changes_to_one_file_both_land(self):
        # The seed's rule 1 ("more recent change wins, if non-overlapping") is git's own
        # three-way merge during pull --rebase: both sides' lines are kept, no conflict.
        marcus = self.clone("marcus")
        lines = [f"line {i}\n" for i in range(1, 11)]
        (marcus / "notes.txt").write_text("".join(lines))
        self.assertEqual(self.push("marcus", "docs: notes").returncode, 0)
        milo = self.clone("milo")
        (marcus / "notes.txt").write_text("".join(["line 1 by marcus\n"] + lines[1:]))
        self.assertEqual(self.push("marcus", "docs: first line").returncode, 0)
        (milo / "notes.txt").write_text("".join(lines[:-1] + ["line 10 by milo\n"]))
        p = self.push("milo", "docs: last line", "--pull", "--policy", str(self.policy))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.remote_file("notes.txt"), "".join(["line 1 by marcus\n"] + lines[1:-1] + ["line 10 by milo\n"]))
        st, body = call(self.brain.base, "GET", f"/conflicts?project={self.project}", self.tokens["marcus"])
        self.assertEqual((st, body["conflicts"]), (200, []))
        self.assertEqual([m for m in self.chat() if m["type"] == "alert"], [])

    def test_other_conflict_aborts_records_conflict_alerts_coordinator(self):
        marcus, milo = self.clone("marcus"), self.clone("milo")
        (marcus / "README.md").write_text("# project by marcus\n")
        self.assertEqual(self.push("marcus", "docs: readme", "--policy", str(self.policy)).returncode, 0)
        (milo / "README.md").write_text("# project by milo\n")
        p = self.push("milo", "docs: my readme", "--pull", "--policy", str(self.policy))
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("CONFLICT in README.md", p.stderr)
        self.assertIn("What to do", p.stderr)
        self.assertFalse(self.lock_held())
        self.assertEqual(self.remote_file("README.md"), "# project by marcus\n")
        self.assertEqual(len(self.remote_log()), 2)
        # no rebase left half-done; milo's commit is kept locally
        self.assertFalse((milo / ".git/rebase-merge").exists())
        self.assertFalse((milo / ".git/rebase-apply").exists())
        self.assertEqual((milo / "README.md").read_text(), "# project by milo\n")
        self.assertIn("docs: my readme", git(milo, "log", "-1", "--format=%s").stdout)
        # recorded in the brain (the seed's "flag conflict in Shared Brain"), id printed
        st, body = call(self.brain.base, "GET", f"/conflicts?project={self.project}", self.tokens["marcus"])
        self.assertEqual(st, 200)
        self.assertEqual(len(body["conflicts"]), 1)
        c = body["conflicts"][0]
        self.assertEqual(p.stdout.strip(), f"conflict {c['id']}")
        self.assertIn(f"conflict #{c['id']}", p.stderr)
        self.assertEqual((c["files"], c["status"], c["coordinator"], c["summary"]), (["README.md"], "open", "marcus", "docs: my readme"))
        self.assertEqual(c["reporter"], {"ai": "gemini", "agent": "milo", "machine": "m2"})
        self.assertTrue(git(milo, "rev-parse", "HEAD").stdout.startswith(c["local_commit"]))
        self.assertTrue(git(self.remote, "rev-parse", "main").stdout.startswith(c["upstream_commit"]))
        # ...with the coordinator's alert, posted in the same transaction
        alerts = [m for m in self.chat() if m["type"] == "alert"]
        self.assertEqual(len(alerts), 1)
        self.assertEqual(alerts[0]["id"], c["chat_id"])
        self.assertIn("marcus", alerts[0]["mentions"])
        self.assertIn("README.md", alerts[0]["message"])
        self.assertEqual(alerts[0]["agent"], "milo")

    def test_remote_without_push_options_gets_the_push_and_the_client_hook_guards_it(self):
        # A plain bare repository, as hosted services are: no receive.advertisePushOptions.
        plain = self.tmp / "plain.git"
        git(self.tmp, "clone", "--quiet", "--bare", str(self.remote), str(plain))
        self.assertNotEqual(git(plain, "config", "receive.advertisePushOptions", check=False).stdout.strip(), "true")
        marcus = self.clone("marcus")
        git(marcus, "remote", "set-url", "origin", str(plain))
        self.install_client_hook("marcus", marcus)
        (marcus / "f.txt").write_text("f\n")
        p = self.push("marcus", "feat: f")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("the remote takes no push options", p.stderr)
        self.assertEqual(git(plain, "show", "main:f.txt").stdout, "f\n")
        self.assertFalse(self.lock_held())
        # ...and without the lock, the client-side hook still refuses a plain git push
        (marcus / "g.txt").write_text("g\n")
        git(marcus, "add", "-A")
        git(marcus, "commit", "--quiet", "-m", "plain push")
        p = git(marcus, "push", "origin", "HEAD:main", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("hostsync pre-push: push refused", p.stderr)
        self.assertNotIn("plain push", git(plain, "log", "--format=%s", "main").stdout)

    def test_new_branch_is_created_then_pushed_to_again(self):
        marcus = self.clone("marcus")
        (marcus / "feature.txt").write_text("v1\n")
        p = self.push("marcus", "feat: start feature", "--branch", "feature")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("branch feature is new on origin", p.stderr)
        self.assertEqual(git(self.remote, "show", "feature:feature.txt").stdout, "v1\n")
        self.assertEqual(git(self.remote, "rev-parse", "feature").stdout.strip(), p.stdout.strip())
        self.assertEqual(len(self.remote_log()), 1)                      # main untouched
        p = self.push("marcus", "chore: nothing", "--branch", "feature")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("nothing to push", p.stderr)
        (marcus / "feature.txt").write_text("v2\n")
        p = self.push("marcus", "feat: more feature", "--branch", "feature")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("is new", p.stderr)
        self.assertEqual(git(self.remote, "show", "feature:feature.txt").stdout, "v2\n")
        st, state = call(self.brain.base, "GET", f"/sync/state?project={self.project}&branch=feature", self.tokens["milo"])
        self.assertEqual((st, state["branch"], state["last_push"]["commit"]), (200, "feature", p.stdout.strip()))

    def test_a_push_to_another_branch_does_not_block_main(self):
        marcus, milo = self.clone("marcus"), self.clone("milo")
        (marcus / "feature.txt").write_text("feature\n")
        self.assertEqual(self.push("marcus", "feat: feature", "--branch", "feature").returncode, 0)
        # milo never saw the feature branch: his push to main is not "stale"
        (milo / "main.txt").write_text("main\n")
        p = self.push("milo", "feat: main work")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.remote_file("main.txt"), "main\n")
        # but on the feature branch he is behind marcus: refused there
        git(milo, "fetch", "--quiet", "origin")
        git(milo, "checkout", "--quiet", "-b", "feature", "origin/main")
        (milo / "other.txt").write_text("other\n")
        p = self.push("milo", "feat: on feature", "--branch", "feature")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("claude/@marcus pushed", p.stderr)
        # the project's latest push (the seed's sync_state) is milo's, whatever the branch
        st, state = call(self.brain.base, "GET", f"/sync/state?project={self.project}", self.tokens["milo"])
        self.assertEqual(state["last_push"]["agent"], "milo")

    def test_conflict_policy_runs_in_the_sandbox(self):
        witness = self.tmp / "policy-ran-a-command"
        evil = self.tmp / "evil.lua"
        evil.write_text(DEFAULT_POLICY.replace("function M.resolve(path, me)\n",
                                               f"function M.resolve(path, me)\n  os.execute('touch {witness}')\n"))
        marcus, milo = self.clone("marcus"), self.clone("milo")
        (marcus / "design/hero.css").write_text("hero { color: teal; }\n")
        self.assertEqual(self.push("marcus", "style: teal").returncode, 0)
        (milo / "design/hero.css").write_text("hero { color: red; }\n")
        p = self.push("milo", "style: red", "--pull", "--policy", str(evil))
        self.assertEqual(p.returncode, 4, p.stderr)      # the policy failed: left to the coordinator
        self.assertIn("conflict policy failed on design/hero.css", p.stderr)
        self.assertIn("execute", p.stderr)
        self.assertFalse(witness.exists())
        self.assertFalse(self.lock_held())
        # a policy that does not load stops push.lua before it takes the lock
        broken = self.tmp / "broken.lua"
        broken.write_text("return { resolve = function( end }\n")
        (milo / "x.txt").write_text("x\n")
        p = self.push("milo", "feat: x", "--policy", str(broken))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("broken.lua", p.stderr)
        # two pushes took the lock (tokens 1 and 2); the broken run never did
        st, g = call(self.brain.base, "POST", f"/locks/push:{self.project}/acquire", self.tokens["marcus"],
                     {"project": self.project})
        self.assertEqual((st, g["fencing_token"]), (200, 3))

    def test_installed_tree_finds_the_default_policy_from_anywhere(self):
        prefix = self.tmp / "prefix"
        build_dir = os.environ.get("HOSTSYNC_BUILD_DIR") or str(pathlib.Path(HOSTSYNC).parent)
        subprocess.run(["cmake", "--install", build_dir, "--prefix", str(prefix)], check=True, capture_output=True)
        installed = prefix / "bin" / "hostsync"
        priya, milo = self.clone("priya"), self.clone("milo")
        (priya / "design/hero.css").write_text("hero { color: teal; }\n")
        self.assertEqual(self.push("priya", "style: teal").returncode, 0)
        (milo / "design/hero.css").write_text("hero { color: red; }\n")
        elsewhere = self.tmp / "elsewhere"
        elsewhere.mkdir()
        env = {k: v for k, v in GIT_ENV.items() if k != "HOSTSYNC_PATH"}
        p = subprocess.run([str(installed), "run", "push.lua", "--server", self.brain.base, "--token-file",
                            str(self.token_files["milo"]), "--project", self.project, "--message", "fix: red",
                            "--repo", str(milo), "--pull"], capture_output=True, text=True, env=env, timeout=120,
                           cwd=elsewhere)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("design/hero.css resolved to the remote's side (owner @priya)", p.stderr)
        self.assertEqual(self.remote_file("design/hero.css"), "hero { color: teal; }\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
