"""A brain client process for the lock tests.

race BASE TOKEN LOCK ROUNDS WITNESS_DIR LOG: ROUNDS times: acquire (retrying 409s),
  create WITNESS_DIR/held exclusively (a second holder would fail here), append the
  fencing token to LOG, remove the witness, release. Exits 3 on a violation.
hold BASE TOKEN LOCK TTL: acquire, print the grant as JSON, wait for a line on stdin,
  then try renew and release with that token and print both statuses as JSON.
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brain_support import call  # noqa: E402


def acquire(base, token, lock, ttl):
    delay = 0.002
    while True:
        st, body = call(base, "POST", f"/locks/{lock}/acquire", token, {"ttl_seconds": ttl})
        if st == 200:
            return body
        if st not in (409, 503):   # 503: the database was busy, nothing applied; retry
            raise SystemExit(f"acquire: unexpected {st} {body}")
        time.sleep(delay * random.random())   # backoff before retrying a refusal: any delay ends the same
        delay = min(delay * 2, 0.05)


def race(base, token, lock, rounds, witness_dir, log):
    witness = os.path.join(witness_dir, "held")
    for _ in range(int(rounds)):
        grant = acquire(base, token, lock, 60)
        try:
            fd = os.open(witness, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            print("VIOLATION: two holders at once", file=sys.stderr)
            sys.exit(3)
        with open(log, "a") as f:
            f.write(f"{grant['fencing_token']}\n")
        os.close(fd)
        os.unlink(witness)
        st, body = call(base, "POST", f"/locks/{lock}/release", token, {"fencing_token": grant["fencing_token"]})
        while st == 503:
            time.sleep(0.05)   # the database was busy: retrying later ends the same
            st, body = call(base, "POST", f"/locks/{lock}/release", token, {"fencing_token": grant["fencing_token"]})
        if st != 200:
            print(f"VIOLATION: release refused {st} {body}", file=sys.stderr)
            sys.exit(3)


def hold(base, token, lock, ttl):
    grant = acquire(base, token, lock, int(ttl))
    print(json.dumps(grant), flush=True)
    sys.stdin.readline()
    fence = grant["fencing_token"]
    renew = call(base, "POST", f"/locks/{lock}/renew", token, {"fencing_token": fence})
    release = call(base, "POST", f"/locks/{lock}/release", token, {"fencing_token": fence})
    print(json.dumps({"renew": renew, "release": release}), flush=True)


if __name__ == "__main__":
    {"race": race, "hold": hold}[sys.argv[1]](*sys.argv[2:])
