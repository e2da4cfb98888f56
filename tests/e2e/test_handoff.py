"""handoff.lua against a real `hostsync serve` (SQLite) and a real git clone: the handoff
record, its chat message, the receiver's tasks, the session summary rendered from the
default and a custom template with the files git reports, and template/input errors that
leave nothing recorded (docs/brain.md, "Handoffs: handoff.lua")."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOSTSYNC  # noqa: E402
from brain_support import Brain, call, make_token  # noqa: E402

GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", GIT_TERMINAL_PROMPT="0",
               GIT_AUTHOR_NAME="Agent", GIT_AUTHOR_EMAIL="agent@example.invalid",
               GIT_COMMITTER_NAME="Agent", GIT_COMMITTER_EMAIL="agent@example.invalid")
RUN_ENV = {k: v for k, v in GIT_ENV.items() if not k.startswith("HOSTSYNC_BRAIN_")}
TIME_LINE = re.compile(r"^\*\*Time:\*\* \d{4}-\d\d-\d\d \d\d:\d\d UTC$", re.M)


def git(cwd, *args):
    p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=GIT_ENV, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}")
    return p.stdout.strip()


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class HandoffTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-handoff-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        db = self.tmp / "brain.sqlite"
        self.tokens = {}
        for ai, agent, machine, projects in [("claude", "marcus", "jonny-desktop", "*"), ("gemini", "milo", "m2", "*"),
                                             ("grok", "grace", "m3", "village-bakery")]:
            t = make_token(db, ai, agent, machine, projects)
            self.tokens[agent] = t
            write(self.tmp / f"{agent}.token", t + "\n")
        self.brain = Brain(self, db)
        self.repo = self.tmp / "site"
        git(self.tmp, "init", "--quiet", "--initial-branch=main", str(self.repo))
        write(self.repo / "README.md", "# DJ Waste\n")
        write(self.repo / "src/components/Hero.tsx", "hero v1\n")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "--quiet", "-m", "initial")
        self.start = git(self.repo, "rev-parse", "HEAD")

    def handoff(self, *args, agent="marcus", cwd=None):
        command = list(args[:1]) if args[:1] and args[0] in ("inbox", "list", "show", "ack") else []
        return subprocess.run([HOSTSYNC, "run", "handoff.lua", *command, "--server", self.brain.base,
                               "--token-file", str(self.tmp / f"{agent}.token"), *args[len(command):]],
                              capture_output=True, text=True, timeout=120, env=RUN_ENV, cwd=cwd or self.repo)

    def get(self, path, agent="marcus"):
        st, v = call(self.brain.base, "GET", path, self.tokens[agent])
        self.assertEqual(st, 200, v)
        return v

    def nothing_recorded(self):
        self.assertEqual(self.get("/handoffs")["handoffs"], [])
        self.assertEqual(self.get("/tasks")["tasks"], [])
        self.assertEqual(self.get("/chat?since=0")["messages"], [])

    def session_work(self):
        """A commit after --since plus uncommitted work: an edit, a new file, a staged file."""
        write(self.repo / "src/components/Hero.tsx", "hero v2\n")
        write(self.repo / "src/components/Services.tsx", "services\n")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "--quiet", "-m", "feat: hero and services")
        write(self.repo / "README.md", "# DJ Waste\npremium industrial\n")        # unstaged
        write(self.repo / "src/styles/mobile.css", "a { }\n")                     # untracked
        write(self.repo / "docs/notes with space.md", "n\n")
        git(self.repo, "add", "docs")                                              # staged

    def test_handoff_recorded_chat_tasks_and_summary(self):
        self.session_work()
        out = self.tmp / "handoff.md"
        p = self.handoff("--to", "@Milo", "--project", "dj-waste", "--title", "DJ Waste Content Refresh",
                         "--artifact", "hero-section-v2.tsx", "--context", "Client wants \"premium industrial\" feel.",
                         "--depends-on", "brand_guide=applied", "--depends-on", "breakpoints",
                         "--task", "Complete mobile QA", "--task=SEO gate review",
                         "--completed", "Hero section copy (@Rowan)", "--completed", "Desktop design (@Priya)",
                         "--in-progress", "Mobile QA (@Milo) - BLOCKED on touch target audit",
                         "--next", "Complete mobile audit", "--next", "Deploy to staging",
                         "--blockers", "Touch target audit", "--since", self.start, "--out", str(out))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "")

        handoffs = self.get("/handoffs?to=milo")["handoffs"]
        self.assertEqual(len(handoffs), 1)
        h = handoffs[0]
        self.assertEqual((h["from_agent"], h["from_ai"], h["to_agent"], h["artifact"], h["project_id"], h["context"]),
                         ("marcus", "claude", "milo", "hero-section-v2.tsx", "dj-waste",
                          "Client wants \"premium industrial\" feel."))
        self.assertEqual(h["dependencies"], {"brand_guide": "applied", "breakpoints": True})

        msgs = self.get("/chat?since=0")["messages"]
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual((m["type"], m["agent"], m["project"], m["mentions"], m["metadata"]),
                         ("handoff", "marcus", "dj-waste", ["milo"], {"handoff_id": h["id"]}))
        self.assertEqual(m["message"], "SESSION HANDOFF to @milo: DJ Waste Content Refresh\n"
                                       "Artifact: hero-section-v2.tsx\n"
                                       "Tasks for @milo: Complete mobile QA; SEO gate review\n"
                                       "Blocking: Touch target audit")

        tasks = self.get("/tasks?assigned_to=milo")["tasks"]
        self.assertEqual([(t["title"], t["status"], t["created_by"], t["project_id"]) for t in tasks],
                         [("Complete mobile QA", "open", "marcus", "dj-waste"),
                          ("SEO gate review", "open", "marcus", "dj-waste")])
        self.assertIn(f"handoff: #{h['id']} to @milo recorded (chat #{m['id']}, tasks #{tasks[0]['id']} #{tasks[1]['id']}, "
                      f"summary stored and in {out})", p.stderr)

        text = out.read_text()
        self.assertEqual(len(TIME_LINE.findall(text)), 1, text)
        self.assertEqual(TIME_LINE.sub("**Time:** T", text), """\
## Session Handoff: DJ Waste Content Refresh
**From:** claude/@marcus (jonny-desktop)
**To:** @milo
**Time:** T
**Project:** dj-waste
**Artifact:** `hero-section-v2.tsx`

### Completed
- [x] Hero section copy (@Rowan)
- [x] Desktop design (@Priya)

### In Progress
- [ ] Mobile QA (@Milo) - BLOCKED on touch target audit

### Next Steps
1. Complete mobile audit
2. Deploy to staging

### Tasks for @milo
- [ ] Complete mobile QA
- [ ] SEO gate review

### Key Files Changed
- `README.md`
- `docs/notes with space.md`
- `src/components/Hero.tsx`
- `src/components/Services.tsx`
- `src/styles/mobile.css`

### Blockers
- Touch target audit

### Context
Client wants "premium industrial" feel.

**Depends on:**
- brand_guide: applied
- breakpoints
""")
        # written atomically: no temporary file left beside it
        self.assertEqual(sorted(x.name for x in self.tmp.iterdir() if x.name.startswith(".")), [])
        # The same summary is stored with the handoff: the receiver reads it from the brain.
        stored = self.get(f"/handoffs/{h['id']}", agent="milo")
        self.assertEqual((stored["summary"], stored["has_summary"], stored["status"]), (text, True, "open"))
        self.assertTrue(h["has_summary"])
        self.assertNotIn("summary", h, "lists leave summaries out")
        self.assertEqual(git(self.repo, "rev-parse", "refs/hostsync/last-handoff"), git(self.repo, "rev-parse", "HEAD"))

        # The next handoff without --since covers what came after this one (and what is
        # still uncommitted); with nothing to report the sections say None, on stdout.
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "--quiet", "-m", "wip")
        write(self.repo / "src/components/Footer.tsx", "footer\n")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "--quiet", "-m", "footer")
        write(self.repo / "src/components/Hero.tsx", "hero v3\n")
        p = self.handoff("--to", "priya", agent="milo")
        self.assertEqual(p.returncode, 0, p.stderr)
        files = p.stdout.split("### Key Files Changed\n", 1)[1].split("\n\n", 1)[0]
        self.assertEqual(files.splitlines(), ["- `README.md`", "- `docs/notes with space.md`", "- `src/components/Footer.tsx`",
                                              "- `src/components/Hero.tsx`", "- `src/styles/mobile.css`"])
        self.assertIn("**From:** gemini/@milo (m2)\n**To:** @priya\n", p.stdout)
        self.assertIn("### Completed\n- None\n", p.stdout)
        self.assertIn("### Context\nNone\n", p.stdout)
        self.assertNotIn("**Project:**", p.stdout)
        self.assertNotIn("Tasks for", p.stdout)
        self.assertEqual(len(self.get("/handoffs")["handoffs"]), 2)
        self.assertEqual(self.get("/chat?since=1")["messages"][0]["message"],
                         "SESSION HANDOFF to @priya: session\nBlocking: none")

    def test_custom_template(self):
        self.session_work()
        tpl = self.tmp / "mine.md"
        tpl.write_text("# {{ title }} for @{{to_agent}} (handoff #{{handoff_id}}, chat #{{chat_id}})\n"
                       "{{#files_changed}}\n"
                       "{{index}}. {{.}}\n"
                       "{{/files_changed}}\n"
                       "Tasks: {{tasks_count}}{{^tasks}}none{{/tasks}}\n"
                       "{{#blockers}}BLOCKED: {{.}}; {{/blockers}}{{^blockers}}clear{{/blockers}}\n"
                       "Range: {{changes_range}}\n")
        out = self.tmp / "out" / "summary.md"
        out.parent.mkdir()
        out.write_text("old summary\n")
        p = self.handoff("--to", "milo", "--template", str(tpl), "--out", str(out), "--blockers", "a",
                         "--blockers", "b", "--since", "HEAD", "--artifact", "hero")
        self.assertEqual(p.returncode, 0, p.stderr)
        hid = self.get("/handoffs")["handoffs"][0]["id"]
        cid = self.get("/chat?since=0")["messages"][0]["id"]
        self.assertEqual(out.read_text(), f"# hero for @milo (handoff #{hid}, chat #{cid})\n"
                                          "1. README.md\n2. docs/notes with space.md\n3. src/styles/mobile.css\n"
                                          "Tasks: none\nBLOCKED: a; BLOCKED: b; \nRange: HEAD..HEAD\n")
        self.assertEqual(os.listdir(out.parent), ["summary.md"])

    def test_the_receiver_reads_the_summary_and_acknowledges(self):
        p = self.handoff("--to", "Milo", "--project", "dj-waste", "--artifact", "hero.tsx", "--task", "Mobile QA",
                         "--completed", "Desktop design", "--since", "HEAD", "--out", str(self.tmp / "sent.md"))
        self.assertEqual(p.returncode, 0, p.stderr)
        sent = (self.tmp / "sent.md").read_text()
        hid = self.get("/handoffs")["handoffs"][0]["id"]
        # milo's inbox: the handoff and the task, one line each, and the cursor to resume from.
        p = self.handoff("inbox", agent="milo")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 2, p.stdout)
        self.assertRegex(lines[0], rf"^#\d+ \S+Z claude/@marcus handoff handoff #{hid} to @milo: hero\.tsx$")
        self.assertRegex(lines[1], r'^#\d+ \S+Z claude/@marcus task task #\d+ "Mobile QA" \[open, @milo\]: ')
        last = int(lines[1].split()[0][1:])
        self.assertIn(f"handoff: inbox: 2 entries; resume with --since {last}", p.stderr)
        self.assertEqual(self.handoff("inbox", "--since", str(last), agent="milo").stdout, "")
        # list and show: the summary comes from the brain, as it was sent.
        p = self.handoff("list", "--mine", "--status", "open", agent="milo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, rf"^#{hid} \S+Z @marcus -> @milo \[open\] hero\.tsx \(dj-waste\)\n$")
        p = self.handoff("show", str(hid), agent="milo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith("\n\n" + sent), p.stdout)
        # Only the receiver acknowledges, once; the chat says so, mentioning the sender.
        p = self.handoff("ack", str(hid), "--note", "picking up now")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"handoff: ack #{hid}: 403 @marcus may not acknowledge handoff {hid}: only its receiver @milo may",
                      p.stderr)
        p = self.handoff("ack", str(hid), "--note", "picking up now", agent="milo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, rf"^handoff #{hid} acknowledged by @milo at \S+Z \(chat #\d+\)\n$")
        p = self.handoff("ack", str(hid), agent="milo")
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, rf"handoff: ack #{hid}: 409 handoff {hid} was already acknowledged by @milo at \S+Z")
        stored = self.get(f"/handoffs/{hid}")
        self.assertEqual((stored["status"], stored["acknowledged_by"], stored["acknowledged_by_ai"], stored["ack_note"]),
                         ("acknowledged", "milo", "gemini", "picking up now"))
        ack = self.get("/chat?since=0")["messages"][-1]
        self.assertEqual((ack["type"], ack["agent"], ack["mentions"], ack["metadata"]),
                         ("handoff", "milo", ["marcus"], {"handoff_id": hid, "acknowledged": True}))
        self.assertEqual(ack["message"], f"@marcus handoff #{hid} (hero.tsx) picked up by milo (gemini on m2): picking up now")
        p = self.handoff("inbox", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        entries = [__import__("json").loads(x) for x in p.stdout.splitlines()]
        self.assertEqual([(e["kind"], e["by"]["agent"], e["handoff"]["id"], e["note"]) for e in entries],
                         [("handoff_ack", "milo", hid, "picking up now")])
        # grace (village-bakery only) cannot see it: not found, not forbidden.
        p = self.handoff("show", str(hid), agent="grace")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"handoff: show #{hid}: 404 no handoff {hid}", p.stderr)

    def test_a_summary_too_large_for_the_brain_is_still_written(self):
        out = self.tmp / "big.md"
        p = self.handoff("--to", "milo", "--since", "HEAD", "--out", str(out),
                         *[x for i in range(70) for x in ("--completed", f"step {i} " + "x" * 1000)])
        self.assertEqual(p.returncode, 1, p.stderr)
        hid = self.get("/handoffs")["handoffs"][0]["id"]
        self.assertIn(f"handoff: #{hid} recorded, but storing its summary in the brain failed: 400 field 'summary' is "
                      f"longer than 65536 bytes (it is in {out})", p.stderr)
        self.assertGreater(len(out.read_text()), 65536)
        self.assertIsNone(self.get(f"/handoffs/{hid}")["summary"])

    def test_bad_template_and_bad_input_record_nothing(self):
        bad = {
            "typo.md": ("# {{title}}\n\n{{#completed}}\n- {{nmae}}\n{{/completed}}\n", "typo.md:4: unknown placeholder {{nmae}}"),
            "crossed.md": ("{{#completed}}\n{{#next_steps}}\n{{/completed}}\n", "crossed.md:3: {{/completed}} closes {{#next_steps}} (opened on line 2)"),
            "open.md": ("x\n{{#blockers}}\n- {{.}}\n", "open.md:2: {{#blockers}} is never closed"),
            "list.md": ("{{files_changed}}\n", "list.md:1: {{files_changed}} is a list: use {{#files_changed}} ... {{/files_changed}}"),
            "dot.md": ("a\nb {{.}}\n", "dot.md:2: {{.}} outside a {{#section}}"),
            "brace.md": ("ok\n\n\nbroken {{title\n", "brace.md:4: '{{' without a closing '}}'"),
        }
        for name, (text, err) in bad.items():
            with self.subTest(template=name):
                tpl = self.tmp / name
                tpl.write_text(text)
                p = self.handoff("--to", "milo", "--task", "x", "--template", str(tpl))
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(p.stderr.strip(), f"handoff: bad template: {tpl.parent}/{err}")
        not_git = self.tmp / "plain"
        not_git.mkdir()
        cases = [
            ((), 2, "--to is required"),
            (("--to", "not an agent"), 2, "--to must be an agent name, got 'not an agent'"),
            (("ack",), 2, "ack needs one handoff ID"),
            (("show", "x"), 2, "show needs one handoff ID"),
            (("list", "--to", "m i"), 2, "--to: 'm i' is not an agent name"),
            (("list", "--status", "done"), 2, "--status must be open or acknowledged, got 'done'"),
            (("inbox", "--note", "x"), 2, "--note does not apply to 'inbox'"),
            (("--to", "milo", "--task"), 2, "option --task needs a value"),
            (("--to", "milo", "--next", " "), 2, "option --next needs a non-empty value"),
            (("--to", "milo", "--since", "no-such-ref"), 1, "handoff: --since no-such-ref: not a commit in ."),
            (("--to", "milo", "--repo", str(not_git)), 1, f"handoff: {not_git} is not a git work tree (use --repo DIR)"),
            (("--to", "milo", "--template", str(self.tmp / "missing.md")), 1, "handoff: cannot read template"),
            (("--to", "milo", "stray"), 2, "unexpected argument 'stray'"),
        ]
        for args, code, text in cases:
            with self.subTest(args=args):
                p = self.handoff(*args)
                self.assertEqual(p.returncode, code, p.stderr)
                self.assertIn(text, p.stderr)
        # grace may only use village-bakery: the brain refuses, nothing is half-recorded
        p = self.handoff("--to", "milo", "--project", "dj-waste", "--task", "x", agent="grace")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("handoff: recording the handoff: 403 this token may not use project 'dj-waste'", p.stderr)
        self.nothing_recorded()
        self.assertEqual(subprocess.run(["git", "rev-parse", "--verify", "--quiet", "refs/hostsync/last-handoff"],
                                        cwd=self.repo, capture_output=True, env=GIT_ENV).returncode, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
