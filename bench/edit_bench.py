"""Benchmark of calendar edits: edits per second, and how fast Slack gets its ack with 1, 10 and 50
admins editing at once.

The real `apec-bot serve` (HTTP, waitress) runs in its own process on a store built from seeds/, its
Web API pointed at a small stand-in that also takes `response_url` posts. Each admin is a client
thread sending signed `/apec edit-meeting SOM3 note=...` commands one after another. Measured per
edit: the ack (the HTTP response Slack waits for; its limit is 3 s) and the answer (in the ack, or
posted to response_url when the change took longer than the ack may wait). Edits per second count
answered edits over the wall time of the level. The baseline, measured in the same run under the
same server: a bare Bolt app that only acks (bench/load_bench.py's floor, `start_floor`).

Run:
    python bench/edit_bench.py            # 40 edits per admin at each level
    python bench/edit_bench.py --quick    # 5 edits per admin (smoke run)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.load_bench import BenchError, start_floor  # noqa: E402 - the floor of that bench

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
LEVELS = (1, 10, 50)
ADMIN = "U0ADMIN"
WORKING = "Working on it"


class Hooks:
    """A stand-in for Slack's Web API that also takes response_url posts, noting when each came."""

    def __init__(self) -> None:
        self.answered: dict[str, float] = {}
        answered = self.answered

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/hooks/"):
                    answered[self.path.rsplit("/", 1)[-1]] = time.perf_counter()
                reply: dict[str, Any] = {"ok": True}
                if self.path.endswith("auth.test"):
                    reply = {"ok": True, "team_id": "T0BENCH", "user_id": "UBOT", "bot_id": "BBOT"}
                del body
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_ours(tmp: Path, hooks: Hooks) -> tuple[subprocess.Popen, int]:
    """`apec-bot serve` on a fresh store, the bench's admin allowed to edit."""
    port = free_port()
    env = {
        **os.environ,
        "APEC_DB": str(tmp / "apec.db"),
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": hooks.url + "api/",
        "APEC_ADMINS": ADMIN,
        "APEC_NOW": "2026-07-01T09:00+09:00",
        "APEC_WORKERS": "1",
    }
    env.pop("SLACK_APP_TOKEN", None)
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - kept open for the child's life
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"serve did not start: {(tmp / 'serve.log').read_text()[-500:]}")


def edit(port: int, hooks: Hooks, n: int, text: str) -> tuple[float, float]:
    """One signed edit: (seconds to the ack, seconds to the answer)."""
    body = urlencode(
        {
            "team_id": "T0BENCH",
            "channel_id": "C0BENCH",
            "user_id": ADMIN,
            "command": "/apec",
            "text": text,
            "response_url": f"{hooks.url}hooks/{n}",
            "trigger_id": f"{n}.1.2",
        }
    )
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
    reply = conn.getresponse().read().decode()
    acked = time.perf_counter()
    conn.close()
    if WORKING not in reply:
        return acked - started, acked - started
    deadline = time.monotonic() + 120
    while str(n) not in hooks.answered and time.monotonic() < deadline:
        time.sleep(0.005)  # the bench waits for the answer to arrive: that is what it measures
    return acked - started, hooks.answered.get(str(n), float("nan")) - started


def level(port: int, hooks: Hooks, admins: int, each: int, first: int) -> dict[str, Any]:
    """`admins` clients at once, `each` edits apiece; the acks, the answers, edits per second."""
    acks: list[float] = []
    answers: list[float] = []

    def admin(a: int) -> None:
        for k in range(each):
            n = first + a * each + k
            ack, answer = edit(port, hooks, n, f'edit-meeting SOM3 note="edit {n} by admin {a}"')
            acks.append(ack)
            answers.append(answer)

    started = time.perf_counter()
    threads = [threading.Thread(target=admin, args=(a,)) for a in range(admins)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"acks": sorted(acks), "answers": sorted(answers), "rate": len(answers) / wall}


def bare_acks(tmp: Path, hooks: Hooks, requests: int) -> list[float]:
    """The floor: the bare Bolt app's ack times, one connection, under the same server."""
    server = start_floor(tmp, hooks.url + "api/", 1)
    try:
        took = []
        for n in range(requests):
            took.append(edit(server.port, hooks, 10_000_000 + n, "next-meeting")[0])
        return sorted(took)
    finally:
        server.stop()


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--quick", action="store_true", help="5 edits per admin (a smoke run)")
    each = 5 if args.parse_args(argv).quick else 40
    hooks = Hooks()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = serve_ours(Path(tmp), hooks)
        try:
            edit(port, hooks, 0, "edit-meeting SOM3 note=warm")  # the first edit builds caches
            results = {n: level(port, hooks, n, each, 1 + n * 100_000) for n in LEVELS}
        finally:
            proc.terminate()
            proc.wait(10)
        floor = bare_acks(Path(tmp), hooks, 50)
    print(f"edit-meeting through `apec-bot serve`, {each} edits per admin; floor: bare Bolt ack")
    print(
        f"{'admins':>7} {'edits/s':>8} {'ack p50':>9} {'ack p99':>9} {'answer p50':>11} "
        f"{'answer p99':>11} {'ack p50 / floor':>16}"
    )
    floor_p50 = statistics.median(floor) * 1000
    for n, r in results.items():
        print(
            f"{n:>7} {r['rate']:>8.1f} "
            f"{pct(r['acks'], 0.5):>7.1f}ms {pct(r['acks'], 0.99):>7.1f}ms "
            f"{pct(r['answers'], 0.5):>9.1f}ms {pct(r['answers'], 0.99):>9.1f}ms "
            f"{pct(r['acks'], 0.5) / floor_p50:>15.1f}x"
        )
    print(
        f"floor: bare Bolt ack p50 {floor_p50:.2f} ms "
        f"(spread {pct(floor, 0.1):.2f}–{pct(floor, 0.9):.2f} ms)"
    )
    worst = max(pct(r["acks"], 1.0) for r in results.values())
    print(
        f"Aim: every ack within Slack's 3 s (slowest {worst:.0f} ms): "
        f"{'PASS' if worst < 3000 else 'MISS'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
