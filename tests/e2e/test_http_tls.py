"""hostsync.http over TLS on 127.0.0.1: a self-signed certificate made by `openssl req`
in the test; the client trusts it only when given as ca_file, and refuses it otherwise
(verification is on by default)."""
import json
import shutil
import subprocess
import tempfile
import unittest

from harness import main
from http_support import APP, HOSTSYNC, SERVE, Server, run_lua

CLIENT = r'''
local http = require "hostsync.http"
local json = require "hostsync.json"
local base, ca = arg[1], arg[2]
local out = {}
local v, err = http.get_json(base .. "/hello/tls", { ca_file = ca })
out.trusted = v
out.trusted_err = err
local res, err2 = http.get(base .. "/hello/tls", { retries = 0 })
out.untrusted_res = res and res.status
out.untrusted_err = err2
local res3, err3 = http.get(base .. "/hello/tls", { verify = false })
out.unverified_status = res3 and res3.status
local other, err4 = http.get(base .. "/hello/tls", { ca_file = arg[3], retries = 0 })
out.wrong_ca_err = err4
print(json.encode(out))
'''


def make_cert(directory, name):
    cert, key = f"{directory}/{name}.pem", f"{directory}/{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class HttpTlsTest(unittest.TestCase):
    def test_self_signed_trusted_only_via_ca_file(self):
        tmp = tempfile.mkdtemp(prefix="hostsync-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = make_cert(tmp, "server")
        other, _ = make_cert(tmp, "other")
        s = Server(self, threads=2, tls={"cert": cert, "key": key})
        self.assertTrue(s.base.startswith("https://"))
        out = run_lua(self, tmp, CLIENT, s.base, cert, other)
        self.assertEqual(out["trusted"], {"name": "tls", "method": "GET"}, out)
        self.assertNotIn("untrusted_res", out)
        self.assertRegex(out["untrusted_err"], r"^TLS with 127\.0\.0\.1:\d+: certificate verification failed")
        self.assertRegex(out["wrong_ca_err"], r"certificate verification failed")
        self.assertEqual(out["unverified_status"], 200)
        self.assertEqual(s.terminate(), 0)

    def test_bad_certificate_files_fail_before_listening(self):
        tmp = tempfile.mkdtemp(prefix="hostsync-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        opts = {"script": str(APP), "tls": {"cert": tmp + "/no.pem", "key": tmp + "/no.key"}}
        proc = subprocess.run([HOSTSYNC, "run", str(SERVE), json.dumps(opts)],
                              capture_output=True, timeout=20)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"TLS: cannot load certificate", proc.stderr)


if __name__ == "__main__":
    main()
