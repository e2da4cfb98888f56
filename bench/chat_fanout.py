#!/usr/bin/env python3
"""Chat fan-out latency across two `hostsync serve` instances on one PostgreSQL.

    HOSTSYNC=build/hostsync python3 bench/chat_fanout.py [--rounds N]

Starts a throwaway PostgreSQL (tests/e2e/pgserver.py) and two servers on it; each round
opens a chat stream on server B, posts one message through server A, and times the POST
round trip and the moment the event arrives on B's stream. Prints the medians and maxima
in milliseconds. Not a test: the numbers depend on the machine and its load.
"""
import argparse
import os
import statistics
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from brain_support import Brain, call, make_token, read_sse  # noqa: E402
from pgserver import PgServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    rounds = ap.parse_args().rounds
    owner = unittest.TestCase()   # Brain registers its shutdown as a cleanup
    with PgServer() as pg:
        a, b = make_token(pg.url), make_token(pg.url, agent="milo")
        s1, s2 = Brain(owner, pg.url, threads=4), Brain(owner, pg.url, threads=4)
        posts, events = [], []
        for _ in range(rounds):
            marks = []

            def post():
                time.sleep(0.3)   # let the stream reach its wait first
                marks.append(time.monotonic())
                call(s1.base, "POST", "/chat", a, {"message": "x"})
                marks.append(time.monotonic())
            poster = threading.Thread(target=post)
            read_sse(s2.port, b, None, 1, on_open=poster.start)
            got = time.monotonic()
            poster.join()
            posts.append((marks[1] - marks[0]) * 1000)
            events.append((got - marks[0]) * 1000)
        owner.doCleanups()
    for name, xs in (("POST /chat round trip on A", posts), ("post start -> event on B's stream", events)):
        print(f"{name}: median {statistics.median(xs):.1f} ms, max {max(xs):.1f} ms ({rounds} rounds)")


if __name__ == "__main__":
    main()
