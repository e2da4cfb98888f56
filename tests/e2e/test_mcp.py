"""`hostsync mcp` driven by the official MCP TypeScript SDK's client (@modelcontextprotocol/sdk,
tests/mcp/client.mjs) against a real `hostsync serve`, a real git remote and SQLite:
initialize and version negotiation, the tool list, every default tool, malformed calls,
and tools a user adds or replaces from a directory (docs/mcp.md)."""
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from brain_support import Brain, call, make_token
from harness import HOSTSYNC, SOURCE_DIR

CLIENT = SOURCE_DIR / "tests/mcp/client.mjs"
DEFAULT_TOOLS = {"brain_status", "lock_acquire", "lock_renew", "lock_release", "push", "chat_post", "chat_read",
                 "chat_wait_for_mention", "handoff_create", "handoff_list", "handoff_ack", "task_create",
                 "task_update", "task_list", "inbox"}
GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", GIT_TERMINAL_PROMPT="0",
               GIT_AUTHOR_NAME="Agent", GIT_AUTHOR_EMAIL="agent@example.invalid",
               GIT_COMMITTER_NAME="Agent", GIT_COMMITTER_EMAIL="agent@example.invalid")
NO_BRAIN_ENV = {k: v for k, v in GIT_ENV.items() if not k.startswith("HOSTSYNC_BRAIN_")}


def git(cwd, *args):
    p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=GIT_ENV, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}")
    return p.stdout.strip()


def text_of(result):
    return "".join(c.get("text", "") for c in result["content"])


class McpTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-mcp-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.db = self.tmp / "brain.sqlite"
        self.token_files = {}
        for ai, agent, projects in [("claude", "marcus", "web"), ("gemini", "milo", "web"), ("grok", "grace", "other")]:
            f = self.tmp / f"{agent}.token"
            f.write_text(make_token(self.db, ai, agent, "m1", projects) + "\n")
            self.token_files[agent] = f
        self.brain = Brain(self, self.db, threads=4)

    def token(self, agent):
        return self.token_files[agent].read_text().strip()

    def client(self, agent, calls, extra_args=(), env=None):
        """Runs the SDK client against `hostsync mcp` as `agent` -> its report."""
        plan = {"command": HOSTSYNC, "args": ["mcp", "--server", self.brain.base,
                                              "--token-file", str(self.token_files[agent]), *extra_args],
                "env": env or {}, "calls": calls}
        p = subprocess.run(["node", str(CLIENT), json.dumps(plan)], capture_output=True, text=True,
                           timeout=300, env=NO_BRAIN_ENV, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def rows(self, sql, *params):
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, params)]
        finally:
            con.close()

    def test_initialize_negotiates_the_current_revision_and_lists_the_default_tools(self):
        out = self.client("marcus", [])
        self.assertEqual(out["protocolVersion"], "2025-11-25")
        self.assertEqual(out["serverVersion"]["name"], "hostsync")
        self.assertIn("tools", out["capabilities"])
        self.assertIn(self.brain.base, out["instructions"])
        names = {t["name"] for t in out["tools"]}
        self.assertEqual(names, DEFAULT_TOOLS)
        for t in out["tools"]:
            self.assertEqual(t["inputSchema"]["type"], "object", t["name"])
            self.assertTrue(t["description"], t["name"])
            self.assertIsInstance(t["inputSchema"]["properties"], dict, t["name"])

    def test_locks_chat_and_status_through_the_tools(self):
        call(self.brain.base, "POST", "/chat", self.token("milo"), {"message": "@marcus please look", "project": "web"})
        out = self.client("marcus", [
            {"name": "brain_status", "arguments": {"project": "web"}},
            {"name": "lock_acquire", "arguments": {"lock": "push:web", "ttl_seconds": 600, "reason": "release"}},
            {"name": "lock_acquire", "arguments": {"lock": "push:web"}},
            {"name": "brain_status", "arguments": {"project": "web"}},
            {"name": "lock_renew", "arguments": {"lock": "push:web", "fencing_token": 1, "ttl_seconds": 900}},
            {"name": "lock_release", "arguments": {"lock": "push:web", "fencing_token": 1}},
            {"name": "lock_release", "arguments": {"lock": "push:web", "fencing_token": 1}},
            {"name": "lock_acquire", "arguments": {"lock": "push:other"}},
            {"name": "chat_post", "arguments": {"message": "@milo done, over to you", "project": "web"}},
            {"name": "chat_read", "arguments": {"since": 0, "only_mentions": True}},
            {"name": "chat_wait_for_mention", "arguments": {"since": 0, "timeout_seconds": 5}},
            {"name": "chat_wait_for_mention", "arguments": {"timeout_seconds": 1}},
        ])
        res = [c["result"] for c in out["calls"]]
        status0, grant, held, status1, renewed, released, again, other, posted, mentions, waited, quiet = res
        self.assertFalse(status0.get("isError"), text_of(status0))
        self.assertEqual((status0["structuredContent"]["push_lock"]["held"], status0["structuredContent"]["me"]["agent"]),
                         (False, "marcus"))
        self.assertEqual(grant["structuredContent"]["fencing_token"], 1)
        self.assertTrue(held["isError"])
        self.assertRegex(text_of(held), r"^lock push:web is held by claude/@marcus \(machine m1\) until \d{4}-.*"
                                        r"\(reason: release\)")
        self.assertTrue(status1["structuredContent"]["push_lock"]["held"])
        self.assertFalse(renewed.get("isError"), text_of(renewed))
        self.assertFalse(released.get("isError"), text_of(released))
        self.assertTrue(again["isError"])          # released already: the server's refusal, named
        self.assertIn("409", text_of(again))
        self.assertTrue(other["isError"])          # another project's lock: refused by the server
        self.assertIn("403", text_of(other))
        self.assertFalse(posted.get("isError"), text_of(posted))
        self.assertEqual([m["message"] for m in mentions["structuredContent"]["messages"]], ["@marcus please look"])
        self.assertEqual(([m["message"] for m in waited["structuredContent"]["messages"]], waited["structuredContent"]["timed_out"]),
                         (["@marcus please look"], False))
        self.assertEqual((quiet["structuredContent"]["messages"], quiet["structuredContent"]["timed_out"]), ([], True))
        # What is stored: the message is marcus's (identity from the token), the lock is free.
        msgs = self.rows("SELECT agent_id, ai_source, message FROM chatroom ORDER BY seq")
        self.assertEqual([(m["agent_id"], m["ai_source"]) for m in msgs if m["message"].startswith("@milo done")],
                         [("marcus", "claude")])
        self.assertEqual(self.rows("SELECT id FROM sync_locks WHERE id = 'push:other'"), [])
        st, lock = call(self.brain.base, "GET", "/locks/push:web", self.token("milo"))
        self.assertEqual((st, lock["held"]), (200, False))

    def test_handoffs_tasks_and_inbox_through_the_tools(self):
        marcus = self.client("marcus", [
            {"name": "handoff_create", "arguments": {"to_agent": "@Milo", "artifact": "hero section", "project": "web",
                                                      "summary": "## Completed\n- hero"}},
            {"name": "task_create", "arguments": {"title": "review hero", "project": "web", "assigned_to": "milo"}},
            {"name": "handoff_ack", "arguments": {"id": 1}},
            {"name": "task_update", "arguments": {"id": 1, "status": "in_progress", "note": "started"}},
            {"name": "task_update", "arguments": {"id": 1}},
        ])
        created, task, not_mine, updated, nothing = [c["result"] for c in marcus["calls"]]
        for r in (created, task, updated):
            self.assertFalse(r.get("isError"), text_of(r))
        self.assertTrue(not_mine["isError"])          # only the receiver acknowledges
        self.assertIn("403", text_of(not_mine))
        self.assertTrue(nothing["isError"])
        self.assertIn("nothing to change", text_of(nothing))
        milo = self.client("milo", [
            {"name": "inbox", "arguments": {}},
            {"name": "handoff_list", "arguments": {"to": "milo", "status": "open"}},
            {"name": "handoff_ack", "arguments": {"id": 1}},
            {"name": "handoff_ack", "arguments": {"id": 1}},
            {"name": "task_update", "arguments": {"id": 1, "status": "done"}},
            {"name": "task_list", "arguments": {"project": "web", "status": "done"}},
        ])
        inbox, listed, acked, twice, done, tasks = [c["result"] for c in milo["calls"]]
        self.assertFalse(inbox.get("isError"), text_of(inbox))
        kinds = {i["kind"] for i in inbox["structuredContent"]["entries"]}
        self.assertTrue({"handoff", "task"} <= kinds, inbox["structuredContent"])
        self.assertEqual([h["artifact"] for h in listed["structuredContent"]["handoffs"]], ["hero section"])
        self.assertFalse(acked.get("isError"), text_of(acked))
        self.assertTrue(twice["isError"])
        self.assertIn("409", text_of(twice))
        self.assertFalse(done.get("isError"), text_of(done))
        self.assertEqual([t["title"] for t in tasks["structuredContent"]["tasks"]], ["review hero"])
        # What is stored.
        [h] = self.rows("SELECT to_agent, acknowledged_by FROM handoffs")
        self.assertEqual((h["to_agent"], h["acknowledged_by"]), ("milo", "milo"))
        [t] = self.rows("SELECT status, assigned_to, created_by FROM tasks")
        self.assertEqual((t["status"], t["assigned_to"], t["created_by"]), ("done", "milo", "marcus"))

    def test_push_tool_runs_the_push_workflow(self):
        remote = self.tmp / "remote.git"
        git(self.tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
        clone = self.tmp / "clone"
        git(self.tmp, "clone", "--quiet", str(remote), str(clone))
        (clone / "README.md").write_text("# web\n")
        git(clone, "add", "-A")
        git(clone, "commit", "--quiet", "-m", "initial")
        git(clone, "push", "--quiet", "origin", "HEAD:main")
        (clone / "hero.txt").write_text("hero\n")
        out = self.client("marcus", [
            {"name": "push", "arguments": {"project": "web", "message": "feat: hero", "repo": str(clone)}},
            {"name": "push", "arguments": {"project": "web", "message": "feat: again", "repo": str(clone)}},
            {"name": "push", "arguments": {"project": "web", "message": "x", "repo": str(self.tmp / "missing")}},
        ])
        pushed, nothing, broken = [c["result"] for c in out["calls"]]
        self.assertFalse(pushed.get("isError"), text_of(pushed))
        self.assertEqual(pushed["structuredContent"]["commit"], git(remote, "rev-parse", "main"))
        self.assertIn("[Jai.OS] claude/@marcus", git(remote, "log", "-1", "--format=%B", "main"))
        self.assertTrue(nothing["structuredContent"]["nothing_to_push"])
        self.assertTrue(broken["isError"])
        self.assertIn("push failed", text_of(broken))

    def test_malformed_calls_are_tool_errors_or_protocol_errors_never_a_crash(self):
        out = self.client("marcus", [
            {"name": "lock_acquire", "arguments": {"lock": 5}},
            {"name": "lock_acquire", "arguments": {}},
            {"name": "lock_acquire", "arguments": {"lock": "x", "bogus": True}},
            {"name": "task_update", "arguments": {"id": 1, "status": "finished"}},
            {"name": "no_such_tool", "arguments": {}},
            {"raw": {"method": "no/such/method", "params": {}}},
            {"name": "chat_post", "arguments": {"message": "still serving"}},
        ])
        wrong_type, missing, unknown_prop, bad_enum, no_tool, no_method, ok = out["calls"]
        self.assertIn("at $.lock: expected string, got integer", text_of(wrong_type["result"]))
        self.assertIn("missing required property 'lock'", text_of(missing["result"]))
        self.assertIn("unknown property 'bogus'", text_of(unknown_prop["result"]))
        self.assertIn('at $.status: must be one of "open", "in_progress", "blocked", "done"', text_of(bad_enum["result"]))
        for r in (wrong_type, missing, unknown_prop, bad_enum):
            self.assertTrue(r["result"]["isError"])
        self.assertIn("unknown tool: no_such_tool", json.dumps(no_tool))
        self.assertEqual(no_method["error"]["code"], -32601)
        self.assertFalse(ok["result"].get("isError"), text_of(ok["result"]))
        # Nothing was stored by the refused calls: no lock named "x".
        self.assertEqual(self.rows("SELECT id FROM sync_locks"), [])

    def test_user_tools_from_a_directory_add_and_replace(self):
        mine = self.tmp / "my" / "mcp" / "tools"
        mine.mkdir(parents=True)
        (mine / "team_hello.lua").write_text('''return {
  name = "team_hello", description = "Greets the team in the chat.",
  inputSchema = { type = "object", properties = { who = { type = "string" } }, required = { "who" } },
  handler = function(args, ctx)
    return ctx.call("POST", "/chat", { message = "hello " .. args.who .. " from a user tool" }, 201)
  end,
}
''')
        (mine / "chat_read.lua").write_text('''return {
  name = "chat_read", description = "Replaced by the user.",
  inputSchema = { type = "object", properties = {} },
  handler = function() return { replaced = true } end,
}
''')
        out = self.client("marcus", [{"name": "team_hello", "arguments": {"who": "everyone"}},
                                     {"name": "chat_read", "arguments": {}}],
                          env={"HOSTSYNC_PATH": str(self.tmp / "my")})
        names = {t["name"] for t in out["tools"]}
        self.assertEqual(names, DEFAULT_TOOLS | {"team_hello"})
        self.assertEqual([t["description"] for t in out["tools"] if t["name"] == "chat_read"], ["Replaced by the user."])
        hello, replaced = [c["result"] for c in out["calls"]]
        self.assertFalse(hello.get("isError"), text_of(hello))
        self.assertEqual(replaced["structuredContent"], {"replaced": True})
        self.assertEqual([m["agent_id"] for m in self.rows("SELECT agent_id FROM chatroom WHERE message LIKE 'hello everyone%'")],
                         ["marcus"])
        # --tools DIR comes before the search path
        first = self.tmp / "first"
        first.mkdir()
        (first / "team_hello.lua").write_text(
            'return { name = "team_hello", description = "From --tools.", inputSchema = { type = "object" },\n'
            '  handler = function() return "first" end }\n')
        out = self.client("marcus", [{"name": "team_hello", "arguments": {}}], extra_args=("--tools", str(first)),
                          env={"HOSTSYNC_PATH": str(self.tmp / "my")})
        self.assertEqual(text_of(out["calls"][0]["result"]), "first")

    def mcp(self, *args, env=None, stdin=""):
        return subprocess.run([HOSTSYNC, "mcp", "--server", self.brain.base, "--token-file",
                               str(self.token_files["marcus"]), *args], input=stdin, capture_output=True, text=True,
                              timeout=120, env=dict(NO_BRAIN_ENV, **(env or {})))

    def test_a_broken_tool_file_stops_the_server_naming_it(self):
        d = self.tmp / "broken"
        d.mkdir()
        (d / "oops.lua").write_text("return { name = 'oops', description = 'x', handler = function( end }\n")
        p = self.mcp("--tools", str(d))
        self.assertEqual(p.returncode, 1)
        self.assertIn(str(d / "oops.lua"), p.stderr)
        (d / "oops.lua").write_text("return { name = 'oops', description = 'x', inputSchema = { type = 'object', "
                                    "properties = { a = { oneOf = {} } } }, handler = function() end }\n")
        p = self.mcp("--tools", str(d))
        self.assertEqual(p.returncode, 1)
        self.assertIn("keyword 'oneOf' is not supported", p.stderr)

    def test_raw_protocol_version_negotiation_and_framing(self):
        lines = [
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {"protocolVersion": "2024-11-05",
                                                                         "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            {"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"protocolVersion": "1999-01-01"}},
            [{"jsonrpc": "2.0", "id": 4, "method": "ping"}],
            {"jsonrpc": "2.0", "id": {"bad": 1}, "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": "s", "method": "ping"},
        ]
        stdin = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n"
        p = self.mcp(stdin=stdin)
        self.assertEqual(p.returncode, 0, p.stderr)
        answers = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual([a.get("id") for a in answers], [1, 2, 3, None, None, "s", None])
        self.assertEqual(answers[0]["error"]["code"], -32600)                 # initialize first
        self.assertEqual(answers[1]["result"]["protocolVersion"], "2024-11-05")
        self.assertEqual(answers[2]["result"]["protocolVersion"], "2025-11-25")
        self.assertEqual(answers[3]["error"]["code"], -32600)                 # no batches
        self.assertEqual(answers[4]["error"]["code"], -32600)                 # bad id
        self.assertEqual(answers[5]["result"], {})
        self.assertEqual(answers[6]["error"]["code"], -32700)
        self.assertTrue(all(a["jsonrpc"] == "2.0" for a in answers))


if __name__ == "__main__":
    unittest.main(verbosity=2)
