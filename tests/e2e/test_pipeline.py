"""SPEC-007 artifact pipeline, steps 1-6, by running the tools as users do. Each test is a
step's proof: registry-only execution, append-only registry with every minimum field,
parent linkage, confinement, no mutation of existing artifacts, determinism."""
import base64
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
import unittest

from harness import SOURCE_DIR, hostsync
from waiting import HANG_GUARD

AT = "2026-11-23T10:00:00Z"
MIN_FIELDS = {"artifact_id", "created_at_utc", "artifact_type", "relpath", "sha256", "byte_size",
              "media_type", "parents", "meta"}
SECRET_INPUT = (b"Plan for the week\r\n- deploy with token ghp_abcdefghijklmnop1234\r\n"
                b"password = hunter2\r\nAWS AKIAABCDEFGHIJKLMNOP\r\n\x01bell\x07 done")


class Repo:
    def __init__(self, test):
        self.path = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-adam-"))
        test.addCleanup(shutil.rmtree, self.path, True)
        self.test = test

    def tool(self, name, *args, at=AT, check=True):
        p = hostsync("run", "adam.lua", name, "--repo", self.path, "--at", at, "--json", *args)
        if check:
            self.test.assertEqual(p.returncode, 0, p.err)
            # split("\n"), not splitlines(): JSON text may hold U+2028 or U+0085 unescaped.
            return [json.loads(l) for l in p.out.split("\n") if l]
        return p

    def registry_bytes(self):
        p = self.path / ".adam_os/artifacts/artifact_registry.jsonl"
        return p.read_bytes() if p.exists() else b""

    def registry(self):
        return [json.loads(l) for l in self.registry_bytes().decode().split("\n") if l]

    def file_hashes(self):
        out = {}
        for p in sorted((self.path / ".adam_os").rglob("*")):
            if p.is_file():
                out[str(p.relative_to(self.path))] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out

    def pipeline(self, src):
        raw = self.tool("artifact_ingest", "--src", src)[0]
        san = self.tool("artifact_sanitize", "--parent", raw["artifact_id"])[0]
        canon = self.tool("artifact_canon_select", "--select", san["artifact_id"])[0]
        bundle = self.tool("context_bundle_build", "--canon", canon["artifact_id"])[0]
        spec = self.tool("spec_generate", "--bundle", bundle["artifact_id"], "--title", "Demo")[0]
        wo = self.tool("work_order_emit", "--spec", spec["artifact_id"])[0]
        return raw, san, canon, bundle, spec, wo


def write_input(test, data=SECRET_INPUT, name="notes.txt"):
    d = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-adam-in-"))
    test.addCleanup(shutil.rmtree, d, True)
    p = d / name
    p.write_bytes(data)
    return p


class PipelineTest(unittest.TestCase):
    def test_full_chain_records_lineage_and_minimum_fields(self):
        repo = Repo(self)
        chain = repo.pipeline(write_input(self))
        types = [r["artifact_type"] for r in chain]
        self.assertEqual(types, ["raw", "sanitized", "canon", "bundle_manifest", "build_spec", "work_order"])
        registry = repo.registry()
        self.assertEqual([r["artifact_id"] for r in registry], [r["artifact_id"] for r in chain])
        for rec in registry:
            self.assertTrue(MIN_FIELDS <= set(rec), rec)
            self.assertEqual(rec["created_at_utc"], AT)
            self.assertTrue(rec["relpath"].startswith(".adam_os/artifacts/"))
            data = (repo.path / rec["relpath"]).read_bytes()
            self.assertEqual(rec["sha256"], hashlib.sha256(data).hexdigest())
            self.assertEqual(rec["byte_size"], len(data))
        self.assertEqual(chain[0]["parents"], [])
        for parent, child in zip(chain, chain[1:]):
            self.assertEqual(child["parents"], [{"artifact_id": parent["artifact_id"], "sha256": parent["sha256"]}])
        receipts = (repo.path / ".adam_os/runs/receipts.jsonl").read_text().splitlines()
        self.assertEqual([json.loads(r)["tool"] for r in receipts], [
            "artifact_ingest", "artifact_sanitize", "artifact_canon_select", "context_bundle_build",
            "spec_generate", "work_order_emit"])

    def test_sanitize_redacts_secrets_and_normalises(self):
        repo = Repo(self)
        raw = repo.tool("artifact_ingest", "--src", write_input(self))[0]
        san = repo.tool("artifact_sanitize", "--parent", raw["artifact_id"])[0]
        text = (repo.path / san["relpath"]).read_bytes()
        for secret in (b"ghp_abcdefghijklmnop1234", b"hunter2", b"AKIAABCDEFGHIJKLMNOP"):
            self.assertNotIn(secret, text)
            self.assertNotIn(secret.decode(), json.dumps(repo.registry()))
        self.assertNotIn(b"\r", text)
        self.assertNotIn(b"\x01", text)
        self.assertNotIn(b"\x07", text)
        self.assertTrue(text.endswith(b"done\n"))
        self.assertEqual(san["meta"]["redactions"]["github_token"], 1)
        self.assertEqual(san["meta"]["redactions"]["key_value_secret"], 1)

    def test_a_replaced_policy_is_used_without_recompiling(self):
        repo = Repo(self)
        policy = write_input(self, b'return { sanitize = function(text) local t, n = text:gsub("Plan", "PLAN") '
                                   b'return { text = t, redactions = { plan = n }, name = "shout" } end }\n',
                             "policy.lua")
        raw = repo.tool("artifact_ingest", "--src", write_input(self))[0]
        san = repo.tool("artifact_sanitize", "--parent", raw["artifact_id"], "--policy", policy)[0]
        self.assertEqual(san["meta"]["policy"], "shout")
        self.assertEqual(san["meta"]["redactions"], {"plan": 1})
        self.assertEqual(san["meta"]["policy_sha256"], hashlib.sha256(policy.read_bytes()).hexdigest())
        self.assertTrue((repo.path / san["relpath"]).read_bytes().startswith(b"PLAN for the week"))
        # A copy of the default policy, rules changed, works as is (it carries sanitize()).
        default = (SOURCE_DIR / "policies/sanitize.lua").read_text()
        copy = write_input(self, default.replace('"default-sanitize-v1"', '"my-copy"').encode(), "copy.lua")
        san = repo.tool("artifact_sanitize", "--parent", raw["artifact_id"], "--policy", copy)[0]
        self.assertEqual(san["meta"]["policy"], "my-copy")
        self.assertEqual(san["meta"]["redactions"]["github_token"], 1)

    def test_a_policy_runs_in_the_sandbox(self):
        """A user-supplied policy cannot run commands, touch files, load modules or run
        forever: it runs in hostsync.sandbox, and nothing is recorded when it fails."""
        repo = Repo(self)
        raw = repo.tool("artifact_ingest", "--src", write_input(self))[0]
        before = repo.registry_bytes()
        witness = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-witness-")) / "ran"
        self.addCleanup(shutil.rmtree, witness.parent, True)
        ok_result = 'return { text = text, redactions = {}, name = "evil" }'
        cases = {
            "os.execute": (f'os.execute("touch {witness}") {ok_result}', "attempt to call field 'execute'"),
            "io.open": (f'io.open("{witness}", "w"):write("x") {ok_result}', "attempt to index global 'io'"),
            "require": (f'require("hostsync.fs").append("{witness}", "x") {ok_result}', "attempt to call global 'require'"),
            "loadfile": (f'loadfile("/etc/hostname") {ok_result}', "attempt to call global 'loadfile'"),
            "runaway loop": ("while true do end", "instruction budget exceeded"),
            "memory bomb": ('local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(1000) .. i end', "memory budget exceeded"),
            "at load time": (f'os.execute("touch {witness}")', "attempt to call field 'execute'"),
        }
        for name, (body, error_pattern) in cases.items():
            with self.subTest(name):
                if name == "at load time":
                    source = body + "\nreturn { sanitize = function(text) " + ok_result + " end }\n"
                else:
                    source = "return { sanitize = function(text) " + body + " end }\n"
                policy = write_input(self, source.encode(), "policy.lua")
                p = repo.tool("artifact_sanitize", "--parent", raw["artifact_id"], "--policy", policy, check=False)
                self.assertEqual(p.returncode, 1, p.err)
                self.assertRegex(p.err, error_pattern)
                self.assertFalse(witness.exists(), "the policy reached the host")
                self.assertEqual(repo.registry_bytes(), before, "nothing is recorded")
                self.assertFalse((repo.path / ".adam_os/artifacts/sanitized").exists())
        # What a policy returns goes into the record's meta: it must be UTF-8 text.
        for bad, message in (('{ text = text, name = "\\255" }', "name must be UTF-8 text"),
                             ('{ text = text, redactions = { ["\\255"] = 1 } }', "rule names (UTF-8 text)"),
                             ('{ text = 42 }', "must return { text = <string>")):
            policy = write_input(self, f"return {{ sanitize = function(text) return {bad} end }}\n".encode(), "p.lua")
            p = repo.tool("artifact_sanitize", "--parent", raw["artifact_id"], "--policy", policy, check=False)
            self.assertEqual(p.returncode, 1, p.err)
            self.assertIn(message, p.err)
            self.assertNotIn("traceback", p.err)
            self.assertEqual(repo.registry_bytes(), before)
        # A policy in the old format (rules, no sanitize function) gets an explanation.
        old = write_input(self, b'return { name = "old", redact = {} }\n', "old.lua")
        p = repo.tool("artifact_sanitize", "--parent", raw["artifact_id"], "--policy", old, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("defines sanitize(text)", p.err)

    def test_default_policy_is_linear_on_long_words(self):
        """A rule starting with a repeated class ("[%w_]*password") was retried from every
        byte of a long word: a 40 KB base64 line took 8 s, 1 MB would take hours. Here 2 MB
        of one word and 1 MB of line feeds go through under the hang guard."""
        repo = Repo(self)
        data = b"a" * (2 << 20) + b" password=hunter2 " + b"\n" * (1 << 20)
        raw = repo.tool("artifact_ingest", "--src", write_input(self, data))[0]
        p = hostsync("run", "adam.lua", "artifact_sanitize", "--repo", repo.path, "--at", AT, "--json",
                     "--parent", raw["artifact_id"], timeout=HANG_GUARD)
        self.assertEqual(p.returncode, 0, p.err)
        san = json.loads(p.out)
        self.assertEqual((repo.path / san["relpath"]).read_bytes(),
                         b"a" * (2 << 20) + b" password=[REDACTED:password] \n")

    def test_spec_is_deterministic_and_records_prompt_meta(self):
        a, b = Repo(self), Repo(self)
        src = write_input(self)
        chain_a = a.pipeline(src)
        chain_b = b.pipeline(src)
        self.assertEqual([r["sha256"] for r in chain_a], [r["sha256"] for r in chain_b])
        spec = chain_a[4]
        self.assertEqual(spec["meta"]["generator"], "template")
        self.assertEqual(spec["meta"]["model"], "none")
        self.assertRegex(spec["meta"]["prompt_template_sha256"], r"^[0-9a-f]{64}$")
        self.assertEqual(spec["meta"]["inputs"], spec["parents"])

    def test_work_order_is_stop_gated(self):
        repo = Repo(self)
        wo = repo.pipeline(write_input(self))[5]
        doc = json.loads((repo.path / wo["relpath"]).read_text())
        self.assertEqual(doc["status"], "STOP_GATED")
        self.assertTrue(doc["steps"])
        self.assertIn("forbidden", doc["execution"])

    def test_rerun_is_idempotent_and_never_mutates(self):
        repo = Repo(self)
        src = write_input(self)
        repo.pipeline(src)
        before_files = repo.file_hashes()
        before_registry = repo.registry_bytes()
        repo.pipeline(src)  # same inputs: same artifacts, no new registry records
        after = repo.file_hashes()
        self.assertEqual(repo.registry_bytes(), before_registry)
        for path, digest in before_files.items():
            if "receipts" not in path:
                self.assertEqual(after[path], digest, path)

    def test_registry_is_append_only_across_new_inputs(self):
        repo = Repo(self)
        repo.pipeline(write_input(self))
        before = repo.registry_bytes()
        repo.pipeline(write_input(self, SECRET_INPUT + b"\nmore"))
        self.assertTrue(repo.registry_bytes().startswith(before))
        self.assertEqual(len(repo.registry()), 12)

    def test_unregistered_tool_and_bad_arguments_are_refused(self):
        repo = Repo(self)
        p = hostsync("run", "adam.lua", "rm_rf", "--repo", repo.path, "--at", AT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a registered tool", p.err)
        p = hostsync("run", "adam.lua", "artifact_ingest", "--repo", repo.path, "--src", "/etc/hostname")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--at TIME is required", p.err)
        p = repo.tool("artifact_ingest", "--src", "/etc/hostname", at="yesterday", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("ISO 8601 UTC", p.err)
        p = repo.tool("artifact_sanitize", "--parent", "raw_doesnotexist", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no artifact raw_doesnotexist", p.err)

    def test_wrong_parent_type_and_modified_parent_are_refused(self):
        repo = Repo(self)
        raw, san = repo.pipeline(write_input(self))[:2]
        p = repo.tool("context_bundle_build", "--canon", san["artifact_id"], check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is a sanitized artifact, expected canon", p.err)
        (repo.path / raw["relpath"]).write_bytes(b"tampered")
        p = repo.tool("artifact_sanitize", "--parent", raw["artifact_id"], "--policy",
                      write_input(self, b"return { name = 'x', redact = {} }", "p.lua"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not match the sha256", p.err)

    def test_symlinked_artifact_dir_escaping_the_root_is_refused(self):
        repo = Repo(self)
        outside = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-outside-"))
        self.addCleanup(shutil.rmtree, outside, True)
        (repo.path / ".adam_os/artifacts").mkdir(parents=True)
        os.symlink(outside, repo.path / ".adam_os/artifacts/raw")
        p = repo.tool("artifact_ingest", "--src", write_input(self), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("symlink", p.err)
        self.assertEqual(list(outside.iterdir()), [])

    def test_registry_relpath_outside_the_artifact_root_is_refused(self):
        repo = Repo(self)
        repo.tool("artifact_ingest", "--src", write_input(self))
        for relpath in ("../../../etc/hostname", ".adam_os/artifacts/raw/../../../etc/hostname", "/etc/hostname",
                        ".adam_os/runs/receipts.jsonl"):
            with self.subTest(relpath=relpath):
                forged = {"artifact_id": "raw_forged" + str(len(relpath)), "artifact_type": "raw",
                          "created_at_utc": AT, "relpath": relpath, "sha256": "0" * 64, "byte_size": 1,
                          "media_type": "text/plain", "parents": [], "meta": {}}
                with open(repo.path / ".adam_os/artifacts/artifact_registry.jsonl", "a") as f:
                    f.write(json.dumps(forged) + "\n")
                p = repo.tool("artifact_sanitize", "--parent", forged["artifact_id"], check=False)
                self.assertEqual(p.returncode, 1)
                self.assertRegex(p.err, r"outside|component refused")

    def test_ingested_file_names_keep_safe_utf8(self):
        """docs/pipeline.md, "File names": safe UTF-8 stays, what could hide, reorder or
        redirect a name, or break it on another system, becomes "_"."""
        repo = Repo(self)
        e_acute_nfd = "e\u0301"
        cases = [
            ("données-été.md".encode(), "données-été.md"),
            (f"caf{e_acute_nfd}.txt".encode(), f"caf{e_acute_nfd}.txt"),        # NFD kept as given
            ("日本語 メモ.md".encode(), "日本語_メモ.md"),                          # ASCII space as before
            ("invoice\u202etxt.exe".encode(), "invoice_txt.exe"),              # bidi override
            ("a\u200bb\ufeffc\u2066d.md".encode(), "a_b_c_d.md"),            # zero-width, BOM, isolate
            (b"bad\xff\xfeutf8.md", "bad__utf8.md"),                          # invalid UTF-8 bytes
            ("\u0085next\u2028line.md".encode(), "_next_line.md"),            # C1 control, line separator
            (b"ctrl\x01\x1b[31m.md", "ctrl__[31m.md".replace("[", "_")),       # C0 controls, ESC
            (b'win\\dows:a*b?c"d<e>f|g.md', "win_dows_a_b_c_d_e_f_g.md"),    # separators, Windows-reserved
            (b"CON.txt", "CON.txt"),                                            # safe: the name has a prefix
            (b"trailing..", "trailing__"),                                      # Windows drops trailing dots
            (b"...", "artifact"),
        ]
        for raw_name, expected in cases:
            with self.subTest(expected):
                d = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-adam-names-"))
                self.addCleanup(shutil.rmtree, d, True)
                src = d / os.fsdecode(raw_name)
                src.write_bytes(b"content of " + raw_name)
                rec = repo.tool("artifact_ingest", "--src", src)[0]
                self.assertEqual(rec["relpath"], f".adam_os/artifacts/raw/{rec['sha256'][:16]}-{expected}")
                self.assertEqual((repo.path / rec["relpath"]).read_bytes(), b"content of " + raw_name)
                try:
                    self.assertEqual(rec["meta"], {"source_name": raw_name.decode()})
                except UnicodeDecodeError:   # the exact bytes, when they are not text
                    self.assertEqual(rec["meta"], {"source_name_base64": base64.b64encode(raw_name).decode()})
        # A long name is cut to 80 bytes at a character boundary, keeping its extension.
        d = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-adam-names-"))
        self.addCleanup(shutil.rmtree, d, True)
        src = d / ("é" * 100 + ".md")
        src.write_bytes(b"long")
        rec = repo.tool("artifact_ingest", "--src", src)[0]
        name = rec["relpath"].rsplit("/", 1)[1][17:]
        self.assertEqual(name, "é" * 38 + ".md")
        self.assertLessEqual(len(name.encode()), 80)
        # The sanitized artifact keeps the name too.
        san = repo.tool("artifact_sanitize", "--parent", repo.tool("artifact_ingest", "--src", write_input(
            self, b"x", "données.md"))[0]["artifact_id"])[0]
        self.assertTrue(san["relpath"].endswith("-données.md"), san["relpath"])

    def test_list_and_show(self):
        repo = Repo(self)
        raw, san, canon, bundle, spec, wo = repo.pipeline(write_input(self))
        p = hostsync("run", "adam.lua", "list", "--repo", repo.path)
        self.assertEqual(p.returncode, 0, p.err)
        lines = p.out.splitlines()
        self.assertEqual(len(lines), 6)
        self.assertEqual(lines[0].split(), [AT, "raw", raw["artifact_id"], raw["relpath"]])
        p = hostsync("run", "adam.lua", "list", "--repo", repo.path, "--type", "work_order", "--json")
        self.assertEqual([json.loads(l) for l in p.out.splitlines()], [wo])
        # show by a unique prefix: the record, its receipt, its parent and its child.
        p = hostsync("run", "adam.lua", "show", san["artifact_id"][:14], "--repo", repo.path)
        self.assertEqual(p.returncode, 0, p.err)
        self.assertIn(f'"artifact_id": "{san["artifact_id"]}"', p.out)
        self.assertIn(f"receipt:  {san['receipt_id']}: artifact_sanitize at {AT}", p.out)
        self.assertIn(f"parent:   raw {raw['artifact_id']} ({raw['relpath']})", p.out)
        self.assertIn(f"child:    canon {canon['artifact_id']} ({canon['relpath']})", p.out)
        p = hostsync("run", "adam.lua", "show", san["receipt_id"], "--repo", repo.path)
        self.assertEqual(json.loads(p.out)["outputs"], [{"artifact_id": san["artifact_id"], "sha256": san["sha256"]}])
        p = hostsync("run", "adam.lua", "show", san["artifact_id"], "--repo", repo.path, "--json")
        shown = json.loads(p.out)
        self.assertEqual(shown["record"], san)
        self.assertEqual(shown["children"], [{"artifact_id": canon["artifact_id"], "sha256": canon["sha256"]}])
        for missing in ("raw_nothere", "b"):   # unknown, and ambiguous (build_spec_, bundle_manifest_)
            p = hostsync("run", "adam.lua", "show", missing, "--repo", repo.path)
            self.assertEqual(p.returncode, 1)
            self.assertRegex(p.err, "no artifact|ambiguous")
        # list, show and verify write nothing.
        before = repo.file_hashes()
        hostsync("run", "adam.lua", "verify", "--repo", repo.path, check=True)
        self.assertEqual(repo.file_hashes(), before)

    def test_ingest_refuses_a_symlink_source(self):
        repo = Repo(self)
        src = write_input(self)
        link = src.with_name("link.txt")
        os.symlink(src, link)
        p = repo.tool("artifact_ingest", "--src", link, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a regular file", p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
